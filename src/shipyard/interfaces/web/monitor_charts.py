"""Chart data of the monitoring pages, drawn by ``static/charts.js``: a heatmap of drift per
feature over the computed windows, lines of ``drift_share`` and of the estimated and realized
metrics over time (with their confidence bands when the figures carry ``.lower``/``.upper``),
and the reference profile's bins next to the shares of a window's logged values as bars.

Windows come newest first from the alert service; every chart here runs oldest first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from shipyard.core.alerts import MonitorWindow, WindowStatus
from shipyard.core.clock import format_ms
from shipyard.core.profiles import CategoricalProfile, ColumnProfile, NumericProfile
from shipyard.interfaces.web.charts import Chart, Series, finite

__all__ = [
    "BAND_SUFFIXES",
    "METRIC_PREFIXES",
    "OTHER",
    "bin_labels",
    "current_counts",
    "current_shares",
    "distribution_chart",
    "drift_columns",
    "drift_heatmap",
    "drift_share_chart",
    "metric_chart",
    "metric_names",
    "most_drifted",
]

METRIC_PREFIXES = ("estimated.", "realized.")
BAND_SUFFIXES = (".lower", ".upper")
OTHER = "(other)"  # categories beyond the profile's top k, and unseen ones


def _computed(windows: Iterable[MonitorWindow]) -> list[MonitorWindow]:
    """The computed windows, oldest first (not-enough-data windows judge nothing)."""
    kept = [w for w in windows if w.status is WindowStatus.COMPUTED]
    return sorted(kept, key=lambda w: w.start)


def _value(figures: Mapping[str, float], key: str) -> float | None:
    value = figures.get(key)
    return finite(float(value)) if isinstance(value, int | float) else None


def drift_columns(figures: Mapping[str, float]) -> dict[str, float]:
    """``drift.<column>`` figures of one window by column (finite values only)."""
    out = {}
    for key in figures:
        if key.startswith("drift.") and (value := _value(figures, key)) is not None:
            out[key.removeprefix("drift.")] = value
    return out


def most_drifted(figures: Mapping[str, float]) -> tuple[str, float] | None:
    """The column with the highest drift value in a window, or None without drift figures."""
    found = drift_columns(figures)
    if not found:
        return None
    column = max(sorted(found), key=lambda c: found[c])
    return column, found[column]


def drift_heatmap(windows: Sequence[MonitorWindow]) -> dict[str, Any]:
    """x = window (oldest first), y = column, one cell per ``drift.<column>`` figure."""
    kept = [w for w in _computed(windows) if drift_columns(w.figures)]
    columns = sorted({c for w in kept for c in drift_columns(w.figures)})
    row_of = {c: i for i, c in enumerate(columns)}
    cells = [
        [x, row_of[c], value]
        for x, w in enumerate(kept)
        for c, value in sorted(drift_columns(w.figures).items())
    ]
    top = max((cell[2] for cell in cells), default=0.0)
    return {
        "kind": "heatmap",
        "title": "drift per feature",
        "windows": [w.start for w in kept],
        "labels": [format_ms(w.start)[:16] for w in kept],
        "columns": columns,
        "cells": cells,
        "max": top if top > 0 else 1.0,
        "empty": "" if cells else "no window has drift figures yet",
    }


def drift_share_chart(windows: Sequence[MonitorWindow]) -> dict[str, Any]:
    """The share of drifted features per window, on a time axis (window start)."""
    points = [(w.start, _value(w.figures, "drift_share")) for w in _computed(windows)]
    drawn = any(y is not None for _, y in points)
    chart = Chart(
        "share of drifted features",
        "time",
        [Series("drift_share", points)] if drawn else [],
        y_min=0.0,
        empty="" if drawn else "no window has a drift_share figure yet",
    )
    return chart.to_dict()


def metric_names(windows: Iterable[MonitorWindow]) -> list[str]:
    """``estimated.<m>`` and ``realized.<m>`` figures found in the windows (bands apart)."""
    return sorted(
        {
            key
            for w in windows
            for key in w.figures
            if key.startswith(METRIC_PREFIXES) and not key.endswith(BAND_SUFFIXES)
        }
    )


def metric_chart(windows: Sequence[MonitorWindow]) -> dict[str, Any]:
    """One line per estimated / realized metric; a band for each estimate with bounds."""
    kept = _computed(windows)
    names = metric_names(kept)
    series = [Series(n, [(w.start, _value(w.figures, n)) for w in kept]) for n in names]
    drawn = [s for s in series if any(y is not None for _, y in s.points)]
    chart = Chart(
        "estimated and realized performance",
        "time",
        drawn,
        empty="" if drawn else "no window has estimated or realized metrics",
    ).to_dict()
    chart["bands"] = [band for n in names if (band := _band(n, kept))]
    return chart


def _band(name: str, windows: Sequence[MonitorWindow]) -> dict[str, Any] | None:
    points = []
    for w in windows:
        lower, upper = (_value(w.figures, name + s) for s in BAND_SUFFIXES)
        if lower is not None and upper is not None:
            points.append([w.start, min(lower, upper), max(lower, upper)])
    return {"name": f"{name} band", "of": name, "points": points} if points else None


# ---------------------------------------------------------------- distribution
def _edge(value: float) -> str:
    return f"{value:.4g}"


def bin_labels(col: ColumnProfile) -> list[str]:
    """The reference's bins: numeric ``(edges[i-1], edges[i]]`` with open ends, or the
    kept categories and one bucket for the rest."""
    if isinstance(col, CategoricalProfile):
        return [*col.categories, OTHER]
    edges = col.edges
    if not edges:
        return ["all values"]
    inner = [f"({_edge(a)}, {_edge(b)}]" for a, b in pairwise(edges)]
    return [f"≤ {_edge(edges[0])}", *inner, f"> {_edge(edges[-1])}"]


def _reference_counts(col: ColumnProfile) -> list[int]:
    if isinstance(col, CategoricalProfile):
        return [*col.categories.values(), col.other]
    return list(col.counts) if col.edges else [col.n]


def current_counts(col: ColumnProfile, values: Any) -> tuple[list[int], int]:
    """How many of ``values`` fall in each of the reference's bins, and how many are missing
    (None, NaN, ±inf for numbers)."""
    if isinstance(col, NumericProfile):
        x = _floats(values)
        ok = x[np.isfinite(x)]
        # a value v belongs to bin i when edges[i-1] < v <= edges[i]
        at = np.searchsorted(np.asarray(col.edges, dtype=np.float64), ok, side="left")
        binned = np.bincount(at, minlength=len(col.edges) + 1)
        return [int(c) for c in binned], int(x.size - ok.size)
    index = {name: i for i, name in enumerate(col.categories)}
    counts = [0] * (len(index) + 1)
    missing = 0
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            missing += 1
        else:
            counts[index.get(str(v), len(index))] += 1
    return counts, missing


def _floats(values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values.astype(np.float64, copy=False)
    return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)


def _shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def current_shares(col: ColumnProfile, values: Any) -> list[float]:
    """The share of the non-missing ``values`` in each of the reference's bins."""
    return _shares(current_counts(col, values)[0])


def distribution_chart(
    feature: str, col: ColumnProfile, values: Any, window: str
) -> dict[str, Any]:
    """Reference vs current shares per bin of ``feature`` (``values`` None: no window)."""
    reference = _reference_counts(col)
    series = [{"name": "reference", "values": _shares(reference), "counts": reference}]
    note = f"reference: {col.n} values, {col.missing} missing"
    if values is not None:
        counts, missing = current_counts(col, values)
        if sum(counts):
            series.append({"name": "current", "values": _shares(counts), "counts": counts})
        note += f"; current ({window}): {sum(counts)} values, {missing} missing"
        if not sum(counts):
            note += f" (no logged value of {feature} to compare)"
    return {
        "kind": "bar",
        "title": f"{feature}: reference vs current",
        "unit": "share",
        "categories": bin_labels(col),
        "series": series,
        "note": note,
        "empty": "" if col.n else f"the reference has no values of {feature}",
    }
