"""Deployments over real HTTP as the token's user: deploy, canary steps, promote, shadow and
blue/green, rollback along the history, the serving figures per version with their series,
and every 4xx: bad bodies (400), roles and the protected environment (403), unknown models
and versions (404), conflicting changes (409)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.core.clock import now_ms
from shipyard.core.entities import Role
from shipyard.core.latency import BOUNDS_MS, bucket_of
from tests.interfaces.conftest import LiveServer, _serve
from tests.interfaces.test_api_models import _error, _ok

POLICY = """
[release.loans]
deploy = { strategy = "canary", steps = [10, 50, 100], rollback_if = "error_rate > 0.05" }
"""
SIGNATURE = {"inputs": [["age", "int64"], ["income", "float64"]], "output": "int64"}


@dataclass
class Seeded:
    """loans v1-v3 approved, v4 a candidate, v5 archived; churn v1-v2 candidates (no deploy
    policy: replace); a token per user: dora deployer, cody contributor, vera viewer."""

    server: LiveServer
    tokens: dict[str, str]

    def client(self, user: str = "dora") -> httpx.Client:
        token = self.tokens[user] if user != "admin" else self.server.admin_token
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=30)


def _seed(server: LiveServer) -> Seeded:
    svc = server.services
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"age": rng.integers(20, 70, 40), "income": rng.normal(50, 10, 40)})
    model = LogisticRegression().fit(x, (x["income"] > 50).to_numpy(dtype=int))
    for name, status in [("loans", "approved")] * 3 + [("loans", None), ("loans", "archived")]:
        version = svc.registry.log_model(model, name, user="ada", signature=SIGNATURE)  # type: ignore[attr-defined]
        if status == "approved":
            svc.registry.set_status(version.ref, "gate_passed", user="ci")  # type: ignore[attr-defined]
        if status is not None:
            svc.registry.set_status(version.ref, status, user="carol")  # type: ignore[attr-defined]
    for _ in range(2):
        svc.registry.log_model(model, "churn", user="ada", signature=SIGNATURE)  # type: ignore[attr-defined]
    tokens = {}
    for name, role in (("dora", Role.DEPLOYER), ("cody", Role.CONTRIBUTOR), ("vera", Role.VIEWER)):
        svc.access.add_user(name, role, actor="admin")  # type: ignore[attr-defined]
        tokens[name] = svc.access.issue_token(name, actor="admin")  # type: ignore[attr-defined]
    return Seeded(server, tokens)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """One server for the module; each test works in environments of its own."""
    project: Path = tmp_path_factory.mktemp("deployments-api")
    (project / "shipyard.toml").write_text(POLICY)
    for server in _serve(project, "token"):
        yield _seed(server)


@pytest.fixture
def dora(seeded: Seeded) -> Iterator[httpx.Client]:
    with seeded.client("dora") as c:
        yield c


def _deploy(c: httpx.Client, version: object, env: str, **extra: object) -> dict:
    body = {"model": extra.pop("model", "loans"), "version": version, "env": env, **extra}
    return _ok(c.post("/api/v1/deployments", json=body))["deployment"]


def test_a_canary_goes_live_step_by_step(dora: httpx.Client) -> None:
    first = _deploy(dora, 1, "production", reason="first")
    assert (first["live_version"], first["state"], first["updated_by"]) == (1, "live", "dora")
    canary = _deploy(dora, "v2", "production")
    assert (canary["candidate_version"], canary["traffic"], canary["state"]) == (2, 10, "canary")
    listed = _ok(dora.get("/api/v1/deployments", params={"env": "production"}))["deployments"]
    assert listed == [canary]
    half = _ok(dora.post("/api/v1/deployments/promote", json={"env": "production"}))
    assert half["deployment"]["traffic"] == 50
    body = {"env": "production", "model": "loans", "percent": 100, "reason": "healthy"}
    live = _ok(dora.post("/api/v1/deployments/promote", json=body))["deployment"]
    assert (live["live_version"], live["candidate_version"], live["previous_version"]) == (
        2,
        None,
        1,
    )
    params = {"env": "production", "model": "loans", "limit": 3}
    events = _ok(dora.get("/api/v1/deployments/history", params=params))["events"]
    assert [(e["action"], e["traffic"], e["actor"]) for e in events] == [
        ("promote", 100, "dora"),
        ("promote", 50, "dora"),
        ("deploy", 10, "dora"),
    ]
    assert events[0]["reason"] == "healthy" and events[0]["evidence"] == {}
    trail = _ok(dora.get("/api/v1/audit", params={"object": "deployment:production/loans"}))
    actions = [e["action"] for e in trail["entries"]]
    assert actions == ["deployment.promote"] * 2 + ["deployment.deploy"] * 2
    assert trail["entries"][0]["payload"]["live_version"] == 2


def test_shadow_bluegreen_and_rollback_along_the_history(dora: httpx.Client) -> None:
    _deploy(dora, 1, "qa", model="churn")
    shadow = _deploy(dora, 2, "qa", model="churn", strategy="shadow", percent=50)
    assert (shadow["state"], shadow["traffic"], shadow["strategy"]) == ("shadow", 50, "shadow")
    dropped = _ok(dora.post("/api/v1/deployments/rollback", json={"env": "qa"}))["deployment"]
    assert (dropped["live_version"], dropped["candidate_version"]) == (1, None)
    staged = _deploy(dora, 2, "qa", model="churn", strategy="bluegreen")
    assert (staged["state"], staged["traffic"]) == ("staged", 0)
    switched = _ok(dora.post("/api/v1/deployments/promote", json={"env": "qa", "model": "churn"}))
    assert switched["deployment"]["live_version"] == 2
    body = {"env": "qa", "model": "churn", "reason": "regression"}
    back = _ok(dora.post("/api/v1/deployments/rollback", json=body))["deployment"]
    assert (back["live_version"], back["previous_version"]) == (1, None)
    resp = dora.post("/api/v1/deployments/rollback", json={"env": "qa"})
    assert _error(resp, 409, "env", "no previous version of churn")["error_code"]


def test_one_rollout_at_a_time(dora: httpx.Client) -> None:
    _deploy(dora, 1, "busy")
    _deploy(dora, 2, "busy", percent=30)
    resp = dora.post("/api/v1/deployments", json={"model": "loans", "version": 3, "env": "busy"})
    _error(resp, 409, "version", "v2 of loans is being rolled out (canary)")
    resp = dora.post("/api/v1/deployments/promote", json={"env": "busy", "percent": 20})
    _error(resp, 409, "percent", "the canary already takes 30%")
    dora.post("/api/v1/deployments/rollback", json={"env": "busy"})
    resp = dora.post("/api/v1/deployments", json={"model": "loans", "version": 1, "env": "busy"})
    _error(resp, 409, "version", "loans@v1 is already live in busy")
    resp = dora.post("/api/v1/deployments/promote", json={"env": "busy"})
    _error(resp, 409, "env", "nothing to promote in busy")


@pytest.mark.parametrize(
    ("user", "body", "status", "field", "text"),
    [
        ("vera", {"version": 1}, 403, None, "need deployer or higher"),
        ("cody", {"version": 1}, 403, None, "need deployer or higher"),
        ("dora", {"version": 4, "env": "production"}, 403, None, "production is a protected"),
        ("admin", {"version": 4, "env": "production"}, 403, None, "candidate, not approved"),
        ("dora", {"version": 5}, 409, "version", "loans@v5 is archived"),
        ("dora", {"version": 9}, 404, "version", "has no version 9"),
        ("dora", {"model": "nope"}, 404, "model", "no registered model named 'nope'"),
        ("dora", {"model": "bad name"}, 400, "model", "model name 'bad name'"),
        ("dora", {"version": "x"}, 400, "version", "version must be a number"),
        ("dora", {"version": 1.5}, 400, "version", "version must be a number like 3"),
        ("dora", {"version": True}, 400, "version", "got True"),
        ("dora", {"env": "Prod!"}, 400, "env", "environment 'Prod!' must be"),
        ("dora", {"strategy": "rolling"}, 400, "strategy", "replace, canary, shadow"),
        ("dora", {"percent": 0}, 400, "percent", "percent must be an integer 1..100"),
        ("dora", {"percent": "10"}, 400, "percent", "valid integer"),
        ("dora", {"strategy": "replace", "percent": 10}, 400, "percent", "--strategy canary"),
        ("dora", {"model": None}, 400, "model", "string"),
        ("dora", {"force": True}, 400, "force", "Extra inputs are not permitted"),
    ],
)
def test_refused_deploys_name_the_cause(
    seeded: Seeded, user: str, body: dict, status: int, field: str | None, text: str
) -> None:
    full = {"model": "loans", "version": 1, "env": "refused", **body}
    with seeded.client(user) as c:
        _error(c.post("/api/v1/deployments", json=full), status, field, text)
        assert _ok(c.get("/api/v1/deployments", params={"env": "refused"}))["deployments"] == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field", "text"),
    [
        ("post", "/promote", {"env": "void"}, 404, "env", "nothing is deployed to void"),
        ("post", "/rollback", {"env": "void", "model": "loans"}, 404, "model", "not deployed"),
        ("post", "/rollback", {}, 400, "env", "Field required"),
        ("post", "/promote", {"env": "void", "percent": 101}, 400, "percent", "1..100"),
        ("get", "/history?limit=0", None, 400, "limit", "limit must be 1..10000"),
        ("get", "/history?env=NO", None, 400, "env", "environment 'NO'"),
        ("get", "?env=NO", None, 400, "env", "environment 'NO'"),
    ],
)
def test_other_bad_requests(
    dora: httpx.Client,
    method: str,
    path: str,
    body: dict | None,
    status: int,
    field: str,
    text: str,
) -> None:
    _error(
        dora.request(method.upper(), "/api/v1/deployments" + path, json=body), status, field, text
    )


def test_no_token_is_a_401(seeded: Seeded) -> None:
    resp = httpx.get(seeded.server.url + "/api/v1/deployments")
    assert resp.status_code == 401 and "missing token" in resp.json()["message"]


def _buckets(ms: float, n: int) -> list[int]:
    out = [0] * (len(BOUNDS_MS) + 1)
    out[bucket_of(ms)] = n
    return out


def test_figures_per_version_and_their_series(seeded: Seeded, dora: httpx.Client) -> None:
    _deploy(dora, 1, "perf")
    _deploy(dora, 2, "perf")
    end = now_ms()
    seeded.server.services.figures.flush(  # type: ignore[attr-defined]
        "perf",
        "r1",
        end,
        [
            ("loans", 1, "live", 90, 0, 90 * 4.0, _buckets(4, 90)),
            ("loans", 2, "canary", 10, 1, 10 * 8.0, _buckets(8, 10)),
        ],
    )
    body = _ok(dora.get("/api/v1/deployments/figures", params={"env": "perf"}))
    assert (body["environment"], body["model"]) == ("perf", "loans")
    assert body["since"] <= end and body["step"] >= 1000
    summary = {(v["version"], v["role"]): v for v in body["versions"]}
    assert set(summary) == {(1, "live"), (2, "canary")}
    assert (summary[(2, "canary")]["requests"], summary[(2, "canary")]["error_rate"]) == (10, 0.1)
    assert summary[(1, "live")]["mean_ms"] == 4.0 and summary[(1, "live")]["p99_ms"] <= 5
    assert set(body["series"]) == {"v1 live", "v2 canary"}
    assert body["series"]["v2 canary"][0]["requests"] == 10
    later = {"env": "perf", "model": "loans", "since": end, "step": 5000}
    assert _ok(dora.get("/api/v1/deployments/figures", params=later))["versions"] == []


@pytest.mark.parametrize(
    ("params", "status", "field", "text"),
    [
        ({"env": "nowhere"}, 404, "env", "nothing is deployed to nowhere"),
        ({"env": "perf", "since": -1}, 400, "since", "since must be epoch ms in the past"),
        ({"env": "perf", "step": 10}, 400, "step", "step must be at least 1000 ms"),
        ({"env": "perf", "model": "bad name"}, 400, "model", "model name"),
        ({"env": "Bad!"}, 400, "env", "environment 'Bad!'"),
        ({}, 400, "env", "Field required"),
    ],
)
def test_bad_figures_requests(
    dora: httpx.Client, params: dict, status: int, field: str, text: str
) -> None:
    _error(dora.get("/api/v1/deployments/figures", params=params), status, field, text)


def test_several_models_need_a_model(dora: httpx.Client) -> None:
    _deploy(dora, 1, "shared")
    _deploy(dora, 1, "shared", model="churn")
    resp = dora.get("/api/v1/deployments/figures", params={"env": "shared"})
    _error(resp, 400, "model", "shared serves several models (churn, loans)")
    resp = dora.post("/api/v1/deployments/rollback", json={"env": "shared"})
    _error(resp, 400, "model", "name one with --model")


def test_a_contributor_cannot_archive_the_version_production_serves(
    seeded: Seeded, dora: httpx.Client
) -> None:
    _deploy(dora, 3, "prod-archive")
    with seeded.client("cody") as cody:
        r = cody.post("/api/v1/models/loans/versions/3/archive", json={"reason": "tidy"})
    assert r.status_code == 403, r.text
    assert "prod-archive (live)" in r.json()["message"] and "deployer" in r.json()["message"]
    got = _ok(dora.get("/api/v1/models/loans/versions/3"))
    assert got["version"]["status"] == "approved"
