"""REST API of the model registry under /api/v1: find models, read their versions, move an
alias, archive a version, approve or reject a gated version.

Logging a model is not offered over HTTP: the SDK packages and registers it against the
shared stores itself. Reads need the viewer role and writes the contributor role (the
server's middleware); the acting user of a write is the caller, recorded in the audit trail.
Approving and rejecting further need an approver who neither authored the version nor ran
its training (separation of duties, ``registry.approvals``); overriding failed gates needs
an admin and is flagged.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from shipyard.core.errors import ValidationError
from shipyard.core.models import (
    ModelRef,
    check_alias,
    check_model_name,
)
from shipyard.interfaces.http.params import Count, Offset
from shipyard.interfaces.presenters.models import MAX_REASON, model_json, version_json, version_ref

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["models"])


class AliasIn(BaseModel):
    version: StrictInt = Field(ge=1, description="The version number the alias points at.")
    reason: StrictStr = Field("", max_length=MAX_REASON, description="Kept in the audit trail.")


class ArchiveIn(BaseModel):
    reason: StrictStr = Field("", max_length=MAX_REASON, description="Kept in the audit trail.")


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: StrictStr = Field(
        max_length=MAX_REASON, description="Why (required, kept in the audit trail)."
    )


class ApproveIn(RejectIn):
    override: StrictBool = Field(
        False, description="Approve although the gates failed (admin only; flagged)."
    )


def _registry(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.services.registry


@router.get("/models")
def list_models(
    request: Request,
    search: str | None = Query(
        None, description="Only models whose name or a tag contains this text (or key=value)."
    ),
    limit: Annotated[Count, Query(le=10_000)] = 100,
    offset: Annotated[Offset, Query()] = 0,
    cursor: str | None = Query(None, description="The next_cursor of the previous page."),
) -> dict[str, Any]:
    page = _registry(request).page_models(search, cursor=cursor or None, limit=limit, offset=offset)
    return {
        "models": [model_json(m) for m in page.items],
        "next_cursor": page.next_cursor,
        "total": page.total,
    }


@router.get("/models/{name}")
def get_model(request: Request, name: str) -> dict[str, Any]:
    registry = _registry(request)
    model = registry.get_model(check_model_name(name))
    versions = registry.versions(name)
    return {"model": model_json(model), "versions": [version_json(v) for v in versions]}


@router.get("/models/{name}/versions/{version}")
def get_version(request: Request, name: str, version: str) -> dict[str, Any]:
    return {"version": version_json(_registry(request).get_version(version_ref(name, version)))}


@router.put("/models/{name}/aliases/{alias}")
def set_alias(
    request: Request, name: str, alias: str, body: AliasIn | None = None
) -> dict[str, Any]:
    check_model_name(name)
    check_alias(alias)
    if body is None:
        raise ValidationError(
            'a JSON body {"version": N, "reason": "..."} is required', field="version"
        )
    target = ModelRef(name, version=body.version)
    try:
        moved = _registry(request).set_alias(
            target, alias, user=request.state.user.name, reason=body.reason
        )
    except ValidationError as e:  # e.g. the version is archived: the body's version is at fault
        raise ValidationError(e.message, field="version" if e.field == "ref" else e.field) from e
    return {"version": version_json(moved)}


@router.post("/models/{name}/versions/{version}/archive")
def archive_version(
    request: Request, name: str, version: str, body: ArchiveIn | None = None
) -> dict[str, Any]:
    ref = version_ref(name, version)
    reason = body.reason if body is not None else ""
    archived = _registry(request).archive(ref, user=request.state.user.name, reason=reason)
    return {"version": version_json(archived)}


def _decide(
    request: Request, name: str, version: str, body: RejectIn | None, *, approve: bool
) -> dict[str, Any]:
    ref = version_ref(name, version)
    if body is None:
        raise ValidationError('a JSON body {"reason": "..."} is required', field="reason")
    decided = _registry(request).decide(
        ref,
        request.state.user,
        approve=approve,
        reason=body.reason,
        override=isinstance(body, ApproveIn) and body.override,
    )
    return {"version": version_json(decided)}


@router.post("/models/{name}/versions/{version}/approve")
def approve_version(
    request: Request, name: str, version: str, body: ApproveIn | None = None
) -> dict[str, Any]:
    """Approve a gated version as the caller: an approver other than its author and trainers;
    a version whose gates failed needs ``override`` (admin) and is flagged ``OVERRIDE:``."""
    return _decide(request, name, version, body, approve=True)


@router.post("/models/{name}/versions/{version}/reject")
def reject_version(
    request: Request, name: str, version: str, body: RejectIn | None = None
) -> dict[str, Any]:
    """Reject a gated version as the caller (same separation of duties as approving)."""
    return _decide(request, name, version, body, approve=False)
