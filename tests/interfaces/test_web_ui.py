"""The web UI in real headless Chromium: list, filter, sort, run page, comparison, login."""

from __future__ import annotations

import pytest

from shipyard.core.entities import Metric


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
        assert page.locator("svg.chart[data-metric='auc'] polyline.series").count() == 2
        labels = page.locator("svg.chart polyline.series").evaluate_all(
            "els => els.map(e => e.dataset.label)"
        )
        assert sorted(labels) == ["run-0", "run-1"]
        page.click("#compare-table >> text=run-1")
        assert page.inner_text("#run-name") == "run-1"
        assert "gbm" in page.inner_text("#params")
        points = page.locator("svg.chart polyline.series").get_attribute("points")
        assert len(points.split()) == 5
    finally:
        page.close()
