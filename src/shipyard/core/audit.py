"""The audit ledger as data: entries chained by hash, and checking the chain.

Each entry's hash covers its own fields and the previous entry's hash, so editing,
removing or reordering any entry breaks every later link; the head (last sequence number
and hash, kept apart) catches a cut-off tail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["GENESIS", "AuditEntry", "ChainReport", "entry_hash", "payload_hash", "verify_chain"]

GENESIS = "0" * 64


def payload_hash(payload: Mapping[str, object] | None) -> str:
    """SHA-256 of the payload's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(payload or {}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: int  # ms since the epoch
    actor: str
    action: str  # e.g. "run.create", "dataset.alias", "user.add"
    object_type: str
    object_id: str
    reason: str
    payload_hash: str
    prev_hash: str
    hash: str
    payload: str = ""  # the canonical payload JSON the hash covers


def entry_hash(
    prev_hash: str,
    seq: int,
    time: int,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    reason: str,
    payload_digest: str,
) -> str:
    fields = [prev_hash, seq, time, actor, action, object_type, object_id, reason, payload_digest]
    return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""


def _check(entry: AuditEntry, expected_seq: int, prev: str) -> str:
    if entry.seq != expected_seq:
        return f"entry {expected_seq} is missing (found {entry.seq} next)"
    if entry.prev_hash != prev:
        return "its link to the previous entry does not match (an entry before it changed)"
    if entry.payload and payload_hash(json.loads(entry.payload)) != entry.payload_hash:
        return "its payload does not match its payload hash"
    fields = (entry.actor, entry.action, entry.object_type, entry.object_id, entry.reason)
    if entry_hash(prev, entry.seq, entry.time, *fields, entry.payload_hash) != entry.hash:
        return "its content does not match its hash (it was edited)"
    return ""


def verify_chain(entries: Iterable[AuditEntry], head: tuple[int, str] | None) -> ChainReport:
    """Walk the entries in sequence order; report the first one that breaks the chain."""
    prev, expected, checked = GENESIS, 1, 0
    for entry in entries:
        problem = _check(entry, expected, prev)
        if problem:  # a gap is named by the entry that is missing
            return ChainReport(False, checked, min(entry.seq, expected), problem)
        prev, expected, checked = entry.hash, expected + 1, checked + 1
    head_seq, head_hash = head or (0, GENESIS)
    if head_seq != checked or head_hash != prev:
        return ChainReport(
            False,
            checked,
            checked + 1 if head_seq > checked else head_seq,
            f"the ledger head says {head_seq} entries ending in {head_hash[:12]}, the table "
            f"holds {checked} ending in {prev[:12]} (entries were removed or added outside "
            "Shipyard)",
        )
    return ChainReport(True, checked)
