"""The environment page's charts: request rate, error rate and p50/p99 latency per version and
role over a window, on a time axis.

The window is cut into steps that end at the page's "now" (not at clock multiples of the
step), so every step is whole and the rate of each is requests / step seconds. The figures
table divides the same way over its last five minutes (``per_second``): the mean of the rate
points inside those minutes is the table's req/s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shipyard.interfaces.web.charts import Chart, Series
from shipyard.services.deployments.figures import summarize

__all__ = ["CHARTS", "figure_charts", "per_second", "steps"]

SEC = 1000
CHARTS = (  # (key, title, unit, scale)
    ("rate", "request rate (req/s)", "req/s", 1.0),
    ("error_rate", "error rate (%)", "%", 100.0),
    ("p50_ms", "p50 latency (ms)", "ms", 1.0),
    ("p99_ms", "p99 latency (ms)", "ms", 1.0),
)

Step = tuple[int, Mapping[str, Any] | None]  # (end time in ms, the step's figures or None)


def per_second(requests: int, span_ms: int) -> float:
    """Requests per second over ``span_ms``: the table and the rate chart both divide so."""
    return requests / (span_ms / SEC)


def steps(
    rows: Sequence[dict[str, Any]], now: int, span_ms: int, step_ms: int
) -> dict[str, list[Step]]:
    """Per ``v{version} {role}``: every step of the window, oldest first, with the figures of
    the rows flushed in it (``window_end`` in ``(end - step_ms, end]``); None when none were.
    A row flushed after ``now`` (a replica's clock ahead) counts in the newest step."""
    count = max(1, span_ms // step_ms)
    grouped: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for r in rows:
        back = max(0, (now - r["window_end"]) // step_ms)  # whole steps before now
        if back < count:
            label = f"v{r['version']} {r['role']}"
            grouped.setdefault(label, {}).setdefault(back, []).append(r)
    return {
        label: [
            (now - back * step_ms, summarize(found[back]) if back in found else None)
            for back in reversed(range(count))
        ]
        for label, found in sorted(grouped.items())
    }


def _value(key: str, fig: Mapping[str, Any] | None, step_ms: int, scale: float) -> float | None:
    if key == "rate":  # no rows in a step: nothing was answered, 0 req/s
        return per_second(fig["requests"] if fig else 0, step_ms)
    if not fig or not fig["requests"]:  # no requests, no error rate or latency: a gap
        return None
    return float(fig[key]) * scale


def figure_charts(
    rows: Sequence[dict[str, Any]], now: int, span_ms: int, step_ms: int
) -> dict[str, Chart]:
    """The four charts by key, one line per version and role."""
    by_label = steps(rows, now, span_ms, step_ms)
    charts = {}
    for key, title, unit, scale in CHARTS:
        lines = [
            Series(label, [(end, _value(key, fig, step_ms, scale)) for end, fig in points])
            for label, points in by_label.items()
        ]
        drawn = any(y is not None for s in lines for _, y in s.points)
        charts[key] = Chart(
            title, "time", lines, unit=unit, y_min=0.0, empty="" if drawn else "no requests"
        )
    return charts
