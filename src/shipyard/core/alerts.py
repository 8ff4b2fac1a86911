"""Monitoring windows, alerts and their deliveries: entities, the alert lifecycle, backoff.

An alert is keyed by (model, environment, rule): while one is open or acknowledged, the rule
firing again updates it. Operators acknowledge and resolve; the monitor resolves an alert
when its rule is clear again, and reopens a resolved one that fires again within the
policy's cooldown instead of opening a new one::

    open ──ack──▶ acknowledged ──resolve──▶ resolved
      └──────────────resolve───────────────▶   │
      ◀────────── fires within cooldown ────────┘
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from shipyard.core.errors import InvalidStateTransitionError

__all__ = [
    "ALERT_TRANSITIONS",
    "Alert",
    "AlertDelivery",
    "AlertStatus",
    "DeliveryStatus",
    "MonitorWindow",
    "WindowStatus",
    "backoff_ms",
    "check_alert_transition",
]

BACKOFF_BASE_MS = 30_000
BACKOFF_MAX_MS = 6 * 3_600_000


class WindowStatus(StrEnum):
    COMPUTED = "computed"
    NOT_ENOUGH_DATA = "not_enough_data"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"

    @property
    def is_active(self) -> bool:
        return self is not AlertStatus.RESOLVED


ALERT_TRANSITIONS: dict[AlertStatus, frozenset[AlertStatus]] = {
    AlertStatus.OPEN: frozenset({AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED}),
    AlertStatus.ACKNOWLEDGED: frozenset({AlertStatus.RESOLVED}),
    AlertStatus.RESOLVED: frozenset({AlertStatus.OPEN}),  # fired again within the cooldown
}


def check_alert_transition(alert_id: int, current: AlertStatus, new: AlertStatus) -> None:
    """Raise when ``current → new`` is not in the transition table."""
    if new in ALERT_TRANSITIONS[current]:
        return
    allowed = ", ".join(sorted(s.value for s in ALERT_TRANSITIONS[current])) or "none"
    raise InvalidStateTransitionError(
        f"alert {alert_id} is {current.value}; it cannot become {new.value} "
        f"(from {current.value}: {allowed})",
        field="status",
    )


class DeliveryStatus(StrEnum):
    """A delivery is pending until a sink takes it, or until it gives up (failed)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def backoff_ms(attempt: int, base_ms: int = BACKOFF_BASE_MS) -> int:
    """How long to wait after failed attempt ``attempt`` (1, 2, …): doubling, capped."""
    return int(min(BACKOFF_MAX_MS, base_ms * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class MonitorWindow:
    """One computed window of one model in one environment (never computed twice)."""

    window_id: int
    model: str
    env: str
    version: int | None
    start: int
    end: int
    status: WindowStatus
    rows: int
    figures: Mapping[str, float]
    computed: int
    verdicts: Mapping[str, bool | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Alert:
    """An alert of one rule on one model in one environment."""

    alert_id: int
    model: str
    env: str
    version: int | None
    rule: str
    status: AlertStatus
    first_window: int  # start of the first window that fired (epoch ms)
    last_window: int  # start of the last window that fired
    fired: int  # how many windows fired
    figures: Mapping[str, float]  # the rule's figures in the last window that fired
    created: int
    updated: int
    acknowledged_by: str | None = None
    resolved_by: str | None = None
    resolved_at: int | None = None
    note: str = ""


@dataclass(frozen=True)
class AlertDelivery:
    """One notification of one alert (or, with no alert, of an event of ``model`` such as a
    retraining waiting for its approver) to one sink, retried with backoff until it lands."""

    delivery_id: int
    alert_id: int | None
    sink: str
    target: str
    event: str
    attempt: int
    status: DeliveryStatus
    next_retry: int | None
    response_code: int | None
    error: str | None
    created: int
    updated: int
    model: str | None = None
