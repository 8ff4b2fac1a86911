"""Environments and deployments in real headless Chromium: the list of environments with live
and candidate versions, traffic split and recent figures; one environment's charts, history
(an automatic rollback highlighted with its rule and evidence) and the Promote / Roll back
buttons: shown to a deployer, hidden from a contributor whose forged POSTs get a 403 page;
409s (nothing to roll back to, a stale page) shown as messages; 404 and 400 pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.core.clock import now_ms
from shipyard.core.deployments import Deployment, Strategy
from shipyard.core.entities import Role
from shipyard.core.errors import ValidationError
from shipyard.core.latency import BOUNDS_MS, bucket_of
from shipyard.interfaces.web.deploy_routes import parse_refresh, parse_window, traffic_split
from tests.interfaces.conftest import LiveServer, _serve
from tests.interfaces.test_web_models import _open
from tests.interfaces.test_web_ui import chart_options

POLICY = """
[release.churn.deploy]
strategy = "canary"
steps = [10, 50, 100]
rollback_if = "error_rate > 0.2"
min_requests = 5
"""


@dataclass
class Fleet:
    server: LiveServer
    tokens: dict[str, str]

    @property
    def svc(self):  # type: ignore[no-untyped-def]
        return self.server.services

    def url(self, path: str) -> str:
        return self.server.url + path


FEATURES = pd.DataFrame(
    {
        "tenure": np.random.default_rng(7).integers(1, 60, 60),
        "spend": np.random.default_rng(8).normal(40, 9, 60),
    }
)


def _log(registry, name: str, c: float) -> None:  # type: ignore[no-untyped-def]
    """A tiny logistic regression as the next version of ``name``."""
    model = LogisticRegression(C=c).fit(FEATURES, (FEATURES["spend"] > 40).to_numpy(dtype=int))
    registry.log_model(model, name, user="ada", input_example=FEATURES.head())


def _buckets(fast: int, slow: int, slowest: int = 0) -> list[int]:
    out = [0] * (len(BOUNDS_MS) + 1)
    out[bucket_of(4)] += fast
    out[bucket_of(15)] += slow
    out[bucket_of(40)] += slowest
    return out


def _flush_staging(fleet: Fleet, now: int, minutes: int = 10) -> None:
    """Two replicas every 10 s: v1 live takes 90 requests (1 error), the v2 canary 10."""
    for k in range(1, minutes * 6 + 1):
        for replica in ("r1", "r2"):
            fleet.svc.figures.flush(
                "staging",
                replica,
                now - k * 10_000,
                [
                    ("churn", 1, "live", 45, 1, 45 * 5.0, _buckets(40, 4, 1)),
                    ("churn", 2, "canary", 5, 0, 5 * 8.0, _buckets(3, 2)),
                ],
            )


def _seed(server: LiveServer) -> Fleet:
    svc = server.services
    tokens = {}
    for name, role in {"otto": Role.DEPLOYER, "carl": Role.CONTRIBUTOR}.items():
        svc.access.add_user(name, role, actor="admin")  # type: ignore[attr-defined]
        tokens[name] = svc.access.issue_token(name, actor="admin")  # type: ignore[attr-defined]
    fleet = Fleet(server, tokens)
    registry, deploy = fleet.svc.registry, fleet.svc.deployments.deploy
    for c in (1.0, 0.5, 0.1):
        _log(registry, "churn", c)
    _log(registry, "fraud", 1.0)
    registry.set_status("churn@1", "gate_passed", user="ci", reason="gates green")
    registry.set_status("churn@1", "approved", user="carol", reason="reviewed")
    otto = svc.access.authenticate(tokens["otto"])  # type: ignore[attr-defined]
    deploy("churn", 1, "production", otto, reason="first release")
    for env in ("staging", "qa", "preprod", "edge", "perf"):
        deploy("churn", 1, env, otto)
    deploy("fraud", 1, "staging", otto)
    for env in ("staging", "preprod", "perf"):
        deploy("churn", 2, env, otto, reason="try v2")  # the policy: a 10% canary
    deploy("churn", 2, "qa", otto, strategy="replace", reason="straight to v2")
    _flush_staging(fleet, now_ms())
    later = now_ms() + 1
    fleet.svc.figures.flush(
        "perf",
        "r1",
        later,
        [
            ("churn", 1, "live", 100, 0, 500.0, _buckets(100, 0)),
            ("churn", 2, "canary", 50, 20, 400.0, _buckets(30, 20)),
        ],
    )
    assert len(fleet.svc.figures.watch("perf")) == 1
    return fleet


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    root = tmp_path_factory.mktemp("deploy-web")
    (root / "shipyard.toml").write_text(POLICY)
    for server in _serve(root, "token"):
        yield _seed(server)


@pytest.fixture
def login(browser, fleet) -> Iterator[Callable[[str], object]]:
    contexts = []

    def as_user(name: str):
        context = browser.new_context()
        contexts.append(context)
        p = context.new_page()
        _open(p, fleet.url("/login?next=/ui/environments"))
        p.fill("#token", fleet.tokens.get(name, fleet.server.admin_token))
        p.click("form button[type=submit]")
        p.wait_for_url("**/ui/environments")
        return p

    try:
        yield as_user
    finally:
        for context in contexts:
            context.close()


FORGE = """([action, fields]) => {
  const form = document.createElement('form');
  form.method = 'post';
  form.action = action;
  for (const [name, value] of Object.entries(fields)) {
    const field = document.createElement('input');
    field.name = name;
    field.value = value;
    form.appendChild(field);
  }
  document.body.appendChild(form);
  form.submit();
}"""


def _forge(page, action: str, **fields: str) -> int:
    """Submit a form the page may not offer; the response status."""
    with page.expect_navigation() as nav:
        page.evaluate(FORGE, [action, {"model": "churn", "refresh": "0", **fields}])
    return nav.value.status


def _state(fleet: Fleet, env: str, model: str = "churn") -> Deployment:
    return fleet.svc.deployments.get(env, model)


def _history(page, model: str = "churn") -> list[list[str]]:
    rows = page.locator(f"section[data-model='{model}'] tr.history-row")
    return rows.evaluate_all(
        "els => els.map(e => [e.dataset.action, e.dataset.from, e.dataset.to])"
    )


# ---------------------------------------------------------------- pure helpers
def test_window_and_refresh_are_validated() -> None:
    assert parse_window("") == "30m" and parse_window(" 5m ") == "5m"
    for bad in ("7y", "30", "-1h"):
        with pytest.raises(ValidationError, match="window must be one of 5m, 30m, 1h"):
            parse_window(bad)
    assert parse_refresh("") == 5 and parse_refresh("0") == 0 and parse_refresh("60") == 60
    for bad in ("1", "-5", "x", "601"):
        with pytest.raises(ValidationError, match="refresh must be 0"):
            parse_refresh(bad)


def test_traffic_split_per_strategy() -> None:
    def d(candidate, strategy, traffic):  # type: ignore[no-untyped-def]
        return Deployment("s", "m", 1, candidate, strategy, traffic, None, "u", 0, 1)

    def labels(x: Deployment) -> list[tuple[str, int]]:
        return [(s["label"], s["share"]) for s in traffic_split(x)]

    assert labels(d(None, Strategy.REPLACE, 100)) == [("v1 100%", 100)]
    assert labels(d(2, Strategy.CANARY, 10)) == [("v1 90%", 90), ("v2 10%", 10)]
    assert labels(d(2, Strategy.SHADOW, 100)) == [("v1 100%", 100), ("v2 shadow", 0)]
    assert labels(d(2, Strategy.BLUEGREEN, 0)) == [("v1 100%", 100), ("v2 staged", 0)]


# ---------------------------------------------------------------- pages
@pytest.mark.browser
def test_the_list_shows_live_candidate_traffic_and_figures(login, fleet) -> None:
    page = login("carl")
    staging = page.locator("section[data-env='staging']")
    assert staging.locator(".protected-badge").count() == 0
    assert page.locator("section[data-env='production'] .protected-badge").is_visible()
    churn = staging.locator("tr.deployment-row[data-model='churn']")
    assert churn.get_attribute("data-state") == "canary"
    assert churn.locator(".live-link").inner_text() == "v1"
    assert churn.locator(".candidate-link").inner_text() == "v2"
    assert churn.locator(".strategy").inner_text() == "canary"
    assert churn.locator(".traffic-split").inner_text() == "v1 90% · v2 10%"
    widths = churn.locator(".split-seg").evaluate_all("els => els.map(e => e.style.width)")
    assert widths == ["90%", "10%"]
    live = churn.locator("tr.figure-row[data-version='1'][data-role='live']")
    assert int(live.get_attribute("data-requests")) > 0
    assert float(live.locator(".fig-rate").inner_text()) > 0
    assert live.locator(".fig-errors").inner_text() == "2.22%"  # 1 error in 45 requests
    assert 0 < float(live.locator(".fig-p50").inner_text()) <= 4
    assert float(live.locator(".fig-p99").inner_text()) > 15
    canary = churn.locator("tr.figure-row[data-version='2'][data-role='canary']")
    assert canary.locator(".fig-errors").inner_text() == "0.00%"
    fraud = staging.locator("tr.deployment-row[data-model='fraud']")
    assert fraud.locator(".traffic-split").inner_text() == "v1 100%"
    assert "no requests" in fraud.locator(".no-traffic").inner_text()
    churn.locator(".live-link").click()
    page.wait_for_url("**/ui/models/churn/versions/1")
    page.go_back()
    page.click("section[data-env='staging'] .env-link")
    page.wait_for_url("**/ui/environments/staging")
    assert page.inner_text("#env-name") == "staging"


@pytest.mark.browser
def test_the_environment_page_charts_figures_over_time(login, fleet) -> None:
    page = login("carl")
    _open(page, fleet.url("/ui/environments/staging?refresh=0&window=30m"))
    churn = page.locator("section[data-model='churn']")
    charts = chart_options(page, "section[data-model='churn']")
    assert len(charts) == 4
    titles = list(charts)
    assert titles == [
        "request rate (req/s)",
        "error rate (%)",
        "p50 latency (ms)",
        "p99 latency (ms)",
    ]
    labels = [s["name"] for s in charts["p99 latency (ms)"]["series"]]
    assert labels == ["v1 live", "v2 canary"]
    points = charts["request rate (req/s)"]["series"][0]["data"]
    assert len([p for p in points if p[1]]) >= 19  # 10 minutes of 30 s steps
    assert page.locator("a.window-link.current").inner_text() == "30m"
    assert "No serving figures" in page.inner_text("section[data-model='fraud'] .no-figures")
    page.click("a.window-link[data-window='5m']")
    page.wait_for_url("**window=5m**")
    assert len(chart_options(page, "section[data-model='churn']")) == 4
    assert (
        "need the deployer role (you are contributor)"
        in churn.locator(".action-note").first.inner_text()
    )


@pytest.mark.browser
def test_the_charts_have_a_time_axis_and_agree_with_the_table(login, fleet) -> None:
    page = login("carl")
    _open(page, fleet.url("/ui/environments/staging?refresh=0&window=30m"))
    scope = "section[data-model='churn']"
    charts = chart_options(page, scope)
    src = page.locator(f"{scope} div.chart").first.get_attribute("data-src")
    now = int(src.rsplit("now=", 1)[1])  # the page's own "now": the table's as well
    for chart in charts.values():
        assert chart["x"] == "time" and chart["y_min"] == 0  # never below zero
    assert charts["error rate (%)"]["unit"] == "%" and charts["p99 latency (ms)"]["unit"] == "ms"
    live, canary = charts["request rate (req/s)"]["series"]
    times = [p[0] for p in live["data"]]
    assert len(times) == 60 and times[-1] == now  # 30 minutes of 30 s steps, ending now
    assert {b - a for a, b in pairwise(times)} == {30_000}
    assert abs(now - now_ms()) < 120_000  # real timestamps, not "seconds before now"
    rows = page.locator(f"{scope} tr.figure-row")
    for line, role in ((live, "live"), (canary, "canary")):
        recent = [p[1] for p in line["data"][-10:]]  # the table's last 5 minutes
        shown = rows.locator(f"xpath=self::*[@data-role='{role}']").locator(".fig-rate")
        assert f"{sum(recent) / len(recent):.3g}" == shown.inner_text()
    errors = [p[1] for p in charts["error rate (%)"]["series"][0]["data"] if p[1] is not None]
    assert len(errors) >= 19 and errors == pytest.approx([100 / 45] * len(errors))
    assert rows.first.locator(".fig-errors").inner_text() == f"{100 / 45:.2f}%"
    resp = page.request.get(fleet.url(src.replace("now=", "now=x")))
    assert resp.status == 400 and "now must be a time" in resp.json()["message"]


@pytest.mark.browser
def test_a_deployer_rolls_back_with_a_reason(login, fleet) -> None:
    page = login("otto")
    _open(page, fleet.url("/ui/environments/qa?refresh=0"))
    churn = page.locator("section[data-model='churn']")
    assert churn.locator(".live-link").inner_text() == "v2"
    assert churn.locator(".promote-button").count() == 0  # nothing rolling out
    assert churn.locator(".rollback-button").inner_text() == "Roll back to v1"
    churn.locator(".rollback-reason").fill("v2 misroutes premium customers")
    churn.locator(".rollback-button").click()
    page.wait_for_url("**/ui/environments/qa?**")
    churn = page.locator("section[data-model='churn']")
    assert churn.locator(".live-link").inner_text() == "v1"
    assert churn.locator(".updated-by").inner_text() == "otto"
    first = churn.locator("tr.history-row").first
    assert _history(page)[0] == ["rollback", "2", "1"]
    assert first.locator(".history-actor").inner_text() == "otto"
    assert first.locator(".history-reason").inner_text() == "v2 misroutes premium customers"
    assert _state(fleet, "qa").live_version == 1
    trail = fleet.svc.audit.log("deployment:qa/churn", 1)
    assert trail[0].action == "deployment.rollback" and trail[0].actor == "otto"


@pytest.mark.browser
def test_a_deployer_promotes_a_canary_step_by_step(login, fleet) -> None:
    page = login("otto")
    _open(page, fleet.url("/ui/environments/preprod?refresh=0"))
    churn = page.locator("section[data-model='churn']")
    assert churn.locator(".promote-button").inner_text() == "Promote v2 to 50%"
    churn.locator(".promote-button").click()
    page.wait_for_url("**/ui/environments/preprod?**")
    assert churn.locator(".traffic-split").inner_text() == "v1 50% · v2 50%"
    assert churn.locator(".promote-button").inner_text() == "Promote v2 to live"
    churn.locator(".promote-reason").fill("error rate flat")
    churn.locator(".promote-button").click()
    page.wait_for_url("**/ui/environments/preprod?**")
    assert churn.get_attribute("data-state") == "live"
    assert churn.locator(".traffic-split").inner_text() == "v2 100%"
    assert _history(page)[:2] == [["promote", "1", "2"], ["promote", "1", "2"]]
    assert churn.locator("tr.history-row .history-reason").first.inner_text() == "error rate flat"


@pytest.mark.browser
def test_a_contributor_sees_no_buttons_and_a_forged_post_is_refused(login, fleet) -> None:
    page = login("carl")
    _open(page, fleet.url("/ui/environments/staging?refresh=0"))
    assert page.locator(".deploy-action, .rollback-button, .promote-button").count() == 0
    before = _state(fleet, "staging")
    for action in ("rollback", "promote"):
        assert _forge(page, fleet.url(f"/ui/environments/staging/{action}"), reason="x") == 403
        assert page.inner_text("#action-error-title") == "Refused"
        assert "user 'carl' has role contributor" in page.inner_text("#action-error-message")
        assert page.locator(".traffic-split").first.inner_text() == "v1 90% · v2 10%"
    assert _state(fleet, "staging") == before


@pytest.mark.browser
def test_conflicts_and_bad_input_are_messages_not_500s(login, fleet) -> None:
    page = login("otto")
    _open(page, fleet.url("/ui/environments/edge?refresh=0"))
    assert page.locator(".rollback-button").count() == 0
    assert "nothing to roll back to" in page.inner_text(".action-note")
    assert _forge(page, fleet.url("/ui/environments/edge/rollback"), reason="panic") == 409
    assert page.inner_text("#action-error-title") == "Cannot roll back"
    assert "no previous version of churn" in page.inner_text("#action-error-message")
    assert _forge(page, fleet.url("/ui/environments/edge/promote")) == 409
    assert "nothing to promote" in page.inner_text("#action-error-message")
    assert _forge(page, fleet.url("/ui/environments/edge/rollback"), reason=" ") == 400
    assert "a rollback needs a reason" in page.inner_text("#action-error-message")
    stale = _forge(page, fleet.url("/ui/environments/staging/rollback"), reason="x", generation="1")
    assert stale == 409 and "changed since the page was loaded" in page.inner_text(
        "#action-error-message"
    )
    assert (
        _forge(page, fleet.url("/ui/environments/edge/rollback"), model="nope", reason="x") == 404
    )
    assert _forge(page, fleet.url("/ui/environments/nowhere/rollback"), reason="x") == 404
    assert "no environment 'nowhere'" in page.inner_text("#env-error")
    assert _state(fleet, "staging").candidate_version == 2


@pytest.mark.browser
def test_an_automatic_rollback_is_highlighted_with_its_evidence(login, fleet) -> None:
    page = login("carl")
    _open(page, fleet.url("/ui/environments/perf?refresh=0"))
    churn = page.locator("section[data-model='churn']")
    assert churn.get_attribute("data-state") == "live"
    auto = churn.locator("tr.history-row.auto-rollback")
    assert auto.count() == 1 and _history(page)[0] == ["auto_rollback", "2", "1"]
    assert auto.locator(".auto-badge").inner_text() == "⚠ auto_rollback"
    assert auto.locator(".history-actor").inner_text() == "shipyard-watcher"
    assert auto.locator(".detail[data-key='rule']").inner_text() == "rule: error_rate > 0.2"
    candidate = auto.locator(".detail[data-key='candidate']").inner_text()
    assert "50 requests, error rate 40.00%" in candidate
    assert "100 requests, error rate 0.00%" in auto.locator(".detail[data-key='live']").inner_text()
    assert churn.locator("tr.history-row:not(.auto-rollback)").count() == 2


@pytest.mark.browser
def test_unknown_environment_and_bad_parameters_get_error_pages(login, fleet) -> None:
    page = login("carl")
    _open(page, fleet.url("/ui/environments/nowhere"), 404)
    assert page.inner_text("#error-title") == "Not found"
    assert "no environment 'nowhere'" in page.inner_text("#env-error")
    assert "known: edge, perf, preprod, production, qa, staging" in page.inner_text("#env-error")
    _open(page, fleet.url("/ui/environments/Bad!Name"), 400)
    assert "environment 'Bad!Name' must be" in page.inner_text("#env-error")
    _open(page, fleet.url("/ui/environments/staging?window=7y"), 400)
    assert page.inner_text("#error-title") == "Cannot show this environment"
    assert "window must be one of 5m, 30m, 1h, 6h, 24h, got '7y'" in page.inner_text("#env-error")
    _open(page, fleet.url("/ui/environments/staging?refresh=1"), 400)
    assert "refresh must be 0 (off)" in page.inner_text("#env-error")
    page.click("#back-to-environments")
    page.wait_for_url("**/ui/environments")


@pytest.mark.browser
def test_the_page_refreshes_itself_with_new_figures(login, fleet) -> None:
    page = login("carl")
    _open(page, fleet.url("/ui/environments/staging?refresh=2"))
    assert "auto-refresh every 2 s" in page.inner_text("#refresh-note")
    row = "section[data-model='fraud'] tr.figure-row[data-version='1']"
    assert page.get_attribute(row, "data-requests") == "0"
    fleet.svc.figures.flush(
        "staging", "r1", now_ms(), [("fraud", 1, "live", 600, 6, 1800.0, _buckets(600, 0))]
    )
    page.wait_for_function(
        f"() => document.querySelector(\"{row}\")?.dataset.requests === '600'", timeout=10_000
    )
    assert page.inner_text(f"{row} .fig-errors") == "1.00%"
    page.click("#refresh-toggle")
    page.wait_for_url("**refresh=0**")
    assert "auto-refresh paused" in page.inner_text("#refresh-note")


def test_posts_from_another_site_or_without_login_are_refused(fleet) -> None:
    url = fleet.url("/ui/environments/staging/rollback")
    auth = {"Authorization": f"Bearer {fleet.tokens['otto']}"}
    form = {"model": "churn", "reason": "x"}
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        resp = httpx.post(url, data=form, headers={**auth, **headers}, timeout=30)
        assert resp.status_code == 403 and "own environment page" in resp.text
    assert _state(fleet, "staging").candidate_version == 2
    resp = httpx.post(url, data=form, follow_redirects=False, timeout=30)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login?next=/ui/environments/staging"
    resp = httpx.get(fleet.url("/ui/environments"), follow_redirects=False, timeout=30)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")


def test_no_environment_yet(local_server) -> None:
    resp = httpx.get(local_server.url + "/ui/environments", timeout=30)
    assert resp.status_code == 200 and "Nothing is deployed yet" in resp.text
    resp = httpx.get(local_server.url + "/ui/environments/staging", timeout=30)
    assert resp.status_code == 404 and "nothing has been deployed anywhere yet" in resp.text


def _section_models(page) -> list[str]:
    return page.locator("section.model-section").evaluate_all(
        "els => els.map(e => e.dataset.model)"
    )


@pytest.mark.browser
def test_the_environment_page_pages_and_searches_its_models(login, fleet) -> None:
    page = login("carl")
    _open(page, fleet.url("/ui/environments/staging?refresh=0&limit=1"))
    assert _section_models(page) == ["churn"]
    assert "showing 1-1 of 2 models" in page.inner_text("#env-pager")
    page.click("#env-next")
    page.wait_for_url("**/ui/environments/staging?*cursor=*")
    assert _section_models(page) == ["fraud"] and page.locator("#env-next").count() == 0
    page.click("a.window-link[data-window='1h']")  # the window keeps the page
    page.wait_for_url("**window=1h**cursor=*")
    assert _section_models(page) == ["fraud"]

    _open(page, fleet.url("/ui/environments/staging?refresh=0"))
    page.fill("#env-search", "FRA")
    page.click("#env-search-go")
    page.wait_for_url("**q=FRA*")
    assert _section_models(page) == ["fraud"]
    _open(page, fleet.url("/ui/environments/staging?refresh=0&q=nothing"))
    assert "has nothing in its name or tags" in page.inner_text("#no-models")
    fleet.svc.registry.set_model_tag("churn", "segment", "retail", user="ada")
    try:
        _open(page, fleet.url("/ui/environments/staging?refresh=0&q=segment%3Dretail"))
        assert _section_models(page) == ["churn"]
        assert "showing 1-1 of 1 models" in page.inner_text("#env-pager")
    finally:
        fleet.svc.registry.delete_model_tag("churn", "segment", user="ada")
    _open(page, fleet.url("/ui/environments/staging?cursor=garbage"), 400)
    assert "cursor 'garbage' is not valid" in page.inner_text("#env-error")


@pytest.mark.browser
def test_live_figures_come_as_json_for_the_models_on_the_page(login, fleet) -> None:
    page = login("carl")
    _open(page, fleet.url("/ui/environments/staging?refresh=0"))
    body = page.evaluate(
        "() => fetch('/ui/environments/staging/live.json?model=churn&model=gone')"
        ".then(r => r.json())"
    )
    churn = body["models"]["churn"]
    assert churn["generation"] == int(
        page.get_attribute("section[data-model='churn']", "data-generation")
    )
    assert (
        'class="figures"' in churn["figures_html"] and 'data-role="canary"' in churn["figures_html"]
    )
    assert body["models"]["gone"] == {"gone": True} and "fraud" not in body["models"]
    status = page.evaluate(
        "() => fetch('/ui/environments/nowhere/live.json?model=a').then(r => r.status)"
    )
    assert status == 404
    too_many = page.evaluate(
        "() => fetch('/ui/environments/staging/live.json?' + "
        "Array.from({length: 1001}, (_, i) => 'model=m' + i).join('&'))"
        ".then(async r => [r.status, (await r.json()).field])"
    )
    assert too_many == [400, "model"]


@pytest.mark.browser
def test_the_environments_list_pages_and_searches_by_name(login, fleet) -> None:
    page = login("carl")
    assert "showing 1-6 of 6 environments" in page.inner_text("#envs-pager")
    staging = page.locator("section[data-env='staging']")
    assert staging.get_attribute("data-models") == "2"
    assert staging.get_attribute("data-rolling-out") == "1"  # churn's v2 canary
    page.fill("#envs-search", "PR")
    page.click("#envs-search-go")
    page.wait_for_url("**/ui/environments?q=PR")
    envs = page.locator("section.environment").evaluate_all("els => els.map(e => e.dataset.env)")
    assert envs == ["preprod", "production"]
    _open(page, fleet.url("/ui/environments?limit=4"))
    page.click("#envs-next")
    page.wait_for_url("**/ui/environments?*cursor=*")
    envs = page.locator("section.environment").evaluate_all("els => els.map(e => e.dataset.env)")
    assert envs == ["qa", "staging"] and "showing 5-6 of 6" in page.inner_text("#envs-pager")
    page.click("#envs-first")
    page.wait_for_url("**/ui/environments?limit=4")
    _open(page, fleet.url("/ui/environments?cursor=garbage"), 400)
    assert "cursor 'garbage' is not valid" in page.inner_text("#envs-error")
