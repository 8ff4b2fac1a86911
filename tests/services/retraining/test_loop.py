"""The continuous-training loop end to end through the real services, on SQLite and
PostgreSQL: alert → retrain on the newest data → register → gates against the champion →
approval → canary; and the ways it stops."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from shipyard.core.alerts import AlertStatus
from shipyard.core.entities import Role, User
from shipyard.core.errors import ConflictError, PermissionDeniedError
from shipyard.core.models import VersionStatus
from shipyard.core.retraining import LOOP_ACTOR, RetrainState
from shipyard.interfaces.bootstrap import build_services
from tests.services.retraining.conftest import MODEL, open_world, settings

S = RetrainState
CHAIN = [
    "retrain.queued", "retrain.running", "retrain.registered", "retrain.gated",
    "retrain.approved", "retrain.deploying", "retrain.deployed",
]  # fmt: skip


def test_alert_retrains_on_new_data_and_rolls_out_a_canary_in_staging(
    tmp_path: Path, db_url: str
) -> None:
    world = open_world(tmp_path, db_url)
    svc = world.svc
    try:
        data = world.new_data()
        alert = world.alert()
        assert svc.retraining.tick(MODEL) == [svc.retraining.get(1)]
        run = svc.retraining.get(1)
        assert run.state is S.DEPLOYED, run.reason
        assert (run.trigger, run.trigger_detail["alert_id"]) == ("alert", alert.alert_id)
        assert run.data_ref == data == "loans@v2" and run.holdout_ref == "loans-holdout@v1"
        assert run.version == 2 and run.gates is not None and run.gates["passed"] is True
        assert run.approval == {
            "automatic": True,
            "by": LOOP_ACTOR,
            "policy": "environment != 'production'",
        }
        staging = svc.deployments.get("staging", MODEL)
        assert (staging.live_version, staging.candidate_version, staging.traffic) == (1, 2, 10)
        assert svc.deployments.get("production", MODEL).candidate_version is None
        v2 = svc.registry.get_version(f"{MODEL}@v2")
        assert v2.status is VersionStatus.APPROVED and "auto_approve_if" in v2.status_reason
        # lineage: the new version was trained by a run that read the new data
        chain = svc.tracking.run_chain(v2.run_id)
        read = {i.ref for r in chain for i in svc.catalog.inputs_of_run(r.run_id)}
        assert "loans@v2" in read and "loans@v1" not in read
        gate = svc.registry.gate_results(f"{MODEL}@v2")[0]
        vs = next(g for g in gate["gates"] if g["kind"] == "vs_champion")
        assert vs["champion"]["version"] == 1
        # one chain in the ledger: alert → run → version → gates → approval → deployment
        assert world.actions(run.run_id) == CHAIN
        first = svc.audit.log(f"retraining:{run.run_id}", limit=100)
        payload = json.loads(max(first, key=lambda e: e.seq).payload)
        assert payload["trigger_detail"]["alert_id"] == alert.alert_id
        assert payload["version"] == 2 and payload["deployment"]["candidate_version"] == 2
        auto = [e for e in svc.audit.log(f"model:{MODEL}") if e.action == "model.approve.auto"]
        assert auto and auto[0].actor == LOOP_ACTOR
        canary = [e for e in svc.audit.log("deployment:staging/loans") if e.actor == LOOP_ACTOR]
        assert canary and f"retraining run {run.run_id}" in canary[0].reason
    finally:
        svc.close()


def test_production_waits_for_a_person_and_the_loop_cannot_approve(
    tmp_path: Path, db_url: str
) -> None:
    world = open_world(tmp_path, db_url, environment="production")
    svc = world.svc
    try:
        world.new_data()
        world.alert(env="production")
        run = svc.retraining.tick(MODEL)[0]
        assert run.state is S.AWAITING_APPROVAL and "production is protected" in run.reason
        assert svc.retraining.tick(MODEL)[0].state is S.AWAITING_APPROVAL  # still waiting
        loop_as_approver = User(0, LOOP_ACTOR, Role.ADMIN, 0)
        with pytest.raises(PermissionDeniedError, match="separation of duties"):
            svc.registry.decide(f"{MODEL}@v2", loop_as_approver, approve=True, reason="me")
        assert svc.deployments.get("production", MODEL).candidate_version is None
        svc.registry.decide(f"{MODEL}@v2", world.carol, approve=True, reason="looked at it")
        run = svc.retraining.tick(MODEL)[0]
        assert run.state is S.DEPLOYED, run.reason
        assert run.approval is not None and run.approval["automatic"] is False
        assert svc.deployments.get("production", MODEL).candidate_version == 2
        assert "retrain.awaiting_approval" in world.actions(run.run_id)
    finally:
        svc.close()


def test_failing_gates_deploy_nothing_and_leave_the_alert_open_with_the_reason(
    tmp_path: Path, db_url: str
) -> None:
    world = open_world(tmp_path, db_url, params={"shuffle": True})
    svc = world.svc
    try:
        world.new_data()
        alert = world.alert()
        run = svc.retraining.tick(MODEL)[0]
        assert run.state is S.FAILED and run.reason.startswith("gates failed")
        assert "roc_auc" in run.reason and run.failed_step is None  # not resumable
        assert svc.deployments.get("staging", MODEL).candidate_version is None
        after = svc.alerts.get(alert.alert_id)
        assert after.status is AlertStatus.OPEN and "gates failed" in after.note
        assert svc.registry.get_version(f"{MODEL}@v2").status is VersionStatus.GATE_FAILED
        assert world.actions(run.run_id)[-1] == "retrain.failed"
    finally:
        svc.close()


def test_a_refused_approval_ends_the_run(tmp_path: Path, db_url: str) -> None:
    world = open_world(tmp_path, db_url, environment="production")
    svc = world.svc
    try:
        world.new_data()
        world.alert(env="production")
        assert svc.retraining.tick(MODEL)[0].state is S.AWAITING_APPROVAL
        svc.registry.decide(f"{MODEL}@v2", world.carol, approve=False, reason="not convinced")
        ended = svc.retraining.tick(MODEL)[0]
        assert ended.state is S.REFUSED and "not convinced" in ended.reason
        assert svc.deployments.get("production", MODEL).candidate_version is None
        assert svc.retraining.tick(MODEL) == []  # the alert is still open: inside the cooldown
    finally:
        svc.close()


def test_a_trigger_storm_runs_once_and_the_cooldown_holds(tmp_path: Path, db_url: str) -> None:
    world = open_world(tmp_path, db_url)
    svc = world.svc
    try:
        world.new_data()
        results = [svc.retraining.trigger(MODEL, "api", {"n": i}, user="ci") for i in range(20)]
        assert [r.event for r in results] == ["started"] + ["coalesced"] * 19
        assert {r.run.run_id for r in results if r.run} == {1}
        run = svc.retraining.advance(1)
        assert run.state is S.DEPLOYED and run.coalesced == 19
        assert svc.retraining.runs(MODEL).total == 1
        again = svc.retraining.retrain(MODEL, user="carol")
        assert again.event == "skipped" and "cooldown" in again.reason
        assert again.run is not None and again.run.state is S.SKIPPED
        world.alert()
        assert svc.retraining.tick(MODEL) == []  # an alert inside the cooldown: no run
        assert svc.retraining.runs(MODEL).total == 2
    finally:
        svc.close()


def test_a_pipeline_crash_is_recorded_and_resumes_from_the_finished_steps(
    tmp_path: Path, db_url: str
) -> None:
    marker = tmp_path / "cluster-down"
    marker.touch()
    world = open_world(tmp_path, db_url, params={"crash_if": str(marker)})
    svc = world.svc
    try:
        world.new_data()
        alert = world.alert()
        run = svc.retraining.tick(MODEL)[0]
        assert run.state is S.FAILED and "the training cluster went away" in run.reason
        assert run.failed_step == "running" and run.pipeline_run_id is not None
        assert "failed, nothing deployed" in svc.alerts.get(alert.alert_id).note
        marker.unlink()
        resumed = svc.retraining.resume(MODEL, user="dana")
        assert resumed.state is S.DEPLOYED and resumed.run_id == run.run_id
        latest = svc.pipelines.latest_executions(run.pipeline_run_id)
        assert latest[("prepare", None)].status == "CACHED"  # reused, not run again
        assert (latest[("fit", None)].status, latest[("fit", None)].attempt) == ("FINISHED", 2)
        assert world.actions(run.run_id).count("retrain.running") == 2
        with pytest.raises(ConflictError, match="nothing of loans to resume"):
            svc.retraining.resume(MODEL, user="dana")
    finally:
        svc.close()


def test_two_runners_racing_run_the_loop_once(tmp_path: Path, db_url: str) -> None:
    world = open_world(tmp_path, db_url)
    other = build_services(settings(tmp_path, db_url))
    try:
        world.new_data()
        world.alert()
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def tick(services: object) -> None:
            try:
                barrier.wait()
                services.retraining.tick(MODEL)  # type: ignore[attr-defined]
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=tick, args=(s,)) for s in (world.svc, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert world.svc.retraining.runs(MODEL).total == 1
        run = world.svc.retraining.get(1)
        if run.state is not S.DEPLOYED:  # the loser left it to the winner's next look
            run = other.retraining.tick(MODEL)[0]
        assert run.state is S.DEPLOYED
        versions = world.svc.registry.versions(MODEL)
        assert [v.version for v in versions] == [1, 2]
        trainings = world.svc.pipelines.list_runs()
        assert len(trainings) == 2  # the champion's and one retraining
    finally:
        other.close()
        world.svc.close()


def test_only_matching_alerts_and_new_data_trigger(tmp_path: Path, db_url: str) -> None:
    world = open_world(tmp_path, db_url, on_new_data=True, deploy="none", cooldown="0s")
    svc = world.svc
    try:
        world.alert(rule="mean.x1 > 3")  # open, but not a term of the policy's `on`
        assert svc.retraining.tick(MODEL) == []  # and the data is what v1 was trained on
        alert = world.alert(rule="drift_share   >  0.3")  # the same rule, spaced differently
        run = svc.retraining.tick(MODEL)[0]
        assert run.trigger == "alert" and run.trigger_detail["alert_id"] == alert.alert_id
        assert run.state is S.DEPLOYED and run.deployment == {"mode": "none"}
        assert svc.deployments.get("staging", MODEL).candidate_version is None
        svc.alerts.resolve(alert.alert_id, User(0, "dora", Role.DEPLOYER, 0), "recovered")
        assert svc.retraining.tick(MODEL) == []  # trained on the newest data already
        data = world.new_data(seed=21)
        run = svc.retraining.tick(MODEL)[0]
        assert (run.trigger, run.trigger_detail["data"], run.data_ref) == ("data", data, data)
    finally:
        svc.close()
