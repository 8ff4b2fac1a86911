"""A window evaluator that adds realized metrics from ground-truth labels to another
evaluator's figures: ``realized.<metric>`` (``roc_auc``, ``accuracy``, ``mae`` …) and
``labelled`` for the window's version, once labels of its predictions have arrived.

Labels arrive late: a policy's ``delay`` holds each window back until they are in (a window
is computed once). A window without labels gets no ``realized.*`` figures, so a rule on them
is "not evaluable" there, never a false alarm.
"""

from __future__ import annotations

from shipyard.services.monitoring.realized import RealizedService
from shipyard.services.monitoring.runner import WindowEvaluator, WindowFigures

__all__ = ["RealizedWindowEvaluator"]


class RealizedWindowEvaluator:
    """``base``'s figures plus the realized metrics of the window's labelled predictions."""

    def __init__(self, base: WindowEvaluator, realized: RealizedService) -> None:
        self.base = base
        self.realized = realized

    def evaluate(
        self, model: str, env: str, version: int | None, start_ms: int, end_ms: int
    ) -> WindowFigures:
        found = self.base.evaluate(model, env, version, start_ms, end_ms)
        if version is None or found.rows == 0:
            return found
        metrics = self.realized.realized(
            model, version=version, env=env, start_ms=start_ms, end_ms=end_ms, labelled_only=True
        )
        figures = dict(found.figures)
        for v in metrics.versions:
            if v.version != version or not v.labelled:
                continue
            figures["labelled"] = float(v.labelled)
            for name, value in v.metrics.items():
                if value is not None:
                    figures[f"realized.{name}"] = float(value)
        return WindowFigures(found.rows, figures)
