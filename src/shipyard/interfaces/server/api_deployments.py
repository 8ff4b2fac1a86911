"""REST API of deployments under /api/v1: what serves each environment, its history, deploy,
promote and roll back, and the serving figures per version (with a time series for charts).

Reads need the viewer role and writes the contributor role (the server's middleware);
changing a deployment further needs a deployer (``DeploymentService``), and a protected
environment (``production`` by default) takes only approved versions. Every change is the
caller's, recorded in the deploy history and the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from shipyard.core.clock import now_ms
from shipyard.core.deployments import check_environment, check_percent
from shipyard.core.errors import ShipyardError, ValidationError
from shipyard.core.models import check_model_name
from shipyard.interfaces.http.params import Int64, Offset
from shipyard.interfaces.presenters.deployments import deployment_json, event_json
from shipyard.services.paging import MAX_PAGE

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["deployments"])

MAX_REASON = 2000
HOUR_MS = 3_600_000
# errors of the registry name its own inputs; here the body's fields are model and version
_BODY_FIELDS = {"name": "model", "ref": "version"}


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid")

    env: StrictStr = Field(description="The environment, e.g. staging or production.")
    reason: StrictStr = Field("", max_length=MAX_REASON, description="Kept in the audit trail.")


class DeployIn(_Change):
    model: StrictStr = Field(description="Registered model name.")
    version: StrictInt | StrictStr = Field(description="Version number: 3 or 'v3'.")
    strategy: StrictStr | None = Field(
        None, description="replace | canary | shadow | bluegreen (default: the release policy)."
    )
    percent: StrictInt | None = Field(
        None, description="The candidate's share of requests (canary, shadow), 1..100."
    )

    @field_validator("version", mode="before")
    @classmethod
    def _number_or_text(cls, value: object) -> object:
        # one clear error for 1.5, true or null instead of one per member of the union
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"version must be a number like 3 (or 'v3'), got {value!r}")
        return value

    @field_validator("percent")
    @classmethod
    def _share(cls, value: int | None) -> int | None:
        return _percent(value)


class PromoteIn(_Change):
    model: StrictStr | None = Field(None, description="Needed when the env serves several.")
    percent: StrictInt | None = Field(None, description="Canary share to move to (1..100).")

    @field_validator("percent")
    @classmethod
    def _share(cls, value: int | None) -> int | None:
        return _percent(value)


def _percent(value: int | None) -> int | None:
    """A share 1..100 checked with the body, before any model or deployment is looked up."""
    try:
        return None if value is None else check_percent(value)
    except ShipyardError as e:
        raise ValueError(e.message) from None


class RollbackIn(_Change):
    model: StrictStr | None = Field(None, description="Needed when the env serves several.")


def _services(request: Request) -> Any:
    return request.app.state.services


@contextmanager
def _body_fields() -> Iterator[None]:
    """Name the body's field (model, version) in errors the registry raises about its own."""
    try:
        yield
    except ShipyardError as e:
        e.field = _BODY_FIELDS.get(e.field or "", e.field)
        raise


@router.get("/deployments")
def list_deployments(
    request: Request,
    env: str | None = Query(None, description="Only this environment."),
    q: str | None = Query(None, description="Only models whose name contains this text."),
    limit: Annotated[
        Int64, Query(description="How many per page, by environment and model (1..1000).")
    ] = MAX_PAGE,
    offset: Annotated[Offset, Query(description="How many to skip.")] = 0,
    cursor: str | None = Query(None, description="The next_cursor of the previous page."),
) -> dict[str, Any]:
    page = _services(request).deployments.page(
        (env or "").strip() or None, text=q, cursor=cursor or None, limit=limit, offset=offset
    )
    return {
        "deployments": [deployment_json(d) for d in page.items],
        "next_cursor": page.next_cursor,
        "total": page.total,
    }


@router.get("/deployments/history")
def deployment_history(
    request: Request,
    env: str | None = Query(None, description="Only this environment."),
    model: str | None = Query(None, description="Only this model."),
    limit: Annotated[Int64, Query(description="How many events, newest first (1..10000).")] = 50,
) -> dict[str, Any]:
    events = _services(request).deployments.history(
        (env or "").strip() or None, (model or "").strip() or None, limit
    )
    return {"events": [event_json(e) for e in events]}


@router.post("/deployments")
def deploy(request: Request, body: DeployIn) -> dict[str, Any]:
    """Deploy ``model`` ``version`` to ``env`` as the caller (a deployer)."""
    with _body_fields():
        done = _services(request).deployments.deploy(
            body.model,
            body.version,
            body.env,
            request.state.user,
            strategy=body.strategy,
            percent=body.percent,
            reason=body.reason,
        )
    return {"deployment": deployment_json(done)}


@router.post("/deployments/promote")
def promote(request: Request, body: PromoteIn) -> dict[str, Any]:
    """The next canary step (or ``percent``); shadow and blue/green switch to the candidate."""
    with _body_fields():
        done = _services(request).deployments.promote(
            body.env, request.state.user, model=body.model, percent=body.percent, reason=body.reason
        )
    return {"deployment": deployment_json(done)}


@router.post("/deployments/rollback")
def rollback(request: Request, body: RollbackIn) -> dict[str, Any]:
    """Drop the rolling-out candidate, else go back to the previous live version."""
    with _body_fields():
        done = _services(request).deployments.rollback(
            body.env, request.state.user, model=body.model, reason=body.reason
        )
    return {"deployment": deployment_json(done)}


@router.get("/deployments/figures")
def figures(
    request: Request,
    env: str = Query(description="The environment."),
    model: str | None = Query(None, description="Needed when the env serves several."),
    since: Annotated[Int64 | None, Query(description="Epoch ms (default: the last hour).")] = None,
    step: Annotated[
        Int64 | None, Query(description="Chart bucket in ms (default: ~60 points).")
    ] = None,
) -> dict[str, Any]:
    """Serving figures per version and role since ``since``, and a time series for charts."""
    from shipyard.services.deployments.figures import series

    svc = _services(request)
    env = check_environment(env)
    with _body_fields():
        model = check_model_name(model) if model else svc.deployments.get(env).model
    now = now_ms()
    start = now - HOUR_MS if since is None else since
    if start < 0 or start > now:
        raise ValidationError(f"since must be epoch ms in the past, got {since}", field="since")
    width = step if step is not None else max(1000, (now - start) // 60)
    if width < 1000:
        raise ValidationError(f"step must be at least 1000 ms, got {step}", field="step")
    by_version = svc.figures.by_version(env, model, start)
    rows = svc.figures.rows(env, model, start)
    versions = [
        {"version": version, "role": role, **fig}
        for (version, role), fig in sorted(by_version.items())
    ]
    return {
        "environment": env,
        "model": model,
        "since": start,
        "step": width,
        "versions": versions,
        "series": series(rows, width),
    }
