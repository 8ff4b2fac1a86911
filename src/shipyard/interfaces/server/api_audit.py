"""REST API of the audit trail under /api/v1: the entries (newest first, optionally of one
object) and the verification of their hash chain.

Reading the trail is a read like any other: the server's middleware asks for at least the
viewer role on every GET under /api/.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from shipyard.interfaces.http.params import Int64
from shipyard.interfaces.presenters.audit import DEFAULT_LIMIT, entry_json, report_json

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["audit"])


def _audit(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.services.audit


@router.get("/audit")
def list_audit_entries(
    request: Request,
    obj: str | None = Query(
        None,
        alias="object",
        description="Only this object: run:<id>, dataset:<name>, user:<name> or a bare id.",
    ),
    limit: Annotated[
        Int64, Query(description="How many entries, newest first (1..100000).")
    ] = DEFAULT_LIMIT,
) -> dict[str, Any]:
    entries = _audit(request).log((obj or "").strip() or None, limit)
    return {"entries": [entry_json(e) for e in entries]}


@router.get("/audit/verify")
def verify_audit_chain(request: Request) -> dict[str, Any]:
    return report_json(_audit(request).verify())
