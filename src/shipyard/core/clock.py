"""Time as Shipyard stores it: integer epoch milliseconds, shown in UTC."""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["format_ms", "now_ms"]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def format_ms(ms: int | None) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC; ``-`` for a missing time."""
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
