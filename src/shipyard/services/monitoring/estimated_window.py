"""A window evaluator that adds performance estimated without labels to another evaluator's
figures: ``estimated.<metric>`` (``roc_auc``, ``accuracy``, ``precision``, ``recall``,
``f1``) for the window's version, from the positive class probabilities its predictions
logged (``_proba``) and the estimation reference stored with its reference profile. The
confidence band rides along as ``estimated.<metric>.lower`` / ``.upper`` (what the
monitoring page draws; rules name the estimate itself) and ``estimated_rows`` counts the
rows estimated.

A version without an estimation reference (no labelled reference, not a probabilistic
binary classifier) and a window whose rows logged no probabilities get no ``estimated.*``
figures, so a rule on them is "not evaluable" there, never a false alarm. At most
``max_rows`` rows are read (the reader streams in time order).
"""

from __future__ import annotations

import math
from typing import Any

from shipyard.core.errors import NotFoundError
from shipyard.core.monitor_policy import ESTIMATED_METRICS
from shipyard.services.formats.prediction_reader import PredictionLogReader
from shipyard.services.monitoring.profile_store import ProfileService
from shipyard.services.monitoring.runner import WindowEvaluator, WindowFigures
from shipyard.services.monitoring.targets import Targets

__all__ = ["EstimatedWindowEvaluator"]

MAX_ROWS = 1_000_000
_COLUMNS = ["_proba", "_prediction"]


class EstimatedWindowEvaluator:
    """``base``'s figures plus the window's estimated performance."""

    def __init__(
        self,
        base: WindowEvaluator,
        reader: PredictionLogReader,
        profiles: ProfileService,
        targets: Targets,
        *,
        max_rows: int = MAX_ROWS,
    ) -> None:
        self.base = base
        self.reader = reader
        self.profiles = profiles
        self.targets = targets
        self.max_rows = max_rows

    def evaluate(
        self, model: str, env: str, version: int | None, start_ms: int, end_ms: int
    ) -> WindowFigures:
        found = self.base.evaluate(model, env, version, start_ms, end_ms)
        if version is None or found.rows == 0:
            return found
        estimated = self._estimate(model, env, version, start_ms, end_ms)
        if estimated is None:
            return found
        rows, chunks = estimated
        figures = dict(found.figures)
        figures["estimated_rows"] = float(rows)
        for row in chunks:
            name = f"estimated.{row.metric}"
            figures[name] = float(row.estimate)
            figures[f"{name}.lower"] = float(row.lower)
            figures[f"{name}.upper"] = float(row.upper)
        return WindowFigures(found.rows, figures)

    def estimate(
        self, model: str, env: str, version: int, start_ms: int, end_ms: int
    ) -> tuple[int, dict[str, float]] | None:
        """``version``'s estimated metrics over its rows logged in ``[start_ms, end_ms)`` and
        how many rows they rest on; None without an estimation reference or probabilities."""
        estimated = self._estimate(model, env, version, start_ms, end_ms)
        if estimated is None:
            return None
        rows, chunks = estimated
        return rows, {row.metric: float(row.estimate) for row in chunks}

    def _estimate(
        self, model: str, env: str, version: int, start_ms: int, end_ms: int
    ) -> tuple[int, list[Any]] | None:
        try:
            reference = self.profiles.estimation_for(f"{model}@{version}")
        except NotFoundError:
            return None
        if reference is None:
            return None
        scored = self._scores(model, env, version, start_ms, end_ms)
        if scored is None:
            return None
        from shipyard.core.estimation import estimate_chunks

        score, decisions = scored
        metrics = [m for m in ESTIMATED_METRICS if m in reference.unit_sd]
        chunks = [
            row
            for row in estimate_chunks(reference, score, decisions, metrics, None)
            if not math.isnan(row.estimate)
        ]
        return len(score), chunks

    def _scores(
        self, model: str, env: str, version: int, start_ms: int, end_ms: int
    ) -> tuple[Any, Any] | None:
        """The logged probabilities and 0/1 decisions of the window's rows that have one."""
        import numpy as np
        import pyarrow as pa

        batches = self.reader.head(
            model, self.max_rows, version=version, env=env, start_ms=start_ms, end_ms=end_ms,
            columns=_COLUMNS,
        )  # fmt: skip
        if not batches:
            return None
        table = pa.Table.from_batches(batches)
        proba = table.column("_proba").cast(pa.float64()).to_numpy(zero_copy_only=False)
        kept = ~np.isnan(proba)
        if not kept.any():
            return None
        classes = self.targets.of(model, version).classes
        if classes is not None and len(classes) == 2:
            predicted = table.column("_prediction").to_numpy(zero_copy_only=False)
            decisions = (predicted == classes[1]).astype(np.float64)
        else:
            decisions = (proba >= 0.5).astype(np.float64)
        return proba[kept], decisions[kept]
