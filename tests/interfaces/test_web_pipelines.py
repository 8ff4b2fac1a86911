"""The pipeline pages in real headless Chromium: the runs list and its filter, a run page with
its DAG (one box per step, coloured by status, cache hits marked, failed and not-run nodes),
steps table, fan-out items, links to the step runs and their artifacts, error pages."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from shipyard.interfaces.web.dag_svg import COLOURS, dag_svg, fmt_duration, layers
from tests.interfaces.conftest import _serve
from tests.interfaces.test_api_pipelines import TRAINING, Seeded, seed_pipelines


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    tmp = tmp_path_factory.mktemp("pipelines-web")
    for server in _serve(tmp, "local"):
        yield seed_pipelines(server, tmp)


@pytest.fixture
def page(browser) -> Iterator[object]:
    p = browser.new_page()
    try:
        yield p
    finally:
        p.close()


def _execution(seeded: Seeded, run_id: str, node: str, index: int | None = None):
    return seeded.server.services.pipelines.latest_executions(run_id)[(node, index)]  # type: ignore[attr-defined]


def _node(page, node: str):
    return page.locator(f"svg#dag g.dag-node[data-node='{node}']")


def _open(page, seeded: Seeded, run_id: str) -> None:
    resp = page.goto(f"{seeded.server.url}/ui/pipelines/{run_id}")
    assert resp is not None and resp.status == 200


# ---------------------------------------------------------------------------- pure layout
def test_layers_are_longest_paths_and_the_svg_is_deterministic() -> None:
    nodes = [
        {"id": "a", "deps": []},
        {"id": "b", "deps": ["a"]},
        {"id": "c", "deps": ["a", "b"]},
        {"id": "d", "deps": []},
        {"id": "e", "deps": ["ghost"]},  # an unknown dependency is ignored
    ]
    assert layers(nodes) == [["a", "d", "e"], ["b"], ["c"]]
    assert layers([{"id": "x", "deps": ["y"]}, {"id": "y", "deps": ["x"]}])  # no recursion loop
    steps = [{"node": "a<b>", "deps": [], "status": "failed", "items": 1, "duration_ms": 1500}]
    svg = dag_svg(steps)
    assert svg == dag_svg(steps) and "a&lt;b&gt;" in svg and "<b>" not in svg
    assert COLOURS["failed"][0] in svg and "1.5 s" in svg
    assert [fmt_duration(v) for v in (None, 12, 61_000, 7_380_000)] == [
        "\u2013",
        "12 ms",
        "1m 01s",
        "2h 03m",
    ]


# ---------------------------------------------------------------------------- run pages
@pytest.mark.browser
def test_finished_run_page_draws_the_dag_and_the_steps(page, seeded) -> None:
    _open(page, seeded, seeded.first)
    assert page.inner_text("#pipeline-name") == "training"
    assert page.inner_text("#pipeline-status") == "FINISHED"
    assert page.inner_text("#pipeline-executor") == "local"
    assert page.inner_text("#pipeline-seed") == "0"
    assert "alpha=0.5" in page.inner_text("#pipeline-params")
    nodes = page.locator("svg#dag g.dag-node")
    assert nodes.count() == len(TRAINING)
    assert sorted(nodes.evaluate_all("els => els.map(e => e.dataset.node)")) == sorted(TRAINING)
    assert set(nodes.evaluate_all("els => els.map(e => e.dataset.status)")) == {"finished"}
    assert (
        _node(page, "fit").locator("rect.dag-box").get_attribute("fill") == COLOURS["finished"][0]
    )
    assert page.locator("svg#dag path.dag-edge").count() == 7  # one per dependency
    # columns follow the longest path: make_frame left of split left of fit left of score
    xs = {n: _node(page, n).bounding_box()["x"] for n in TRAINING}
    assert xs["make_frame"] < xs["split"] < xs["fit"] < xs["score"] < xs["summarise"]
    assert xs["score"] == xs["coefficients"]

    rows = page.locator("#steps tr.step-row")
    assert rows.count() == len(TRAINING)
    fit = page.locator("#step-fit")
    assert fit.get_attribute("data-status") == "finished"
    assert "Ridge" in fit.inner_text() and fit.locator(".cached-chip").count() == 0
    execution = _execution(seeded, seeded.first, "fit")
    assert fit.locator("a.step-run-link").get_attribute("href") == f"/ui/runs/{execution.run_id}"
    for link, expected in (("output", b"skops"), ("logs", b"fitting on 30 rows")):
        resp = page.request.get(
            seeded.server.url + fit.locator(f"a.step-{link}-link").get_attribute("href")
        )
        assert resp.status == 200
        assert link == "output" or expected in resp.body()
    assert page.locator(".step-error").count() == 0


@pytest.mark.browser
def test_clicking_a_node_opens_the_step_run_and_links_back(page, seeded) -> None:
    _open(page, seeded, seeded.first)
    execution = _execution(seeded, seeded.first, "score")
    _node(page, "score").click()
    page.wait_for_url(f"**/ui/runs/{execution.run_id}")
    assert page.inner_text("#run-name") == "score"
    assert "r2" in page.inner_text("#charts")
    page.click("#pipeline-link a")
    page.wait_for_url(f"**/ui/pipelines/{seeded.first}")
    page.click("#pipeline-tracking-run")  # the pipeline's own tracking run links back as well
    page.wait_for_url(f"**/ui/runs/{seeded.first}")
    assert "DAG and steps" in page.inner_text("#pipeline-link")


@pytest.mark.browser
def test_cached_run_marks_every_node_cached(page, seeded) -> None:
    _open(page, seeded, seeded.cached)
    nodes = page.locator("svg#dag g.dag-node")
    assert nodes.count() == len(TRAINING)
    assert set(nodes.evaluate_all("els => els.map(e => e.dataset.status)")) == {"cached"}
    assert page.locator("svg#dag .dag-cached-badge").count() == len(TRAINING)
    box = _node(page, "fit").locator("rect.dag-box")
    assert box.get_attribute("fill") == COLOURS["cached"][0]
    assert box.get_attribute("stroke-dasharray")
    assert page.locator("#steps .cached-chip").count() == len(TRAINING)
    source = _execution(seeded, seeded.first, "fit").run_id
    fit = page.locator("#step-fit")
    assert fit.locator("a.step-source-link").get_attribute("href") == f"/ui/runs/{source}"
    resp = page.request.get(
        seeded.server.url + fit.locator("a.step-output-link").get_attribute("href")
    )
    assert resp.status == 200  # a cache hit's run holds the same output object


@pytest.mark.browser
def test_failed_node_is_red_and_its_downstream_not_run(page, seeded) -> None:
    _open(page, seeded, seeded.failed)
    assert page.inner_text("#pipeline-status") == "FAILED"
    assert page.locator("svg#dag g.dag-node").count() == 3
    fragile = _node(page, "fragile")
    assert fragile.get_attribute("data-status") == "failed"
    assert fragile.locator("rect.dag-box").get_attribute("fill") == COLOURS["failed"][0]
    assert "failed" in fragile.locator(".dag-status").text_content()
    skipped = _node(page, "plus_one_2")
    assert skipped.get_attribute("data-status") == "not run"
    assert skipped.locator("rect.dag-box").get_attribute("fill") == COLOURS["not run"][0]
    assert page.locator("svg#dag a.dag-link g[data-node='plus_one_2']").count() == 0  # no run
    assert _node(page, "plus_one").get_attribute("data-status") == "finished"
    assert page.locator("#step-plus_one_2").get_attribute("data-status") == "not run"

    error = page.locator("pre.step-error[data-node='fragile']")
    assert "Traceback" in error.inner_text()
    assert "RuntimeError: the flag file is missing" in error.inner_text()
    assert "the flag file is missing" in page.inner_text("#pipeline-run-error")
    href = page.locator("#step-fragile a.step-error-link").get_attribute("href")
    resp = page.request.get(seeded.server.url + href)
    assert resp.status == 200 and b"the flag file is missing" in resp.body()
    assert page.locator("#step-fragile a.step-output-link").count() == 0
    _node(page, "fragile").click()
    page.wait_for_url(f"**/ui/runs/{_execution(seeded, seeded.failed, 'fragile').run_id}")
    assert page.inner_text("#run-status") == "FAILED"


@pytest.mark.browser
def test_fanout_and_sweep_list_their_items(page, seeded) -> None:
    _open(page, seeded, seeded.fanout)
    assert page.locator("svg#dag g.dag-node").count() == 6
    assert "4 items" in _node(page, "train_segment").text_content()
    assert page.inner_text("#step-train_segment td.step-items") == "4"
    assert page.inner_text("#step-sweep_objective td.step-items") == "4"
    details = page.locator("details#items-train_segment")
    items = details.locator("tr.item-row")
    assert items.count() == 4 and not items.first.is_visible()
    details.locator("summary").click()
    assert items.first.is_visible()
    first = _execution(seeded, seeded.fanout, "train_segment", 0).run_id
    assert (
        _node(page, "train_segment").locator("xpath=..").get_attribute("href")
        == f"/ui/runs/{first}"
    )
    third = _execution(seeded, seeded.fanout, "train_segment", 2).run_id
    details.locator("tr.item-row[data-index='2'] a.item-run-link").click()
    page.wait_for_url(f"**/ui/runs/{third}")
    page.go_back()
    sweep = page.locator("details#items-sweep_objective")
    assert sweep.locator("tr.item-row").count() == 4
    assert "4 trials" in sweep.locator("summary").inner_text()


# ---------------------------------------------------------------------------- list page
@pytest.mark.browser
def test_list_page_and_its_filter(page, seeded) -> None:
    page.goto(seeded.server.url + "/ui/experiments")
    page.click("header >> text=Pipelines")
    page.wait_for_url("**/ui/pipelines")
    rows = page.locator("tr.pipeline-run-row")
    assert rows.evaluate_all("els => els.map(e => e.dataset.runId)") == [
        seeded.fanout,
        seeded.failed,
        seeded.cached,
        seeded.first,
    ]
    failed = page.locator(f"tr.pipeline-run-row[data-run-id='{seeded.failed}']")
    assert "FAILED" in failed.inner_text() and "local" in failed.inner_text()
    assert "flag_file=" in failed.inner_text()

    page.fill("#pipeline-filter", "training")
    page.click("#pipeline-filter-go")
    page.wait_for_url("**/ui/pipelines?pipeline=training")
    assert rows.evaluate_all("els => els.map(e => e.dataset.runId)") == [
        seeded.cached,
        seeded.first,
    ]
    assert "showing 1-2 of 2 pipeline runs of training" in page.inner_text("#pipeline-runs-pager")

    page.fill("#pipeline-filter", "no_such_pipeline")
    page.click("#pipeline-filter-go")
    assert rows.count() == 0 and page.locator("#no-pipeline-runs").is_visible()
    page.click("#pipeline-filter-clear")
    page.wait_for_url("**/ui/pipelines")
    assert rows.count() == 4

    page.locator(f"tr[data-run-id='{seeded.fanout}'] a.pipeline-name").click()
    page.wait_for_url("**/ui/pipelines?pipeline=*fanout")
    assert rows.count() == 1
    page.locator("a.pipeline-run-link").click()
    page.wait_for_url(f"**/ui/pipelines/{seeded.fanout}")


@pytest.mark.browser
def test_list_pages_by_cursor_keeping_the_filter(page, seeded) -> None:
    newest_first = [seeded.fanout, seeded.failed, seeded.cached, seeded.first]
    rows = page.locator("tr.pipeline-run-row")
    resp = page.goto(seeded.server.url + "/ui/pipelines?limit=3")
    assert resp is not None and resp.status == 200
    assert rows.evaluate_all("els => els.map(e => e.dataset.runId)") == newest_first[:3]
    assert "showing 1-3 of 4 pipeline runs" in page.inner_text("#pipeline-runs-pager")
    page.click("#pipeline-runs-next")
    page.wait_for_url("**/ui/pipelines?*cursor=*")
    assert rows.evaluate_all("els => els.map(e => e.dataset.runId)") == newest_first[3:]
    assert "showing 4-4 of 4 pipeline runs" in page.inner_text("#pipeline-runs-pager")
    assert page.locator("#pipeline-runs-next").count() == 0
    page.click("#pipeline-runs-first")
    page.wait_for_url("**/ui/pipelines?limit=3")
    assert rows.count() == 3

    page.goto(seeded.server.url + "/ui/pipelines?pipeline=training&limit=1")
    assert rows.evaluate_all("els => els.map(e => e.dataset.runId)") == [seeded.cached]
    page.click("#pipeline-runs-next")
    page.wait_for_url("**/ui/pipelines?*pipeline=training*cursor=*")
    assert rows.evaluate_all("els => els.map(e => e.dataset.runId)") == [seeded.first]
    assert "showing 2-2 of 2" in page.inner_text("#pipeline-runs-pager")


@pytest.mark.browser
@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("cursor=garbage", "cursor 'garbage' is not valid"),
        ("cursor=eyJhZnRlciI6ICJ4In0%3D", "is not valid"),  # {"after": "x"}: another list's
        ("limit=0", "limit must be 1..1000"),
        ("limit=many", "limit must be a whole number"),
        ("start=x", "start must be a whole number"),
    ],
)
def test_bad_paging_is_a_400_page_naming_it(page, seeded, query, text) -> None:
    resp = page.goto(f"{seeded.server.url}/ui/pipelines?{query}")
    assert resp is not None and resp.status == 400
    assert text in page.inner_text("#pipelines-error")
    assert page.locator("tr.pipeline-run-row").count() == 0


@pytest.mark.browser
def test_errors_render_clear_pages(page, seeded) -> None:
    resp = page.goto(seeded.server.url + "/ui/pipelines/not-a-run-id")
    assert resp is not None and resp.status == 400
    assert page.inner_text("#error-title") == "Cannot show this pipeline run"
    assert "32 lowercase hex" in page.inner_text("#pipeline-error")
    unknown = "f" * 32
    resp = page.goto(f"{seeded.server.url}/ui/pipelines/{unknown}")
    assert resp is not None and resp.status == 404
    assert page.inner_text("#error-title") == "Not found"
    assert unknown in page.inner_text("#pipeline-error")
    page.click("#back-to-pipelines")
    page.wait_for_url("**/ui/pipelines")


def test_pipeline_pages_need_a_token(live_server) -> None:
    with httpx.Client(base_url=live_server.url, follow_redirects=False) as client:
        resp = client.get("/ui/pipelines")
        assert resp.status_code == 303
        assert resp.headers["location"] == "/login?next=/ui/pipelines"
        resp = client.get("/ui/pipelines/" + "a" * 32)
        assert resp.status_code == 303
        client.cookies.set("shipyard_token", live_server.admin_token)
        resp = client.get("/ui/pipelines")
        assert resp.status_code == 200 and 'id="no-pipeline-runs"' in resp.text
        assert client.get("/ui/pipelines/" + "a" * 32).status_code == 404
