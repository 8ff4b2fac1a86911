"""The dataset version page as a practitioner reads it, in real headless Chromium at 1280 px:
per-column distributions drawn from the stored profile (histograms between quantiles, bars of
category counts, missing counts, a cap on wide tables) and the lineage shown once, with the
model versions trained on the version (from a pipeline that read it) linked to their pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.interfaces.presenters.lineage import models_trained_by
from shipyard.interfaces.web.profile_charts import MAX_COLUMNS, column_charts, histogram_bins
from tests.interfaces.lineage_world import World, loans
from tests.interfaces.test_web_run_pages import _clean, _console, _open


@pytest.fixture(scope="module")
def world(lineage_world: World) -> World:
    """The shared lineage world (``loans@v1`` trained two models, ``loans@v2`` nothing) and
    a 45-column table."""
    wide = pd.DataFrame({f"f{i:02d}": np.arange(12) * (i + 1) for i in range(45)})
    services: Any = lineage_world.server.services
    services.catalog.register("wide", wide, user="alice")
    return lineage_world


@pytest.fixture
def page(browser) -> Iterator[Any]:
    p = browser.new_page(viewport={"width": 1280, "height": 900})
    p.errors = []
    p.on("console", lambda m: _console(p, m))
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    try:
        yield p
    finally:
        p.close()


# ---------------------------------------------------------------------------- the maths


def test_histogram_bins_match_numpy_between_the_profile_quantiles() -> None:
    values = pd.Series(np.random.default_rng(0).gamma(2.0, 3.0, size=20001))
    levels = (0.05, 0.25, 0.5, 0.75, 0.95)
    quantiles = {str(q): float(values.quantile(q)) for q in levels}
    bins = histogram_bins(float(values.min()), float(values.max()), quantiles)
    edges = [bins[0][0]] + [right for _, right, _ in bins]
    density, numpy_edges = np.histogram(values, bins=edges, density=True)
    ours = [share / (right - left) for left, right, share in bins]
    np.testing.assert_allclose(ours, density, rtol=2e-3)
    np.testing.assert_allclose(edges, numpy_edges)
    assert sum(share for *_, share in bins) == pytest.approx(1.0)


def test_tied_quantiles_keep_their_share_and_a_constant_column_has_no_bins() -> None:
    # 0..25 % all equal 1.0 (many equal values): that share joins the next bin
    bins = histogram_bins(1.0, 9.0, {"0.05": 1.0, "0.25": 1.0, "0.5": 4.0, "0.75": 6.0})
    assert [(lo, hi) for lo, hi, _ in bins] == [(1.0, 4.0), (4.0, 6.0), (6.0, 9.0)]
    assert [round(s, 6) for *_, s in bins] == [0.5, 0.25, 0.25]
    assert histogram_bins(2.0, 2.0, {"0.5": 2.0}) == []


# ---------------------------------------------------------------------------- the page


def _rendered(page: Any, column: str) -> dict[str, Any]:
    """What ECharts drew for a column: the chart kind's series type and its point count."""
    el = f"figure.distribution[data-column='{column}'] div.chart"
    page.wait_for_selector(f"{el}[data-rendered]")
    return page.evaluate(
        """sel => { const el = document.querySelector(sel);
        const inst = echarts.getInstanceByDom(el);
        if (!inst) { return {state: el.dataset.rendered, text: el.textContent}; }
        const s = inst.getOption().series[0];
        return {state: el.dataset.rendered, type: s.type, step: s.step || null,
                n: s.data.length, data: s.data}; }""",
        el,
    )


@pytest.mark.browser
def test_distributions_come_from_the_profile(page, world) -> None:
    server = world.server
    _open(page, server.url + "/ui/data/loans/v/1")
    version: Any = server.services.catalog.get_version("loans@v1")  # type: ignore[attr-defined]
    expected = column_charts(version)
    income = _rendered(page, "income")
    assert income["state"] == "true" and income["type"] == "line" and income["step"] == "end"
    assert income["data"] == expected["col-0"]["points"] and income["n"] >= 6
    bonus = _rendered(page, "bonus")
    assert bonus["type"] == "line" and bonus["data"] == expected["col-4"]["points"]
    missing = page.locator("figure.distribution .missing-count").all_inner_texts()
    assert missing == ["0 missing", "0 missing", "0 missing", "0 missing", "40 missing"]
    segment = _rendered(page, "segment")
    assert segment["type"] == "bar" and segment["n"] == 3
    counts = loans()["segment"].value_counts()
    assert segment["data"] == [int(counts[k]) for k in expected["col-2"]["categories"]]
    defaulted = _rendered(page, "defaulted")  # two distinct numbers: exact bars, in order
    assert defaulted["type"] == "bar" and expected["col-3"]["categories"] == ["0", "1"]
    assert page.locator("#distributions-more").count() == 0
    _clean(page)


@pytest.mark.browser
def test_a_wide_table_draws_its_first_columns_only(page, world) -> None:
    _open(page, world.server.url + "/ui/data/wide")
    assert page.locator("figure.distribution").count() == MAX_COLUMNS
    assert f"First {MAX_COLUMNS} of 45 columns" in page.inner_text("#distributions-more")
    assert _rendered(page, f"f{MAX_COLUMNS - 1:02d}")["state"] == "true"
    _clean(page)


@pytest.mark.browser
def test_lineage_once_with_the_models_trained_on_the_version(page, world) -> None:
    _open(page, world.server.url + "/ui/data/loans/v/1")
    assert page.locator("#lineage").count() == 1
    assert page.locator("h2", has_text="Lineage").count() == 1
    runs = page.locator("#lineage-runs li.lineage-run")
    ids = runs.evaluate_all("els => els.map(e => e.dataset.runId)")
    assert ids == [world.pipeline_run, world.direct_run]
    models = page.locator("#lineage-models li.lineage-model")
    refs = models.evaluate_all("els => els.map(e => e.dataset.ref)")
    assert refs == ["default-risk@v1", "notebook-model@v1"]
    step_model = page.locator("li.lineage-model[data-ref='default-risk@v1']").inner_text()
    assert "registered from run fit_default, a step of train_on_loans" in step_model
    direct_model = page.locator("li.lineage-model[data-ref='notebook-model@v1']").inner_text()
    assert "registered from run notebook" in direct_model and "a step of" not in direct_model
    reader = page.locator(f"li.lineage-run[data-run-id='{world.pipeline_run}']").inner_text()
    assert "as pipeline" in reader and "trained default-risk@v1" in reader
    assert page.locator("h2", has_text="Distributions").count() == 1
    _clean(page)
    page.click("li.lineage-model[data-ref='default-risk@v1'] >> a >> nth=0")
    page.wait_for_url("**/ui/models/default-risk/versions/1")
    page.wait_for_load_state("networkidle")
    _clean(page)
    _open(page, world.server.url + "/ui/data/loans/v/1")
    page.click(f"li.lineage-run[data-run-id='{world.pipeline_run}'] >> a >> nth=0")
    page.wait_for_url(f"**/ui/runs/{world.pipeline_run}")
    assert page.inner_text("#run-name") == "train_on_loans"

    _open(page, world.server.url + "/ui/data/loans/v/2")  # read by nothing
    assert page.locator("#lineage-empty").count() == 1
    assert page.locator("#lineage-no-models").count() == 1
    _clean(page)


@pytest.mark.browser
def test_unknown_dataset_or_version_is_a_404_page(page, world) -> None:
    for path, said in [
        ("/ui/data/nothing-here", "no dataset named 'nothing-here'"),
        ("/ui/data/loans/v/9", "has no version v9"),
    ]:
        _open(page, world.server.url + path, status=404)
        assert page.inner_text("#error-title") == "Not found"
        assert said in page.inner_text("#data-error")
    for path, status, said in [
        ("/ui/data/loans/v/9/profile.json", 404, "has no version v9"),
        ("/ui/data/nothing-here/v/1/profile.json", 404, "no dataset named 'nothing-here'"),
        ("/ui/data/loans/v/0/profile.json", 400, "start at v1"),
        ("/ui/data/bad%20name!/v/1/profile.json", 400, "dataset name must be"),
    ]:
        resp = page.request.get(world.server.url + path)
        assert resp.status == status and said in resp.json()["message"], path


def test_models_trained_by_walks_down_from_the_reading_runs(world) -> None:
    services: Any = world.server.services
    found = models_trained_by(services, {world.pipeline_run: "p", world.direct_run: "n"})
    assert [(m.version.ref, m.run_id, m.reader) for m in found] == [
        ("default-risk@v1", world.step_run, world.pipeline_run),
        ("notebook-model@v1", world.direct_run, world.direct_run),
    ]
    assert models_trained_by(services, {world.step_run: "s"})[0].reader == world.step_run
    assert models_trained_by(services, {}) == []


def test_lineage_lookups_name_a_bad_run_id(world) -> None:
    from shipyard.core.errors import ValidationError

    services: Any = world.server.services
    for lookup in (services.tracking.child_runs, services.registry.versions_of_runs):
        with pytest.raises(ValidationError) as caught:
            lookup([world.direct_run, "not-a-run"])
        assert caught.value.http_status == 400 and "run_id" in str(caught.value.field)
        assert lookup([]) == []
