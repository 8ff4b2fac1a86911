"""A window evaluator over the prediction logs alone: row count, and per input column the
mean (numeric columns) and the share of missing values.

Figures: ``rows``, ``mean.<column>``, ``missing.<column>``. It streams the window's record
batches through the shared prediction-log reader, so memory stays one batch whatever the
window's size. The drift, estimation and realized-metric evaluators add their figures on top.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shipyard.services.formats.prediction_reader import PredictionLogReader
from shipyard.services.monitoring.runner import WindowFigures

__all__ = ["LogStatsEvaluator"]


@dataclass
class _Column:
    total: float = 0.0
    valid: int = 0
    missing: int = 0
    numeric: bool = True
    seen: int = 0


class LogStatsEvaluator:
    """``evaluate(model, env, version, start_ms, end_ms)`` over the logged rows of the
    version in the environment; ``columns`` limits the inputs read (default: all)."""

    def __init__(self, reader: PredictionLogReader, columns: Sequence[str] | None = None) -> None:
        self.reader = reader
        self.columns = list(columns) if columns is not None else None

    def evaluate(
        self, model: str, env: str, version: int | None, start_ms: int, end_ms: int
    ) -> WindowFigures:
        rows = 0
        stats: dict[str, _Column] = {}
        batches = self.reader.batches(
            model, version=version, env=env, start_ms=start_ms, end_ms=end_ms,
            columns=self.columns,
        )  # fmt: skip
        for batch in batches:
            rows += batch.num_rows
            for name in batch.schema.names:
                if not name.startswith("_"):
                    _add(stats.setdefault(name, _Column()), batch.column(name), batch.num_rows)
        figures: dict[str, float] = {"rows": float(rows)}
        for name, col in stats.items():
            figures[f"missing.{name}"] = col.missing / col.seen if col.seen else 0.0
            if col.numeric and col.valid:
                figures[f"mean.{name}"] = col.total / col.valid
        return WindowFigures(rows, figures)


def _add(col: _Column, values: Any, length: int) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    col.seen += length
    col.missing += values.null_count
    kind = values.type
    if pa.types.is_floating(kind):
        col.missing += int(pc.sum(pc.is_nan(values)).as_py() or 0)
        values = values.filter(pc.invert(pc.fill_null(pc.is_nan(values), True)))
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        col.total += float(pc.sum(values.cast(pa.float64())).as_py() or 0.0)
        col.valid += len(values) - values.null_count
    elif not pa.types.is_null(kind):
        col.numeric = False
