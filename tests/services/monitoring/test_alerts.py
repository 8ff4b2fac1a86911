"""Operators on alerts (SQLite and PostgreSQL): acknowledge and resolve as a deployer,
illegal transitions refused, roles checked, unknown ids, filters and cursor paging, audit."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shipyard.core.alerts import AlertStatus
from shipyard.core.entities import Role
from shipyard.core.errors import (
    InvalidStateTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from tests.services.monitoring.conftest import World, policy

AGED = [60.0, 70.0, 55.0, 65.0, 80.0]
GAPPY = ["a@x", None, None, "d@x", "e@x"]


@pytest.fixture
def fired(world_factory: Callable[[dict], World]) -> tuple[World, list[int]]:
    """Two open alerts (mean.age, missing.email) from hour 0."""
    w = world_factory(policy())
    w.log(0, AGED, GAPPY)
    report = w.svc.monitor_runner.run(now=w.at(1))
    return w, sorted(e.alert_id for e in report.events)


def test_acknowledge_then_resolve_audited(fired: tuple[World, list[int]]) -> None:
    w, (first, _) = fired
    acked = w.svc.alerts.acknowledge(first, w.dora, "on it")
    assert (acked.status, acked.acknowledged_by, acked.note) == (
        AlertStatus.ACKNOWLEDGED, "dora", "on it",
    )  # fmt: skip
    done = w.svc.alerts.resolve(first, w.dora, "retrained")
    assert (done.status, done.resolved_by) == (AlertStatus.RESOLVED, "dora")
    assert w.svc.alerts.get(first) == done
    entries = w.svc.audit.log(f"alert:{first}")
    assert [(e.action, e.actor, e.reason) for e in reversed(entries)] == [
        ("alert.opened", "monitor", ""),
        ("alert.acknowledged", "dora", "on it"),
        ("alert.resolved", "dora", "retrained"),
    ]


def test_illegal_transitions_are_refused(fired: tuple[World, list[int]]) -> None:
    w, (first, second) = fired
    w.svc.alerts.resolve(first, w.dora)
    with pytest.raises(InvalidStateTransitionError, match="is resolved; it cannot become ack"):
        w.svc.alerts.acknowledge(first, w.dora)
    with pytest.raises(InvalidStateTransitionError, match="cannot become resolved"):
        w.svc.alerts.resolve(first, w.dora)
    w.svc.alerts.acknowledge(second, w.dora)
    with pytest.raises(InvalidStateTransitionError, match="acknowledged; it cannot become ack"):
        w.svc.alerts.acknowledge(second, w.dora)


def test_roles_and_bad_input(fired: tuple[World, list[int]]) -> None:
    w, (first, _) = fired
    w.svc.access.add_user("cody", Role.CONTRIBUTOR)
    with pytest.raises(PermissionDeniedError, match="need deployer or higher"):
        w.svc.alerts.acknowledge(first, w.svc.access.get_user("cody"))
    assert w.svc.alerts.get(first).status is AlertStatus.OPEN
    with pytest.raises(NotFoundError, match="no alert 999") as e:
        w.svc.alerts.resolve(999, w.dora)
    assert e.value.field == "id"
    with pytest.raises(NotFoundError):
        w.svc.alerts.get(999)
    with pytest.raises(ValidationError, match="positive integer"):
        w.svc.alerts.get(0)
    with pytest.raises(ValidationError, match="reason must be text"):
        w.svc.alerts.resolve(first, w.dora, "x" * 3000)
    for kwargs, field in (
        ({"status": "closed"}, "status"),
        ({"cursor": "nope"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"model": "bad name"}, "name"),
        ({"env": "Prod!"}, "env"),
    ):
        with pytest.raises(ValidationError) as e:
            w.svc.alerts.alerts(**kwargs)
        assert e.value.field == field, kwargs


def test_listing_filters_and_pages(fired: tuple[World, list[int]]) -> None:
    w, (first, second) = fired
    w.svc.alerts.acknowledge(first, w.dora)
    page = w.svc.alerts.alerts(limit=1)
    assert ([a.alert_id for a in page.items], page.total) == ([second], 2)
    rest = w.svc.alerts.alerts(limit=1, cursor=page.next_cursor)
    assert ([a.alert_id for a in rest.items], rest.next_cursor) == ([first], None)
    assert [a.alert_id for a in w.svc.alerts.alerts(status="acknowledged").items] == [first]
    assert w.svc.alerts.alerts(env="production").total == 0
    windows = w.svc.alerts.windows(model="loans", env="staging")
    assert windows.total == 1 and windows.items[0].figures["mean.age"] == 66.0


def test_a_manually_resolved_alert_reopens_within_the_cooldown(
    fired: tuple[World, list[int]],
) -> None:
    w, (first, _) = fired
    w.svc.alerts.resolve(first, w.dora, "fixed")
    w.log(1, AGED, GAPPY)
    report = w.svc.monitor_runner.run(now=w.at(2))
    assert {(e.alert_id, e.event) for e in report.events} >= {(first, "reopened")}
    assert w.svc.alerts.get(first).status is AlertStatus.OPEN
