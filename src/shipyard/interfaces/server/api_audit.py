"""REST API of the audit trail under /api/v1: the entries (newest first, optionally of one
object) and the verification of their hash chain.

Reading the trail is a read like any other: the server's middleware asks for at least the
viewer role on every GET under /api/.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request

from shipyard.core.audit import AuditEntry, ChainReport

__all__ = ["entry_json", "parsed_payload", "report_json", "router"]

router = APIRouter(prefix="/api/v1", tags=["audit"])

DEFAULT_LIMIT = 100


def parsed_payload(text: str) -> Any:
    """The stored canonical JSON as an object; text that does not parse is returned as is
    (it can only come from a row edited outside Shipyard, which verify reports)."""
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return text


def entry_json(e: AuditEntry) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "time": e.time,
        "actor": e.actor,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "object": f"{e.object_type}:{e.object_id}",
        "reason": e.reason,
        "payload": parsed_payload(e.payload),
        "payload_hash": e.payload_hash,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def report_json(r: ChainReport) -> dict[str, Any]:
    return {"ok": r.ok, "checked": r.checked, "broken_seq": r.broken_seq, "reason": r.reason}


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
    limit: int = Query(DEFAULT_LIMIT, description="How many entries, newest first (1..100000)."),
) -> dict[str, Any]:
    entries = _audit(request).log((obj or "").strip() or None, limit)
    return {"entries": [entry_json(e) for e in entries]}


@router.get("/audit/verify")
def verify_audit_chain(request: Request) -> dict[str, Any]:
    return report_json(_audit(request).verify())
