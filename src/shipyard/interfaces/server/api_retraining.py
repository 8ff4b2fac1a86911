"""REST API of continuous training under /api/v1: start (or dry-run, or resume) a model's
retraining, and list the runs.

Reads need the viewer role; starting a retraining needs a deployer, since the loop may
deploy what it trains (within the release policy and the approval rules).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from shipyard.core.permissions import Action
from shipyard.interfaces.http.auth import require
from shipyard.interfaces.presenters.retraining import run_json, started_json

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["retraining"])


class RetrainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: StrictBool = Field(default=False, description="Only say what would run and why.")
    resume: StrictBool = Field(
        default=False, description="Continue the last failed or stalled run."
    )


def _retraining(request: Request) -> Any:
    return request.app.state.services.retraining


@router.post("/retraining/{model}")
def retrain(request: Request, model: str, body: RetrainIn | None = None) -> dict[str, Any]:
    """Retrain ``model`` by its ``[retrain.<model>]`` policy as the caller (a deployer)."""
    user = require(request, Action.RETRAIN)
    chosen = body or RetrainIn()
    service = _retraining(request)
    if chosen.dry_run:
        return {"plan": service.plan(model, user=user.name)}
    if chosen.resume:
        return {
            "event": "resumed",
            "reason": "",
            "run": run_json(service.resume(model, user=user.name)),
        }
    return started_json(service.retrain(model, user=user.name, kind="api"))


@router.get("/retraining")
def list_runs(
    request: Request,
    limit: int = Query(50, ge=1, le=1000, description="How many runs per page, newest first."),
    cursor: str | None = Query(None, description="The next_cursor of the previous page."),
) -> dict[str, Any]:
    return _page(_retraining(request).runs(None, cursor, limit))


@router.get("/retraining/{model}")
def list_model_runs(
    request: Request,
    model: str,
    limit: int = Query(50, ge=1, le=1000, description="How many runs per page, newest first."),
    cursor: str | None = Query(None, description="The next_cursor of the previous page."),
) -> dict[str, Any]:
    service = _retraining(request)
    service.policy(model)  # 404 naming the missing policy
    return _page(service.runs(model, cursor, limit))


def _page(page: Any) -> dict[str, Any]:
    return {
        "runs": [run_json(r) for r in page.items],
        "next_cursor": page.next_cursor,
        "total": page.total,
    }
