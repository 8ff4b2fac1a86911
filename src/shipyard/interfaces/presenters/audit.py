"""Audit entries and the chain's verdict as JSON; an entry's evidence as readable text."""

from __future__ import annotations

import json
import math
from typing import Any

from shipyard.core.audit import AuditEntry, ChainReport

__all__ = [
    "DEFAULT_LIMIT",
    "compact_value",
    "entry_json",
    "evidence_pairs",
    "parsed_payload",
    "report_json",
]


DEFAULT_LIMIT = 100
MAX_VALUE = 200  # characters of one evidence value shown; the rest is in its title
MAX_ITEMS = 6  # items of a list shown before "… N more"
MAX_DEPTH = 2  # nesting shown before "{…N keys}"
EMPTY: tuple[Any, ...] = (None, "", {}, [])


def compact_value(value: Any, depth: int = 0) -> str:
    """A JSON value as short readable text: ``key: value`` pairs in braces for objects,
    fractions to 4 significant digits, true/false, a dash for null, never a Python repr;
    deep nesting and long lists are elided."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):  # as is: versions, counts, ids and times in ms alike
        return str(value)
    if isinstance(value, float):
        return str(value) if math.isnan(value) or math.isinf(value) else f"{value:.4g}"
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return f"{{…{len(value)} key{'' if len(value) == 1 else 's'}}}"
        pairs = (f"{k}: {compact_value(v, depth + 1)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, list):
        shown = [compact_value(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            shown.append(f"… {len(value) - MAX_ITEMS} more")
        return "[" + ", ".join(shown) + "]"
    return str(value)


def evidence_pairs(payload: Any) -> list[tuple[str, str, str]]:
    """An entry's payload as (key, text, full) rows, empty values left out: ``text`` is
    ``compact_value`` cut to ``MAX_VALUE`` characters; ``full`` is the whole value (JSON for
    an object or a list) where the text may elide some of it, else empty."""
    if not isinstance(payload, dict):
        return [] if payload in EMPTY else [("payload", *_cut(str(payload), str(payload)))]
    rows = []
    for key, value in payload.items():
        if value in EMPTY:
            continue
        whole = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else ""
        text, full = _cut(compact_value(value), whole or str(value))
        rows.append((str(key), text, whole or full))
    return rows


def _cut(text: str, whole: str) -> tuple[str, str]:
    if len(text) <= MAX_VALUE:
        return text, ""
    return text[: MAX_VALUE - 1] + "…", whole


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
