"""The experiment, run, compare and pipeline pages as a data scientist coming from MLflow reads
them, in real headless Chromium at 1280 px: run counts and last activity, child runs nested
under their parent, params to 6 digits, cache hits with their source's values, a run's input
datasets and final/min/max metrics, human sizes, differing params highlighted, an HTML error
page, a sweep's trials with the best marked and their parallel-coordinates chart, a step's
dict result shown by value — no console errors and no horizontal overflow anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pandas as pd
import pytest

from shipyard.core.entities import Metric
from shipyard.interfaces.web.run_views import fmt_param, human_size
from shipyard.interfaces.web.sweep_views import result_text
from tests.interfaces.conftest import LiveServer, _serve
from tests.interfaces.test_api_pipelines import Seeded, seed_pipelines


@dataclass
class World:
    pipelines: Seeded
    server: LiveServer
    experiment: str
    parent: str
    children: list[str]
    other: str
    fanout_again: str  # the fan-out and sweep again: every trial a cache hit


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("run-pages")
    for server in _serve(tmp, "local"):
        pipelines = seed_pipelines(server, tmp)
        yield _seed_runs(server, pipelines)


def _rerun_fanout(server: LiveServer) -> str:
    from tests.services.pipelines import flows

    again = server.services.pipelines.run(flows.fanout, {}, actor="tester")  # type: ignore[attr-defined]
    assert again.ok, again.error
    return again.run_id


def _seed_runs(server: LiveServer, pipelines: Seeded) -> World:
    services = server.services
    t = services.tracking  # type: ignore[attr-defined]
    eid = t.create_experiment("tuning")
    version = services.catalog.register(  # type: ignore[attr-defined]
        "churn", pd.DataFrame({"x": range(50), "y": [i % 2 for i in range(50)]})
    )
    parent = t.create_run(eid, run_name="search").run_id
    services.catalog.record_input(parent, version.ref, "training")  # type: ignore[attr-defined]
    children = []
    for i, lr in enumerate([0.1 + 0.2, 0.01]):
        rid = t.create_run(eid, run_name=f"trial-{i}", parent_run_id=parent).run_id
        history = [Metric("loss", v, 1000 + s, s) for s, v in enumerate([0.9, 0.4, 0.5 - i / 10])]
        t.log_batch(rid, history, params={"lr": repr(lr), "depth": "4"})
        t.log_artifact_bytes(rid, b"x" * 3000, "model/weights.bin")
        t.update_run(rid, status="FINISHED")
        children.append(rid)
    t.update_run(parent, status="FINISHED")
    other = t.create_run(eid, run_name="baseline").run_id
    t.log_batch(other, [Metric("loss", 0.7, 1000, 0)], params={"lr": "0.3", "depth": "4"})
    return World(pipelines, server, eid, parent, children, other, _rerun_fanout(server))


@pytest.fixture
def page(browser) -> Iterator[object]:
    p = browser.new_page(viewport={"width": 1280, "height": 900})
    p.errors = []  # type: ignore[attr-defined]
    p.on("console", lambda m: _console(p, m))
    p.on("pageerror", lambda e: p.errors.append(str(e)))  # type: ignore[attr-defined]
    try:
        yield p
    finally:
        p.close()


def _console(page, message) -> None:
    """Keep the console's errors; the browser's own favicon probe is not the page's."""
    if message.type == "error" and not message.location.get("url", "").endswith("favicon.ico"):
        page.errors.append(f"{message.text} ({message.location.get('url')})")


def _open(page, url: str, status: int = 200) -> None:
    resp = page.goto(url)
    assert resp is not None and resp.status == status, (url, resp and resp.status)
    page.wait_for_load_state("networkidle")


def _clean(page) -> None:
    """No console error and nothing wider than the 1280 px window."""
    assert page.errors == [], page.errors
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 1280, f"the page is {width} px wide"


# ---------------------------------------------------------------------------- formatting


def test_params_sizes_and_results_read_as_people_write_them() -> None:
    assert fmt_param("0.30000000000000004") == "0.3"
    assert fmt_param("0.123456789") == "0.123457"
    assert fmt_param("4") == "4" and fmt_param("rf") == "rf" and fmt_param("1.2.3") == "1.2.3"
    assert fmt_param("nan") == "nan"
    assert [human_size(n) for n in (512, 3000, 5 * 1024**2, None)] == [
        "512 B",
        "2.9 KB",
        "5.0 MB",
        "\u2013",
    ]
    assert result_text({"r2": 0.912345678, "coef_norm": 3}) == "r2=0.912346, coef_norm=3"
    assert result_text({"nested": {"a": 1}}) is None and result_text(0.5) == "0.5"


# ---------------------------------------------------------------------------- experiments


@pytest.mark.browser
def test_experiments_list_counts_runs_and_last_activity(page, world) -> None:
    _open(page, world.server.url + "/ui/experiments")
    row = page.locator(f"tr.experiment-row[data-experiment-id='{world.experiment}']")
    assert row.locator("td.run-count").inner_text() == "4"
    assert row.locator("td.last-activity").inner_text().startswith("20")
    box = row.locator("td.last-activity").bounding_box()
    assert box is not None and box["height"] < 40  # one line, not three
    _clean(page)


@pytest.mark.browser
def test_child_runs_nest_under_their_parent_with_short_params(page, world) -> None:
    _open(page, f"{world.server.url}/ui/experiments/{world.experiment}")
    ids = page.locator("#runs tr.run-row").evaluate_all("els => els.map(e => e.dataset.runId)")
    at = ids.index(world.parent)
    assert ids[at + 1 : at + 3] == world.children  # right under the parent, oldest first
    parent = page.locator(f"tr.run-row[data-run-id='{world.parent}']")
    assert "2 child runs" in parent.inner_text()
    child = page.locator(f"tr.run-row[data-run-id='{world.children[0]}']")
    assert child.get_attribute("data-depth") == "1"
    assert child.get_attribute("data-parent") == world.parent
    assert child.locator("td.param[data-key='lr']").inner_text() == "0.3"  # not 17 digits
    top = page.locator(f"tr.run-row[data-run-id='{world.other}']")
    assert top.get_attribute("data-depth") == "0"
    _clean(page)
    parent.locator("button.toggle").click()  # collapse, as in MLflow
    assert not child.is_visible() and top.is_visible()
    parent.locator("button.toggle").click()
    assert child.is_visible()
    _open(page, f"{world.server.url}/ui/experiments/{world.experiment}?order_by=params.lr+ASC")
    ids = page.locator("#runs tr.run-row").evaluate_all("els => els.map(e => e.dataset.runId)")
    at = ids.index(world.parent)
    assert ids[at + 1 : at + 3] == world.children[::-1]  # children follow the chosen sort


@pytest.mark.browser
def test_pipeline_steps_nest_and_cache_hits_show_their_sources_values(page, world) -> None:
    services = world.server.services
    cached = services.tracking.get_run(world.pipelines.cached)  # type: ignore[attr-defined]
    latest = services.pipelines.latest_executions(world.pipelines.cached)  # type: ignore[attr-defined]
    hit = latest[("score", None)]
    source = services.tracking.get_run(hit.cached_from)  # type: ignore[attr-defined]
    assert source.metrics and not services.tracking.get_run(hit.run_id).metrics  # type: ignore[attr-defined]
    _open(page, f"{world.server.url}/ui/experiments/{cached.info.experiment_id}")
    row = page.locator(f"tr.run-row[data-run-id='{hit.run_id}']")
    assert row.get_attribute("data-parent") == world.pipelines.cached
    assert row.locator("a.cache-chip").get_attribute("href") == f"/ui/runs/{hit.cached_from}"
    key = sorted(source.metrics)[0]
    shown = row.locator(f"td.metric[data-key='{key}']").inner_text()
    assert shown == f"{source.metrics[key].value:.4g}"
    _clean(page)
    row.locator("td.run-name > a").first.click()  # the hit's own page: its source's values
    page.wait_for_url(f"**/ui/runs/{hit.run_id}")
    page.wait_for_load_state("networkidle")
    assert page.locator("#cache-source a").get_attribute("href") == f"/ui/runs/{source.run_id}"
    final = page.locator(f"#run-metrics tr.metric-row[data-key='{key}'] td.final").inner_text()
    assert float(final) == pytest.approx(source.metrics[key].value, rel=1e-5)
    page.wait_for_function("() => document.querySelector('div.chart').dataset.rendered")
    assert page.locator("div.chart[data-rendered='true']").count() == len(source.metrics)
    _clean(page)


# ---------------------------------------------------------------------------- run page


@pytest.mark.browser
def test_run_page_shows_inputs_metric_summary_and_human_sizes(page, world) -> None:
    _open(page, f"{world.server.url}/ui/runs/{world.children[1]}")
    inputs = page.locator("#run-inputs tr.run-input")
    assert inputs.count() == 1
    assert "churn@v1" in inputs.inner_text() and "parent run" in inputs.inner_text()
    href = inputs.locator("a").first.get_attribute("href")
    resp = page.request.get(world.server.url + href)
    assert resp.status == 200 and "churn" in resp.text()  # the dataset version's page
    loss = page.locator("#run-metrics tr.metric-row[data-key='loss']")
    assert loss.locator("td.final").inner_text() == "0.4"  # 0.5 - 0.1 at the last step
    assert loss.locator("td.min").inner_text() == "0.4"
    assert loss.locator("td.max").inner_text() == "0.9"
    assert page.locator("#artifacts td.size").inner_text() == "2.9 KB"
    page.wait_for_function("() => document.querySelector('div.chart').dataset.rendered")
    assert page.locator("div.chart[data-rendered='true']").count() == 1
    _clean(page)
    _open(page, f"{world.server.url}/ui/runs/{world.parent}")
    assert "this run" in page.inner_text("#run-inputs")
    _open(page, f"{world.server.url}/ui/runs/{world.other}")
    assert page.locator("#no-inputs").count() == 1


# ---------------------------------------------------------------------------- compare


@pytest.mark.browser
def test_compare_highlights_differing_params(page, world) -> None:
    runs = "&".join(f"runs={r}" for r in [*world.children, world.other])
    _open(page, f"{world.server.url}/ui/compare?{runs}")
    assert (
        page.locator("#compare-table tr.param-row[data-key='lr']")
        .get_attribute("class")
        .endswith("differs")
    )
    assert "differs" not in page.locator(
        "#compare-table tr.param-row[data-key='depth']"
    ).get_attribute("class")
    page.wait_for_function("() => document.querySelector('div.chart').dataset.rendered")
    _clean(page)


@pytest.mark.browser
@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        ("runs=RUN", 400, "at least two runs"),
        ("", 400, "at least two runs"),
        ("runs=RUN&runs=0123456789abcdef0123456789abcdef", 404, "no run"),
    ],
)
def test_compare_errors_are_html_pages(page, world, query, status, says) -> None:
    _open(page, f"{world.server.url}/ui/compare?{query.replace('RUN', world.other)}", status)
    assert says in page.inner_text("#compare-error")
    assert page.locator("#back-to-experiments").count() == 1
    resp = httpx.get(f"{world.server.url}/ui/compare?runs={world.other}")
    assert resp.headers["content-type"].startswith("text/html")


# ---------------------------------------------------------------------------- pipelines

PARALLEL = """el => {
  const o = echarts.getInstanceByDom(el).getOption();
  return {axes: o.parallelAxis.map(a => a.name), lines: o.series[0].data.map(d => d.value),
          best: o.series[0].data.filter(d => d.lineStyle && d.lineStyle.width === 3).length};
}"""


@pytest.mark.browser
def test_sweep_trials_show_params_best_and_parallel_coordinates(page, world) -> None:
    _open(page, f"{world.server.url}/ui/pipelines/{world.pipelines.fanout}")
    trials = page.locator("#trials-sweep_objective tr.trial-row")
    assert trials.count() == 4
    assert trials.first.locator("td.trial-param[data-key='alpha']").inner_text() != ""
    values = [float(v) for v in trials.locator("td.trial-value").all_inner_texts()]
    best = page.locator("#trials-sweep_objective tr.best-trial")
    assert best.count() == 1
    assert float(best.locator("td.trial-value").inner_text()) == max(values)  # maximize
    chart = page.locator("div.chart[data-chart='sweep_objective']")
    page.wait_for_function(
        "() => document.querySelector(\"div.chart[data-chart='sweep_objective']\").dataset.rendered"
    )
    assert chart.get_attribute("data-rendered") == "true"
    drawn = chart.evaluate(PARALLEL)
    assert drawn["axes"] == ["alpha", "objective"]
    assert len(drawn["lines"]) == 4 and drawn["best"] == 1
    assert sorted(line[-1] for line in drawn["lines"]) == pytest.approx(sorted(values), rel=1e-5)
    _clean(page)


@pytest.mark.browser
def test_cached_sweep_shows_the_trials_params_and_best_from_their_sources(page, world) -> None:
    def rows(run_id: str) -> list[tuple[str, str, bool]]:
        _open(page, f"{world.server.url}/ui/pipelines/{run_id}")
        trials = page.locator("#trials-sweep_objective tr.trial-row")
        return [
            (
                t.locator("td.trial-param").inner_text(),
                t.locator("td.trial-value").inner_text(),
                "best-trial" in (t.get_attribute("class") or ""),
            )
            for t in trials.all()
        ]

    first = rows(world.pipelines.fanout)
    assert rows(world.fanout_again) == first and all(p and v for p, v, _ in first)
    assert page.locator("#step-sweep_objective .cached-chip").inner_text() == "cached 4/4"
    page.wait_for_function(
        "() => document.querySelector(\"div.chart[data-chart='sweep_objective']\")"
        ".dataset.rendered === 'true'"
    )
    _clean(page)


@pytest.mark.browser
def test_dict_result_shows_values_and_cached_reads_once(page, world) -> None:
    _open(page, f"{world.server.url}/ui/pipelines/{world.pipelines.first}")
    result = page.inner_text("#step-summarise span.step-result")
    assert "r2=0.99" in result and "coef_norm=" in result
    _clean(page)
    first = result
    _open(page, f"{world.server.url}/ui/pipelines/{world.pipelines.cached}")
    assert page.inner_text("#step-summarise td:nth-child(2)").strip() == "cached"  # once
    assert page.inner_text("#step-summarise span.step-result") == first
    node = page.locator("svg#dag g.dag-node[data-node='coefficients']")
    label = node.locator("text.dag-label").bounding_box()
    badge = node.locator(".dag-cached-badge rect").bounding_box()
    assert label is not None and badge is not None
    assert badge["y"] >= label["y"] + label["height"] - 1  # under the label, not over it
    _clean(page)


@pytest.mark.browser
def test_sweep_chart_json_of_an_unknown_run_is_a_clear_404(world) -> None:
    resp = httpx.get(f"{world.server.url}/ui/pipelines/{'0' * 32}/sweeps.json")
    assert resp.status_code == 404 and "not found" in resp.text


@pytest.mark.browser
@pytest.mark.parametrize(
    ("path", "status", "title"),
    [
        (f"/ui/runs/{'0' * 32}", 404, "No such run"),
        ("/ui/runs/not-a-run-id", 400, "No such run"),
        ("/ui/experiments/987654", 404, "No such experiment"),
        ("/ui/experiments/abc", 400, "No such experiment"),
    ],
)
def test_unknown_runs_and_experiments_are_html_pages(page, world, path, status, title) -> None:
    _open(page, world.server.url + path, status)
    assert page.inner_text("#error-title") == title
    assert page.inner_text("#page-error")
    assert page.locator("#back-to-experiments").count() == 1


def test_a_cached_dag_box_says_cached_once_under_a_label_that_fits() -> None:
    from shipyard.interfaces.web.dag_svg import MAX_LABEL, dag_svg

    name = "a_step_with_a_rather_long_name"
    svg = dag_svg([{"node": name, "deps": [], "status": "cached", "items": 1, "duration_ms": 0}])
    label = svg.split('class="dag-label"')[1].split(">")[1].split("<")[0]
    assert len(label) == MAX_LABEL and label.endswith("\u2026")
    assert svg.count(">cached</text>") == 1  # the badge is the status line
    assert f"<title>{name} " in svg  # the full name on hover
    finished = dag_svg([{"node": "fit", "deps": [], "status": "finished", "items": 1}])
    assert "dag-cached-badge" not in finished and ">finished</text>" in finished


def test_the_best_trial_follows_the_direction_and_is_unmarked_without_one() -> None:
    from shipyard.interfaces.web.sweep_views import parallel_chart, rank_trials

    def trials() -> list[dict]:
        values = [0.5, 0.9, None, 0.5]
        cs = ["0.1", "1", "3", "0.30000000000000004"]
        return [
            {"map_index": i, "params": {"C": c}, "value": v}
            for i, (c, v) in enumerate(zip(cs, values, strict=True))
        ]

    unknown = rank_trials(trials(), ["C"], None)
    assert unknown["best"] is None and parallel_chart("t", unknown)["best"] is None
    low = rank_trials(trials(), ["C"], "minimize")
    assert low["best"]["map_index"] == 0  # 0.5 twice: the earliest
    high = rank_trials(trials(), [], "maximize")
    assert high["best"]["map_index"] == 1 and high["names"] == ["C"]
    assert [t["shown_params"]["C"] for t in high["trials"]] == ["0.1", "1", "3", "0.3"]
    chart = parallel_chart("t", high)
    assert chart["rows"] == [[0.1, 0.5], [1.0, 0.9], [0.30000000000000004, 0.5]]
    assert (chart["trials"], chart["best"]) == ([0, 1, 3], 1)  # the unscored trial left out
    assert [a["type"] for a in chart["axes"]] == ["value", "value"]
    wide = rank_trials(
        [
            {"map_index": i, "params": {"C": c, "k": k}, "value": 0.5}
            for i, (c, k) in enumerate([("0.01", "rbf"), ("10", "linear")])
        ],
        ["C", "k"],
        "maximize",
    )
    axes = parallel_chart("t", wide)["axes"]
    assert [a["type"] for a in axes] == ["log", "category", "value"]  # a log-uniform search
    assert axes[1]["data"] == ["linear", "rbf"]
