"""The web UI in real headless Chromium: list, filter, sort, run page, comparison, login; the
metric charts read back from the charting library (points and values as logged)."""

from __future__ import annotations

import httpx
import pytest

from shipyard.core.entities import Metric

CHART_OPTION = """el => {
  const o = echarts.getInstanceByDom(el).getOption();
  return {
    series: o.series.map(s => ({name: s.name, data: s.data})),
    x: o.xAxis[0].type,
    y_min: o.yAxis[0].min ?? null,
    unit: o.yAxis[0].name,
    legend: {type: o.legend[0].type, top: o.legend[0].top},
    grid_top: o.grid[0].top,
    zoom: o.dataZoom.map(z => z.type),
  };
}"""


def chart_options(page, scope: str = "") -> dict[str, dict]:
    """Every chart drawn under ``scope``, by its title, as the charting library holds it."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('div.chart[data-src]')].every(e => e.dataset.rendered)"
    )
    drawn = page.locator(f"{scope} div.chart[data-rendered='true']")
    return {el.get_attribute("data-metric"): el.evaluate(CHART_OPTION) for el in drawn.all()}


@pytest.fixture
def seeded(live_server):
    t = live_server.services.tracking
    eid = t.create_experiment("ui-demo")
    ids = []
    for i, model in enumerate(["rf", "gbm", "rf"]):
        rid = t.create_run(eid, run_name=f"run-{i}").run_id
        t.log_batch(
            rid,
            [Metric("auc", 0.6 + i * 0.1 + s * 0.01, 1000 + s, s) for s in range(5)],
            params={"model": model},
        )
        t.update_run(rid, status="FINISHED")
        ids.append(rid)
    return live_server, eid, ids


def _login(page, server) -> None:
    page.goto(server.url + "/ui/experiments")
    assert "/login" in page.url  # token mode: the UI asks for a token first
    page.fill("#token", "sy_wrong")
    page.click("button[type=submit]")
    assert "invalid" in page.inner_text("#login-error")
    page.fill("#token", server.admin_token)
    page.click("button[type=submit]")
    page.wait_for_url("**/ui/experiments")


def test_ui_filter_sort_run_page_and_compare(browser, seeded) -> None:
    server, eid, ids = seeded
    page = browser.new_page()
    try:
        _login(page, server)
        page.click("text=ui-demo")
        assert page.inner_text("#run-count") == "3"
        page.fill("#filter", "params.model = 'rf' and metrics.auc > 0.5")
        page.click("#apply")
        page.wait_for_selector("#run-count")
        assert page.inner_text("#run-count") == "2"
        names = page.locator("tr.run-row td:nth-child(2)").all_inner_texts()
        assert sorted(names) == ["run-0", "run-2"]
        page.click("th >> text=metrics.auc")  # sort by auc, descending
        names = page.locator("tr.run-row td:nth-child(2)").all_inner_texts()
        assert names == ["run-2", "run-0"]
        page.fill("#filter", "metrics.auc >>> 1")
        page.click("#apply")
        assert "position" in page.inner_text("#filter-error")
        page.goto(f"{server.url}/ui/experiments/{eid}")
        page.check(f"input[value='{ids[0]}']")
        page.check(f"input[value='{ids[1]}']")
        page.click("#compare")
        page.wait_for_selector("#compare-table")
        charts = chart_options(page)
        assert len(charts["auc"]["series"]) == 2
        labels = [s["name"] for c in charts.values() for s in c["series"]]
        assert sorted(labels) == ["run-0", "run-1"]
        for line in charts["auc"]["series"]:  # the values as logged
            i = int(line["name"].removeprefix("run-"))
            assert [p[0] for p in line["data"]] == [0, 1, 2, 3, 4]
            assert [p[1] for p in line["data"]] == pytest.approx(
                [0.6 + i * 0.1 + s * 0.01 for s in range(5)]
            )
        # the legend sits above the plot (scrolling when long), not over the curves
        assert charts["auc"]["legend"] == {"type": "scroll", "top": 0}
        assert charts["auc"]["grid_top"] >= 40 and "slider" in charts["auc"]["zoom"]
        assert charts["auc"]["x"] == "value" and charts["auc"]["y_min"] is None
        page.click("#compare-table >> text=run-1")
        assert page.inner_text("#run-name") == "run-1"
        assert "gbm" in page.inner_text("#params")
        points = chart_options(page)["auc"]["series"][0]["data"]
        assert len(points) == 5
        assert points[-1] == [4, pytest.approx(0.74)]
    finally:
        page.close()


def test_chart_data_needs_a_reader_and_leaves_out_non_finite_values(live_server) -> None:
    t = live_server.services.tracking
    eid = t.create_experiment("charts")
    rid = t.create_run(eid, run_name="nan").run_id
    other = t.create_run(eid, run_name="other").run_id
    values = [1.0, float("nan"), 0.5, float("inf")]
    t.log_batch(rid, [Metric("loss", v, 1000 + s, s) for s, v in enumerate(values)])
    url = f"{live_server.url}/ui/runs/{rid}/metrics.json"
    resp = httpx.get(url, timeout=30)
    assert resp.status_code == 401 and "message" in resp.json()  # JSON, not a login redirect
    auth = {"Authorization": f"Bearer {live_server.admin_token}"}
    chart = httpx.get(url, headers=auth, timeout=30).json()["charts"]["loss"]
    assert chart["x"] == "step" and chart["series"][0]["name"] == "nan"
    assert chart["series"][0]["points"] == [[0, 1.0], [2, 0.5]]
    compare = f"{live_server.url}/ui/compare/metrics.json"
    resp = httpx.get(compare, params={"runs": [rid, other]}, headers=auth, timeout=30)
    assert [s["name"] for s in resp.json()["charts"]["loss"]["series"]] == ["nan"]
    resp = httpx.get(compare, params={"runs": [rid]}, headers=auth, timeout=30)
    assert resp.status_code == 400 and "at least two runs" in resp.json()["message"]
