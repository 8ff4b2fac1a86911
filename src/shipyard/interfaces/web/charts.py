"""Chart data for the web UI: the JSON a page's ``<div class="chart">`` elements fetch, drawn by
``static/charts.js`` with the vendored ECharts (pages hold data, never drawing code)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from shipyard.core.entities import Metric

__all__ = ["Chart", "Series", "chart_set", "finite", "metric_chart", "run_metrics_href"]


@dataclass(frozen=True)
class Series:
    """One line: ``(x, y)`` points, ``y`` None where there is nothing to draw (a gap)."""

    label: str
    points: Sequence[tuple[float, float | None]]


@dataclass(frozen=True)
class Chart:
    """What ``charts.js`` needs to draw one chart; ``x`` is ``"step"`` or ``"time"`` (ms)."""

    title: str
    x: str
    series: Sequence[Series] = ()
    unit: str = ""
    y_min: float | None = None  # 0 for figures that cannot be negative; None fits the data
    empty: str = ""  # shown instead of a chart: why there is nothing to draw

    def to_dict(self) -> dict[str, Any]:
        """The chart as JSON-ready data (no NaN: browsers reject it in JSON)."""
        return {
            "title": self.title,
            "x": self.x,
            "unit": self.unit,
            "y_min": self.y_min,
            "empty": self.empty,
            "series": [
                {"name": s.label, "points": [[x, finite(y)] for x, y in s.points]}
                for s in self.series
            ],
        }


def finite(value: float | None) -> float | None:
    """``value`` when it is a finite number, else None (drawn as a gap)."""
    return value if value is not None and math.isfinite(value) else None


def metric_chart(title: str, lines: Sequence[tuple[str, Sequence[Metric]]]) -> Chart:
    """One metric's history per run: x = step, y = value, non-finite values left out."""
    series = [
        Series(label, [(m.step, m.value) for m in history if math.isfinite(m.value)])
        for label, history in lines
    ]
    drawn = [s for s in series if s.points]
    return Chart(title, "step", drawn, empty="" if drawn else "no finite values")


def chart_set(charts: Mapping[str, Chart]) -> dict[str, Any]:
    """The body of a chart endpoint: charts by key (a page's element names its key)."""
    return {"charts": {key: c.to_dict() for key, c in charts.items()}}


def run_metrics_href(run_id: str) -> str:
    """Where the run page's metric charts come from."""
    return f"/ui/runs/{quote(run_id, safe='')}/metrics.json"
