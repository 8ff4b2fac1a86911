"""Alerts: what operators list, acknowledge and resolve, and what the monitor opens, updates,
reopens (within the cooldown) and resolves. Every status change is audited and logged.

Dedup key (model, environment, rule): while an alert of the key is open or acknowledged, the
rule firing again updates it (last window, count, figures). Listings page with a keyset
cursor (the last id), opaque to callers.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from shipyard.core.alerts import (
    Alert,
    AlertDelivery,
    AlertStatus,
    MonitorWindow,
    check_alert_transition,
)
from shipyard.core.clock import now_ms
from shipyard.core.deployments import check_environment
from shipyard.core.entities import User
from shipyard.core.errors import (
    InvalidStateTransitionError,
    NotFoundError,
    ValidationError,
)
from shipyard.core.models import check_model_name
from shipyard.core.permissions import Action, check
from shipyard.services.paging import MAX_PAGE, Page, check_limit, decode_cursor, encode_cursor
from shipyard.stores.ports import AuditLog, MonitorStore, NewEntry, Transactions
from shipyard.stores.sql.audit_repo import AuditRepo
from shipyard.stores.sql.monitors_repo import AlertFilter, MonitorsRepo

__all__ = ["MAX_PAGE", "MAX_REASON", "MONITOR_ACTOR", "AlertService", "Fired", "Page"]

log = logging.getLogger("shipyard.monitoring.alerts")

MAX_REASON = 2000
MONITOR_ACTOR = "monitor"  # who the monitor's own changes are audited as


@dataclass(frozen=True)
class Fired:
    """What a firing rule did to its alert: ``opened`` (new), ``reopened`` (within the
    cooldown) or ``updated`` (still active)."""

    alert: Alert
    event: str


def _check_reason(reason: str) -> str:
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise ValidationError(
            f"reason must be text of at most {MAX_REASON} characters", field="reason"
        )
    return reason.strip()


def parse_status(status: str | None) -> AlertStatus | None:
    if status is None or status == "":
        return None
    try:
        return AlertStatus(status)
    except ValueError:
        raise ValidationError(
            f"status must be one of {', '.join(s.value for s in AlertStatus)}; got {status!r}",
            field="status",
        ) from None


class AlertService:
    """Reads and changes alerts; the monitor's changes run inside its own unit of work."""

    def __init__(
        self,
        db: Transactions,
        *,
        repo: MonitorStore | None = None,
        audit: AuditLog | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.db = db
        self.repo: MonitorStore = repo or MonitorsRepo()
        self.audit: AuditLog = audit or AuditRepo()
        self.clock = clock

    # ------------------------------------------------------------ reading
    def alerts(
        self,
        *,
        model: str | None = None,
        env: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page:
        """Alerts newest first, filtered by model, environment and status."""
        where = AlertFilter(
            None if model is None else check_model_name(model),
            None if env is None else check_environment(env),
            parse_status(status),
        )
        before, limit = decode_cursor(cursor, "before", int), check_limit(limit)
        with self.db.read() as conn:
            found = self.repo.alerts(conn, where, before, limit + 1)
            total = self.repo.count_alerts(conn, where)
        more = len(found) > limit
        found = found[:limit]
        return Page(found, encode_cursor("before", found[-1].alert_id) if more else None, total)

    def get(self, alert_id: int) -> Alert:
        alert_id = _check_id(alert_id)
        with self.db.read() as conn:
            found = self.repo.get_alert(conn, alert_id)
        if found is None:
            raise NotFoundError(
                f"no alert {alert_id}; list them with `shipyard monitor alerts`", field="id"
            )
        return found

    def deliveries(self, alert_id: int) -> builtins.list[AlertDelivery]:
        self.get(alert_id)
        with self.db.read() as conn:
            return self.repo.deliveries(conn, [alert_id])

    def windows(
        self,
        *,
        model: str | None = None,
        env: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page:
        """Computed windows newest first."""
        model = None if model is None else check_model_name(model)
        env = None if env is None else check_environment(env)
        before, limit = decode_cursor(cursor, "before", int), check_limit(limit)
        with self.db.read() as conn:
            found: list[MonitorWindow] = self.repo.windows(conn, model, env, before, limit + 1)
            total = self.repo.count_windows(conn, model, env)
        more = len(found) > limit
        found = found[:limit]
        return Page(found, encode_cursor("before", found[-1].window_id) if more else None, total)

    def open_alerts(self, model: str) -> builtins.list[Alert]:
        """The model's open alerts, oldest first (what a retraining policy's ``on`` reads)."""
        where = AlertFilter(check_model_name(model), None, AlertStatus.OPEN)
        with self.db.read() as conn:
            found = self.repo.alerts(conn, where, None, MAX_PAGE)
        return sorted(found, key=lambda a: a.alert_id)

    def annotate(self, alert_id: int, note: str, *, actor: str) -> Alert:
        """Note ``note`` on the alert (e.g. why a retraining it triggered stopped), keeping its
        status; audited as ``alert.annotated``."""
        alert_id, note = _check_id(alert_id), _check_reason(note)
        with self.db.write() as conn:
            return self._annotate(conn, self._locked(conn, alert_id), note, actor, self.clock())

    def windows_from(self, model: str, env: str, start: int) -> builtins.list[MonitorWindow]:
        """Computed windows of ``model`` in ``env`` starting at or after ``start``, oldest
        first (what a retraining's follow-up judges)."""
        model, env = check_model_name(model), check_environment(env)
        with self.db.read() as conn:
            return self.repo.windows_from(conn, model, env, start, MAX_PAGE)

    def settle(self, alert_id: int, note: str, *, actor: str) -> Alert:
        """The cause of the alert is gone (e.g. a retrained version recovered the metric):
        resolve it with ``note`` when still active, else only note it (the monitor resolved
        it already). Audited as ``alert.resolved`` or ``alert.annotated``."""
        alert_id, note = _check_id(alert_id), _check_reason(note)
        with self.db.write() as conn:
            current, now = self._locked(conn, alert_id), self.clock()
            if current.status.is_active:
                return self._transition(conn, current, AlertStatus.RESOLVED, actor, now, note)
            return self._annotate(conn, current, note, actor, now)

    def _locked(self, conn: Any, alert_id: int) -> Alert:
        """The alert, locked for a change, or NotFoundError naming it."""
        current = self.repo.get_alert(conn, alert_id, lock=True)
        if current is None:
            raise NotFoundError(
                f"no alert {alert_id}; list them with `shipyard monitor alerts`", field="id"
            )
        return current

    def _annotate(self, conn: Any, current: Alert, note: str, actor: str, now: int) -> Alert:
        changes: dict[str, Any] = {"note": note, "updated": now}
        self._update(conn, current, current.status, changes)
        done = replace(current, **changes)
        self._record(conn, done, "annotated", actor, now, note)
        return done

    # ------------------------------------------------------------ operators
    def acknowledge(self, alert_id: int, user: User, reason: str = "") -> Alert:
        """An operator (deployer or higher) has seen the alert and is on it."""
        return self._operator_change(alert_id, user, AlertStatus.ACKNOWLEDGED, reason)

    def resolve(self, alert_id: int, user: User, reason: str = "") -> Alert:
        """An operator (deployer or higher) closes the alert."""
        return self._operator_change(alert_id, user, AlertStatus.RESOLVED, reason)

    def _operator_change(self, alert_id: int, user: User, new: AlertStatus, reason: str) -> Alert:
        check(user, Action.OPERATE_ALERTS)
        alert_id, reason = _check_id(alert_id), _check_reason(reason)
        with self.db.write() as conn:
            current = self._locked(conn, alert_id)
            return self._transition(conn, current, new, user.name, self.clock(), reason)

    # ------------------------------------------------------------ the monitor
    def fire(
        self,
        conn: Any,
        window: MonitorWindow,
        rule: str,
        figures: Mapping[str, float],
        cooldown_ms: int,
        now: int,
    ) -> Fired:
        """The rule fired in ``window``: update the active alert of its key, reopen the last
        one when it was resolved less than ``cooldown_ms`` before the window ended, else open
        a new one. ``now`` is the monitor's time of the change."""
        latest = self.repo.latest_alert(conn, window.model, window.env, rule)
        changes: dict[str, Any] = {
            "last_window": window.start,
            "version": window.version,
            "updated": now,
        }
        if latest is not None and latest.status.is_active:
            changes.update(fired=latest.fired + 1, figures=dict(figures))
            self._update(conn, latest, latest.status, changes)
            return Fired(replace(latest, **changes), "updated")
        if latest is not None and _within(latest, window.end, cooldown_ms):
            changes.update(fired=latest.fired + 1, figures=dict(figures))
            self._update(conn, latest, latest.status, changes)
            fresh = replace(latest, **changes)
            reopened = self._transition(conn, fresh, AlertStatus.OPEN, MONITOR_ACTOR, now, "")
            return Fired(reopened, "reopened")
        return Fired(self._open(conn, window, rule, figures, now), "opened")

    def clear(self, conn: Any, window: MonitorWindow, rule: str, now: int) -> Alert | None:
        """The rule is clear in ``window``: resolve its active alert (if any) as of the
        window's end, the time the cooldown of a later firing counts from."""
        latest = self.repo.latest_alert(conn, window.model, window.env, rule)
        if latest is None or not latest.status.is_active or window.start <= latest.last_window:
            return None
        note = f"clear in the window from {window.start}"
        return self._transition(
            conn, latest, AlertStatus.RESOLVED, MONITOR_ACTOR, now, note, at=window.end
        )

    def _open(
        self, conn: Any, window: MonitorWindow, rule: str, figures: Mapping[str, float], now: int
    ) -> Alert:
        values = {
            "model": window.model, "env": window.env, "version": window.version,
            "rule": rule, "status": AlertStatus.OPEN.value, "first_window": window.start,
            "last_window": window.start, "fired": 1, "figures": dict(figures),
            "created": now, "updated": now, "note": "",
        }  # fmt: skip
        alert_id = self.repo.add_alert(conn, values)
        alert = Alert(
            alert_id, window.model, window.env, window.version, rule, AlertStatus.OPEN,
            window.start, window.start, 1, dict(figures), now, now,
        )  # fmt: skip
        self._record(conn, alert, "opened", MONITOR_ACTOR, now, "")
        return alert

    def _transition(
        self,
        conn: Any,
        current: Alert,
        new: AlertStatus,
        actor: str,
        now: int,
        reason: str,
        *,
        at: int | None = None,
    ) -> Alert:
        check_alert_transition(current.alert_id, current.status, new)
        changes: dict[str, Any] = {"status": new, "updated": now}
        if new is AlertStatus.ACKNOWLEDGED:
            changes["acknowledged_by"] = actor
        elif new is AlertStatus.RESOLVED:
            changes.update(resolved_by=actor, resolved_at=now if at is None else at)
        else:  # reopened: a fresh episode of the same alert
            changes.update(acknowledged_by=None, resolved_by=None, resolved_at=None)
        if reason:
            changes["note"] = reason
        self._update(conn, current, current.status, changes)
        done = replace(current, **changes)
        event = {"open": "reopened"}.get(new.value, new.value)
        self._record(conn, done, event, actor, now, reason)
        return done

    def _update(
        self, conn: Any, current: Alert, expected: AlertStatus, changes: Mapping[str, Any]
    ) -> None:
        values = {k: (v.value if isinstance(v, AlertStatus) else v) for k, v in changes.items()}
        if not self.repo.update_alert(conn, current.alert_id, expected, values):
            raise InvalidStateTransitionError(
                f"alert {current.alert_id} changed meanwhile; look again and retry",
                field="status",
            )

    def _record(
        self, conn: Any, alert: Alert, event: str, actor: str, now: int, reason: str
    ) -> None:
        payload = {
            "model": alert.model,
            "environment": alert.env,
            "version": alert.version,
            "rule": alert.rule,
            "status": alert.status.value,
            "window": alert.last_window,
            "figures": dict(alert.figures),
        }
        entry = NewEntry(actor, f"alert.{event}", "alert", str(alert.alert_id), reason, payload)
        self.audit.append(conn, [entry], now)
        level = logging.WARNING if event in ("opened", "reopened") else logging.INFO
        log.log(
            level,
            "alert %s %s: %s on %s/%s (%s)",
            alert.alert_id, event, alert.rule, alert.env, alert.model, actor,
        )  # fmt: skip


def _within(resolved: Alert, at: int, cooldown_ms: int) -> bool:
    """Whether ``at`` lies within the cooldown after the alert was resolved."""
    return resolved.resolved_at is not None and at - resolved.resolved_at < cooldown_ms


def _check_id(alert_id: object) -> int:
    if isinstance(alert_id, bool) or not isinstance(alert_id, int) or alert_id < 1:
        raise ValidationError(f"alert id must be a positive integer, got {alert_id!r}", field="id")
    return alert_id
