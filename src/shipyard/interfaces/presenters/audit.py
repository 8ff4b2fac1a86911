"""Audit entries and the chain's verdict as JSON."""

from __future__ import annotations

import json
from typing import Any

from shipyard.core.audit import AuditEntry, ChainReport

__all__ = ["DEFAULT_LIMIT", "entry_json", "parsed_payload", "report_json"]


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
    return {
        "ok": r.ok,
        "checked": r.checked,
        "broken_seq": r.broken_seq,
        "reason": r.reason,
        "since": r.since,  # entries up to it were verified before (a checkpoint), not re-walked
    }
