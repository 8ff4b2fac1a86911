"""Release decisions on a model version page in real headless Chromium: the gate evidence
(the fairness table, latency, data checks), the lineage (training run, its parent, the
datasets they read), and the approve/reject form: shown to an approver who did not train the
version, hidden from a contributor and from the author, whose forged POSTs get a 403 page;
failed gates approved only by an admin's override, flagged; cross-site posts refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.interfaces.conftest import _serve
from tests.interfaces.test_api_approvals import PASSING, Gated, add_version, seed_gated
from tests.interfaces.test_web_models import _open


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gated]:
    """loans v1, v2 and v5 passed their gates, v3 failed them, v4 is not gated."""
    for server in _serve(tmp_path_factory.mktemp("models-web-gates"), "token"):
        gated = seed_gated(server)
        add_version(server, gated.run_id, PASSING)
        yield gated


@pytest.fixture
def login(browser, gated) -> Iterator[Callable[[str], object]]:
    """A page signed in (through the login form) as the named user, in its own context."""
    contexts = []

    def as_user(name: str):
        context = browser.new_context()
        contexts.append(context)
        p = context.new_page()
        _open(p, f"{gated.server.url}/login?next=/ui/models")
        p.fill("#token", gated.tokens[name])
        p.click("form button[type=submit]")
        p.wait_for_url("**/ui/models")
        return p

    try:
        yield as_user
    finally:
        for context in contexts:
            context.close()


FORGE = """([action, reason]) => {
  const form = document.createElement('form');
  form.method = 'post';
  form.action = action;
  const field = document.createElement('input');
  field.name = 'reason';
  field.value = reason;
  form.appendChild(field);
  document.body.appendChild(form);
  form.submit();
}"""


def _forge(page, action: str, reason: str = "lgtm") -> int:
    """Submit a decision form the page does not offer; the response status."""
    with page.expect_navigation() as nav:
        page.evaluate(FORGE, [action, reason])
    return nav.value.status


def _status(gated: Gated, version: int) -> str:
    registry = gated.server.services.registry  # type: ignore[attr-defined]
    return registry.get_version(f"loans@{version}").status.value


def _actions(page) -> list[str]:
    return page.locator("#model-audit tr.audit-row").evaluate_all(
        "els => els.map(e => e.dataset.action)"
    )


@pytest.mark.browser
def test_gate_evidence_fairness_and_lineage(login, gated) -> None:
    page = login("vera")
    _open(page, f"{gated.server.url}/ui/models/loans/versions/1")
    latest = page.locator("#gate-run-latest")
    assert latest.get_attribute("data-passed") == "true"
    assert "on holdout loans@v2" in latest.inner_text() and "passed" in latest.inner_text()
    rows = latest.locator("tr.gate-row")
    assert rows.evaluate_all("els => els.map(e => [e.dataset.gate, e.dataset.passed])") == [
        ["metric:accuracy", "true"],
        ["fairness:demographic_parity_difference", "true"],
        ["latency_p99_ms", "true"],
        ["data_checks:loans", "true"],
    ]
    accuracy = latest.locator("tr.gate-row[data-gate='metric:accuracy']")
    assert 0.5 <= float(accuracy.locator(".gate-value").inner_text()) <= 1
    assert accuracy.locator(".gate-threshold").inner_text() == "≥ 0.5"
    assert accuracy.locator(".gate-result").inner_text() == "pass"
    fairness = latest.locator("tr.gate-row[data-gate^='fairness:']")
    assert fairness.locator(".gate-threshold").inner_text() == "≤ 1 · sensitive sex"
    groups = fairness.locator("tr.fairness-row")
    assert groups.evaluate_all("els => els.map(e => e.dataset.group)") == ["f", "m"]
    for group in ("f", "m"):
        row = fairness.locator(f"tr.fairness-row[data-group='{group}']")
        assert 0 <= float(row.locator(".fairness-accuracy").inner_text()) <= 1
        assert 0 <= float(row.locator(".fairness-selection").inner_text()) <= 1
    latency = latest.locator("tr.gate-row[data-gate='latency_p99_ms']")
    p50 = float(latency.locator(".latency-p50").inner_text())
    assert 0 < p50 <= float(latency.locator(".latency-p99").inner_text())
    assert float(latency.locator(".latency-batch").inner_text()) > 0
    checks = latest.locator("tr.gate-row[data-gate='data_checks:loans'] .gate-value")
    assert checks.inner_text() == "loans@v1: passed, loans@v2: passed"

    lineage = page.locator("#lineage tr.lineage-run")
    assert lineage.evaluate_all("els => els.map(e => e.dataset.run)") == [
        gated.run_id,
        gated.parent_run_id,
    ]
    train = page.locator(f"tr.lineage-run[data-run='{gated.run_id}']")
    assert "training run" in train.inner_text() and "ada" in train.inner_text()
    assert train.locator(".lineage-dataset").inner_text() == "loans@v1"
    parent = page.locator(f"tr.lineage-run[data-run='{gated.parent_run_id}']")
    assert "parent run" in parent.inner_text() and "(enrichment)" in parent.inner_text()
    assert parent.locator(".lineage-run-link").inner_text() == "nightly-pipeline"
    parent.locator(".lineage-dataset").click()
    page.wait_for_url("**/ui/data/bureau/v/1")
    page.go_back()
    train.locator(".lineage-run-link").click()
    page.wait_for_url(f"**/ui/runs/{gated.run_id}")

    _open(page, f"{gated.server.url}/ui/models/loans/versions/3")
    failed = page.locator("#gate-run-latest")
    assert failed.get_attribute("data-passed") == "false"
    assert failed.locator("tr.gate-row .gate-result").inner_text() == "fail"
    _open(page, f"{gated.server.url}/ui/models/loans/versions/4")
    assert "No gate runs yet" in page.inner_text("#no-gate-evidence")
    assert page.locator("#decision-form").count() == 0


@pytest.mark.browser
def test_an_approver_who_did_not_train_it_approves(login, gated) -> None:
    page = login("carol")
    _open(page, f"{gated.server.url}/ui/models/loans/versions/1")
    assert page.inner_text("#version-status") == "gate_passed"
    assert page.is_visible("#approve-button") and page.is_visible("#reject-button")
    assert page.locator("#decision-override").count() == 0  # not an admin
    page.fill("#decision-reason", "gates green, fairness reviewed")
    page.click("#approve-button")
    page.wait_for_url("**/ui/models/loans/versions/1")
    assert page.inner_text("#version-status") == "approved"
    assert page.inner_text("#status-reason") == "gates green, fairness reviewed"
    assert (
        page.locator("#decision-form").count() == 0 and page.locator("#override-badge").count() == 0
    )
    first = page.locator("#model-audit tr.audit-row").first
    assert first.get_attribute("data-action") == "model.approve"
    assert first.locator(".audit-actor").inner_text() == "carol"
    assert first.locator(".audit-reason-cell").inner_text() == "gates green, fairness reviewed"
    assert page.locator("#version-1").get_attribute("data-status") == "approved"


@pytest.mark.browser
def test_an_approver_rejects(login, gated) -> None:
    page = login("carol")
    _open(page, f"{gated.server.url}/ui/models/loans/versions/5")
    page.fill("#decision-reason", "selection rate gap too wide")
    page.click("#reject-button")
    page.wait_for_url("**/ui/models/loans/versions/5")
    assert page.inner_text("#version-status") == "rejected"
    assert _actions(page)[0] == "model.reject"
    assert page.locator("#model-audit tr.audit-row .audit-actor").first.inner_text() == "carol"


@pytest.mark.browser
def test_a_contributor_sees_no_buttons_and_a_forged_post_is_refused(login, gated) -> None:
    page = login("dan")
    base = f"{gated.server.url}/ui/models/loans/versions/2"
    _open(page, base)
    assert page.locator("#gate-run-latest tr.fairness-row").count() == 2  # evidence is shown
    assert page.locator("#decision-form, #approve-button, #reject-button").count() == 0
    assert "awaiting a decision by an approver (you are contributor)" in page.inner_text(
        "#decision-note"
    )
    before = _actions(page)
    for action in ("approve", "reject"):
        assert _forge(page, f"{base}/{action}") == 403
        assert page.inner_text("#decision-error-title") == "Refused"
        message = page.inner_text("#decision-error-message")
        assert "user 'dan' has role contributor" in message and "needs approver" in message
        assert page.inner_text("#version-status") == "gate_passed"
    assert _status(gated, 2) == "gate_passed" and _actions(page) == before


@pytest.mark.browser
def test_the_author_is_told_why_and_refused(login, gated) -> None:
    page = login("ada")
    base = f"{gated.server.url}/ui/models/loans/versions/2"
    _open(page, base)
    assert page.locator("#decision-form").count() == 0
    assert "separation of duties" in page.inner_text("#decision-note")
    assert _forge(page, f"{base}/approve", "my own model") == 403
    assert "separation of duties" in page.inner_text("#decision-error-message")
    assert _status(gated, 2) == "gate_passed"


@pytest.mark.browser
def test_failed_gates_only_an_admin_overrides_and_it_is_flagged(login, gated) -> None:
    url = f"{gated.server.url}/ui/models/loans/versions/3"
    carol = login("carol")
    _open(carol, url)
    assert carol.locator("#approve-button, #decision-override").count() == 0
    assert carol.is_visible("#reject-button")
    assert "only an admin may approve it" in carol.inner_text("#decision-note")
    assert _forge(carol, f"{url}/approve") == 400  # no override: refused as a bad request
    assert "failed its gates" in carol.inner_text("#decision-error-message")

    root = login("root")
    _open(root, url)
    root.fill("#decision-reason", "regulator deadline")
    with root.expect_navigation() as nav:
        root.click("#approve-button")  # the override box left unticked
    assert nav.value.status == 400
    assert "failed its gates" in root.inner_text("#decision-error-message")
    assert root.input_value("#decision-reason") == "regulator deadline"  # kept for a retry
    root.check("#decision-override")
    root.click("#approve-button")
    root.wait_for_url("**/ui/models/loans/versions/3")
    assert root.inner_text("#version-status") == "approved"
    assert root.inner_text("#override-badge") == "⚑ OVERRIDE"
    assert root.inner_text("#status-reason") == "OVERRIDE: regulator deadline"
    assert _actions(root)[0] == "model.approve.override"
    assert root.locator("#version-3 .override-badge").count() == 1
    assert root.locator("#version-1 .override-badge").count() == 0


def test_decisions_from_another_site_or_without_login_are_refused(gated) -> None:
    url = f"{gated.server.url}/ui/models/loans/versions/2/approve"
    auth = {"Authorization": f"Bearer {gated.tokens['root']}"}
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        resp = httpx.post(url, data={"reason": "x"}, headers={**auth, **headers}, timeout=30)
        assert resp.status_code == 403 and "own version page" in resp.text
    assert _status(gated, 2) == "gate_passed"
    resp = httpx.post(url, data={"reason": "x"}, follow_redirects=False, timeout=30)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login?next=/ui/models/loans/versions/2"
    resp = httpx.post(
        f"{gated.server.url}/ui/models/loans/versions/9/approve",
        data={"reason": "x"},
        headers=auth,
        timeout=30,
    )
    assert resp.status_code == 404 and "has no version 9" in resp.text


def test_a_login_posted_from_another_site_is_refused(gated) -> None:
    url = f"{gated.server.url}/login"
    form = {"token": gated.tokens["root"], "next": "/ui/models"}
    resp = httpx.post(url, data=form, headers={"Origin": "http://evil.example"}, timeout=30)
    assert resp.status_code == 403 and "posted from another site" in resp.text
    assert "shipyard_token" not in resp.headers.get("set-cookie", "")
    same = httpx.post(
        url, data=form, headers={"Origin": gated.server.url}, timeout=30, follow_redirects=False
    )
    assert same.status_code == 303 and "shipyard_token" in same.headers["set-cookie"]
