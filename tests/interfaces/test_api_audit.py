"""The audit trail over real HTTP: entries newest first, filtered by object and limited, the
hash chain verified, a row edited in SQL behind the server's back detected, bad input, auth."""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest

from shipyard.core.entities import Role
from tests.interfaces.conftest import LiveServer, _serve

HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Audited:
    server: LiveServer
    run_id: str
    viewer_token: str


def seed_audit(server: LiveServer) -> Audited:
    """A run created and finished, a dataset registered and aliased, a viewer with a token."""
    svc = server.services
    exp = svc.tracking.get_or_create_experiment("audited").experiment_id  # type: ignore[attr-defined]
    run = svc.tracking.create_run(exp, user="ada")  # type: ignore[attr-defined]
    svc.tracking.update_run(run.run_id, status="FINISHED", actor="ada")  # type: ignore[attr-defined]
    svc.catalog.register("loans", pd.DataFrame({"a": [1, 2]}), user="ada")  # type: ignore[attr-defined]
    svc.catalog.set_alias("loans@v1", "training", user="bob")  # type: ignore[attr-defined]
    svc.access.add_user("vera", Role.VIEWER, actor="admin")  # type: ignore[attr-defined]
    token = svc.access.issue_token("vera", actor="admin")  # type: ignore[attr-defined]
    return Audited(server, run.run_id, token)


def tamper(
    tmp: Path, statement: str = "UPDATE audit_ledger SET actor='mallory' WHERE seq=1"
) -> None:
    """Edit the ledger directly in the server's SQLite file, as an intruder would."""
    with sqlite3.connect(tmp / ".shipyard" / "shipyard.db") as db:
        db.execute(statement)


def _client(server: LiveServer, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token or server.admin_token}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Audited]:
    for server in _serve(tmp_path_factory.mktemp("audit-api"), "token"):
        yield seed_audit(server)


@pytest.fixture
def client(audited: Audited) -> Iterator[httpx.Client]:
    with _client(audited.server) as c:
        yield c


def _entries(client: httpx.Client, **params: object) -> list[dict]:
    resp = client.get("/api/v1/audit", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()["entries"]


def test_list_is_newest_first_with_every_field(client, audited) -> None:
    entries = _entries(client)
    assert [e["seq"] for e in entries] == list(range(len(entries), 0, -1))
    history = [(e["actor"], e["action"], e["object"]) for e in reversed(entries)]
    assert history == [
        ("system", "user.add", "user:admin"),
        ("system", "token.issue", "user:admin"),
        ("ada", "run.create", f"run:{audited.run_id}"),
        ("ada", "run.status", f"run:{audited.run_id}"),
        ("ada", "dataset.register", "dataset:loans"),
        ("bob", "dataset.alias", "dataset:loans"),
        ("admin", "user.add", "user:vera"),
        ("admin", "token.issue", "user:vera"),
    ]
    newest = entries[0]
    assert set(newest) == {
        "seq",
        "time",
        "actor",
        "action",
        "object_type",
        "object_id",
        "object",
        "reason",
        "payload",
        "payload_hash",
        "prev_hash",
        "hash",
    }
    assert (newest["object_type"], newest["object_id"]) == ("user", "vera")
    payload = newest["payload"]  # which token (id and public prefix), never its secret
    assert {k: payload[k] for k in ("token_name", "expires")} == {
        "token_name": "default",
        "expires": None,
    }
    assert set(payload) == {"token_name", "expires", "token_id", "prefix"}
    assert payload["prefix"].startswith("sy_") and len(payload["prefix"]) == 7
    assert isinstance(newest["time"], int) and newest["time"] > 0
    for e in entries:
        assert HEX64.match(e["hash"]) and HEX64.match(e["payload_hash"])
        assert isinstance(e["payload"], dict)
    # each entry links to the one before it
    for later, earlier in itertools.pairwise(entries):
        assert later["prev_hash"] == earlier["hash"]
    assert entries[-1]["prev_hash"] == "0" * 64
    status = next(e for e in entries if e["action"] == "run.status")
    assert status["payload"] == {"from": "RUNNING", "to": "FINISHED"}


def test_filter_by_object_and_limit(client, audited) -> None:
    run = _entries(client, object=f"run:{audited.run_id}")
    assert [e["action"] for e in run] == ["run.status", "run.create"]
    assert [e["action"] for e in _entries(client, object=audited.run_id)] == [
        "run.status",
        "run.create",
    ]
    loans = _entries(client, object="dataset:loans")
    assert [(e["actor"], e["action"]) for e in loans] == [
        ("bob", "dataset.alias"),
        ("ada", "dataset.register"),
    ]
    assert [e["action"] for e in _entries(client, object="user:vera")] == [
        "token.issue",
        "user.add",
    ]
    assert _entries(client, object="dataset:nothing") == []
    assert [e["seq"] for e in _entries(client, limit=2)] == [8, 7]
    assert [e["seq"] for e in _entries(client, object="dataset:loans", limit=1)] == [6]


def test_verify_an_intact_chain(client) -> None:
    resp = client.get("/api/v1/audit/verify")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"ok": True, "checked": 8, "broken_seq": None, "reason": "", "since": 0}


@pytest.mark.parametrize(
    ("params", "field", "text"),
    [
        ({"object": "nothing:x"}, "object", "object type 'nothing' is unknown"),
        ({"limit": "0"}, "limit", "limit must be 1..100000"),
        ({"limit": "100001"}, "limit", "limit must be 1..100000"),
        ({"limit": "many"}, "limit", "limit"),
        ({"kind": "gates"}, "kind", "kind must be one of governance, bookkeeping or all"),
    ],
)
def test_bad_filter_is_a_400_naming_the_field(client, params, field, text) -> None:
    resp = client.get("/api/v1/audit", params=params)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE" and body["field"] == field
    assert text in body["message"]


def test_kind_separates_governance_from_bookkeeping(client) -> None:
    governance = _entries(client, kind="governance")
    assert [e["action"] for e in governance] == [
        "token.issue", "user.add", "dataset.alias", "token.issue", "user.add",
    ]  # fmt: skip
    bookkeeping = _entries(client, kind="bookkeeping", limit=2)
    assert [e["action"] for e in bookkeeping] == ["dataset.register", "run.status"]
    resp = client.get("/api/v1/audit", params={"kind": "bookkeeping", "limit": 2})
    assert resp.json()["total"] == 3
    after = client.get("/api/v1/audit", params={"kind": "bookkeeping", "limit": 2,
                                                "cursor": resp.json()["next_cursor"]})  # fmt: skip
    assert [e["action"] for e in after.json()["entries"]] == ["run.create"]
    assert len(_entries(client, kind="all")) == len(_entries(client)) == 8


def test_reading_needs_a_token_and_a_viewer_may_read(audited) -> None:
    for path in ("/api/v1/audit", "/api/v1/audit/verify"):
        assert httpx.get(audited.server.url + path, timeout=30).status_code == 401
        with _client(audited.server, "not-a-token") as c:
            assert c.get(path).status_code == 401
        with _client(audited.server, audited.viewer_token) as c:
            assert c.get(path).status_code == 200


def test_a_row_edited_in_sql_breaks_the_chain_at_that_entry(tmp_path, live_server) -> None:
    audited = seed_audit(live_server)
    with _client(audited.server) as c:
        assert c.get("/api/v1/audit/verify").json()["ok"] is True
        tamper(tmp_path)
        report = c.get("/api/v1/audit/verify").json()
        assert report["ok"] is False and report["broken_seq"] == 1 and report["checked"] == 0
        assert "it was edited" in report["reason"]
        first = _entries(c, limit=100_000)[-1]
        assert (first["seq"], first["actor"]) == (1, "mallory")  # the trail still reads


def test_a_payload_that_is_not_json_is_returned_as_text(tmp_path, live_server) -> None:
    tamper(tmp_path, "UPDATE audit_ledger SET payload_json='{oops' WHERE seq=2")
    with _client(live_server) as c:
        assert _entries(c, limit=2)[0]["payload"] == "{oops"
        report = c.get("/api/v1/audit/verify").json()
        assert (report["ok"], report["broken_seq"], report["checked"]) == (False, 2, 1)
        assert "payload" in report["reason"]


def test_the_trail_pages_with_a_cursor_a_total_and_an_offset(client) -> None:
    first = client.get("/api/v1/audit", params={"limit": 3}).json()
    assert [e["seq"] for e in first["entries"]] == [8, 7, 6] and first["total"] == 8
    seen = [e["seq"] for e in first["entries"]]
    cursor = first["next_cursor"]
    while cursor:
        body = client.get("/api/v1/audit", params={"limit": 3, "cursor": cursor}).json()
        seen += [e["seq"] for e in body["entries"]]
        cursor = body["next_cursor"]
    assert seen == list(range(8, 0, -1))  # three requests, and the end is known
    assert [e["seq"] for e in _entries(client, limit=2, offset=3)] == [5, 4]  # honoured now
    found = client.get("/api/v1/audit", params={"q": "VERA"}).json()
    assert found["total"] == 2 and {e["action"] for e in found["entries"]} == {
        "token.issue",
        "user.add",
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [({"cursor": "garbage"}, "cursor"), ({"offset": "-1"}, "offset"), ({"offset": "x"}, "offset")],
)
def test_bad_paging_is_a_400_naming_the_parameter(client, params, field) -> None:
    resp = client.get("/api/v1/audit", params=params)
    assert resp.status_code == 400, resp.text
    assert resp.json()["field"] == field


def test_incremental_verify_over_http_and_the_full_walk(tmp_path, live_server) -> None:
    audited = seed_audit(live_server)
    with _client(audited.server) as c:
        assert c.get("/api/v1/audit/verify", params={"full": "false"}).json()["ok"] is True
        audited.server.services.access.add_user("late", Role.VIEWER, actor="admin")  # type: ignore[attr-defined]
        step = c.get("/api/v1/audit/verify", params={"full": "false"}).json()
        assert (step["ok"], step["checked"], step["since"]) == (True, 9, 7)
        tamper(tmp_path, "UPDATE audit_ledger SET actor='mallory' WHERE seq=2")
        assert c.get("/api/v1/audit/verify", params={"full": "false"}).json()["ok"] is True
        full = c.get("/api/v1/audit/verify").json()  # the default walks it all
        assert (full["ok"], full["broken_seq"], full["since"]) == (False, 2, 0)
