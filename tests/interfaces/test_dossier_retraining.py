"""The dossier's retraining chain on SQLite and PostgreSQL, over the real loop: "when models
were deployed and recalibrated, by whom, and why". A production retraining waits for a person
(the chain says so and names nobody), carol approves (named, with her reason), a deployer
promotes the canary; the new version's dossier holds the alert that triggered it, the run,
the data version, the gates, the approval, every deployment step and the outcome, and its
ledger holds the run's entries; the champion's dossier lists the model's retraining runs.
Failed gates and an automatic approval read as such."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.core.retraining import LOOP_ACTOR
from shipyard.interfaces.bootstrap import dossier_builder
from shipyard.interfaces.dossier_html import render_dossier
from shipyard.services.registry.retrain_chain import Ledger, chain_line, run_chain
from tests.services.retraining.conftest import DORA, MODEL, open_world


def _chain(svc: Any, run_id: int) -> dict[str, Any]:
    return run_chain(svc.retraining.get(run_id), Ledger(svc.audit))


def test_a_production_version_carries_its_whole_chain(tmp_path: Path, db_url: str) -> None:
    world = open_world(tmp_path, db_url, environment="production")
    svc = world.svc
    try:
        data = world.new_data()
        alert = world.alert(env="production")
        svc.retraining.tick(MODEL)
        waiting = _chain(svc, 1)
        assert waiting["approval"]["kind"] == "waiting" and waiting["approval"]["by"] is None
        assert "production is protected" in waiting["approval"]["reason"]
        assert waiting["outcome"] == {
            "state": "awaiting_approval",
            "text": "in progress (awaiting approval)",
            "ok": None,
            "reason": waiting["approval"]["reason"],
        }
        svc.registry.decide(f"{MODEL}@v2", world.carol, approve=True, reason="drift explained")
        svc.retraining.tick(MODEL)
        svc.deployments.promote("production", DORA, model=MODEL, reason="step")

        d = dossier_builder(svc).build(f"{MODEL}@2")
        section = d["retraining"]
        p = section["produced_by"]
        assert p["id"] == 1 and p["version_ref"] == f"{MODEL}@v2"
        assert p["trigger"]["kind"] == "alert" and p["trigger"]["alert_id"] == alert.alert_id
        assert p["alert"]["rule"] == "drift_share > 0.3" and p["alert"]["env"] == "production"
        assert p["alert"]["figures"] == {"drift_share": 0.5} and p["alert"]["version"] == 1
        assert p["data"] == data == "loans@v2" and p["holdout"] == "loans-holdout@v1"
        run = svc.retraining.get(1)
        assert p["pipeline_run_id"] == run.pipeline_run_id is not None
        assert p["gates"]["passed"] is True and p["gates"]["holdout"] == "loans-holdout@v1"
        assert set(p["gates"]["values"]) == {"metric:roc_auc", "vs_champion:roc_auc"}
        approval = p["approval"]
        assert (approval["kind"], approval["by"], approval["reason"]) == (
            "person",
            "carol",
            "drift explained",
        )
        steps = [(e["action"], e["actor"], e["traffic"]) for e in p["deployment"]["events"]]
        assert steps == [("deploy", LOOP_ACTOR, 10), ("promote", "dora", 50)]
        assert p["outcome"]["text"] == "canary 50%" and p["outcome"]["ok"] is True
        timeline = [(s["stage"], s["action"], s["actor"]) for s in p["timeline"]]
        assert timeline[0] == ("trigger", "retrain.queued", LOOP_ACTOR)
        assert ("approval", "model.approve", "carol") in timeline
        assert timeline[-1] == ("deploy", "deployment.promote", "dora")
        assert [s["seq"] for s in p["timeline"]] == sorted(s["seq"] for s in p["timeline"])

        ledger = {(e["object"], e["action"]) for e in d["ledger"]["entries"]}
        assert ("retraining:1", "retrain.awaiting_approval") in ledger
        assert ("retraining:1", "retrain.deployed") in ledger
        assert (f"deployment:production/{MODEL}", "deployment.promote") in ledger
        shown = [(e["action"], e["payload"]["to_version"]) for e in d["deployments"]["entries"]]
        assert shown == [("deployment.deploy", 2), ("deployment.promote", 2)]
        assert d["ledger"]["verify"]["ok"] is True

        html = render_dossier(d)
        assert 'id="retraining-chain"' in html and "retraining run 1" in html
        assert "drift explained" in html and "alert #1 (drift_share &gt; 0.3)" in html
        assert "canary 50%" in html and "loans@v2" in html

        champion = dossier_builder(svc).build(f"{MODEL}@1")["retraining"]
        assert champion["produced_by"] is None and champion["total"] == 1
        (line,) = [r["line"] for r in champion["runs"]]
        assert line.startswith("alert #1 (drift_share > 0.3) in production → pipeline ")
        assert line.endswith(
            "→ v2 → gates passed → approved by carol → canary 10% in production, now canary 50%"
        )
        assert "not produced by the continuous-training loop" in render_dossier(
            dossier_builder(svc).build(f"{MODEL}@1")
        )
    finally:
        svc.close()


def test_failed_gates_and_an_automatic_approval_read_as_such(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'shipyard.db'}"
    world = open_world(tmp_path, db, params={"shuffle": True}, cooldown="0s")
    svc = world.svc
    try:
        world.new_data()
        world.alert()
        svc.retraining.tick(MODEL)
        failed = _chain(svc, 1)
        assert failed["gates"]["passed"] is False and failed["gates"]["failed"]
        assert failed["outcome"]["text"] == "failed: nothing deployed"
        assert failed["outcome"]["ok"] is False and failed["deployment"] is None
        assert failed["approval"]["kind"] == "none"
        shown = (
            "→ v2 → gates failed (metric:roc_auc, vs_champion:roc_auc) → failed: nothing deployed"
        )
        assert chain_line(failed).endswith(shown)
        d = dossier_builder(svc).build(f"{MODEL}@2")
        assert d["retraining"]["produced_by"]["outcome"]["ok"] is False
        assert "gates failed" in render_dossier(d)
    finally:
        svc.close()
    world = open_world(tmp_path / "auto", f"sqlite:///{tmp_path / 'auto.db'}")
    svc = world.svc
    try:
        world.new_data()
        world.alert()
        svc.retraining.tick(MODEL)
        svc.deployments.rollback("staging", DORA, model=MODEL, reason="p99 too high")
        auto = _chain(svc, 1)
        assert auto["approval"]["kind"] == "automatic" and auto["approval"]["by"] == LOOP_ACTOR
        assert auto["approval"]["policy"] == "environment != 'production'"
        assert auto["outcome"] == {
            "state": "deployed",
            "text": "rolled back by dora",
            "ok": False,
            "reason": auto["reason"],
        }
        html = render_dossier(dossier_builder(svc).build(f"{MODEL}@2"))
        assert "auto_approve_if = environment != &#39;production&#39;" in html
        assert "rolled back by dora" in html
    finally:
        svc.close()
