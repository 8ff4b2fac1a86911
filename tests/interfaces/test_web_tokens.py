"""The tokens page in real headless Chromium: a viewer sees their tokens (never a secret)
and revokes one with its button; revoking the token of the session signs them out; a
revoked or expired token cannot sign in; another user's tokens are a 403 page (an admin
may look); a cross-site POST revokes nothing."""

from __future__ import annotations

from typing import Any

import httpx

from shipyard.core.clock import now_ms
from shipyard.core.entities import Role
from shipyard.services.access import AccessService
from tests.interfaces.conftest import LiveServer

DAY = 86_400_000


def _sign_in(page: Any, server: LiveServer, token: str) -> None:
    page.goto(server.url + "/ui/tokens")
    assert "/login" in page.url
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url("**/ui/tokens")


def _rows(page: Any) -> list[list[str]]:
    rows = page.locator("#tokens tr.token-row")
    return rows.evaluate_all("els => els.map(e => [e.dataset.id, e.dataset.state])")


def test_viewer_lists_and_revokes_their_tokens(browser: Any, live_server: LiveServer) -> None:
    svc: Any = live_server.services
    svc.access.add_user("vera", Role.VIEWER)
    session = svc.access.issue_token("vera", name="browser")
    other = svc.access.issue_token("vera", name="ci", ttl_days=30)
    page = browser.new_page()
    try:
        _sign_in(page, live_server, session)
        content = page.content()
        assert session not in content and other not in content
        ci_id, browser_id = (r[0] for r in _rows(page))
        assert _rows(page) == [[ci_id, "active"], [browser_id, "active"]]
        assert page.inner_text(f"#token-{ci_id} td:nth-child(2)") == other[:7] + "…"
        assert page.locator(".revoke-button").count() == 2

        page.click(f"#token-{ci_id} .revoke-button")
        page.wait_for_url(f"**/ui/tokens#token-{ci_id}")
        assert _rows(page) == [[ci_id, "revoked"], [browser_id, "active"]]
        assert page.locator(f"#token-{ci_id} .revoke-button").count() == 0
        api = httpx.get(
            live_server.url + "/api/v1/jobs", headers={"Authorization": f"Bearer {other}"}
        )
        assert api.status_code == 401

        theirs = page.goto(live_server.url + "/ui/tokens?user=admin")
        assert theirs is not None and theirs.status == 403
        assert "may list only their own tokens" in page.inner_text("#tokens-error")

        page.goto(live_server.url + "/ui/tokens")
        page.click(f"#token-{browser_id} .revoke-button")  # the session's own token
        page.wait_for_url(lambda url: "/login?next=/ui/tokens" in url)
        page.fill("#token", session)
        page.click("button[type=submit]")
        assert "revoked or expired" in page.inner_text("#login-error")
    finally:
        page.close()


def test_expired_token_cannot_sign_in_and_admin_sees_anyones(
    browser: Any, live_server: LiveServer
) -> None:
    svc: Any = live_server.services
    svc.access.add_user("vera", Role.VIEWER)
    expired = AccessService(svc.db, clock=lambda: now_ms() - 2 * DAY).issue_token(
        "vera", ttl_days=1
    )
    page = browser.new_page()
    try:
        page.goto(live_server.url + "/login?next=/ui/tokens")
        page.fill("#token", expired)
        page.click("button[type=submit]")
        assert "revoked or expired" in page.inner_text("#login-error")

        _sign_in(page, live_server, live_server.admin_token)
        page.goto(live_server.url + "/ui/tokens?user=vera")
        (row,) = _rows(page)
        assert row[1] == "expired" and page.locator(".revoke-button").count() == 0
        assert page.locator("header a[href='/ui/tokens']").count() == 1
    finally:
        page.close()


def test_cross_site_and_bad_revokes_change_nothing(live_server: LiveServer) -> None:
    svc: Any = live_server.services
    svc.access.add_user("vera", Role.VIEWER)
    token = svc.access.issue_token("vera")
    (record,) = svc.access.list_tokens("vera", by=svc.access.get_user("vera"))
    cookie = {"shipyard_token": token}
    forged = httpx.post(
        f"{live_server.url}/ui/tokens/{record.token_id}/revoke",
        cookies=cookie,
        headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert forged.status_code == 403 and "own tokens page" in forged.text
    for bad, status in (("abc", 400), ("0", 400), ("99999999999999999999", 400), ("777", 404)):
        r = httpx.post(f"{live_server.url}/ui/tokens/{bad}/revoke", cookies=cookie)
        assert r.status_code == status, (bad, r.status_code)
    assert svc.access.authenticate(token).name == "vera"
    anonymous = httpx.post(f"{live_server.url}/ui/tokens/{record.token_id}/revoke")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
