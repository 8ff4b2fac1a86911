"""Monitoring windows, alerts and deliveries as JSON."""

from __future__ import annotations

from typing import Any

from shipyard.core.alerts import Alert, AlertDelivery, MonitorWindow

__all__ = ["alert_json", "delivery_json", "window_json"]


def alert_json(a: Alert) -> dict[str, Any]:
    return {
        "id": a.alert_id,
        "model": a.model,
        "environment": a.env,
        "version": a.version,
        "rule": a.rule,
        "status": a.status.value,
        "first_window": a.first_window,
        "last_window": a.last_window,
        "fired": a.fired,
        "figures": dict(a.figures),
        "created": a.created,
        "updated": a.updated,
        "acknowledged_by": a.acknowledged_by,
        "resolved_by": a.resolved_by,
        "resolved_at": a.resolved_at,
        "note": a.note,
    }


def delivery_json(d: AlertDelivery) -> dict[str, Any]:
    return {
        "id": d.delivery_id,
        "alert_id": d.alert_id,
        "model": d.model,
        "sink": d.sink,
        "target": d.target,
        "event": d.event,
        "attempt": d.attempt,
        "status": d.status.value,
        "next_retry": d.next_retry,
        "response_code": d.response_code,
        "error": d.error,
        "created": d.created,
        "updated": d.updated,
    }


def window_json(w: MonitorWindow) -> dict[str, Any]:
    return {
        "id": w.window_id,
        "model": w.model,
        "environment": w.env,
        "version": w.version,
        "start": w.start,
        "end": w.end,
        "status": w.status.value,
        "rows": w.rows,
        "figures": dict(w.figures),
        "verdicts": dict(w.verdicts),
        "computed": w.computed,
    }
