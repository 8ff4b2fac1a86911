"""The retraining pages in real headless Chromium over a real server: a drift alert retrained
the model through the real loop (pipeline, registry, gates, automatic approval, canary) and a
deployer promoted the canary; a viewer reaches the timeline from the model page and sees every
stage linked, the policy and a dry-run preview, no button, and a forged POST is a 403 page; a
deployer's "Retrain now" runs the loop; bad input is a 4xx page, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.core.entities import Role
from shipyard.interfaces.web import retrain_routes
from tests.interfaces.conftest import LiveServer, _serve
from tests.interfaces.test_web_deploy import FORGE
from tests.services.retraining.conftest import DORA, MODEL, TOML, World, seed

WIDTH = 1280


def _world(tmp_path: Path, environment: str) -> Iterator[tuple[LiveServer, World]]:
    """A model retrained once by a drift alert in ``environment`` (staging: approved by the
    policy and its canary promoted to live; production: waiting for an approver)."""
    toml = TOML.replace('cooldown = "1h"', 'cooldown = "0s"')
    toml = toml.replace('environment = "staging"', f'environment = "{environment}"')
    (tmp_path / "shipyard.toml").write_text(toml, encoding="utf-8")
    for server in _serve(tmp_path, "token"):
        svc: Any = server.services
        w = seed(svc)
        w.new_data()
        alert = w.alert(env=environment)
        (run,) = svc.retraining.tick(MODEL)
        assert alert.alert_id == 1 and run.state.value in ("deployed", "awaiting_approval")
        while svc.deployments.get("staging", MODEL).candidate_version is not None:
            svc.deployments.promote("staging", DORA, model=MODEL, reason="canary looks fine")
        for name, role in (("vic", Role.VIEWER), ("dora", Role.DEPLOYER)):
            svc.access.add_user(name, role, actor="admin")
        yield server, w


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LiveServer, World]]:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # the tests' pipeline module
    yield from _world(tmp_path, "staging")


@pytest.fixture
def waiting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LiveServer, World]]:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    yield from _world(tmp_path, "production")


def _sign_in(browser: Any, server: LiveServer, user: str, target: str) -> Any:
    token = server.services.access.issue_token(user, actor="admin")  # type: ignore[attr-defined]
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(f"{server.url}/login?next={target}")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{target}")
    page.errors.clear()  # the login page's own requests (its favicon) are not ours
    return page


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"horizontal overflow: {width}px at {WIDTH}px"
    assert page.errors == []


def _card(page: Any, run_id: int) -> dict[str, Any]:
    card = page.locator(f"#run-{run_id}")
    return {
        "state": card.get_attribute("data-state"),
        "trigger": card.locator(".chain-trigger td").inner_text(),
        "alert": card.locator(".alert-link").get_attribute("href")
        if card.locator(".alert-link").count()
        else None,
        "pipeline": card.locator(".pipeline-link").get_attribute("href"),
        "version": card.locator(".version-link").get_attribute("href"),
        "gates": card.locator(".gates-verdict").inner_text(),
        "approval": card.locator(".chain-approval td").inner_text(),
        "deploys": card.locator(".deploy-event").evaluate_all(
            "els => els.map(e => e.dataset.action)"
        ),
        "outcome": card.locator(".outcome-text").inner_text(),
        "stages": card.locator(".stage").evaluate_all(
            "els => els.map(e => e.dataset.stage + ':' + e.dataset.mark)"
        ),
    }


def test_a_viewer_follows_the_chain_from_the_model_page(browser: Any, world: Any) -> None:
    server, w = world
    run = w.svc.retraining.get(1)
    page = _sign_in(browser, server, "vic", f"/ui/models/{MODEL}")
    try:
        page.click("#model-retraining-link")
        page.wait_for_url(f"**/ui/retraining/{MODEL}")
        card = _card(page, 1)
        assert card["state"] == "deployed"
        assert card["trigger"] == "alert #1 (drift_share > 0.3) in staging"
        assert card["alert"] == f"/ui/monitoring/staging/{MODEL}#alert-1"
        assert card["pipeline"] == f"/ui/pipelines/{run.pipeline_run_id}"
        assert card["version"] == f"/ui/models/{MODEL}/versions/2"
        assert card["gates"] == "gates passed"
        assert "automatic by shipyard-retrain" in card["approval"]
        assert "auto_approve_if = environment != 'production'" in card["approval"]
        assert card["deploys"] == ["deploy", "promote", "promote"]
        assert card["outcome"] == "live"
        assert all(s.endswith(":done") for s in card["stages"]), card["stages"]
        policy = dict(
            page.locator("#policy tr").evaluate_all(
                "els => els.map(e => [e.dataset.key, e.querySelector('td').innerText])"
            )
        )
        assert policy["auto_approve_if"] == "environment != 'production'"
        assert policy["deploy"] == "canary to staging" and policy["cooldown"] == "none"
        page.wait_for_selector("#gates-chart .chart[data-rendered='true']")
        drawn = page.eval_on_selector(
            "#gates-chart .chart",
            "el => echarts.getInstanceByDom(el).getOption().series.map(s => [s.name, s.data])",
        )
        assert drawn == [["roc_auc", [[run.created, run.gates["values"]["metric:roc_auc"]]]]]
        assert page.locator("#retrain-button").count() == 0
        assert "needs the deployer role (you are viewer)" in page.inner_text("#retrain-note")
        _fits(page)

        page.click("#preview-link")  # the dry run: anyone who may read
        assert page.get_attribute("#plan", "data-would-run") == "true"
        steps = page.locator(".plan-step").evaluate_all("els => els.map(e => e.dataset.step)")
        assert steps == ["train", "register", "gates", "approval", "deploy"]
        assert w.svc.retraining.runs(MODEL).total == 1  # the preview changed nothing
        _fits(page)

        with page.expect_navigation() as nav:  # a form the page does not offer a viewer
            page.evaluate(FORGE, [f"/ui/retraining/{MODEL}/run", {}])
        assert nav.value.status == 403
        assert page.inner_text("#action-error-title") == "Refused"
        assert "has role viewer" in page.inner_text("#action-error-message")
        assert w.svc.retraining.runs(MODEL).total == 1
        page.errors.clear()  # the refused POST's 403 is the console's one expected error

        page.goto(f"{server.url}/ui/retraining/{MODEL}")
        page.click("#audit-link")  # the run's ledger entries link back to its card
        links = page.locator(".audit-object-link").evaluate_all(
            "els => [...new Set(els.map(e => e.getAttribute('href')))]"
        )
        assert links == [f"/ui/retraining/{MODEL}#run-1"]

        page.goto(f"{server.url}/ui/monitoring/staging/{MODEL}")
        assert page.get_attribute("#retraining-link", "href") == f"/ui/retraining/{MODEL}"
        page.click("header a[href='/ui/retraining']")
        rows = page.locator("#runs tr.run-row").evaluate_all(
            "els => els.map(e => [e.dataset.id, e.dataset.state])"
        )
        assert rows == [["1", "deployed"]]
        line = page.inner_text("#runs tr.run-row .chain-line")
        assert line.startswith("alert #1 (drift_share > 0.3) in staging → pipeline ")
        assert line.endswith("→ canary 10% in staging, now live")
        _fits(page)
    finally:
        page.close()


def test_a_deployer_retrains_now_with_the_button(
    browser: Any, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, w = world
    page = _sign_in(browser, server, "dora", f"/ui/retraining/{MODEL}")
    try:
        assert page.locator("#retrain-note").count() == 0
        page.click("#retrain-button")
        page.wait_for_url("**/ui/retraining/loans?event=started#run-2", timeout=120_000)
        assert page.get_attribute("#retrain-notice", "data-event") == "started"
        card = _card(page, 2)
        assert card["state"] == "deployed" and card["alert"] is None
        assert card["trigger"] == "by hand: dora via the web UI"
        assert card["version"] == f"/ui/models/{MODEL}/versions/3"
        assert card["deploys"] == ["deploy"] and card["outcome"] == "canary 10%"
        assert page.locator("article.retrain-run").count() == 2  # newest first
        assert page.locator("article.retrain-run").first.get_attribute("data-id") == "2"
        run = w.svc.retraining.get(2)
        assert (run.created_by, run.trigger, run.trigger_detail["via"]) == (
            "dora",
            "manual",
            "the web UI",
        )
        _fits(page)

        w.svc.deployments.rollback("staging", DORA, model=MODEL, reason="p99 too high")
        page.reload()
        card = _card(page, 2)
        assert card["deploys"] == ["deploy", "rollback"]
        assert card["outcome"] == "rolled back by dora"
        assert "deploy:fail" in card["stages"] and "outcome:fail" in card["stages"]
        assert _card(page, 1)["outcome"] == "live"  # v2 kept serving

        monkeypatch.setattr(retrain_routes, "PAGE_RUNS", 1)  # one run a page: follow the link
        page.goto(f"{server.url}/ui/retraining/{MODEL}")
        assert page.inner_text("#run-count") == "showing 1 of 2 run(s), newest first"
        page.click("#older-runs")
        ids = page.locator("article.retrain-run").evaluate_all("els => els.map(e => e.dataset.id)")
        assert ids == ["1"] and page.locator("#older-runs").count() == 0
        page.goto(f"{server.url}/ui/retraining")
        page.click("#older-runs")
        assert page.locator("#runs tr.run-row").get_attribute("data-id") == "1"
        _fits(page)
    finally:
        page.close()


def test_refusals_and_bad_input_are_html_pages(world: Any) -> None:
    server, w = world
    svc = w.svc
    dora = {"shipyard_token": svc.access.issue_token("dora", actor="admin")}
    url = f"{server.url}/ui/retraining"
    forged = httpx.post(
        f"{url}/{MODEL}/run",
        cookies=dora,
        headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert forged.status_code == 403 and "text/html" in forged.headers["content-type"]
    assert "own retraining page" in forged.text
    anonymous = httpx.post(f"{url}/{MODEL}/run")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    unknown = httpx.post(f"{url}/nope/run", cookies=dora)
    assert unknown.status_code == 404 and "[retrain.nope]" in unknown.text
    assert "text/html" in unknown.headers["content-type"]
    assert svc.retraining.runs(MODEL).total == 1  # nothing started

    for path, status, text in (
        ("/nope", 404, "[retrain.nope]"),
        ("/bad%20name!", 400, "model name"),
        (f"/{MODEL}?cursor=garbage", 400, "cursor"),
        ("?cursor=garbage", 400, "cursor"),
    ):
        r = httpx.get(url + path, cookies=dora)
        assert r.status_code == status, (path, r.status_code, r.text[:300])
        assert text in r.text and "text/html" in r.headers["content-type"]
    chart = httpx.get(f"{url}/nope/gates.json", cookies=dora)
    assert chart.status_code == 404 and "[retrain.nope]" in chart.json()["message"]
    assert httpx.get(f"{url}/{MODEL}/gates.json").status_code == 401
    anonymous_get = httpx.get(f"{url}/{MODEL}")
    assert anonymous_get.status_code == 303


def test_a_waiting_run_links_to_the_decision_and_names_the_approver(
    browser: Any, waiting: Any
) -> None:
    server, w = waiting
    page = _sign_in(browser, server, "carol", f"/ui/retraining/{MODEL}")
    try:
        card = _card(page, 1)
        assert card["state"] == "awaiting_approval" and "approval:wait" in card["stages"]
        assert "waiting for an approver" in card["approval"]
        assert "production is protected" in card["approval"]
        assert card["outcome"] == "in progress (awaiting approval)"
        _fits(page)
        page.click("#run-1 .approve-link")  # the approver's form on the version page
        page.wait_for_url(f"**/ui/models/{MODEL}/versions/2#decision-form")
        page.fill("#decision-reason", "drift explained, holdout fine")
        page.click("#approve-button")
        page.wait_for_url(f"**/ui/models/{MODEL}/versions/2")
        assert w.svc.retraining.tick(MODEL)[0].state.value == "deployed"

        page.goto(f"{server.url}/ui/retraining/{MODEL}")
        card = _card(page, 1)
        assert card["approval"].startswith("approved by carol")
        assert card["approval"].endswith("drift explained, holdout fine")
        assert card["deploys"] == ["deploy"] and card["outcome"] == "canary 10%"
        assert (
            page.get_attribute("#run-1 .environment-link", "href") == "/ui/environments/production"
        )
        _fits(page)
    finally:
        page.close()


def test_a_malformed_policy_is_a_400_page_naming_its_key(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text(
        TOML.replace('cooldown = "1h"', 'colldown = "1h"'), encoding="utf-8"
    )
    for server in _serve(tmp_path, "token"):
        cookie = {"shipyard_token": server.admin_token}
        for path in ("/ui/retraining", f"/ui/retraining/{MODEL}"):
            r = httpx.get(server.url + path, cookies=cookie)
            assert r.status_code == 400 and "text/html" in r.headers["content-type"], path
            assert "retrain.loans.colldown: unknown key" in r.text
        posted = httpx.post(f"{server.url}/ui/retraining/{MODEL}/run", cookies=cookie)
        assert posted.status_code == 400 and "retrain.loans.colldown" in posted.text
        assert httpx.get(server.url + "/ui/models", cookies=cookie).status_code == 200


def test_the_approvals_queue_lists_the_loops_version_and_leads_to_the_decision(
    browser: Any, waiting: Any
) -> None:
    """The loop's approval notice links to ``/ui/approvals``: the waiting version is there,
    marked with its retraining run, and its link opens the decision form."""
    server, _ = waiting
    page = _sign_in(browser, server, "carol", "/ui/approvals")
    try:
        rows = page.locator(".queue-row")
        refs = rows.evaluate_all("els => els.map(e => e.dataset.ref)")
        assert f"{MODEL}@v2" in refs
        row = page.locator(f'.queue-row[data-ref="{MODEL}@v2"]')
        assert row.locator(".retrain-run").inner_text() == "retraining run 1"
        assert "production" in row.inner_text() and "passed" in row.inner_text()
        _fits(page)
        row.locator(".decide-link").click()
        page.wait_for_url(f"**/ui/models/{MODEL}/versions/2")
        assert page.locator("#decision-reason").count() == 1  # carol did not train it
    finally:
        page.close()
    anonymous = httpx.get(f"{server.url}/ui/approvals", follow_redirects=False)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]
