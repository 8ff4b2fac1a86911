"""Keyset paging shared by the services' listings: a page of items with an opaque cursor to
the next one and the total, the cursor's encoding, and the limit's bounds."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from shipyard.core.errors import ValidationError

__all__ = [
    "MAX_AUDIT_PAGE",
    "MAX_OFFSET",
    "MAX_PAGE",
    "MAX_WIDE_PAGE",
    "Page",
    "check_limit",
    "check_offset",
    "decode_cursor",
    "encode_cursor",
]

MAX_PAGE = 1000
MAX_OFFSET = 10_000_000
MAX_WIDE_PAGE = 10_000  # models and datasets per page (their REST APIs always allowed it)
MAX_AUDIT_PAGE = 100_000  # audit entries per page (the audit API always allowed it)


@dataclass(frozen=True)
class Page:
    """One page of a listing: the items, the cursor of the next page (None at the end) and
    how many items match in all."""

    items: list[Any]
    next_cursor: str | None
    total: int


def encode_cursor(key: str, value: object) -> str:
    """The opaque cursor that resumes a listing after (or before) ``value`` of ``key``."""
    return base64.urlsafe_b64encode(json.dumps({key: value}).encode()).decode()


def decode_cursor(cursor: str | None, key: str, kind: type) -> Any:
    """The ``key`` value a cursor carries (None without a cursor); a cursor that was not made
    by ``encode_cursor``, or whose integer a 64-bit column cannot hold, is a clear 400."""
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))[key]
    except (ValueError, KeyError, TypeError):
        value = None
    out_of_range = isinstance(value, int) and not -(2**63) <= value < 2**63  # a BIGINT
    if not isinstance(value, kind) or isinstance(value, bool) or out_of_range:
        raise ValidationError(
            f"cursor {cursor!r} is not valid; pass the next_cursor of the previous page",
            field="cursor",
        )
    return value


def check_limit(limit: int, most: int = MAX_PAGE) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= most:
        raise ValidationError(f"limit must be 1..{most}; got {limit!r}", field="limit")
    return limit


def check_offset(offset: int) -> int:
    """How many items to skip: 0..MAX_OFFSET (a keyset cursor is the cheap way further)."""
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise ValidationError(f"offset must be 0..{MAX_OFFSET}; got {offset!r}", field="offset")
    return offset
