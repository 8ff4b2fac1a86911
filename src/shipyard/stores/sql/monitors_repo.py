"""Monitoring windows, alerts and deliveries: the once-only window insert, the alert's
compare-and-set status changes, the delivery claim that keeps a retry from being sent twice."""

from __future__ import annotations

import builtins
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.core.alerts import (
    Alert,
    AlertDelivery,
    AlertStatus,
    DeliveryStatus,
    MonitorWindow,
    WindowStatus,
)
from shipyard.stores.sql.engine import upsert_insert
from shipyard.stores.sql.tables_monitors import alert_deliveries, alerts, monitor_windows

__all__ = ["AlertFilter", "MonitorsRepo", "NewWindow"]


@dataclass(frozen=True)
class NewWindow:
    model: str
    env: str
    version: int | None
    start: int
    end: int
    status: WindowStatus
    rows: int
    figures: Mapping[str, float]
    verdicts: Mapping[str, bool | None]
    computed: int


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts to list (None: any)."""

    model: str | None = None
    env: str | None = None
    status: AlertStatus | None = None


def _dumps(values: Mapping[str, Any]) -> str:
    clean = {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in values.items()
    }
    return json.dumps(clean, sort_keys=True)


def _window(row: Any) -> MonitorWindow:
    return MonitorWindow(
        window_id=int(row.id),
        model=row.model,
        env=row.env,
        version=row.version,
        start=int(row.start_ms),
        end=int(row.end_ms),
        status=WindowStatus(row.status),
        rows=int(row.rows),
        figures=json.loads(row.figures),
        computed=int(row.computed),
        verdicts=json.loads(row.verdicts),
    )


def _alert(row: Any) -> Alert:
    return Alert(
        alert_id=int(row.id),
        model=row.model,
        env=row.env,
        version=row.version,
        rule=row.rule,
        status=AlertStatus(row.status),
        first_window=int(row.first_window),
        last_window=int(row.last_window),
        fired=int(row.fired),
        figures=json.loads(row.figures),
        created=int(row.created),
        updated=int(row.updated),
        acknowledged_by=row.acknowledged_by,
        resolved_by=row.resolved_by,
        resolved_at=None if row.resolved_at is None else int(row.resolved_at),
        note=row.note,
    )


def _delivery(row: Any) -> AlertDelivery:
    return AlertDelivery(
        delivery_id=int(row.id),
        alert_id=None if row.alert_id is None else int(row.alert_id),
        sink=row.sink,
        target=row.target,
        event=row.event,
        attempt=int(row.attempt),
        status=DeliveryStatus(row.status),
        next_retry=None if row.next_retry is None else int(row.next_retry),
        response_code=row.response_code,
        error=row.error,
        created=int(row.created),
        updated=int(row.updated),
        model=row.model,
    )


class MonitorsRepo:
    """Stateless: every method takes the connection of the caller's unit of work."""

    # ------------------------------------------------------------ windows
    def computed_windows(
        self, conn: Connection, model: str, env: str, since: int
    ) -> set[tuple[int, int]]:
        c = monitor_windows.c
        query = sa.select(c.start_ms, c.end_ms).where(
            c.model == model, c.env == env, c.start_ms >= since
        )
        return {(int(r.start_ms), int(r.end_ms)) for r in conn.execute(query)}

    def add_window(self, conn: Connection, w: NewWindow) -> int | None:
        """Insert the window unless it is there already; its id, or None when another
        run computed it first."""
        values = {
            "model": w.model,
            "env": w.env,
            "version": w.version,
            "start_ms": w.start,
            "end_ms": w.end,
            "status": w.status.value,
            "rows": w.rows,
            "figures": _dumps(w.figures),
            "verdicts": json.dumps(dict(w.verdicts), sort_keys=True),
            "computed": w.computed,
        }
        query = upsert_insert(conn, monitor_windows).values(**values).on_conflict_do_nothing()
        result = conn.execute(query.returning(monitor_windows.c.id))
        row = result.first()
        return None if row is None else int(row[0])

    def windows(
        self, conn: Connection, model: str | None, env: str | None, before: int | None, limit: int
    ) -> builtins.list[MonitorWindow]:
        """Windows newest first (by id), those with an id below ``before`` (a cursor)."""
        c = monitor_windows.c
        query = sa.select(monitor_windows).where(*self._where_window(model, env))
        if before is not None:
            query = query.where(c.id < before)
        return [_window(r) for r in conn.execute(query.order_by(c.id.desc()).limit(limit))]

    def windows_from(
        self, conn: Connection, model: str, env: str, start: int, limit: int
    ) -> builtins.list[MonitorWindow]:
        """Windows of ``model`` in ``env`` starting at or after ``start``, oldest first."""
        c = monitor_windows.c
        query = (
            sa.select(monitor_windows)
            .where(c.model == model, c.env == env, c.start_ms >= start)
            .order_by(c.start_ms, c.id)
            .limit(limit)
        )
        return [_window(r) for r in conn.execute(query)]

    def count_windows(self, conn: Connection, model: str | None, env: str | None) -> int:
        query = sa.select(sa.func.count()).select_from(monitor_windows)
        return int(conn.execute(query.where(*self._where_window(model, env))).scalar() or 0)

    @staticmethod
    def _where_window(model: str | None, env: str | None) -> list[Any]:
        c = monitor_windows.c
        return [
            *([c.model == model] if model is not None else []),
            *([c.env == env] if env is not None else []),
        ]

    # ------------------------------------------------------------ alerts
    def get_alert(self, conn: Connection, alert_id: int, *, lock: bool = False) -> Alert | None:
        query = sa.select(alerts).where(alerts.c.id == alert_id)
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        return None if row is None else _alert(row)

    def latest_alert(self, conn: Connection, model: str, env: str, rule: str) -> Alert | None:
        """The newest alert of the dedup key (model, env, rule), whatever its status."""
        c = alerts.c
        query = (
            sa.select(alerts)
            .where(c.model == model, c.env == env, c.rule == rule)
            .order_by(c.id.desc())
            .limit(1)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        return None if row is None else _alert(row)

    def add_alert(self, conn: Connection, values: Mapping[str, Any]) -> int:
        row = {**values, "figures": _dumps(values.get("figures", {}))}
        result = conn.execute(alerts.insert().values(**row))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def update_alert(
        self, conn: Connection, alert_id: int, expected: AlertStatus, values: Mapping[str, Any]
    ) -> bool:
        """Change the alert if it still has status ``expected`` (compare-and-set)."""
        row = dict(values)
        if "figures" in row:
            row["figures"] = _dumps(row["figures"])
        c = alerts.c
        result = conn.execute(
            alerts.update().where(c.id == alert_id, c.status == expected.value).values(**row)
        )
        return result.rowcount == 1

    def alerts(
        self, conn: Connection, where: AlertFilter, before: int | None, limit: int
    ) -> builtins.list[Alert]:
        """Alerts newest first, those with an id below ``before`` (a keyset cursor)."""
        c = alerts.c
        query = sa.select(alerts).where(*self._where_alert(where))
        if before is not None:
            query = query.where(c.id < before)
        return [_alert(r) for r in conn.execute(query.order_by(c.id.desc()).limit(limit))]

    def count_alerts(self, conn: Connection, where: AlertFilter) -> int:
        query = sa.select(sa.func.count()).select_from(alerts).where(*self._where_alert(where))
        return int(conn.execute(query).scalar() or 0)

    @staticmethod
    def _where_alert(where: AlertFilter) -> list[Any]:
        c = alerts.c
        return [
            *([c.model == where.model] if where.model is not None else []),
            *([c.env == where.env] if where.env is not None else []),
            *([c.status == where.status.value] if where.status is not None else []),
        ]

    # ------------------------------------------------------------ deliveries
    def add_delivery(
        self, conn: Connection, alert_id: int | None, sink: str, target: str, event: str,
        body: str, now: int, *, model: str | None = None,
    ) -> int:  # fmt: skip
        result = conn.execute(
            alert_deliveries.insert().values(
                alert_id=alert_id,
                model=model,
                sink=sink,
                target=target,
                event=event,
                body=body,
                attempt=0,
                status=DeliveryStatus.PENDING.value,
                next_retry=now,
                created=now,
                updated=now,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def due_deliveries(
        self, conn: Connection, now: int, limit: int
    ) -> builtins.list[tuple[AlertDelivery, str]]:
        """Pending deliveries whose retry time has come, oldest first, with their body."""
        c = alert_deliveries.c
        query = (
            sa.select(alert_deliveries)
            .where(c.status == DeliveryStatus.PENDING.value, c.next_retry <= now)
            .order_by(c.id)
            .limit(limit)
        )
        return [(_delivery(r), r.body) for r in conn.execute(query)]

    def claim_delivery(self, conn: Connection, seen: AlertDelivery, now: int, hold_ms: int) -> bool:
        """Take attempt ``seen.attempt + 1``: a conditional update that only one concurrent
        sender wins; the retry time moves past the attempt, so a crashed sender's delivery
        is retried later rather than lost."""
        c = alert_deliveries.c
        result = conn.execute(
            alert_deliveries.update()
            .where(
                c.id == seen.delivery_id,
                c.attempt == seen.attempt,
                c.status == DeliveryStatus.PENDING.value,
            )
            .values(attempt=seen.attempt + 1, next_retry=now + hold_ms, updated=now)
        )
        return result.rowcount == 1

    def finish_delivery(
        self, conn: Connection, delivery_id: int, values: Mapping[str, Any]
    ) -> None:
        conn.execute(
            alert_deliveries.update().where(alert_deliveries.c.id == delivery_id).values(**values)
        )

    def deliveries(
        self, conn: Connection, alert_ids: builtins.list[int]
    ) -> builtins.list[AlertDelivery]:
        c = alert_deliveries.c
        query = sa.select(alert_deliveries).where(c.alert_id.in_(alert_ids)).order_by(c.id)
        return [_delivery(r) for r in conn.execute(query)]
