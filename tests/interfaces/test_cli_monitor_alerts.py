"""``shipyard monitor run|alerts`` as an operator runs them: the real entry point in a
subprocess over prediction logs, so exit codes and the one-line errors are what CI sees."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from shipyard.interfaces.bootstrap import build_services
from shipyard.settings import load_settings
from tests.cli import run_cli
from tests.services.monitoring.conftest import make_world

POLICY = """
[monitor.loans]
window = "1s"
min_rows = 1
delay = "0s"
rules = ["mean.age > 50"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """loans v1 deployed to staging, with logged rows whose mean age fires the rule."""
    (tmp_path / "shipyard.toml").write_text(POLICY)
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    try:
        w = make_world(svc)
        w.start = svc.deployments.get("staging", "loans").update_time
        w.log(0, [60.0, 70.0], ["a@x", "b@x"], offset_ms=1)  # just after the deploy
    finally:
        svc.close()
    time.sleep(1.1)  # the 1 s window holding the rows has ended
    return tmp_path


def _cli(project: Path, *args: str, user: str = "dora") -> subprocess.CompletedProcess[str]:
    return run_cli(project, *args, user=user)


def _json(project: Path, *args: str, user: str = "dora") -> object:
    out = _cli(project, *args, "--json", user=user)
    assert out.returncode == 0, (args, out.stdout, out.stderr)
    return json.loads(out.stdout)


def test_run_list_ack_resolve(project: Path) -> None:
    run = _json(project, "monitor", "run", "--once")
    fired = [w for w in run["windows"] if w["verdicts"].get("mean.age > 50")]
    assert len(fired) == 1 and fired[0]["rows"] == 2 and fired[0]["figures"]["mean.age"] == 65
    assert [(e["event"], e["rule"]) for e in run["events"]] == [("opened", "mean.age > 50")]
    alert_id = run["events"][0]["alert_id"]
    assert _json(project, "monitor", "run", "--once", "--model", "loans")["events"] == []

    listed = _json(project, "monitor", "alerts", "--status", "open", "--model", "loans")
    assert [a["id"] for a in listed["alerts"]] == [alert_id] and listed["total"] == 1
    table = _cli(project, "monitor", "alerts")
    assert table.returncode == 0 and "mean.age > 50" in table.stdout
    assert "showing 1 of 1" in table.stdout

    acked = _json(project, "monitor", "alerts", "ack", str(alert_id), "--reason", "on it")
    assert (acked["status"], acked["acknowledged_by"], acked["note"]) == (
        "acknowledged", "dora", "on it",
    )  # fmt: skip
    again = _cli(project, "monitor", "alerts", "ack", str(alert_id))
    assert again.returncode == 2 and again.stderr.startswith(f"error: alert {alert_id} is ack")
    done = _cli(project, "monitor", "alerts", "resolve", str(alert_id), "-r", "fixed")
    assert done.returncode == 0 and f"alert {alert_id} is resolved" in done.stdout
    shown = _json(project, "monitor", "alerts", "show", str(alert_id))
    assert shown["alert"]["resolved_by"] == "dora" and shown["deliveries"] == []


def test_bad_input_exits_2_with_one_line(project: Path) -> None:
    for args, text in (
        (("monitor", "alerts", "ack", "999"), "error: no alert 999"),
        (("monitor", "alerts", "resolve", "999"), "error: no alert 999"),
        (("monitor", "run", "--once", "--model", "nope"), "error: model 'nope' has no"),
        (("monitor", "alerts", "--status", "closed"), "error: status must be one of"),
    ):
        out = _cli(project, *args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert out.stderr.startswith(text) and out.stderr.count("\n") == 1, out.stderr
    stranger = _cli(project, "monitor", "alerts", "ack", "1", user="mallory")
    assert stranger.returncode == 2 and "'mallory' is not a Shipyard user" in stranger.stderr
    (project / "shipyard.toml").write_text('[monitor.loans]\nwindow = "soon"\n')
    bad = _cli(project, "monitor", "run", "--once")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: monitor.loans.window: expected a duration like 1h")
