"""Chart data for the web UI without a browser: metric histories (non-finite values left out,
valid JSON) and the environment figures cut into whole steps ending at "now", whose rates
average to the figures table's req/s."""

from __future__ import annotations

import json
import math

import pytest

from shipyard.core.entities import Metric
from shipyard.interfaces.web.charts import chart_set, metric_chart
from shipyard.interfaces.web.figure_charts import figure_charts, per_second, steps

NOW = 10_000_000
SEC = 1000


def _row(ago_ms: int, requests: int, errors: int = 0, version: int = 1, role: str = "live"):
    buckets = [0] * 20
    buckets[3] = requests
    return {
        "window_end": NOW - ago_ms,
        "version": version,
        "role": role,
        "requests": requests,
        "errors": errors,
        "latency_sum_ms": 2.0 * requests,
        "buckets": buckets,
    }


def test_a_metric_chart_keeps_finite_values_and_is_valid_json() -> None:
    history = [Metric("loss", v, 1000 + s, s) for s, v in enumerate([1.0, math.nan, 0.5, math.inf])]
    chart = metric_chart("loss", [("a", history), ("b", [Metric("loss", math.nan, 1, 0)])])
    body = json.loads(json.dumps(chart_set({"loss": chart}), allow_nan=False))
    assert body["charts"]["loss"]["series"] == [{"name": "a", "points": [[0, 1.0], [2, 0.5]]}]
    assert body["charts"]["loss"]["x"] == "step" and body["charts"]["loss"]["y_min"] is None
    assert metric_chart("x", [("b", [Metric("x", math.nan, 1, 0)])]).empty == "no finite values"


def test_steps_end_at_now_and_a_row_belongs_to_the_step_it_was_flushed_in() -> None:
    rows = [
        _row(0, 10),  # flushed at now: the newest step
        _row(-5 * SEC, 7),  # a replica's clock ahead: still the newest step
        _row(10 * SEC, 4),  # exactly one step back: the step ending now - 10 s
        _row(59 * SEC, 2),  # the oldest step of a one-minute window
        _row(60 * SEC, 100),  # before the window: left out
    ]
    by_label = steps(rows, NOW, 60 * SEC, 10 * SEC)
    assert list(by_label) == ["v1 live"]
    points = by_label["v1 live"]
    assert [t for t, _ in points] == [NOW - k * 10 * SEC for k in range(5, -1, -1)]
    assert [f["requests"] if f else None for _, f in points] == [2, None, None, None, 4, 17]


def test_rates_are_whole_steps_and_average_to_the_tables_figure() -> None:
    rows = [_row(k * 2 * SEC, 3, errors=k % 2) for k in range(0, 150)]  # 5 minutes of flushes
    rows += [_row(k * 2 * SEC, 1, version=2, role="canary") for k in range(0, 30)]  # the last min
    charts = figure_charts(rows, NOW, 30 * 60 * SEC, 30 * SEC)
    rate = {s.label: [y for _, y in s.points] for s in charts["rate"].series}
    assert len(rate["v1 live"]) == 60 and rate["v1 live"][:50] == [0.0] * 50  # no rows: 0 req/s
    table = per_second(sum(r["requests"] for r in rows if r["version"] == 1), 5 * 60 * SEC)
    assert sum(rate["v1 live"][-10:]) / 10 == pytest.approx(table) == pytest.approx(1.5)
    assert rate["v2 canary"][-2:] == [pytest.approx(0.5)] * 2
    errors = [y for _, y in charts["error_rate"].series[0].points]
    assert errors[:50] == [None] * 50  # no requests: a gap, not 0 %
    assert errors[-1] == pytest.approx(100 * 7 / 45)  # 7 errors in 15 flushes of 3
    for chart in charts.values():
        assert chart.x == "time" and chart.y_min == 0.0 and not chart.empty
    assert charts["p99_ms"].unit == "ms" and charts["error_rate"].unit == "%"


def test_rows_without_requests_draw_no_error_rate_or_latency() -> None:
    charts = figure_charts([_row(SEC, 0)], NOW, 5 * 60 * SEC, 10 * SEC)
    assert charts["rate"].empty == "" and charts["p50_ms"].empty == "no requests"
