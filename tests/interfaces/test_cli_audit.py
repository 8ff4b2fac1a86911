"""``shipyard audit log|verify`` as an auditor runs them."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from shipyard.core.entities import Role
from shipyard.interfaces.bootstrap import build_services
from shipyard.settings import load_settings
from tests.cli import run_cli


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(project, *args, user="auditor")


def test_log_filter_verify_and_a_tampered_row(tmp_path: Path) -> None:
    assert _cli(tmp_path, "init", str(tmp_path)).returncode == 0
    assert _cli(tmp_path, "users", "add", "carol", "--role", "approver").returncode == 0
    assert _cli(tmp_path, "users", "token", "carol").returncode == 0

    entries = json.loads(_cli(tmp_path, "audit", "log", "--json").stdout)
    assert [(e["actor"], e["action"], e["object_id"]) for e in reversed(entries)] == [
        ("system", "user.add", "local-admin"),
        ("system", "user.add", "auditor"),  # whoever ran `shipyard init` is the first admin
        ("auditor", "user.add", "carol"),
        ("auditor", "token.issue", "carol"),
    ]
    only = json.loads(_cli(tmp_path, "audit", "log", "-o", "user:carol", "--json").stdout)
    assert [e["action"] for e in only] == ["token.issue", "user.add"]
    table = _cli(tmp_path, "audit", "log")
    assert "token.issue" in table.stdout and "role: approver" in table.stdout

    ok = _cli(tmp_path, "audit", "verify")
    assert ok.returncode == 0 and "4 entries verified" in ok.stdout

    with sqlite3.connect(tmp_path / ".shipyard" / "shipyard.db") as db:
        db.execute('UPDATE audit_ledger SET payload_json = \'{"role":"admin"}\' WHERE seq = 2')
    # before the checkpoint: the quick check does not re-walk it, --full does
    assert _cli(tmp_path, "audit", "verify").returncode == 0
    broken = _cli(tmp_path, "audit", "verify", "--full")
    assert broken.returncode == 1
    assert "audit trail broken at entry 2" in broken.stderr
    report = json.loads(_cli(tmp_path, "audit", "verify", "--json").stdout)
    assert report["ok"] is False and report["broken_seq"] == 2

    bad = _cli(tmp_path, "audit", "log", "-o", "nothing:x")
    assert bad.returncode == 2 and "object type 'nothing' is unknown" in bad.stderr


def test_log_pages_with_a_showing_line_and_verify_is_incremental(tmp_path: Path) -> None:
    assert _cli(tmp_path, "init", str(tmp_path)).returncode == 0
    for name in ("a1", "a2", "a3", "b1", "b2"):
        assert _cli(tmp_path, "users", "add", name, "--role", "viewer").returncode == 0
    first = _cli(tmp_path, "audit", "log", "--limit", "3")
    assert first.returncode == 0, first.stderr
    assert "showing 3 of 7 entries (1-3); next page: --page 2 --limit 3" in first.stdout
    second = _cli(tmp_path, "audit", "log", "--limit", "3", "--page", "2", "--json")
    assert [e["seq"] for e in json.loads(second.stdout)] == [4, 3, 2]
    figures = json.loads(second.stderr)
    assert (figures["showing"], figures["total"], figures["page"]) == (3, 7, 2)
    rest = _cli(tmp_path, "audit", "log", "--limit", "3", "--cursor", figures["next_cursor"])
    assert "showing 1 of 7 entries" in rest.stdout and "next page" not in rest.stdout
    found = json.loads(_cli(tmp_path, "audit", "log", "-s", "A", "--json").stdout)
    assert {e["object_id"] for e in found} >= {"a1", "a2", "a3"}

    past = _cli(tmp_path, "audit", "log", "--limit", "3", "--page", "9")
    assert past.returncode == 2 and "--page 9 is past the end: 7 entries make 3" in past.stderr
    both = _cli(tmp_path, "audit", "log", "--page", "2", "--cursor", figures["next_cursor"])
    assert both.returncode == 2 and "not both" in both.stderr
    bad = _cli(tmp_path, "audit", "log", "--cursor", "nope")
    assert bad.returncode == 2 and "cursor 'nope' is not valid" in bad.stderr

    assert _cli(tmp_path, "audit", "verify").returncode == 0  # checkpoint at 7
    assert _cli(tmp_path, "users", "add", "late", "--role", "viewer").returncode == 0
    step = _cli(tmp_path, "audit", "verify")
    assert "8 entries verified (2 walked after entry 6, the ones before" in step.stdout
    with sqlite3.connect(tmp_path / ".shipyard" / "shipyard.db") as db:
        db.execute("UPDATE audit_ledger SET actor = 'mallory' WHERE seq = 8")  # after it
    broken = _cli(tmp_path, "audit", "verify")
    assert broken.returncode == 1 and "broken at entry 8" in broken.stderr


def test_log_keeps_governance_or_bookkeeping(tmp_path: Path) -> None:
    assert _cli(tmp_path, "init", str(tmp_path)).returncode == 0
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    try:
        exp = svc.tracking.get_or_create_experiment("e").experiment_id
        run = svc.tracking.create_run(exp, user="ada")
        svc.tracking.update_run(run.run_id, status="FINISHED", actor="ada")
        svc.access.add_user("carol", Role.APPROVER, actor="auditor")
    finally:
        svc.close()
    governance = json.loads(_cli(tmp_path, "audit", "log", "--kind", "governance", "--json").stdout)
    assert [(e["action"], e["object_id"]) for e in governance] == [
        ("user.add", "carol"),
        ("user.add", "auditor"),
        ("user.add", "local-admin"),
    ]
    bookkeeping = json.loads(_cli(tmp_path, "audit", "log", "-k", "bookkeeping", "--json").stdout)
    assert [e["action"] for e in bookkeeping] == ["run.status", "run.create"]
    table = _cli(tmp_path, "audit", "log", "--kind", "bookkeeping")
    assert "from: RUNNING" in table.stdout and "user.add" not in table.stdout
    bad = _cli(tmp_path, "audit", "log", "--kind", "gates")
    assert (
        bad.returncode == 2 and "kind must be one of governance, bookkeeping or all" in bad.stderr
    )
