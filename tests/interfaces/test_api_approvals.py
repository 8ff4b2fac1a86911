"""Approving and rejecting a gated model version over real HTTP, as the token's user: an
approver who neither logged it nor ran its training (nor the pipeline run above) approves;
the author, the pipeline's runner and a contributor are refused (403) naming why; a rejected
or ungated version cannot be decided (400); failed gates need an admin override, flagged;
bad bodies and unknown versions name the field (400/404); no token is a 401."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.core.entities import Role
from tests.interfaces.conftest import LiveServer, _serve
from tests.interfaces.test_api_models import _client, _error, _ok

FEATURES = ["age", "income"]
PASSING = [
    {"metric": "accuracy", "min": 0.5},
    {"fairness": "demographic_parity_difference", "sensitive": "sex", "max": 1.0},
    {"latency_p99_ms": 500},
    {"data_checks": "loans"},
]
FAILING = [{"metric": "accuracy", "min": 0.999}]


@dataclass
class Gated:
    """loans v1, v2 (gates passed), v3 (gates failed), v4 (not gated), trained by ada in a run
    whose parent pipeline run paula started; a token per user."""

    server: LiveServer
    run_id: str
    parent_run_id: str
    tokens: dict[str, str]


def gate_frame(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.integers(20, 70, n),
            "income": rng.normal(50, 10, n),
            "sex": rng.choice(["f", "m"], n),
        }
    )
    df["default"] = ((df["income"] + rng.normal(0, 3, n)) > 50).astype(int)
    return df


def add_version(server: LiveServer, run_id: str, gates: list[dict] | None) -> int:
    """The next version of loans, trained in ``run_id``; gated with ``gates`` unless None."""
    svc = server.services
    train = svc.catalog.load_frame("loans@v1")  # type: ignore[attr-defined]
    model = LogisticRegression().fit(train[FEATURES], train["default"])
    version = svc.registry.log_model(  # type: ignore[attr-defined]
        model, "loans", user="ada", run_id=run_id, input_example=train[FEATURES].head()
    )
    if gates is not None:
        policy = {"holdout": "loans@holdout", "target": "default", "gates": gates}
        svc.registry.run_gates(version.ref, {"loans": policy}, user="ci")  # type: ignore[attr-defined]
    return version.version


def seed_gated(server: LiveServer) -> Gated:
    svc = server.services
    catalog = svc.catalog  # type: ignore[attr-defined]
    checks = {"columns": {"age": {"min": 0}}}
    catalog.register("loans", gate_frame(1), user="ada")
    catalog.validate("loans@v1", checks, user="ada")
    holdout = catalog.register("loans", gate_frame(2), user="ada")
    catalog.set_alias(holdout.ref, "holdout", user="ada")
    catalog.validate("loans@holdout", checks, user="ada")
    catalog.register("bureau", gate_frame(3).drop(columns=["default"]), user="paula")
    tracking = svc.tracking  # type: ignore[attr-defined]
    exp = tracking.get_or_create_experiment("credit").experiment_id
    parent = tracking.create_run(exp, run_name="nightly-pipeline", user="paula")
    catalog.record_input(parent.run_id, "bureau@v1", context="enrichment")
    run = tracking.create_run(exp, run_name="train-loans", user="ada", parent_run_id=parent.run_id)
    catalog.record_input(run.run_id, "loans@v1")
    for gates in (PASSING, PASSING, FAILING, None):
        add_version(server, run.run_id, gates)
    roles = {
        "ada": Role.APPROVER,
        "paula": Role.APPROVER,
        "carol": Role.APPROVER,
        "dan": Role.CONTRIBUTOR,
        "vera": Role.VIEWER,
        "root": Role.ADMIN,
    }
    tokens = {}
    for name, role in roles.items():
        svc.access.add_user(name, role, actor="admin")  # type: ignore[attr-defined]
        tokens[name] = svc.access.issue_token(name, actor="admin")  # type: ignore[attr-defined]
    return Gated(server, run.run_id, parent.run_id, tokens)


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gated]:
    for server in _serve(tmp_path_factory.mktemp("models-approvals"), "token"):
        yield seed_gated(server)


def _as(gated: Gated, user: str) -> httpx.Client:
    return _client(gated.server, gated.tokens[user])


def _trail(gated: Gated) -> list[dict]:
    with _client(gated.server) as c:
        return _ok(c.get("/api/v1/audit", params={"object": "model:loans", "limit": 5}))["entries"]


def test_the_gated_versions(gated) -> None:
    with _as(gated, "vera") as c:
        versions = _ok(c.get("/api/v1/models/loans"))["versions"]
    assert [v["status"] for v in versions] == [
        "gate_passed",
        "gate_passed",
        "gate_failed",
        "candidate",
    ]


def test_an_approver_who_did_not_train_it_approves(gated) -> None:
    url = "/api/v1/models/loans/versions/1/approve"
    with _as(gated, "ada") as c:  # logged the version and ran its training
        body = _error(c.post(url, json={"reason": "mine"}), 403, None, "separation of duties")
        assert (
            body["error_code"] == "PERMISSION_DENIED"
            and "'ada' authored loans@v1" in body["message"]
        )
    with _as(gated, "paula") as c:  # ran the pipeline its training run belongs to
        _error(c.post(url, json={"reason": "lgtm"}), 403, None, "separation of duties")
    with _as(gated, "dan") as c:  # a contributor
        _error(c.post(url, json={"reason": "lgtm"}), 403, None, "needs approver or higher")
    with _as(gated, "vera") as c:  # a viewer is stopped before the handler, by the table
        _error(c.post(url, json={"reason": "lgtm"}), 403, None, "needs approver or higher")
    with _as(gated, "carol") as c:
        assert c.get("/api/v1/models/loans/versions/1").json()["version"]["status"] == (
            "gate_passed"
        )
        v = _ok(c.post(url, json={"reason": "gates green, reviewed fairness"}))["version"]
    assert (v["version"], v["status"], v["status_reason"]) == (
        1,
        "approved",
        "gates green, reviewed fairness",
    )
    last = _trail(gated)[0]
    assert (last["actor"], last["action"], last["reason"]) == (
        "carol",
        "model.approve",
        "gates green, reviewed fairness",
    )
    assert last["payload"] == {"version": 1, "from": "gate_passed", "to": "approved"}
    with _as(gated, "root") as c:  # decided: neither approve nor reject again
        resp = c.post(url, json={"reason": "again"})
        _error(resp, 400, "status", "loans@v1 is already approved; only a gated version")


def test_reject_then_approving_is_refused(gated) -> None:
    with _as(gated, "dan") as c:
        resp = c.post("/api/v1/models/loans/versions/v2/reject", json={"reason": "biased"})
        _error(resp, 403, None, "needs approver")
    with _as(gated, "carol") as c:
        resp = c.post("/api/v1/models/loans/versions/v2/reject", json={"reason": "biased"})
        v = _ok(resp)["version"]
        assert (v["version"], v["status"], v["status_reason"]) == (2, "rejected", "biased")
        resp = c.post("/api/v1/models/loans/versions/2/approve", json={"reason": "changed"})
        _error(resp, 400, "status", "loans@v2 is already rejected")
    last = _trail(gated)[0]
    assert (last["actor"], last["action"], last["reason"]) == ("carol", "model.reject", "biased")
    assert last["payload"]["to"] == "rejected"


def test_failed_gates_need_an_admin_override_which_is_flagged(gated) -> None:
    url = "/api/v1/models/loans/versions/3/approve"
    with _as(gated, "carol") as c:
        _error(c.post(url, json={"reason": "fine"}), 400, "status", "failed its gates")
        resp = c.post(url, json={"reason": "fine", "override": True})
        _error(resp, 403, None, "overriding failed gates needs admin")
    with _as(gated, "root") as c:
        _error(c.post(url, json={"reason": "deadline"}), 400, "status", "--override")
        resp = c.post(url, json={"reason": "regulator deadline", "override": True})
        v = _ok(resp)["version"]
    assert (v["status"], v["status_reason"]) == ("approved", "OVERRIDE: regulator deadline")
    last = _trail(gated)[0]
    assert (last["actor"], last["action"]) == ("root", "model.approve.override")


def test_a_version_not_gated_cannot_be_decided(gated) -> None:
    with _as(gated, "carol") as c:
        resp = c.post("/api/v1/models/loans/versions/4/approve", json={"reason": "ok"})
        _error(resp, 400, "status", "loans@v4 is a candidate: run its gates first")
        resp = c.post("/api/v1/models/loans/versions/latest/reject", json={"reason": "no"})
        _error(resp, 400, "status", "run its gates first")


@pytest.mark.parametrize("action", ["approve", "reject"])
@pytest.mark.parametrize(
    ("path", "body", "status", "field", "text"),
    [
        ("nothing/versions/1", {"reason": "x"}, 404, "name", "no registered model named"),
        ("loans/versions/9", {"reason": "x"}, 404, "ref", "model 'loans' has no version 9"),
        ("loans/versions/gold", {"reason": "x"}, 404, "ref", "has no alias 'gold'"),
        ("-bad/versions/1", {"reason": "x"}, 400, "name", "model name '-bad'"),
        ("loans/versions/0", {"reason": "x"}, 400, "version", "versions start at 1"),
        ("loans/versions/2", None, 400, "reason", "JSON body"),
        ("loans/versions/2", {}, 400, "reason", "Field required"),
        ("loans/versions/2", {"reason": " "}, 400, "reason", "needs a reason"),
        ("loans/versions/2", {"reason": 3}, 400, "reason", "string"),
        ("loans/versions/2", {"reason": "x" * 2001}, 400, "reason", "at most 2000"),
        ("loans/versions/2", {"reason": "x", "why": 1}, 400, "why", "Extra inputs"),
    ],
)
def test_bad_decisions_name_the_field(gated, action, path, body, status, field, text) -> None:
    with _as(gated, "carol") as c:
        resp = c.post(f"/api/v1/models/{path}/{action}", json=body)
    _error(resp, status, field, text)


@pytest.mark.parametrize(
    ("action", "body", "field", "text"),
    [
        ("approve", {"reason": "x", "override": "yes"}, "override", "boolean"),
        ("reject", {"reason": "x", "override": True}, "override", "Extra inputs"),
    ],
)
def test_override_is_a_boolean_of_approvals_only(gated, action, body, field, text) -> None:
    with _as(gated, "root") as c:
        _error(c.post(f"/api/v1/models/loans/versions/2/{action}", json=body), 400, field, text)


def test_deciding_needs_a_token(gated) -> None:
    url = gated.server.url + "/api/v1/models/loans/versions/2/approve"
    resp = httpx.post(url, json={"reason": "x"}, timeout=30)
    assert resp.status_code == 401 and resp.json()["error_code"] == "UNAUTHENTICATED"
