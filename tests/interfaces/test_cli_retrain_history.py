"""``shipyard retrain history MODEL``: one row per run with its chain (trigger → pipeline run →
version → gates → approval → deployment → outcome), the reason of a run that stopped, and the
whole chain in ``--json``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from shipyard.core.retraining import LOOP_ACTOR
from shipyard.interfaces.bootstrap import build_services
from shipyard.settings import load_settings
from tests.cli import run_cli
from tests.services.retraining.conftest import DORA, MODEL, TOML, World, seed

ROOT = Path(__file__).resolve().parents[2]  # the tests' pipeline module is imported from here


# alert-triggered runs wait for their follow-up window after the promotion
PENDING = "; follow-up pending: waits for a judged window after the promotion"


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # the caller's whole environment; one line per run
    return run_cli(
        project, *args, user="dora", columns=400, timeout=300, cwd=ROOT, inherit_env=True
    )


def test_history_shows_each_runs_chain(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text(TOML, encoding="utf-8")
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    try:
        world = World(svc, seed(svc).carol)
        world.new_data()
        world.alert()
        (run,) = svc.retraining.tick(MODEL)
        svc.deployments.promote("staging", DORA, model=MODEL, reason="step")
        skipped = svc.retraining.retrain(MODEL, user="dora")  # inside the 1 h cooldown
        assert skipped.event == "skipped"
    finally:
        svc.close()

    text = _cli(tmp_path, "retrain", "history", MODEL)
    assert text.returncode == 0, text.stderr
    out = " ".join(text.stdout.split())
    assert "showing 2 of 2" in out, text.stdout
    assert (
        f"alert #1 (drift_share > 0.3) in staging → pipeline {run.pipeline_run_id[:8]} → v2 → "
        "gates passed → auto-approved by policy: environment != 'production' → canary 10% in "
        "staging, now canary 50% → follow-up pending"
    ) in out
    assert "by hand: dora → skipped (inside the cooldown: run 1 started" in out

    raw = _cli(tmp_path, "retrain", "history", MODEL, "--json")
    assert raw.returncode == 0, raw.stderr
    listed = json.loads(raw.stdout)
    assert [r["id"] for r in listed["runs"]] == [2, 1] and listed["total"] == 2
    chain = listed["runs"][1]["chain"]
    assert chain["trigger"]["alert_id"] == 1 and chain["trigger"]["kind"] == "alert"
    assert chain["pipeline_run_id"] == run.pipeline_run_id and chain["data"] == "loans@v2"
    assert chain["gates"]["passed"] is True and chain["version_ref"] == "loans@v2"
    assert chain["approval"]["kind"] == "automatic" and chain["approval"]["by"] == LOOP_ACTOR
    events = [(e["action"], e["traffic"]) for e in chain["deployment"]["events"]]
    assert events == [("deploy", 10), ("promote", 50)]
    assert chain["outcome"]["text"] == f"canary 50%{PENDING}"
    assert chain["line"].endswith("canary 50%" + PENDING.replace(";", " →", 1))
    assert chain["timeline"][0]["action"] == "retrain.queued"
    assert listed["runs"][0]["chain"]["outcome"]["state"] == "skipped"
