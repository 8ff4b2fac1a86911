"""The monitoring pages in real headless Chromium, over prediction logs written by the real
serving log writer, a reference profile and ``monitor run`` with a ``[monitor.loans]`` policy
whose rules fire: the drift heatmap and drift-share line hold the windows' figures, the
distribution chart the reference's bins against the window's values (counted here by hand),
estimated metrics their bands; the fleet lists every deployed model with its open alerts; a
deployer acknowledges and resolves an alert (audited), a viewer gets no buttons and a forged
POST is a 403; unknown models and environments are 404 pages, bad parameters 400s."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.core.alerts import AlertStatus, MonitorWindow, WindowStatus
from shipyard.core.entities import Role
from shipyard.core.errors import ValidationError
from shipyard.core.profiles import categorical_profile, numeric_profile
from shipyard.interfaces.web import monitor_charts as mc
from shipyard.interfaces.web.monitor_views import check_feature
from shipyard.services.serving.predlog import LogRecord, PredictionLog
from shipyard.services.serving.stats import ServingStats
from shipyard.stores.sql.monitors_repo import NewWindow
from tests.interfaces.conftest import LiveServer, _serve
from tests.interfaces.test_web_deploy import _forge
from tests.interfaces.test_web_models import _open
from tests.services.monitoring.conftest import HOUR, World, make_world

POLICY = """
[monitor.loans]
window = "1h"
min_rows = 50
delay = "0s"
rules = ["drift_share > 0.3", "drift.age > 0.5", "mean.age > 50"]
"""
RULES = sorted(["drift_share > 0.3", "drift.age > 0.5", "mean.age > 50"])
EMAILS = [f"u{i % 7}@x" for i in range(200)]

CHART = """el => {
  const o = echarts.getInstanceByDom(el).getOption();
  return {
    series: o.series.map(s => ({name: s.name, type: s.type, data: s.data, stack: s.stack ?? null})),
    x: o.xAxis[0].data ?? o.xAxis[0].type,
    y: o.yAxis[0].data ?? null,
  };
}"""


@dataclass
class Monitored:
    server: LiveServer
    world: World
    tokens: dict[str, str]
    ages: dict[tuple[str, int], list[float]]  # the logged ages per (environment, hour)

    @property
    def svc(self):  # type: ignore[no-untyped-def]
        return self.server.services

    def url(self, path: str) -> str:
        return self.server.url + path

    def windows(self, env: str = "staging") -> list[MonitorWindow]:
        """The environment's windows, oldest first."""
        return sorted(self.svc.alerts.windows(model="loans", env=env).items, key=lambda w: w.start)


def _reference() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"age": rng.normal(40, 10, 2000), "email": EMAILS * 10})


def _estimates(m: Monitored, env: str) -> None:
    """Windows with estimated and realized metrics (as the estimation evaluator writes)."""
    with m.svc.db.write() as conn:
        for hour, auc in enumerate([0.9, 0.8, 0.7]):
            figures = {
                "rows": 100.0,
                "estimated.roc_auc": auc,
                "estimated.roc_auc.lower": auc - 0.05,
                "estimated.roc_auc.upper": auc + 0.04,
                "realized.roc_auc": auc - 0.01,
            }
            start = m.world.at(hour)
            window = NewWindow(
                "loans", env, 1, start, start + HOUR, WindowStatus.COMPUTED, 100, figures, {},
                start + HOUR,
            )  # fmt: skip
            assert m.svc.alerts.repo.add_window(conn, window) is not None


def _log_text_ages(m: Monitored, env: str) -> None:
    """Ages logged as text (a client that sent strings) into the newest window of ``env``."""
    log = PredictionLog(m.svc.blobs.backend, "r-text", ServingStats(), 1000, env=env)
    frame = pd.DataFrame({"age": ["old", "young"], "email": ["a@x", "b@x"]})
    log.add(LogRecord("text-ages", m.world.at(2) + 60_000, "loans", 1, "live", 1.0,
                      ("age", "email"), frame, np.zeros(2, dtype="int64")))  # fmt: skip
    assert log.drain() == 2


def _seed(server: LiveServer) -> Monitored:
    svc = server.services
    world = make_world(svc)  # loans v1 deployed to staging by dora, a deployer
    svc.access.add_user("vic", Role.VIEWER, actor="admin")
    tokens = {n: svc.access.issue_token(n, actor="admin") for n in ("dora", "vic")}
    for env in ("qa", "perf", "edge"):
        svc.deployments.deploy("loans", 1, env, world.dora)
    x = pd.DataFrame({"amount": np.arange(20.0)})
    fraud = LogisticRegression().fit(x, (x["amount"] > 9).to_numpy(dtype=int))
    svc.registry.log_model(fraud, "fraud", user="ada", input_example=x.head())
    svc.deployments.deploy("fraud", 1, "staging", world.dora)
    svc.profiles.attach("loans@1", _reference())
    rng = np.random.default_rng(4)
    m = Monitored(server, world, tokens, {})
    for env, means in {"staging": (40, 65, 70), "qa": (40, 66, 68)}.items():
        for hour, mean in enumerate(means):
            ages = list(rng.normal(mean, 10, 200))
            m.ages[(env, hour)] = ages
            world.log(hour, ages, EMAILS, env=env)
    _estimates(m, "perf")
    _estimates(m, "edge")
    _log_text_ages(m, "edge")
    report = svc.monitor_runner.run(now=world.at(3))
    assert not report.errors
    return m


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitored]:
    root = tmp_path_factory.mktemp("monitor-web")
    (root / "shipyard.toml").write_text(POLICY)
    for server in _serve(root, "token"):
        yield _seed(server)


@pytest.fixture
def login(browser, monitored) -> Iterator[Callable[[str], object]]:
    contexts = []

    def as_user(name: str):
        context = browser.new_context()
        contexts.append(context)
        p = context.new_page()
        _open(p, monitored.url("/login?next=/ui/monitoring"))
        p.fill("#token", monitored.tokens.get(name, monitored.server.admin_token))
        p.click("form button[type=submit]")
        p.wait_for_url("**/ui/monitoring")
        return p

    try:
        yield as_user
    finally:
        for context in contexts:
            context.close()


def _charts(page) -> dict[str, dict]:
    """Every chart drawn on the page by its key, as the charting library holds it."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('div.chart[data-src]')].every(e => e.dataset.rendered)"
    )
    drawn = page.locator("div.chart[data-rendered='true']")
    return {el.get_attribute("data-chart"): el.evaluate(CHART) for el in drawn.all()}


# ---------------------------------------------------------------- chart data, no browser
def test_bins_and_shares_agree_with_numpy() -> None:
    rng = np.random.default_rng(1)
    col = numeric_profile(rng.normal(0, 1, 5000), bins=10)
    current = np.concatenate([rng.normal(0.5, 1, 3000), [np.nan, np.inf, -np.inf]])
    counts, missing = mc.current_counts(col, current)
    finite = current[np.isfinite(current)]
    edges = [-np.inf, *col.edges, np.inf]
    by_hand = [int(((finite > lo) & (finite <= hi)).sum()) for lo, hi in pairwise(edges)]
    assert counts == by_hand and missing == 3 and sum(counts) == 3000
    on_edge = mc.current_counts(col, np.asarray([col.edges[0], col.edges[-1]]))[0]
    assert on_edge[0] == 1 and on_edge[-2] == 1  # (e[i-1], e[i]]: an edge closes its bin
    labels = mc.bin_labels(col)
    assert len(labels) == len(col.counts) == 10 and labels[0].startswith("≤ ")
    cat = categorical_profile({"a": 5, "b": 3, "c": 1}, 2, top_k=2)
    assert mc.bin_labels(cat) == ["a", "b", mc.OTHER]
    assert mc.current_counts(cat, ["a", "z", None, "c", "b", float("nan")]) == ([1, 1, 2], 2)
    chart = mc.distribution_chart("x", cat, ["a", "a", "z"], "now")
    assert [s["values"] for s in chart["series"]] == [[5 / 9, 3 / 9, 1 / 9], [2 / 3, 0, 1 / 3]]
    json.dumps(chart, allow_nan=False)


def _window(start: int, figures: dict, status=WindowStatus.COMPUTED) -> MonitorWindow:
    return MonitorWindow(start, "m", "e", 1, start, start + 10, status, 100, figures, start)


def test_heatmap_metric_bands_and_drift_share_run_oldest_first() -> None:
    windows = [  # newest first, as the alert service lists them
        _window(30, {"drift.b": 0.7, "drift.a": float("nan"), "drift_share": 0.5}),
        _window(20, {"rows": 3.0}, WindowStatus.NOT_ENOUGH_DATA),
        _window(10, {"drift.a": 0.1, "drift.b": 0.2, "drift_share": 0.0,
                     "estimated.f1": 0.6, "estimated.f1.lower": 0.5, "estimated.f1.upper": 0.7}),
    ]  # fmt: skip
    heat = mc.drift_heatmap(windows)
    assert heat["windows"] == [10, 30] and heat["columns"] == ["a", "b"]
    assert heat["cells"] == [[0, 0, 0.1], [0, 1, 0.2], [1, 1, 0.7]]  # NaN: no cell
    assert heat["max"] == 0.7 and not heat["empty"]
    share = mc.drift_share_chart(windows)
    assert share["series"][0]["points"] == [[10, 0.0], [30, 0.5]]
    metrics = mc.metric_chart(windows)
    assert [s["name"] for s in metrics["series"]] == ["estimated.f1"]
    assert metrics["bands"] == [
        {"name": "estimated.f1 band", "of": "estimated.f1", "points": [[10, 0.5, 0.7]]}
    ]
    assert mc.most_drifted(windows[0].figures) == ("b", 0.7)
    assert mc.drift_heatmap([])["empty"] and mc.metric_chart([])["empty"]


def test_the_feature_is_checked_against_the_profile() -> None:
    profile = type("P", (), {"columns": {"age": None, "email": None}})()
    latest = _window(1, {"drift.email": 0.9, "drift.age": 0.1})
    assert check_feature("", profile, latest) == "email"  # the most drifted by default
    assert check_feature("", profile, None) == "age"
    assert check_feature("age", profile, latest) == "age" and check_feature("x", None, None) == ""
    with pytest.raises(ValidationError, match="feature 'nope' is not a column") as e:
        check_feature("nope", profile, latest)
    assert e.value.field == "feature"


# ---------------------------------------------------------------- pages
@pytest.mark.browser
def test_the_fleet_lists_every_deployed_model_with_its_alerts(login, monitored) -> None:
    page = login("vic")
    assert page.inner_text("#fleet-count") == "showing 5 of 5"
    envs = page.locator("section.fleet-env").evaluate_all("els => els.map(e => e.dataset.env)")
    assert envs == ["edge", "perf", "qa", "staging"]
    loans = page.locator("section[data-env='staging'] tr.fleet-row[data-model='loans']")
    open_alerts = monitored.svc.alerts.alerts(model="loans", env="staging", status="open")
    assert open_alerts.total == 3 and loans.get_attribute("data-open") == "3"
    assert loans.locator(".alert-count").inner_text() == "3"
    newest = monitored.windows()[-1]
    assert loans.locator(".latest-window").get_attribute("data-start") == str(newest.start)
    assert loans.locator(".latest-rows").inner_text() == "200"
    assert loans.locator(".drift-share").inner_text() == f"{newest.figures['drift_share']:.3g}"
    assert loans.locator(".worst-drift").get_attribute("data-column") == "age"
    perf = page.locator("section[data-env='perf'] tr.fleet-row")
    metrics = perf.locator(".metric").evaluate_all("els => els.map(e => e.dataset.key)")
    assert metrics == ["estimated.roc_auc", "realized.roc_auc"]  # bands are not figures
    assert perf.locator(".metric[data-key='estimated.roc_auc']").inner_text().endswith("0.700")
    fraud = page.locator("tr.fleet-row[data-model='fraud']")
    assert fraud.get_attribute("data-open") == "0"
    assert "no [monitor.fraud] policy" in fraud.locator(".unmonitored").inner_text()
    assert "no window computed yet" in fraud.locator(".no-windows").inner_text()
    loans.locator(".monitor-link").click()
    page.wait_for_url("**/ui/monitoring/staging/loans")
    assert page.inner_text("#model-name") == "loans"
    page.click("header a[href='/ui/monitoring']")
    page.wait_for_url("**/ui/monitoring")
    _open(page, monitored.url("/ui/monitoring?limit=3"))
    assert page.inner_text("#fleet-count") == "showing 3 of 5"
    page.click("#next-page")
    page.wait_for_url("**after=qa%2Floans**")
    assert page.inner_text("#fleet-count") == "showing 2 of 5"
    rows = page.locator("tr.fleet-row")
    assert rows.evaluate_all("els => els.map(e => e.dataset.env + '/' + e.dataset.model)") == [
        "staging/fraud",
        "staging/loans",
    ]
    assert page.locator("#next-page").count() == 0
    _open(page, monitored.url("/ui/monitoring?env=qa"))
    assert page.inner_text("#fleet-count") == "showing 1 of 1 in qa (all environments)"


@pytest.mark.browser
def test_the_heatmap_and_the_drift_share_hold_the_windows_figures(login, monitored) -> None:
    page = login("vic")
    _open(page, monitored.url("/ui/monitoring/staging/loans"))
    charts = _charts(page)
    assert set(charts) == {"heatmap", "drift_share", "distribution"}  # no metrics: no chart
    windows = monitored.windows()
    assert [w.status for w in windows] == [WindowStatus.COMPUTED] * 3
    heat = charts["heatmap"]
    assert heat["y"] == ["age", "email"] and len(heat["x"]) == 3
    (series,) = heat["series"]
    assert series["type"] == "heatmap" and len(series["data"]) == 6  # 3 windows x 2 columns
    for x, y, value in series["data"]:
        assert value == pytest.approx(windows[x].figures[f"drift.{heat['y'][y]}"], abs=1e-12)
    ages = [v for x, y, v in series["data"] if y == 0]
    assert ages[0] < 0.5 < ages[1] and ages[2] > 0.5  # the shift shows in the age row
    (line,) = charts["drift_share"]["series"]
    assert line["data"] == [[w.start, pytest.approx(w.figures["drift_share"])] for w in windows]
    assert [p[1] for p in line["data"]] == [0.0, 0.5, 0.5]


@pytest.mark.browser
def test_the_distribution_compares_the_reference_bins_with_the_window(login, monitored) -> None:
    page = login("vic")
    _open(page, monitored.url("/ui/monitoring/staging/loans"))
    assert page.locator("a.feature-link.current").inner_text() == "age"  # the most drifted
    bars = _charts(page)["distribution"]
    profile = monitored.svc.profiles.for_model("loans@1").columns["age"]
    assert bars["x"] == mc.bin_labels(profile) and len(bars["x"]) == len(profile.counts)
    reference, current = bars["series"]
    assert (reference["name"], current["name"]) == ("reference", "current")
    assert reference["data"] == pytest.approx([c / profile.n for c in profile.counts])
    ages = np.asarray(monitored.ages[("staging", 2)])  # the newest window's logged ages
    edges = [-np.inf, *profile.edges, np.inf]
    by_hand = [((ages > lo) & (ages <= hi)).sum() / ages.size for lo, hi in pairwise(edges)]
    assert current["data"] == pytest.approx(by_hand, abs=1e-12)
    assert "current (window from" in page.inner_text(".chart-note")
    page.click("a.feature-link[data-feature='email']")
    page.wait_for_url("**feature=email")
    bars = _charts(page)["distribution"]
    assert bars["x"] == [f"u{i}@x" for i in range(7)] + [mc.OTHER]
    assert bars["series"][1]["data"] == pytest.approx(
        [EMAILS.count(f"u{i}@x") / 200 for i in range(7)] + [0.0]
    )


@pytest.mark.browser
def test_estimated_metrics_are_drawn_with_their_bands(login, monitored) -> None:
    page = login("vic")
    _open(page, monitored.url("/ui/monitoring/perf/loans"))
    charts = _charts(page)
    lines = {s["name"]: s for s in charts["metrics"]["series"]}
    starts = [w.start for w in monitored.windows("perf")]
    assert lines["estimated.roc_auc"]["data"] == [
        [t, pytest.approx(a)] for t, a in zip(starts, [0.9, 0.8, 0.7], strict=True)
    ]
    assert [p[1] for p in lines["realized.roc_auc"]["data"]] == pytest.approx([0.89, 0.79, 0.69])
    base, width = (s for s in charts["metrics"]["series"] if s["name"].endswith(" band"))
    assert base["stack"] == width["stack"] is not None
    assert [p[1] for p in base["data"]] == pytest.approx([0.85, 0.75, 0.65])
    assert [p[1] for p in width["data"]] == pytest.approx([0.09] * 3)
    bars = charts["distribution"]  # these windows logged nothing: the reference alone
    assert [s["name"] for s in bars["series"]] == ["reference"]
    assert "0 values, 0 missing (no logged value of age" in page.inner_text(".chart-note")
    heat = page.locator("div.chart[data-chart='heatmap']")
    assert heat.get_attribute("data-rendered") == "empty"
    assert "no window has drift figures yet" in heat.inner_text()


@pytest.mark.browser
def test_a_model_without_windows_or_profile_shows_empty_states(login, monitored) -> None:
    page = login("vic")
    _open(page, monitored.url("/ui/monitoring/staging/fraud"))
    assert "No window has been computed for fraud" in page.inner_text("#no-windows")
    assert "No reference profile to compare with for v1" in page.inner_text("#no-profile")
    assert "has no [monitor.fraud] policy" in page.inner_text("#no-policy")
    assert "No alert has fired" in page.inner_text("#no-alerts")
    assert page.inner_text("#window-count") == "showing 0 of 0, newest first"
    assert page.locator("div.chart").count() == 0


@pytest.mark.browser
def test_the_windows_table_lists_verdicts_newest_first(login, monitored) -> None:
    page = login("vic")
    _open(page, monitored.url("/ui/monitoring/staging/loans"))
    assert page.inner_text("#window-count") == "showing 3 of 3, newest first"
    rows = page.locator("tr.window-row")
    starts = rows.evaluate_all("els => els.map(e => Number(e.dataset.start))")
    assert starts == [w.start for w in reversed(monitored.windows())]
    assert rows.evaluate_all("els => els.map(e => e.dataset.fired)") == ["3", "3", "0"]
    oldest = rows.last.locator(".verdict")
    assert oldest.evaluate_all("els => els.map(e => e.dataset.rule)") == RULES
    assert set(oldest.all_inner_texts()) == {f"{r}: clear" for r in RULES}
    policy = page.inner_text("#policy")
    assert policy.startswith("Watched in windows of 1 h (judged with at least 50 rows)")
    assert page.locator("#policy .policy-rule").all_inner_texts() == [
        "drift_share > 0.3", "drift.age > 0.5", "mean.age > 50",
    ]  # fmt: skip


@pytest.mark.browser
def test_a_deployer_acknowledges_then_resolves_an_alert(login, monitored) -> None:
    page = login("dora")
    _open(page, monitored.url("/ui/monitoring/qa/loans"))
    row = page.locator("tr.alert-row[data-rule='drift.age > 0.5']")
    alert_id = int(row.get_attribute("data-id"))
    assert row.get_attribute("data-status") == "open"
    assert row.locator(".resolve-button").is_visible()
    row.locator(".ack-reason").fill("looking at the age mix")
    row.locator(".ack-button").click()
    page.wait_for_url(f"**/ui/monitoring/qa/loans#alert-{alert_id}")
    row = page.locator(f"tr#alert-{alert_id}")
    assert row.get_attribute("data-status") == "acknowledged"
    assert row.locator(".alert-by").inner_text() == "acknowledged by dora"
    assert row.locator(".ack-button").count() == 0  # acknowledged: only Resolve is left
    row.locator(".resolve-button").click()
    page.wait_for_url(f"**/ui/monitoring/qa/loans#alert-{alert_id}")
    row = page.locator(f"tr#alert-{alert_id}")
    assert row.get_attribute("data-status") == "resolved"
    assert row.locator(".alert-by").inner_text() == "resolved by dora"
    assert row.locator("form").count() == 0
    assert monitored.svc.alerts.get(alert_id).status is AlertStatus.RESOLVED
    trail = monitored.svc.audit.log(f"alert:{alert_id}", 10)
    actions = [(e.action, e.actor) for e in trail]
    assert ("alert.acknowledged", "dora") in actions and ("alert.resolved", "dora") in actions
    acked = next(e for e in trail if e.action == "alert.acknowledged")
    assert acked.reason == "looking at the age mix"
    _open(page, monitored.url("/ui/monitoring"))
    qa = page.locator("section[data-env='qa'] tr.fleet-row")
    assert qa.get_attribute("data-open") == str(
        monitored.svc.alerts.alerts(model="loans", env="qa", status="open").total
    )
    # resolving it again: a 409 message, not a 500
    status = _forge(page, monitored.url(f"/ui/monitoring/qa/loans/alerts/{alert_id}/resolve"))
    assert status == 409 and "is resolved" in page.inner_text("#action-error-message")


@pytest.mark.browser
def test_a_viewer_sees_no_buttons_and_a_forged_post_is_refused(login, monitored) -> None:
    page = login("vic")
    _open(page, monitored.url("/ui/monitoring/staging/loans"))
    assert page.locator("tr.alert-row").count() == 3
    assert page.locator(".alert-action, .ack-button, .resolve-button").count() == 0
    assert "need the deployer role (you are viewer)" in page.inner_text("#action-note")
    alert_id = page.locator("tr.alert-row").first.get_attribute("data-id")
    for action in ("ack", "resolve"):
        url = monitored.url(f"/ui/monitoring/staging/loans/alerts/{alert_id}/{action}")
        assert _forge(page, url, reason="x") == 403
        assert page.inner_text("#action-error-title") == "Refused"
        assert "user 'vic' has role viewer" in page.inner_text("#action-error-message")
    assert monitored.svc.alerts.get(int(alert_id)).status is AlertStatus.OPEN


def test_posts_from_another_site_or_for_another_model_are_refused(monitored) -> None:
    alert = monitored.svc.alerts.alerts(model="loans", env="staging", status="open").items[0]
    auth = {"Authorization": f"Bearer {monitored.tokens['dora']}"}
    url = monitored.url(f"/ui/monitoring/staging/loans/alerts/{alert.alert_id}/ack")
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        resp = httpx.post(url, data={"reason": "x"}, headers={**auth, **headers}, timeout=30)
        assert resp.status_code == 403 and "own monitoring page" in resp.text
    other = monitored.url(f"/ui/monitoring/qa/loans/alerts/{alert.alert_id}/ack")
    resp = httpx.post(other, headers=auth, timeout=30)
    assert resp.status_code == 404 and "is not an alert of loans in qa" in resp.text
    assert monitored.svc.alerts.get(alert.alert_id).status is AlertStatus.OPEN
    resp = httpx.post(url, follow_redirects=False, timeout=30)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login?next=/ui/monitoring/staging/loans"


def test_unknown_models_and_bad_parameters_are_404s_and_400s(monitored) -> None:
    auth = {"Authorization": f"Bearer {monitored.tokens['vic']}"}

    def get(path: str) -> httpx.Response:
        return httpx.get(monitored.url(path), headers=auth, timeout=30)

    def text(resp: httpx.Response) -> str:
        return html.unescape(resp.text)

    resp = get("/ui/monitoring/staging/nope")
    assert resp.status_code == 404 and "'nope' is not deployed to 'staging'" in text(resp)
    assert get("/ui/monitoring/nowhere/loans").status_code == 404
    assert get("/ui/monitoring/staging/nope/charts.json").status_code == 404
    resp = get("/ui/monitoring/Bad!/loans")
    assert resp.status_code == 400 and "environment 'Bad!' must be" in text(resp)
    resp = get("/ui/monitoring/staging/loans?feature=nope")
    assert resp.status_code == 400 and "feature 'nope' is not a column" in text(resp)
    resp = get("/ui/monitoring/staging/loans/distribution.json?feature=nope")
    assert resp.status_code == 400 and resp.json()["field"] == "feature"
    resp = get("/ui/monitoring/edge/loans/distribution.json?feature=age")
    assert resp.status_code == 400 and resp.json()["field"] == "feature"
    assert "'age' is numeric in the reference but logged as string" in resp.json()["message"]
    assert get("/ui/monitoring/edge/loans/distribution.json?feature=email").status_code == 200
    resp = get("/ui/monitoring/staging/fraud/distribution.json")
    assert resp.status_code == 404 and "no reference profile" in resp.json()["message"]
    for bad in ("0", "x", "501"):
        resp = get(f"/ui/monitoring?limit={bad}")
        assert resp.status_code == 400 and "limit must be 1..500" in resp.text
    resp = get("/ui/monitoring/staging/loans?cursor=garbage")
    assert resp.status_code == 400 and "cursor 'garbage' is not valid" in text(resp)
    resp = get("/ui/monitoring?after=garbage")
    assert resp.status_code == 400 and "after must be" in resp.text
    resp = httpx.get(monitored.url("/ui/monitoring/staging/loans/charts.json"), timeout=30)
    assert resp.status_code == 401
    resp = httpx.get(monitored.url("/ui/monitoring"), follow_redirects=False, timeout=30)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")


def test_the_environment_page_links_to_monitoring(monitored) -> None:
    auth = {"Authorization": f"Bearer {monitored.tokens['vic']}"}
    resp = httpx.get(monitored.url("/ui/environments/staging?refresh=0"), headers=auth, timeout=30)
    assert 'href="/ui/monitoring/staging/loans" class="monitor-link"' in resp.text
    assert '<a href="/ui/monitoring">Monitoring</a>' in resp.text
