"""What the experiment, run and compare pages show beyond the stored run: params to 6
significant digits, human sizes, each metric's final/min/max, child runs nested under their
parent (pipeline steps, sweep trials), and a cache hit shown with its source's values."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shipyard.core.errors import ShipyardError

__all__ = [
    "RunRow",
    "cache_source",
    "differing",
    "fmt_param",
    "human_size",
    "metric_stats",
    "nest_runs",
    "with_cache_sources",
]

CACHE_SOURCE = "shipyard.cache.source"
PIPELINE_RUN = "shipyard.pipeline.run"


def fmt_param(value: Any) -> str:
    """A param as logged, but a long float to 6 significant digits (``0.1 + 0.2`` → 0.3)."""
    text = str(value)
    if not any(c in text for c in ".eE") or text.strip().lower() in ("nan", "inf", "-inf"):
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    return f"{number:.6g}" if math.isfinite(number) else text


def human_size(size: Any) -> str:
    """``512 B``, ``1.5 KB``, ``12.3 MB`` (powers of 1024); a dash when unknown."""
    if not isinstance(size, int | float) or isinstance(size, bool) or size < 0:
        return "\u2013"
    if size < 1024:
        return f"{int(size)} B"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{value:.0f} TB"  # pragma: no cover - the loop returns


def metric_stats(tracking: Any, run: Any) -> list[dict[str, Any]]:
    """Per metric key: the final value, min and max over the history, and the step count."""
    out = []
    for key in sorted(run.metrics):
        history = tracking.metric_history(run.run_id, key)
        values = [m.value for m in history if math.isfinite(m.value)]
        final = run.metrics[key]
        out.append(
            {
                "key": key,
                "final": final.value,
                "step": final.step,
                "min": min(values) if values else None,
                "max": max(values) if values else None,
                "count": len(history),
            }
        )
    return out


def differing(runs: Sequence[Any], keys: Sequence[str]) -> set[str]:
    """The param keys whose value is not the same in every run (missing counts as a value)."""
    return {k for k in keys if len({r.params.get(k) for r in runs}) > 1}


@dataclass
class RunRow:
    """One row of the runs table: the run, the values shown, and its nested children."""

    run: Any
    params: dict[str, str]
    metrics: dict[str, float]
    cached_from: str | None = None
    children: list[RunRow] = field(default_factory=list)
    depth: int = 0


def with_cache_sources(tracking: Any, runs: Sequence[Any]) -> list[RunRow]:
    """A row per run; a cache hit (no params or metrics of its own) shows its source's."""
    rows = []
    sources: dict[str, Any] = {}
    for r in runs:
        source_id = r.tags.get(CACHE_SOURCE)
        params = dict(r.params)
        metrics = {k: m.value for k, m in r.metrics.items()}
        if source_id and not params and not metrics:
            if source_id not in sources:
                try:
                    sources[source_id] = tracking.get_run(source_id)
                except ShipyardError:
                    sources[source_id] = None
            src = sources[source_id]
            if src is not None:
                params = dict(src.params)
                metrics = {k: m.value for k, m in src.metrics.items()}
        rows.append(RunRow(r, params, metrics, source_id))
    return rows


def cache_source(tracking: Any, run: Any) -> Any | None:
    """The run a cache hit reused (it logs no params or metrics of its own), else None."""
    source_id = run.tags.get(CACHE_SOURCE)
    if not source_id or run.params or run.metrics:
        return None
    try:
        return tracking.get_run(source_id)
    except ShipyardError:
        return None


def _parent_of(run: Any) -> str | None:
    return (
        run.info.parent_run_id or run.tags.get(PIPELINE_RUN) or run.tags.get("mlflow.parentRunId")
    )


def nest_runs(rows: Sequence[RunRow], *, chronological: bool = False) -> list[RunRow]:
    """Rows in display order: each parent followed by its children (depth + 1), children
    whose parent is not among ``rows`` stay at the top level. ``chronological`` lists each
    parent's children oldest first (a pipeline's steps in the order they ran), else children
    keep the order of ``rows`` (the table's sort)."""
    by_id = {row.run.run_id: row for row in rows}
    top: list[RunRow] = []
    for row in rows:
        parent = _parent_of(row.run)
        if parent and parent in by_id and parent != row.run.run_id:
            by_id[parent].children.append(row)
        else:
            top.append(row)
    if chronological:
        for row in rows:
            row.children.sort(key=lambda c: (c.run.info.start_time, c.run.info.run_name))
    out: list[RunRow] = []

    def walk(row: RunRow, depth: int, seen: frozenset[str]) -> None:
        row.depth = depth
        out.append(row)
        for child in row.children:
            if child.run.run_id not in seen:
                walk(child, depth + 1, seen | {child.run.run_id})

    for row in top:
        walk(row, 0, frozenset({row.run.run_id}))
    return out
