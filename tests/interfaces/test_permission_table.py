"""The permission table, checked over real HTTP: every API route of the app and every role
(and no token) answers as the table says; the route table covers every write route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from shipyard.core.entities import Role
from shipyard.core.permissions import GRANTS, Action, may, who_may
from shipyard.interfaces.http.route_permissions import ROUTE_ACTIONS, route_action
from tests.interfaces.conftest import LiveServer

_PUBLIC = ("/api/v1/health",)
_FILL = {
    "run_id": "0" * 32,
    "experiment_id": "1",
    "name": "nothing",
    "version": "1",
    "alias": "champion",
    "alert_id": "1",
    "model_id": "m-0",
    "tag_key": "k",
    "key": "k",
    "path": "a.txt",
    "obj": "run:1",
    "rest": "no-such-call",
    "model": "nothing",
    "token_id": "999999",  # nobody's: a 404 for whoever may revoke tokens
}


def _routes(services: object) -> list[tuple[str, str]]:
    """(method, path template) of every API route of the server app, as it is built."""
    from shipyard.interfaces.bootstrap import build_server_app

    app = build_server_app(services, auth_mode="token")  # type: ignore[arg-type]
    out = set()
    for route in iter_route_contexts(app.router.routes):
        path = route.path or ""
        if path.startswith(("/api/", "/ajax-api/")) and not path.startswith(_PUBLIC):
            out |= {(m, path) for m in route.methods or ()}
    return sorted(out)


def _concrete(template: str) -> str:
    for name, value in _FILL.items():
        template = template.replace("{" + name + ":path}", value).replace("{" + name + "}", value)
    assert "{" not in template, template
    return template


@pytest.fixture
def tokens(live_server: LiveServer) -> dict[Role, str]:
    access: Any = live_server.services
    out = {}
    for role in Role:
        name = f"as-{role.value}"
        access.access.add_user(name, role)
        out[role] = access.access.issue_token(name, ttl_days=1)
    return out


def _others_tokens(template: str) -> bool:
    """Routes on the tokens of ``{name}`` (filled with a user who is not the caller)."""
    return template.endswith(("/users/{name}/tokens", "/users/{name}/tokens/revoke"))


def _call(c: httpx.Client, method: str, url: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = None if method in ("GET", "DELETE") else {}
    return c.request(method, url, json=body, headers=headers)


def test_every_route_and_role_answers_as_the_table_says(
    live_server: LiveServer, tokens: dict[Role, str]
) -> None:
    routes = _routes(live_server.services)
    assert len(routes) >= 150  # /api/v1, MLflow (and the UI's ajax-api copy), artifacts
    checked = 0
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        for method, template in routes:
            url = _concrete(template)
            action = route_action(method, template)
            anonymous = _call(c, method, url, None)
            assert anonymous.status_code == 401, (method, template, anonymous.text)
            for role, token in tokens.items():
                r = _call(c, method, url, token)
                where = (method, template, role.value, r.status_code, r.text[:200])
                if may(role, action) and _others_tokens(template) and role is not Role.ADMIN:
                    # the table lets everyone manage tokens; the service, only their own
                    assert r.status_code == 403 and "an admin" in r.text, where
                elif may(role, action):
                    assert r.status_code not in (401, 403), where
                    assert r.status_code < 500, where
                else:
                    assert r.status_code == 403, where
                    assert who_may(action) in r.json()["message"], where
                checked += 1
    assert checked == len(routes) * len(Role)
    print(f"permission table: {len(routes)} routes x {len(Role)} roles = {checked} cases")


def test_the_route_table_names_every_write_route_and_no_other(live_server: LiveServer) -> None:
    writes = {
        (m, "/api/" + t.removeprefix("/ajax-api/") if t.startswith("/ajax-api/") else t)
        for m, t in _routes(live_server.services)
        if m not in ("GET", "HEAD")
    }
    assert writes == set(ROUTE_ACTIONS)


def test_the_table_keeps_duties_apart() -> None:
    """Spelled out, independent of the route list: who may do the actions that matter."""
    assert {r for r in Role if may(r, Action.READ)} == set(Role)
    assert not may(Role.VIEWER, Action.TRACK) and may(Role.CONTRIBUTOR, Action.TRACK)
    assert not may(Role.CONTRIBUTOR, Action.DECIDE) and may(Role.APPROVER, Action.DECIDE)
    assert not may(Role.APPROVER, Action.DEPLOY) and may(Role.DEPLOYER, Action.DEPLOY)
    assert not may(Role.CONTRIBUTOR, Action.RETIRE_SERVING)
    assert GRANTS[Action.OVERRIDE_GATES] == GRANTS[Action.MANAGE_USERS] == {Role.ADMIN}
    assert set(GRANTS) == set(Action)  # every action has its row


def _searches(exp: str, run: str) -> Iterator[tuple[str, dict[str, Any], str]]:
    yield "/api/v1/runs/search", {"experiment_ids": [exp]}, "runs"
    yield "/api/2.0/mlflow/runs/search", {"experiment_ids": [exp]}, "runs"
    yield "/api/2.0/mlflow/experiments/search", {}, "experiments"
    yield "/api/2.0/mlflow/logged-models/search", {"experiment_ids": [exp]}, "models"
    yield "/api/2.0/mlflow/registered-models/get-latest-versions", {"name": "loans"}, ""
    yield "/ajax-api/2.0/mlflow/runs/search", {"experiment_ids": [exp]}, "runs"


def test_a_viewer_runs_the_read_only_searches_sent_as_post(
    live_server: LiveServer, tokens: dict[Role, str]
) -> None:
    writer = {"Authorization": f"Bearer {tokens[Role.CONTRIBUTOR]}"}
    viewer = {"Authorization": f"Bearer {tokens[Role.VIEWER]}"}
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        exp = c.post(
            "/api/2.0/mlflow/experiments/create", json={"name": "seen"}, headers=writer
        ).json()["experiment_id"]
        run = c.post(
            "/api/2.0/mlflow/runs/create", json={"experiment_id": exp}, headers=writer
        ).json()["run"]["info"]["run_id"]
        c.post("/api/2.0/mlflow/logged-models", json={"experiment_id": exp}, headers=writer)
        c.post("/api/2.0/mlflow/registered-models/create", json={"name": "loans"}, headers=writer)
        for url, body, key in _searches(exp, run):
            r = c.post(url, json=body, headers=viewer)
            assert r.status_code == 200, (url, r.text)
            if key:
                assert r.json()[key], (url, r.text)  # the viewer sees what was written
        refused = c.post("/api/2.0/mlflow/runs/create", json={"experiment_id": exp}, headers=viewer)
        assert refused.status_code == 403 and "contributor or higher" in refused.json()["message"]
