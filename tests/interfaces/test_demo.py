"""`shipyard demo` (what `make run` shows): real data with PII policies, checks, lineage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.interfaces.test_sdk_data import _everything_stored


def _cli(project: Path, *args: str) -> str:
    exe = Path(sys.executable).parent / "shipyard"
    env = {"SHIPYARD_PROJECT_DIR": str(project), "PATH": "/usr/bin:/bin", "HOME": str(project)}
    done = subprocess.run(
        [str(exe), *args], env=env, capture_output=True, text=True, timeout=300, check=True
    )
    return done.stdout


def test_demo_registers_masked_validated_data_and_linked_runs(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    _cli(tmp_path, "demo", "--path", str(project), "--no-serve")
    shown = json.loads(_cli(project, "data", "show", "diabetes@training", "--json"))
    assert shown["ref"] == "diabetes@v2" and shown["row_count"] == 442
    assert {c: r["policy"] for c, r in shown["pii"].items()} == {
        "patient_email": "tokenize",
        "phone": "mask",
    }
    assert shown["validation"]["passed"] is True
    assert [v["row_count"] for v in shown["versions"]] == [442, 400]
    graph = json.loads(_cli(project, "data", "lineage", "diabetes@v2", "--json"))
    assert len([e for e in graph["edges"] if e["relation"] == "input"]) == 8
    stored = _everything_stored(project / ".shipyard")
    assert b"patient000@clinic.example" not in stored
    assert b"+44 20 7946 0000" not in stored
