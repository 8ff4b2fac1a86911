"""API tokens over real HTTP: issue with a bounded lifetime, list without secrets, revoke
(owner or admin); a revoked or expired token is refused by the REST API, the MLflow API and
the web UI's sign-in."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shipyard.core.clock import now_ms
from shipyard.core.entities import Role
from shipyard.services.access import AccessService
from tests.interfaces.conftest import LiveServer

DAY = 86_400_000


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _refused_everywhere(server: LiveServer, token: str) -> None:
    """The REST API, the MLflow API and the UI's sign-in all refuse ``token``."""
    rest = httpx.get(f"{server.url}/api/v1/jobs", headers=_auth(token))
    assert rest.status_code == 401 and "revoked or expired" in rest.json()["message"], rest.text
    mlflow = httpx.get(f"{server.url}/api/2.0/mlflow/experiments/search", headers=_auth(token))
    assert mlflow.status_code == 401, mlflow.text
    login = httpx.post(f"{server.url}/login", data={"token": token}, headers={"Origin": server.url})
    assert login.status_code == 401 and "revoked or expired" in login.text
    assert "shipyard_token" not in login.headers.get("set-cookie", "")
    page = httpx.get(f"{server.url}/ui/tokens", cookies={"shipyard_token": token})
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def _accepted_everywhere(server: LiveServer, token: str) -> None:
    assert httpx.get(f"{server.url}/api/v1/jobs", headers=_auth(token)).status_code == 200
    mlflow = httpx.get(f"{server.url}/api/2.0/mlflow/experiments/search", headers=_auth(token))
    assert mlflow.status_code == 200, mlflow.text
    login = httpx.post(f"{server.url}/login", data={"token": token}, headers={"Origin": server.url})
    assert login.status_code == 303 and "shipyard_token" in login.headers["set-cookie"]


@pytest.fixture
def people(live_server: LiveServer) -> dict[str, str]:
    svc: Any = live_server.services
    svc.access.add_user("alice", Role.CONTRIBUTOR)
    svc.access.add_user("bob", Role.CONTRIBUTOR)
    return {
        "admin": live_server.admin_token,
        "alice": svc.access.issue_token("alice"),
        "bob": svc.access.issue_token("bob"),
    }


def test_issue_list_and_revoke_over_rest(live_server: LiveServer, people: dict[str, str]) -> None:
    url = live_server.url
    issued = httpx.post(
        f"{url}/api/v1/users/alice/tokens",
        json={"ttl_days": 30, "name": "ci"},
        headers=_auth(people["alice"]),
    )
    assert issued.status_code == 200, issued.text
    body = issued.json()
    secret, token_id = body["token"], body["id"]
    assert body["prefix"] == secret[:7] and body["state"] == "active"
    assert body["expires"] - body["created"] == 30 * DAY
    _accepted_everywhere(live_server, secret)

    listed = httpx.get(f"{url}/api/v1/users/alice/tokens", headers=_auth(people["alice"]))
    assert listed.status_code == 200
    rows = listed.json()["tokens"]
    assert [r["name"] for r in rows] == ["ci", "default"] and listed.json()["total"] == 2
    assert secret not in listed.text and people["alice"] not in listed.text
    assert rows[0]["last_used"] is not None  # the calls above used it

    revoked = httpx.post(f"{url}/api/v1/tokens/{token_id}/revoke", headers=_auth(people["alice"]))
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    _refused_everywhere(live_server, secret)
    again = httpx.post(f"{url}/api/v1/tokens/{token_id}/revoke", headers=_auth(people["admin"]))
    assert again.status_code == 409 and "already revoked" in again.json()["message"]
    _accepted_everywhere(live_server, people["alice"])  # her other token still works
    trail = httpx.get(f"{url}/api/v1/audit?limit=50", headers=_auth(people["admin"]))
    actions = [(e["actor"], e["action"]) for e in trail.json()["entries"]]
    assert ("alice", "token.revoke") in actions and ("alice", "token.issue") in actions


def test_only_the_owner_or_an_admin(live_server: LiveServer, people: dict[str, str]) -> None:
    url = live_server.url
    bob = _auth(people["bob"])
    listed = httpx.get(f"{url}/api/v1/users/alice/tokens", headers=bob)
    assert listed.status_code == 403 and "'bob'" in listed.json()["message"]
    issued = httpx.post(f"{url}/api/v1/users/alice/tokens", json={}, headers=bob)
    assert issued.status_code == 403 and "needs an admin" in issued.json()["message"]
    alices = httpx.get(f"{url}/api/v1/users/alice/tokens", headers=_auth(people["admin"]))
    token_id = alices.json()["tokens"][0]["id"]
    stolen = httpx.post(f"{url}/api/v1/tokens/{token_id}/revoke", headers=bob)
    assert stolen.status_code == 403
    assert httpx.post(f"{url}/api/v1/users/alice/tokens/revoke", headers=bob).status_code == 403
    _accepted_everywhere(live_server, people["alice"])

    everything = httpx.post(
        f"{url}/api/v1/users/alice/tokens/revoke", headers=_auth(people["admin"])
    )
    assert everything.status_code == 200 and everything.json() == {"user": "alice", "revoked": 1}
    _refused_everywhere(live_server, people["alice"])


def test_expired_tokens_are_refused_everywhere(
    live_server: LiveServer, people: dict[str, str]
) -> None:
    svc: Any = live_server.services
    two_days_ago = AccessService(svc.db, clock=lambda: now_ms() - 2 * DAY)
    expired = two_days_ago.issue_token("alice", ttl_days=1)
    _refused_everywhere(live_server, expired)
    listed = httpx.get(
        f"{live_server.url}/api/v1/users/alice/tokens", headers=_auth(people["alice"])
    )
    assert [r["state"] for r in listed.json()["tokens"]] == ["expired", "active"]  # newest first


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ttl_days": 0}, "ttl_days"),
        ({"ttl_days": -1}, "ttl_days"),
        ({"ttl_days": 3651}, "ttl_days"),
        ({"ttl_days": 2**70}, "ttl_days"),
        ({"ttl_days": "7"}, "ttl_days"),
        ({"ttl_days": 1.5}, "ttl_days"),
        ({"name": ""}, "name"),
        ({"scope": "all"}, "scope"),
    ],
)
def test_bad_issue_requests_are_400_naming_the_field(
    live_server: LiveServer, people: dict[str, str], body: dict[str, Any], field: str
) -> None:
    r = httpx.post(
        f"{live_server.url}/api/v1/users/alice/tokens", json=body, headers=_auth(people["alice"])
    )
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field and field in r.json()["message"]
    listed = httpx.get(
        f"{live_server.url}/api/v1/users/alice/tokens", headers=_auth(people["alice"])
    )
    assert listed.json()["total"] == 1  # nothing was issued


@pytest.mark.parametrize("token_id", ["0", "-3", "9223372036854775808", "abc"])
def test_bad_token_ids_are_400(live_server: LiveServer, token_id: str) -> None:
    r = httpx.post(
        f"{live_server.url}/api/v1/tokens/{token_id}/revoke",
        headers=_auth(live_server.admin_token),
    )
    assert r.status_code == 400 and r.json()["field"] == "token_id", r.text


def test_unknown_users_and_tokens_are_404(live_server: LiveServer) -> None:
    admin = _auth(live_server.admin_token)
    r = httpx.get(f"{live_server.url}/api/v1/users/nobody/tokens", headers=admin)
    assert r.status_code == 404 and "nobody" in r.json()["message"]
    r = httpx.post(f"{live_server.url}/api/v1/tokens/12345/revoke", headers=admin)
    assert r.status_code == 404 and "shipyard users tokens" in r.json()["message"]
