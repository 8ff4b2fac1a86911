"""Shapes shared by the feedback surfaces: times as callers write them (epoch ms, ISO 8601,
or a duration back from now such as ``1h``) and the receipt and realized metrics as JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shipyard.core.errors import ValidationError
from shipyard.core.monitor_policy import duration_ms
from shipyard.core.validation import check_int

__all__ = ["parse_time", "realized_json", "receipt_json"]


def parse_time(value: str | int | None, field: str, now: int) -> int | None:
    """Epoch ms (``1718000000000``), an ISO time (``2026-01-31T12:00:00Z``, UTC when no zone
    is given) or a duration before ``now`` (``30m``, ``1h``, ``7d``); None stays None."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.isascii() and text.isdecimal():
        return check_int(text, field, low=0)
    back = duration_ms(text)
    if back is not None:
        return check_int(now - back, field, low=0)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{field} {text!r} is not a time: give epoch ms, an ISO time like "
            "2026-01-31T12:00:00Z, or a duration back from now like 1h or 7d",
            field=field,
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1000)


def receipt_json(receipt: Any) -> dict[str, Any]:
    return dict(receipt.to_dict())


def realized_json(realized: Any) -> dict[str, Any]:
    return dict(realized.to_dict())
