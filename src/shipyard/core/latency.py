"""Latency histograms: fixed bucket bounds shared by /metrics, the stats table and the UI."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence

__all__ = ["BOUNDS_MS", "bucket_of", "merge", "quantile"]

# Upper bounds in milliseconds; the last bucket (+Inf) catches the rest.
BOUNDS_MS: tuple[float, ...] = (
    0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 250, 500,
    1000, 2500, 5000, 10000,
)  # fmt: skip


def bucket_of(ms: float) -> int:
    return bisect_left(BOUNDS_MS, ms)


def merge(histograms: Iterable[Sequence[int]]) -> list[int]:
    out = [0] * (len(BOUNDS_MS) + 1)
    for h in histograms:
        for i, n in enumerate(h[: len(out)]):
            out[i] += n
    return out


def quantile(buckets: Sequence[int], q: float) -> float | None:
    """The ``q`` quantile, interpolated inside its bucket (None when empty)."""
    total = sum(buckets)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(buckets):
        if n and seen + n >= rank:
            lower = BOUNDS_MS[i - 1] if i > 0 else 0.0
            upper = BOUNDS_MS[i] if i < len(BOUNDS_MS) else BOUNDS_MS[-1] * 2
            return lower + (upper - lower) * max(0.0, rank - seen) / n
        seen += n
    return BOUNDS_MS[-1]
