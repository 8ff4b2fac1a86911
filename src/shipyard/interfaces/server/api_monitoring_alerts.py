"""REST API of monitoring alerts under /api/v1/monitoring: the alerts (filtered by model,
environment and status), one alert with its deliveries, acknowledge and resolve, and the
computed windows. Listings page with a keyset cursor.

Reads need the viewer role (the server's middleware); acknowledging and resolving need a
deployer (``AlertService``), acting as the caller, recorded in the audit trail.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from shipyard.interfaces.http.params import Id, Int64
from shipyard.interfaces.presenters.alerts import alert_json, delivery_json, window_json

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/monitoring", tags=["monitoring"])

DEFAULT_LIMIT = 100
MAX_REASON = 2000


class ChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: StrictStr = Field("", max_length=MAX_REASON, description="Kept in the audit trail.")


def _alerts(request: Request) -> Any:
    return request.app.state.services.alerts


def _blank(value: str | None) -> str | None:
    return (value or "").strip() or None


@router.get("/alerts")
def list_alerts(
    request: Request,
    model: str | None = Query(None, description="Only this model."),
    env: str | None = Query(None, description="Only this environment."),
    status: str | None = Query(None, description="open | acknowledged | resolved."),
    limit: Annotated[
        Int64, Query(description="How many per page, newest first (1..1000).")
    ] = DEFAULT_LIMIT,
    cursor: str | None = Query(None, description="The next_cursor of the previous page."),
) -> dict[str, Any]:
    page = _alerts(request).alerts(
        model=_blank(model), env=_blank(env), status=_blank(status), cursor=cursor, limit=limit
    )
    return {
        "alerts": [alert_json(a) for a in page.items],
        "next_cursor": page.next_cursor,
        "total": page.total,
    }


@router.get("/alerts/{alert_id}")
def get_alert(request: Request, alert_id: Id) -> dict[str, Any]:
    svc = _alerts(request)
    alert = svc.get(alert_id)
    return {
        "alert": alert_json(alert),
        "deliveries": [delivery_json(d) for d in svc.deliveries(alert_id)],
    }


@router.post("/alerts/{alert_id}/ack")
def acknowledge(
    request: Request, alert_id: Id, body: ChangeIn | None = Body(None)
) -> dict[str, Any]:
    """The caller (a deployer) has seen the alert and is on it."""
    reason = body.reason if body is not None else ""
    done = _alerts(request).acknowledge(alert_id, request.state.user, reason)
    return {"alert": alert_json(done)}


@router.post("/alerts/{alert_id}/resolve")
def resolve(request: Request, alert_id: Id, body: ChangeIn | None = Body(None)) -> dict[str, Any]:
    """The caller (a deployer) closes the alert."""
    reason = body.reason if body is not None else ""
    done = _alerts(request).resolve(alert_id, request.state.user, reason)
    return {"alert": alert_json(done)}


@router.get("/windows")
def list_windows(
    request: Request,
    model: str | None = Query(None, description="Only this model."),
    env: str | None = Query(None, description="Only this environment."),
    limit: Annotated[
        Int64, Query(description="How many per page, newest first (1..1000).")
    ] = DEFAULT_LIMIT,
    cursor: str | None = Query(None, description="The next_cursor of the previous page."),
) -> dict[str, Any]:
    page = _alerts(request).windows(
        model=_blank(model), env=_blank(env), cursor=cursor, limit=limit
    )
    return {
        "windows": [window_json(w) for w in page.items],
        "next_cursor": page.next_cursor,
        "total": page.total,
    }
