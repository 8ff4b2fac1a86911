"""``shipyard audit log|verify`` as an auditor runs them."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "shipyard"
    env = {
        "SHIPYARD_PROJECT_DIR": str(project),
        "PATH": "/usr/bin:/bin",
        "HOME": str(project),
        "SHIPYARD_USER": "auditor",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [str(exe), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


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
    assert "token.issue" in table.stdout and "role=approver" in table.stdout

    ok = _cli(tmp_path, "audit", "verify")
    assert ok.returncode == 0 and "4 entries verified" in ok.stdout

    with sqlite3.connect(tmp_path / ".shipyard" / "shipyard.db") as db:
        db.execute('UPDATE audit_ledger SET payload_json = \'{"role":"admin"}\' WHERE seq = 2')
    broken = _cli(tmp_path, "audit", "verify")
    assert broken.returncode == 1
    assert "audit trail broken at entry 2" in broken.stderr
    report = json.loads(_cli(tmp_path, "audit", "verify", "--json").stdout)
    assert report["ok"] is False and report["broken_seq"] == 2

    bad = _cli(tmp_path, "audit", "log", "-o", "nothing:x")
    assert bad.returncode == 2 and "object type 'nothing' is unknown" in bad.stderr
