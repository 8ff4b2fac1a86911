"""A table version's column distributions, drawn from the profile the catalog stored when the
version was registered (the data itself is never re-read to draw them).

Numeric columns: a histogram whose bins are the stored quantiles (min, 5 %, 25 %, 50 %, 75 %,
95 %, max); each bin holds the share of rows between its quantile levels, so its height (a
density) is that share over its width. Columns whose every distinct value was counted (at
most ``TOP_CATEGORIES`` of them, the ``top`` list) get exact bars instead, and so do
categorical columns (their top categories, the rest as "other"). Missing values are counted
beside each chart. Only the first ``MAX_COLUMNS`` columns are drawn, so a 1,000-column
version stays quick.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any
from urllib.parse import quote

from shipyard.core.datasets import DatasetVersion

__all__ = ["MAX_COLUMNS", "column_charts", "histogram_bins", "profile_href", "profile_specs"]

MAX_COLUMNS = 30
OTHER = "(other)"


def profile_href(version: DatasetVersion) -> str:
    """Where the version page's distribution charts come from."""
    return f"/ui/data/{quote(version.name, safe='')}/v/{version.version}/profile.json"


def histogram_bins(
    low: float, high: float, quantiles: Mapping[str, float | None]
) -> list[tuple[float, float, float]]:
    """``(left, right, share)`` bins between consecutive quantiles (``low`` and ``high`` are
    the 0 and 1 quantiles). A share whose bin has no width (tied quantiles: many equal
    values) joins the next bin of positive width, or the last one, so shares add up to 1."""
    levels = sorted((float(q), v) for q, v in quantiles.items() if v is not None)
    points = [(0.0, low), *[(q, v) for q, v in levels if 0.0 < q < 1.0], (1.0, high)]
    bins: list[tuple[float, float, float]] = []
    carried = 0.0
    for (q0, x0), (q1, x1) in pairwise(points):
        share = carried + (q1 - q0)
        if x1 > x0:
            bins.append((x0, x1, share))
            carried = 0.0
        else:
            carried = share
    if carried and bins:
        left, right, share = bins[-1]
        bins[-1] = (left, right, share + carried)
    return bins


def _histogram(title: str, prof: Mapping[str, Any]) -> dict[str, Any]:
    low, high = prof.get("min"), prof.get("max")
    quantiles = prof.get("quantiles") or {}
    bins = []
    if low is not None and high is not None:
        bins = histogram_bins(float(low), float(high), quantiles)
    points = [[left, share / (right - left)] for left, right, share in bins]
    if points:  # the last bin's right edge closes the step line
        points.append([bins[-1][1], points[-1][1]])
    return {
        "kind": "histogram",
        "title": title,
        "unit": "density",
        "points": points,
        "bins": [list(b) for b in bins],
        "empty": "" if bins else f"every value is {low}",
    }


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("inf")


def _bars(title: str, prof: Mapping[str, Any], numeric: bool) -> dict[str, Any]:
    top = [(str(k), int(n)) for k, n in prof.get("top") or []]
    if numeric:  # every value was counted: in the order of the numbers, not of the counts
        top.sort(key=lambda kv: _number(kv[0]))
    counted = sum(n for _, n in top)
    rest = int(prof.get("count", 0)) - counted
    if rest > 0:
        top.append((OTHER, rest))
    return {
        "kind": "bar",
        "title": title,
        "unit": "rows",
        "categories": [k for k, _ in top],
        "series": [{"name": "rows", "values": [n for _, n in top]}],
        "legend": False,  # one series: its unit names it
        "empty": "" if top else "no values",
    }


def _column_chart(name: str, prof: Mapping[str, Any]) -> dict[str, Any]:
    if prof.get("hidden"):
        return {"title": name, "empty": "personal data kept as it is: not profiled"}
    top = prof.get("top") or []
    counted_all = bool(top) and int(prof.get("distinct") or 0) <= len(top)
    if "quantiles" in prof and not counted_all:
        return _histogram(name, prof)
    if top:
        return _bars(name, prof, numeric="quantiles" in prof)
    return {"title": name, "empty": "no distribution in the profile"}


def column_charts(version: DatasetVersion) -> dict[str, dict[str, Any]]:
    """The charts of the first ``MAX_COLUMNS`` columns, keyed ``col-<index>``."""
    profiles = version.profile.get("columns")
    profiles = profiles if isinstance(profiles, dict) else {}
    rows = version.row_count or 0
    charts = {}
    for i, (name, _) in enumerate(version.columns[:MAX_COLUMNS]):
        prof = dict(profiles.get(name) or {})
        prof["count"] = rows - int(prof.get("nulls") or 0)
        charts[f"col-{i}"] = {"note": "", **_column_chart(name, prof)}
    return charts


def profile_specs(version: DatasetVersion) -> dict[str, Any]:
    """What the page needs: one element per drawn column, with its missing count."""
    profiles = version.profile.get("columns")
    profiles = profiles if isinstance(profiles, dict) else {}
    src = profile_href(version)
    specs = []
    for i, (name, dtype) in enumerate(version.columns[:MAX_COLUMNS]):
        nulls = (profiles.get(name) or {}).get("nulls")
        specs.append(
            {"key": f"col-{i}", "src": src, "title": name, "type": dtype, "missing": nulls}
        )
    return {"specs": specs, "more": max(0, len(version.columns) - MAX_COLUMNS)}
