"""After the loop: the outcome of a retraining an alert triggered, judged on the first window
after the promotion (recovered, not recovered, rolled back, still waiting), and the approver's
notification through the model's webhook, queued with the state change and retried.
On SQLite and PostgreSQL, through the real services."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from shipyard.core.alerts import Alert, AlertStatus, WindowStatus
from shipyard.core.retraining import LOOP_ACTOR, RetrainRun, RetrainState
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.stores.sql.monitors_repo import NewWindow
from tests.services.monitoring.conftest import SECRET, Receiver, receiver  # noqa: F401
from tests.services.retraining.conftest import DORA, MODEL, RULE, World, open_world, seed, settings

HOUR = 3_600_000


def _window(svc: Services, start: int, version: int, verdict: bool | None, drift: float) -> None:
    new = NewWindow(
        MODEL, "staging", version, start, start + HOUR, WindowStatus.COMPUTED, 200,
        {"drift_share": drift, "rows": 200.0}, {RULE: verdict}, start + HOUR,
    )  # fmt: skip
    with svc.db.write() as conn:
        assert svc.alerts.repo.add_window(conn, new) is not None


def _deployed(world: World) -> tuple[RetrainRun, Alert]:
    world.new_data()
    alert = world.alert()
    (run,) = world.svc.retraining.tick(MODEL)
    assert run.state is RetrainState.DEPLOYED and run.outcome == "pending", run.reason
    return run, alert


def _promote(svc: Services) -> int:
    while svc.deployments.get("staging", MODEL).candidate_version is not None:
        svc.deployments.promote("staging", DORA, reason="healthy")
    return svc.deployments.get("staging", MODEL).update_time


def test_recovered_after_the_promotion_resolves_the_open_alert(tmp_path: Path, db_url: str) -> None:
    world = open_world(tmp_path, db_url)
    svc = world.svc
    try:
        run, alert = _deployed(world)
        assert svc.retraining.follow_up(MODEL) == []  # still a canary at 10 %
        promoted = _promote(svc)
        assert svc.retraining.follow_up(MODEL) == []  # no window after the promotion yet
        assert svc.retraining.get(run.run_id).follow_up == {
            "promoted_at": promoted,
            "environment": "staging",
        }
        first = (promoted // HOUR + 1) * HOUR
        _window(svc, first - 2 * HOUR, 2, False, 0.0)  # before the promotion: not judged
        _window(svc, first, 2, None, 0.0)  # not evaluable: waits for the next one
        assert svc.retraining.tick(MODEL) == []
        assert svc.retraining.get(run.run_id).outcome == "pending"
        _window(svc, first + HOUR, 2, False, 0.05)
        (done,) = svc.retraining.follow_up(MODEL)
        assert done.outcome == "recovered" and done.state is RetrainState.DEPLOYED
        follow = dict(done.follow_up or {})
        assert follow["before"]["figures"] == {"drift_share": 0.5}
        assert follow["after"] == {
            "window": first + HOUR, "end": first + 2 * HOUR, "rows": 200,
            "figures": {"drift_share": 0.05},
        }  # fmt: skip
        assert (follow["alert_id"], follow["rule"], follow["version"]) == (alert.alert_id, RULE, 2)
        closed = svc.alerts.get(alert.alert_id)
        assert closed.status is AlertStatus.RESOLVED and closed.resolved_by == LOOP_ACTOR
        assert f"retraining run {run.run_id}: recovered" in closed.note
        assert "drift_share 0.5 → 0.05" in closed.note
        assert world.actions(run.run_id)[-1] == "retrain.recovered"
        assert svc.retraining.follow_up(MODEL) == []  # recorded once
        assert svc.retraining.runs(MODEL).total == 1
    finally:
        svc.close()


def test_not_recovered_keeps_the_alert_open_and_the_loop_may_run_again(
    tmp_path: Path, db_url: str
) -> None:
    world = open_world(tmp_path, db_url, cooldown="0s")
    svc = world.svc
    try:
        run, alert = _deployed(world)
        promoted = _promote(svc)
        assert svc.retraining.tick(MODEL) == []  # the open alert waits for the follow-up
        _window(svc, (promoted // HOUR + 1) * HOUR, 2, True, 0.6)
        (again,) = svc.retraining.tick(MODEL)  # outcome recorded, then the alert retriggers
        done = svc.retraining.get(run.run_id)
        assert done.outcome == "not_recovered", done.follow_up
        still = svc.alerts.get(alert.alert_id)
        assert still.status is AlertStatus.OPEN
        assert f"retraining run {run.run_id}: not_recovered" in still.note
        assert "still holds" in still.note
        assert world.actions(run.run_id)[-1] == "retrain.not_recovered"
        assert again.run_id == run.run_id + 1 and again.trigger_detail["alert_id"] == 1
    finally:
        svc.close()


def test_a_rolled_back_canary_is_recorded_and_the_alert_stays_open(
    tmp_path: Path, db_url: str
) -> None:
    world = open_world(tmp_path, db_url)
    svc = world.svc
    try:
        run, alert = _deployed(world)
        svc.deployments.rollback("staging", DORA, model=MODEL, reason="quality breach")
        (done,) = svc.retraining.follow_up(MODEL)
        assert done.outcome == "rolled_back" and (done.follow_up or {})["live_version"] == 1
        assert world.actions(run.run_id)[-1] == "retrain.rolled_back"
        still = svc.alerts.get(alert.alert_id)
        assert still.status is AlertStatus.OPEN and "rolled_back" in still.note
    finally:
        svc.close()


def test_an_alert_elsewhere_is_followed_up_once_the_version_is_live_there(
    tmp_path: Path, db_url: str
) -> None:
    world = open_world(tmp_path, db_url)  # the loop rolls out to staging
    svc = world.svc
    try:
        world.new_data()
        alert = world.alert(env="production")
        (run,) = svc.retraining.tick(MODEL)
        assert run.state is RetrainState.DEPLOYED and run.environment == "staging"
        _promote(svc)
        _window(svc, (int(time.time() * 1000) // HOUR + 1) * HOUR, 2, False, 0.0)  # staging's
        assert svc.retraining.follow_up(MODEL) == []  # production still runs v1
        assert svc.retraining.get(run.run_id).outcome == "pending"
        live = svc.deployments.deploy(MODEL, 2, "production", DORA, strategy="replace")
        assert live.live_version == 2
        assert svc.retraining.follow_up(MODEL) == []  # no production window after it yet
        new = NewWindow(
            MODEL, "production", 2, (live.update_time // HOUR + 1) * HOUR,
            (live.update_time // HOUR + 2) * HOUR, WindowStatus.COMPUTED, 200,
            {"drift_share": 0.0}, {RULE: False}, live.update_time,
        )  # fmt: skip
        with svc.db.write() as conn:
            svc.alerts.repo.add_window(conn, new)
        (done,) = svc.retraining.follow_up(MODEL)
        assert done.outcome == "recovered" and (done.follow_up or {})["environment"] == "production"
        assert svc.alerts.get(alert.alert_id).status is AlertStatus.RESOLVED
    finally:
        svc.close()


def test_runs_no_alert_triggered_have_no_follow_up(tmp_path: Path, db_url: str) -> None:
    world = open_world(tmp_path, db_url)
    svc = world.svc
    try:
        plan = svc.retraining.plan(MODEL, user="dana")
        assert plan["steps"][-1]["step"] == "follow_up"
        world.new_data()
        started = svc.retraining.retrain(MODEL, user="dana")
        assert started.run is not None and started.run.state is RetrainState.DEPLOYED
        assert started.run.outcome is None
        _promote(svc)
        assert svc.retraining.follow_up(MODEL) == []
    finally:
        svc.close()


def _monitored(tmp_path: Path, db_url: str, url: str | None) -> World:
    base = settings(tmp_path, db_url, environment="production")
    alerts: dict[str, Any] = {"timeout": "2s", "max_attempts": 3}
    if url is not None:
        alerts |= {"webhook": url, "secret_env": "HOOK_SECRET"}
    monitor = {MODEL: {"window": "1h", "rules": [RULE], "alerts": alerts}}
    chosen = dataclasses.replace(base, monitor=monitor, monitor_secrets={"HOOK_SECRET": SECRET})
    return seed(build_services(chosen))


def test_an_approver_is_notified_through_the_webhook_with_retries(
    tmp_path: Path,
    db_url: str,
    receiver: Receiver,  # noqa: F811
) -> None:
    world = _monitored(tmp_path, db_url, receiver.url)
    svc = world.svc
    try:
        world.new_data()
        world.alert(env="production")
        receiver.modes = ["500"]
        (run,) = svc.retraining.tick(MODEL)
        assert run.state is RetrainState.AWAITING_APPROVAL
        entry = max(svc.audit.log(f"retraining:{run.run_id}"), key=lambda e: e.seq)
        notice = json.loads(entry.payload)["notice"]
        assert entry.action == "retrain.awaiting_approval" and notice["delivery"] is not None
        assert receiver.received == [] and receiver.modes == []  # sent at once: answered 500
        now = int(time.time() * 1000)
        assert svc.monitor_runner.run(MODEL, now=now).deliveries.delivered == 0  # backoff
        assert svc.monitor_runner.run(MODEL, now=now + 31_000).deliveries.delivered == 1
        (got,) = receiver.received
        assert got["event"] == "retraining.awaiting_approval" and receiver.bad_signatures == 0
        body = got["body"]
        assert (body["event"], body["model"], body["version"]) == (got["event"], MODEL, 2)
        assert (body["environment"], body["link"]) == ("production", "/ui/approvals")
        assert "production is protected" in body["reason"]
        assert body["retraining"]["id"] == run.run_id and body["retraining"]["gates"]["passed"]
        assert svc.monitor_runner.run(MODEL, now=now + 99_000).deliveries.delivered == 0
    finally:
        svc.close()


def test_without_a_webhook_the_run_waits_and_records_no_delivery(
    tmp_path: Path, db_url: str
) -> None:
    world = _monitored(tmp_path, db_url, None)
    svc = world.svc
    try:
        world.new_data()
        world.alert(env="production")
        (run,) = svc.retraining.tick(MODEL)
        assert run.state is RetrainState.AWAITING_APPROVAL
        entry = max(svc.audit.log(f"retraining:{run.run_id}"), key=lambda e: e.seq)
        assert json.loads(entry.payload)["notice"] == {
            "event": "retraining.awaiting_approval",
            "delivery": None,
        }
    finally:
        svc.close()
