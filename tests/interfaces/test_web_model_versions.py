"""A model's versions as a release manager reads them, in real headless Chromium: per version
its status, aliases, headline metrics from its training run and where it is deployed (live,
canary n%, shadow) with links to those environments; the versions paged newest first with
the same number of database reads whatever the page size; the version page's deployment
state and dossier link; gate figures formatted; no console errors, nothing wider than
1280 px; unknown models and versions are 404 HTML pages."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression

from shipyard.core.entities import Metric
from shipyard.core.models import ModelRef
from shipyard.interfaces.web.model_decisions import gate_evidence
from shipyard.interfaces.web.model_versions import fmt_drop, fmt_figure, metric_columns
from tests.interfaces.conftest import LiveServer, _serve
from tests.interfaces.test_web_deploy import FEATURES
from tests.interfaces.test_web_run_pages import _clean, _console, _open

MODEL = "scoring"
LONG = "validation_roc_auc_weighted_macro_average_over_folds"  # a header that must wrap


@dataclass
class Fleet:
    server: LiveServer
    runs: dict[int, str]  # version → the run that logged it

    @property
    def url(self) -> str:
        return self.server.url


def _log(svc, version_run: str | None) -> None:  # type: ignore[no-untyped-def]
    model = LogisticRegression().fit(FEATURES, (FEATURES["spend"] > 40).to_numpy(dtype=int))
    svc.registry.log_model(
        model, MODEL, user="ada", run_id=version_run, input_example=FEATURES.head()
    )


def _run(svc, name: str, metrics: dict[str, float]) -> str:  # type: ignore[no-untyped-def]
    eid = svc.tracking.get_or_create_experiment("scoring").experiment_id
    run_id = svc.tracking.create_run(eid, run_name=name, user="ada").run_id
    svc.tracking.log_batch(run_id, [Metric(k, v, 1000, 0) for k, v in metrics.items()])
    return run_id


def _seed(server: LiveServer) -> Fleet:
    """scoring v1 (approved, champion, live in europe and staging), v2 (gate_passed, a
    20% canary in europe, a shadow in staging), v3 (no run, live in qa), v4 (rejected)."""
    svc = server.services
    runs = {
        1: _run(svc, "v1", {"auc": 0.912345678, "logloss": 0.30123456, "rows": 12345.0}),
        2: _run(svc, "v2", {"auc": 0.9300001, "logloss": -0.00252534, LONG: 1.0}),
        4: _run(svc, "v4", {"auc": 0.5}),
    }
    for version in (1, 2, 3, 4):
        _log(svc, runs.get(version))
    registry, deploy = svc.registry, svc.deployments.deploy  # type: ignore[attr-defined]
    for version in (1, 2, 4):
        registry.set_status(f"{MODEL}@{version}", "gate_passed", user="ci", reason="green")
    registry.set_status(f"{MODEL}@1", "approved", user="bob", reason="reviewed")
    registry.set_status(f"{MODEL}@4", "rejected", user="bob", reason="leaky")
    registry.set_alias(f"{MODEL}@1", "champion", user="bob", reason="first")
    admin = svc.access.authenticate(server.admin_token)  # type: ignore[attr-defined]
    for env in ("europe", "staging"):
        deploy(MODEL, 1, env, admin, strategy="replace")
    deploy(MODEL, 2, "europe", admin, strategy="canary", percent=20)
    deploy(MODEL, 2, "staging", admin, strategy="shadow")
    deploy(MODEL, 3, "qa", admin, strategy="replace")
    champion = {"version": 1, "value": 0.8837, "aliases": ["champion"]}
    report = {
        "gates": [
            {
                "gate": "auc_vs_champion",
                "kind": "vs_champion",
                "value": 0.8812,
                "champion": champion,
                "drop": 0.0025253,
                "threshold": {"max_drop": 0.01},
                "passed": True,
            }
        ]
    }
    with registry.db.write() as conn:  # type: ignore[attr-defined]
        registry.repo.add_gate_result(  # type: ignore[attr-defined]
            conn,
            ModelRef(MODEL, version=2),
            passed=True,
            holdout="holdout@v1",
            report=report,
            user="ci",
            now=1_700_000_000_000,
        )
    return Fleet(server, runs)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    for server in _serve(tmp_path_factory.mktemp("model-versions-web"), "local"):
        yield _seed(server)


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


# ---------------------------------------------------------------- formatting
@pytest.mark.parametrize(
    ("value", "text"),
    [
        (-0.0025253, "\u22120.002525"),
        (0.912345678, "0.9123"),
        (12345.6, "12,346"),
        (3.0, "3"),
        (0.01, "0.01"),
        (-0.5, "\u22120.5"),
        (1234567.0, "1.235e+06"),
        (0.00001234, "1.234e-05"),
        (0.0, "0"),
        (-7, "\u22127"),
        (None, "\u2013"),
        (True, "true"),
        (float("nan"), "nan"),
    ],
)
def test_figures_have_four_significant_digits(value, text) -> None:
    assert fmt_figure(value) == text


def test_a_drop_has_the_decimals_of_the_figures_it_compares() -> None:
    assert fmt_drop(-0.0025253, 0.8837, 0.8812) == "\u22120.0025"
    assert fmt_drop(0.0025253, 0.8837, 0.8812) == "0.0025"
    assert fmt_drop(3.6, 1234.0, 1230.4) == "4"
    assert fmt_drop(0.00001234, 0.8837) == "0.000012"  # rounds to 0 at 4 decimals
    assert fmt_drop(-0.0025253) == "\u22120.002525"  # nothing compared: a figure
    assert fmt_drop(None, 0.8) == "\u2013"


def test_the_champion_note_shows_a_formatted_drop() -> None:
    champion = {"version": 1, "value": 0.88371234}
    result = {"kind": "vs_champion", "value": 0.8812, "champion": champion, "drop": -0.0025253}
    (run,) = gate_evidence([{"gates": [result], "passed": True}])
    assert run["gates"][0]["notes"] == ["champion v1: 0.8837, drop \u22120.0025"]
    assert run["gates"][0]["value"] == "0.8812"


def test_metric_columns_are_the_keys_most_versions_logged() -> None:
    logged = [{"auc": 1.0, "loss": 2.0}, {"auc": 1.0, "f1": 0.5}, {"auc": 0.3, "f1": 0.1}, {}]
    assert metric_columns(logged) == ["auc", "f1", "loss"]
    assert metric_columns(logged, most=1) == ["auc"]
    assert metric_columns([{}, {}]) == []


# ---------------------------------------------------------------- the versions table
def _row(page, version: int):  # type: ignore[no-untyped-def]
    return page.locator(f"#version-{version}")


def _chips(page, selector: str) -> list[list[str]]:
    return page.locator(f"{selector} .deploy-chip").evaluate_all(
        "els => els.map(e => [e.dataset.env, e.innerText, e.getAttribute('href')])"
    )


@pytest.mark.browser
def test_each_version_shows_status_aliases_metrics_and_deployments(page, fleet) -> None:
    _open(page, f"{fleet.url}/ui/models/{MODEL}")
    rows = page.locator("#versions tr.version-row")
    assert rows.evaluate_all("els => els.map(e => e.dataset.status)") == [
        "rejected",
        "candidate",
        "gate_passed",
        "approved",
    ]
    heads = page.locator("#versions th.metric-head").evaluate_all(
        "els => els.map(e => e.dataset.key)"
    )
    assert heads == ["auc", "logloss", "rows", LONG]  # by how many versions logged them

    def metrics(version: int) -> list[str]:
        cells = _row(page, version).locator("td.metric")
        return cells.evaluate_all("els => els.map(e => e.innerText)")

    assert metrics(1) == ["0.9123", "0.3012", "12,345", "\u2013"]
    assert metrics(2) == ["0.93", "\u22120.002525", "\u2013", "1"]
    assert metrics(3) == ["\u2013"] * 4  # logged outside a run
    assert _row(page, 1).locator(".version-aliases").inner_text().strip() == "champion"
    assert _chips(page, "#version-1") == [
        ["europe", "europe: live 80%", "/ui/environments/europe"],
        ["staging", "staging: live", "/ui/environments/staging"],
    ]
    assert _chips(page, "#version-2") == [
        ["europe", "europe: canary 20%", "/ui/environments/europe"],
        ["staging", "staging: shadow", "/ui/environments/staging"],
    ]
    assert _chips(page, "#version-3") == [["qa", "qa: live", "/ui/environments/qa"]]
    assert _row(page, 4).locator(".version-deployments").inner_text() == "not deployed"
    _clean(page)

    _row(page, 2).locator("a.deploy-chip[data-env='europe']").click()
    page.wait_for_url("**/ui/environments/europe")
    assert MODEL in page.inner_text("main")


@pytest.mark.browser
def test_the_versions_page_newest_first(page, fleet) -> None:
    _open(page, f"{fleet.url}/ui/models/{MODEL}?limit=3")
    versions = "els => els.map(e => e.dataset.version)"
    assert page.locator("#versions tr.version-row").evaluate_all(versions) == ["4", "3", "2"]
    assert "showing 1-3 of 4 versions" in page.inner_text("#versions-pager")
    page.click("#versions-next")
    page.wait_for_url(f"**/ui/models/{MODEL}?limit=3&cursor=*")
    assert page.locator("#versions tr.version-row").evaluate_all(versions) == ["1"]
    assert "showing 4-4 of 4 versions" in page.inner_text("#versions-pager")
    assert page.locator("#version-1 td.metric").count() == 3  # this page's runs' keys
    assert page.locator("#versions-next").count() == 0
    _clean(page)


def test_a_page_of_versions_costs_the_same_reads_whatever_its_size(fleet) -> None:
    engine = fleet.server.services.registry.db.engine  # type: ignore[attr-defined]
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    reads = {}
    try:
        for limit in (1, 4):
            statements.clear()
            resp = httpx.get(f"{fleet.url}/ui/models/{MODEL}?limit={limit}", timeout=30)
            assert resp.status_code == 200 and resp.text.count('class="version-row') == limit
            reads[limit] = len(statements)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert reads[1] == reads[4], reads


@pytest.mark.browser
@pytest.mark.parametrize("query", ["cursor=garbage", "limit=0", "limit=x"])
def test_bad_version_paging_is_a_400_page(page, fleet, query) -> None:
    _open(page, f"{fleet.url}/ui/models/{MODEL}?{query}", status=400)
    assert "limit" in page.inner_text("#model-error") or "cursor" in page.inner_text("#model-error")


# ---------------------------------------------------------------- the version page
@pytest.mark.browser
def test_the_version_page_shows_where_it_runs_and_links_its_dossier(page, fleet) -> None:
    _open(page, f"{fleet.url}/ui/models/{MODEL}/versions/2")
    assert _chips(page, "#version-deployments") == [
        ["europe", "europe: canary 20%", "/ui/environments/europe"],
        ["staging", "staging: shadow", "/ui/environments/staging"],
    ]
    notes = page.locator("#gate-run-latest .gate-note").all_inner_texts()
    assert notes == ["champion v1: 0.8837, drop 0.0025"]
    assert page.inner_text("#gate-run-latest .gate-threshold") == "drop \u2264 0.01"
    _clean(page)

    href = page.get_attribute("#version-dossier-link", "href")
    assert href == f"/ui/models/{MODEL}/versions/2/dossier"
    resp = httpx.get(fleet.url + href, timeout=60)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert "dossier-scoring-v2.html" in resp.headers["content-disposition"]
    assert f"Model dossier: {MODEL} v2" in resp.text
    page.click("#version-dossier-link")
    page.wait_for_url(f"**{href}")
    assert f"{MODEL} v2" in page.inner_text("h1")


@pytest.mark.browser
def test_an_undeployed_version_says_so(page, fleet) -> None:
    _open(page, f"{fleet.url}/ui/models/{MODEL}/versions/4")
    assert page.inner_text("#version-not-deployed") == "not deployed"
    assert page.locator("#version-deployments .deploy-chip").count() == 0
    _clean(page)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/ui/models/nothing", "no registered model named 'nothing'"),
        (f"/ui/models/{MODEL}/versions/99", f"model '{MODEL}' has no version 99"),
        (f"/ui/models/{MODEL}/versions/gold", f"model '{MODEL}' has no alias 'gold'"),
        (f"/ui/models/{MODEL}/versions/99/dossier", f"model '{MODEL}' has no version 99"),
        ("/ui/models/nothing/versions/1/dossier", "no registered model named 'nothing'"),
    ],
)
def test_unknown_models_and_versions_are_404_html_pages(fleet, path, text) -> None:
    resp = httpx.get(fleet.url + path, timeout=30)
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("text/html")
    assert text in html.unescape(resp.text) and 'id="error-title">Not found<' in resp.text


def test_a_bad_version_of_a_dossier_is_a_400_page(fleet) -> None:
    resp = httpx.get(f"{fleet.url}/ui/models/{MODEL}/versions/0/dossier", timeout=30)
    assert resp.status_code == 400 and "versions start at 1" in resp.text
