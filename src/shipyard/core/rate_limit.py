"""Rate limits: ``N/s``, ``N/min`` or ``N/h`` parsed once, enforced as a token bucket per
client key (a burst of up to N requests, refilled at N per period)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from shipyard.core.errors import ValidationError

__all__ = ["Rate", "TokenBuckets", "parse_rate", "retry_after_header"]

_PERIODS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}
_PERIODS |= {"h": 3600.0, "hour": 3600.0}
_MAX_COUNT = 1_000_000


@dataclass(frozen=True)
class Rate:
    count: int  # requests allowed per period (and the largest burst)
    period_s: float

    def __str__(self) -> str:
        unit = {1.0: "s", 60.0: "min", 3600.0: "h"}[self.period_s]
        return f"{self.count}/{unit}"


def parse_rate(text: str, field: str = "rate_limit", label: str = "rate_limit") -> Rate:
    """``"10/s"`` → Rate(10, 1.0); ``"600/min"`` → Rate(600, 60.0); a clear error otherwise
    (naming ``label``, e.g. the command-line option)."""
    count, _, unit = text.strip().lower().partition("/")
    count, unit = count.strip(), unit.strip()
    if not (count.isascii() and count.isdigit()) or unit not in _PERIODS:
        raise ValidationError(
            f"{label} must look like 10/s, 600/min or 5000/h (requests per period), got {text!r}",
            field=field,
        )
    n = int(count)
    if not 1 <= n <= _MAX_COUNT:
        raise ValidationError(
            f"{label} must allow 1 to {_MAX_COUNT:,} requests per period, got {n}", field=field
        )
    return Rate(n, _PERIODS[unit])


class TokenBuckets:
    """One bucket per key, full at first sight; ``take`` spends one request or says how long
    to wait. Keys whose bucket has refilled are forgotten when the table grows large, so a
    flood of distinct keys cannot exhaust memory."""

    def __init__(self, rate: Rate, clock: Callable[[], float], max_keys: int = 100_000) -> None:
        self.capacity = float(rate.count)
        self.per_s = rate.count / rate.period_s
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, at)

    def take(self, key: str) -> float | None:
        """None when the request may go ahead (one is spent), else seconds until it may."""
        now = self.clock()
        tokens, at = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.per_s)
        if tokens >= 1.0 - 1e-9:  # float sums of refills fall a hair short of whole
            if key not in self._buckets and len(self._buckets) >= self.max_keys:
                self._forget_full(now)
            self._buckets[key] = (tokens - 1.0, now)
            return None
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.per_s

    def refund(self, key: str) -> None:
        """Give back the request ``take`` spent (it turned out to belong to another key)."""
        found = self._buckets.get(key)
        if found is not None:
            self._buckets[key] = (min(self.capacity, found[0] + 1.0), found[1])

    def _forget_full(self, now: float) -> None:
        full = [
            k
            for k, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.per_s >= self.capacity
        ]
        for k in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[k]


def retry_after_header(wait_s: float) -> str:
    """Whole seconds for ``Retry-After`` (at least 1: 0 would invite an immediate retry)."""
    return str(max(1, math.ceil(wait_s)))
