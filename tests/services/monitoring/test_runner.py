"""``MonitorRunner`` on SQLite and PostgreSQL over real prediction logs: due windows computed
once (also by two racing runners), the figures right (checked against numpy), rules firing,
clearing and not evaluable, alerts opened, resolved, reopened within the cooldown and opened
anew after it, signed webhooks sent once, and the runner as a job of the scheduler."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest

from shipyard.core.alerts import AlertStatus, WindowStatus
from shipyard.core.errors import NotFoundError, ValidationError
from shipyard.core.jobs import JobRunStatus
from tests.services.monitoring.conftest import HOUR, Receiver, World, open_services, policy

OLD = [30.0, 40.0, 50.0, 35.0, 45.0]
YOUNG_EMAILS = ["a@x", "b@x", "c@x", "d@x", "e@x"]
AGED = [60.0, 70.0, 55.0, 65.0, np.nan, 80.0]
GAPPY_EMAILS = ["a@x", None, "c@x", None, "e@x", "f@x"]


def test_windows_alerts_and_webhooks(
    world_factory: Callable[[dict], World], receiver: Receiver
) -> None:
    w = world_factory(policy(receiver.url))
    runner = w.svc.monitor_runner
    w.log(0, OLD, YOUNG_EMAILS)
    w.log(1, AGED, GAPPY_EMAILS)
    w.log(2, [50.0, 51.0], ["a@x", "b@x"])  # fewer than min_rows
    report = runner.run(now=w.at(3))
    assert [(x.start, x.status) for x in report.windows] == [
        (w.at(0), WindowStatus.COMPUTED),
        (w.at(1), WindowStatus.COMPUTED),
        (w.at(2), WindowStatus.NOT_ENOUGH_DATA),
    ]
    first, second, third = report.windows
    assert (first.rows, second.rows, third.rows) == (5, 6, 2)
    assert first.figures["mean.age"] == pytest.approx(np.mean(OLD), abs=1e-12)
    assert second.figures["mean.age"] == pytest.approx(np.nanmean(AGED), abs=1e-12)
    assert second.figures["missing.age"] == pytest.approx(1 / 6)
    assert second.figures["missing.email"] == pytest.approx(2 / 6)
    assert second.verdicts == {
        "mean.age > 50": True,
        "missing.email > 0.2": True,
        "estimated.roc_auc < 0.75": None,  # no such figure: not evaluable, never an alert
    }
    assert third.verdicts == {}
    assert sorted((e.rule, e.event) for e in report.events) == [
        ("mean.age > 50", "opened"),
        ("missing.email > 0.2", "opened"),
    ]
    assert (report.deliveries.delivered, report.deliveries.retrying) == (2, 0)
    assert receiver.bad_signatures == 0
    bodies = sorted(r["body"]["alert"]["rule"] for r in receiver.received)
    assert bodies == ["mean.age > 50", "missing.email > 0.2"]
    assert {r["event"] for r in receiver.received} == {"alert.opened"}
    hook = next(r["body"] for r in receiver.received if r["body"]["alert"]["rule"][0] == "m")
    assert hook["window"] == {"start": w.at(1), "end": w.at(2), "rows": 6}

    again = runner.run(now=w.at(3))  # idempotent: nothing computed, nothing sent twice
    assert (again.windows, again.events, again.deliveries.delivered) == ([], [], 0)
    assert len(receiver.received) == 2
    listed = w.svc.alerts.alerts(model="loans", status="open")
    assert listed.total == 2 and {a.fired for a in listed.items} == {1}

    w.log(3, OLD, YOUNG_EMAILS)  # clear again: both resolved by the monitor
    cleared = runner.run(now=w.at(4))
    assert sorted(e.event for e in cleared.events) == ["resolved", "resolved"]
    resolved = w.svc.alerts.alerts(status="resolved").items
    assert {(a.resolved_by, a.resolved_at) for a in resolved} == {("monitor", w.at(4))}

    w.log(
        4, AGED, [*YOUNG_EMAILS, "f@x"]
    )  # fires again within the 3h cooldown: the same alert reopens
    refired = runner.run(now=w.at(5))
    age_alert = next(a for a in resolved if a.rule == "mean.age > 50")
    assert [(e.alert_id, e.event) for e in refired.events] == [(age_alert.alert_id, "reopened")]
    reopened = w.svc.alerts.get(age_alert.alert_id)
    assert (reopened.status, reopened.fired, reopened.resolved_by) == (AlertStatus.OPEN, 2, None)
    assert (reopened.first_window, reopened.last_window) == (w.at(1), w.at(4))
    assert len(receiver.received) == 2  # a reopening within the cooldown sends nothing
    actions = [e.action for e in w.svc.audit.log(f"alert:{age_alert.alert_id}")]
    assert sorted(actions) == ["alert.opened", "alert.reopened", "alert.resolved"]


def test_a_rule_firing_after_the_cooldown_opens_a_new_alert(
    world_factory: Callable[[dict], World],
) -> None:
    w = world_factory(policy(rules=["mean.age > 50"]))
    w.log(0, AGED, GAPPY_EMAILS)
    w.log(1, OLD, YOUNG_EMAILS)  # resolved as of the end of hour 1
    w.log(5, AGED, GAPPY_EMAILS)  # 4h later: past the 3h cooldown
    report = w.svc.monitor_runner.run(now=w.at(6))
    assert [x.status for x in report.windows].count(WindowStatus.NOT_ENOUGH_DATA) == 3
    assert [e.event for e in report.events] == ["opened", "resolved", "opened"]
    assert report.events[0].alert_id != report.events[2].alert_id
    assert w.svc.alerts.alerts(model="loans").total == 2


def test_an_acknowledged_alert_firing_again_stays_acknowledged(
    world_factory: Callable[[dict], World],
) -> None:
    w = world_factory(policy(rules=["mean.age > 50"]))
    w.log(0, AGED, GAPPY_EMAILS)
    (opened,) = w.svc.monitor_runner.run(now=w.at(1)).events
    w.svc.alerts.acknowledge(opened.alert_id, w.dora, "looking")
    w.log(1, AGED, GAPPY_EMAILS)
    (event,) = w.svc.monitor_runner.run(now=w.at(2)).events
    alert = w.svc.alerts.get(opened.alert_id)
    assert (event.event, alert.status, alert.fired) == ("updated", AlertStatus.ACKNOWLEDGED, 2)
    assert alert.acknowledged_by == "dora" and alert.note == "looking"


def test_two_runners_racing_compute_and_alert_once(
    world_factory: Callable[[dict], World], receiver: Receiver, tmp_path, db_url: str
) -> None:
    w = world_factory(policy(receiver.url, rules=["mean.age > 50"]))
    for hour in range(4):
        w.log(hour, AGED, GAPPY_EMAILS)
    other = open_services(tmp_path, db_url, policy(receiver.url, rules=["mean.age > 50"]))
    reports = []
    try:
        runners = [w.svc.monitor_runner, other.monitor_runner]
        threads = [
            threading.Thread(target=lambda r=r: reports.append(r.run(now=w.at(4)))) for r in runners
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        other.close()
    assert len(reports) == 2
    assert sorted(x.start for r in reports for x in r.windows) == [w.at(h) for h in range(4)]
    assert w.svc.alerts.windows(model="loans").total == 4
    (alert,) = w.svc.alerts.alerts(model="loans").items
    assert alert.fired == 4
    assert len(receiver.received) == 1


def test_a_canary_step_does_not_skip_windows_of_the_live_version(
    world_factory: Callable[[dict], World],
) -> None:
    """Windows count from when the live version went live, not from the deployment's last
    change: v2's canary steps, a minute after window 1 ended and before any monitor ran,
    leave v1's windows 0 and 1 to compute (they were skipped for good before)."""
    w = world_factory(policy(rules=["mean.age > 50"]))
    w.log(0, OLD, YOUNG_EMAILS)
    w.log(1, AGED, GAPPY_EMAILS)
    current = w.svc.registry.get_version("loans@v1")
    w.svc.registry.log_model(
        w.svc.registry.load(current.ref, user="ada"), "loans", user="ada",
        signature={"inputs": [["age", "float64"], ["income", "float64"]], "output": "int64"},
    )  # fmt: skip
    ticks = iter([w.at(2) + 60_000, w.at(2) + 120_000])
    w.svc.deployments.clock = lambda: next(ticks)
    w.svc.deployments.deploy("loans", 2, "staging", w.dora, strategy="canary", percent=10)
    stepped = w.svc.deployments.promote("staging", w.dora, percent=50)
    assert (stepped.live_version, stepped.update_time) == (1, w.at(2) + 120_000)
    report = w.svc.monitor_runner.run(now=w.at(3))
    assert [(x.start, x.version, x.status, x.rows) for x in report.windows] == [
        (w.at(0), 1, WindowStatus.COMPUTED, 5),
        (w.at(1), 1, WindowStatus.COMPUTED, 6),
        (w.at(2), 1, WindowStatus.NOT_ENOUGH_DATA, 0),
    ]
    assert [(e.rule, e.event, e.window) for e in report.events] == [
        ("mean.age > 50", "opened", w.at(1))
    ]
    assert w.svc.monitor_runner.run(now=w.at(3)).windows == []  # and computed once


def test_unknown_model_and_malformed_policy(
    world_factory: Callable[[dict], World], tmp_path, db_url: str
) -> None:
    w = world_factory(policy())
    with pytest.raises(NotFoundError, match=r"'nope' has no \[monitor.nope\] policy") as e:
        w.svc.monitor_runner.run(model="nope", now=w.at(1))
    assert e.value.field == "model"
    bad = open_services(tmp_path, db_url, policy(window="soon"))
    try:
        with pytest.raises(ValidationError, match=r"monitor\.loans\.window: expected a dur") as e:
            bad.monitor_runner.run(now=w.at(1))
        assert e.value.field == "monitor.loans.window"
        assert bad.monitor_runner.register_jobs(bad.jobs.scheduler) == []
    finally:
        bad.close()


def test_other_environments_and_unwatched_ones(world_factory: Callable[[dict], World]) -> None:
    w = world_factory(policy(environments=["production"]))
    w.log(0, AGED, GAPPY_EMAILS)
    assert w.svc.monitor_runner.run(now=w.at(1)).windows == []  # staging is not watched


def test_the_runner_is_a_job_of_the_scheduler(world_factory: Callable[[dict], World]) -> None:
    w = world_factory(policy(schedule="15m"))
    scheduler = w.svc.jobs.scheduler
    assert w.svc.monitor_runner.register_jobs(scheduler) == ["monitor:loans"]
    (spec,) = scheduler.specs()
    assert (spec.name, spec.interval_s) == ("monitor:loans", 900)
    outcomes, _ = scheduler.run_due()
    assert [(o.name, o.status) for o in outcomes] == [("monitor:loans", JobRunStatus.OK)]
    assert HOUR == 3_600_000


def test_run_repeats_until_stopped(world_factory: Callable[[dict], World]) -> None:
    w = world_factory(policy(schedule="1h"))
    w.log(0, AGED, GAPPY_EMAILS)
    reports: list = []
    thread = threading.Thread(
        target=lambda: reports.append(w.svc.monitor_runner.run(once=False, now=w.at(1)))
    )
    thread.start()
    thread.join(timeout=0.5)
    assert thread.is_alive()  # waiting for the next schedule
    w.svc.monitor_runner.stop()
    thread.join(timeout=10)
    assert not thread.is_alive() and len(reports) == 1
    assert w.svc.alerts.windows(model="loans").total == 1
