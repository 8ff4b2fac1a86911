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

__all__ = [
    "GENESIS",
    "ROW_COLUMNS",
    "AuditEntry",
    "ChainReport",
    "canonical_payload",
    "entry_hash",
    "payload_hash",
    "verify_chain",
]

GENESIS = "0" * 64


def canonical_payload(payload: Mapping[str, object] | None) -> str:
    """The payload as stored: canonical JSON (sorted keys, no spaces)."""
    return json.dumps(payload or {}, sort_keys=True, separators=(",", ":"), default=str)


def payload_hash(text: str) -> str:
    """SHA-256 of the stored payload text."""
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
    """SHA-256 over the previous hash and every field, each length-prefixed (unambiguous)."""
    fields = (
        prev_hash,
        str(seq),
        str(time),
        actor,
        action,
        object_type,
        object_id,
        reason,
        payload_digest,
    )
    return hashlib.sha256("".join(f"{len(f)}:{f}" for f in fields).encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""
    since: int = 0  # entries up to this seq were verified before (a checkpoint), not re-walked


# A ledger row as the store streams it, in this column order.
Row = tuple[int, int, str, str, str, str, str, str, str, str, str]
ROW_COLUMNS = (
    "seq",
    "time",
    "actor",
    "action",
    "object_type",
    "object_id",
    "reason",
    "payload_json",
    "payload_hash",
    "prev_hash",
    "hash",
)


def _check(row: Row, expected_seq: int, prev: str) -> str:
    seq, time, actor, action, otype, oid, reason, payload, digest, prev_hash, own = row
    if seq != expected_seq:
        return f"entry {expected_seq} is missing (found {seq} next)"
    if prev_hash != prev:
        return "its link to the previous entry does not match (an entry before it changed)"
    if hashlib.sha256(payload.encode()).hexdigest() != digest:
        return "its payload does not match its payload hash"
    if entry_hash(prev, seq, time, actor, action, otype, oid, reason, digest) != own:
        return "its content does not match its hash (it was edited)"
    return ""


def verify_chain(
    rows: Iterable[Row], head: tuple[int, str] | None, start: tuple[int, str] = (0, GENESIS)
) -> ChainReport:
    """Walk the rows in sequence order; report the first one that breaks the chain.

    ``start`` is a verified (seq, hash) the rows continue from (a checkpoint): the walk
    expects the entry after it, linked to its hash, and ``checked`` counts from its seq.
    """
    checked, prev = start
    expected = checked + 1
    for row in rows:
        problem = _check(row, expected, prev)
        if problem:  # a gap is named by the entry that is missing
            return ChainReport(False, checked, min(row[0], expected), problem, start[0])
        prev, expected, checked = row[10], expected + 1, checked + 1
    head_seq, head_hash = head or (0, GENESIS)
    if head_seq != checked or head_hash != prev:
        return ChainReport(
            False,
            checked,
            checked + 1 if head_seq > checked else head_seq,
            f"the ledger head says {head_seq} entries ending in {head_hash[:12]}, the table "
            f"holds {checked} ending in {prev[:12]} (entries were removed or added outside "
            "Shipyard)",
            start[0],
        )
    return ChainReport(True, checked, since=start[0])
