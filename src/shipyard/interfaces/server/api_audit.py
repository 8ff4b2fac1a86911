"""REST API of the audit trail under /api/v1: the entries (newest first, optionally of one
object, of one kind (governance or bookkeeping) or matching a text; paged with a keyset
cursor or an offset, with the total) and the verification of their hash chain (all of it,
or incrementally from the verified checkpoint).

Reading the trail is a read like any other: the server's middleware asks for at least the
viewer role on every GET under /api/.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from shipyard.interfaces.http.params import Int64, Offset
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
    cursor: str | None = Query(None, description="The next_cursor of the previous page."),
    offset: Annotated[Offset, Query(description="How many entries to skip.")] = 0,
    q: str | None = Query(None, description="Only entries whose actor, action or id has this."),
    kind: str | None = Query(
        None,
        description="governance (gates, approvals, rejections, statuses, aliases, deployments, "
        "users and tokens, retraining), bookkeeping (everything else) or all (the default).",
    ),
) -> dict[str, Any]:
    page = _audit(request).page(
        (obj or "").strip() or None,
        text=q,
        cursor=cursor or None,
        limit=limit,
        offset=offset,
        kind=kind,
    )
    return {
        "entries": [entry_json(e) for e in page.items],
        "next_cursor": page.next_cursor,
        "total": page.total,
    }


@router.get("/audit/verify")
def verify_audit_chain(
    request: Request,
    full: bool = Query(
        True, description="Walk the whole chain (false: only the entries after the checkpoint)."
    ),
) -> dict[str, Any]:
    return report_json(_audit(request).verify(full=full))
