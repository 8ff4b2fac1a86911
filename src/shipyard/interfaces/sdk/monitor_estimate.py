"""``sy.monitor.estimate_performance``: estimated (and realized) metrics per chunk of current
data, from a labeled reference; either side a DataFrame, a CSV/Parquet file or a dataset ref."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shipyard.interfaces.sdk.tables import load_table

if TYPE_CHECKING:
    from shipyard.interfaces.sdk.ports import DataCatalog
    from shipyard.services.monitoring.estimation import PerformanceEstimate

__all__ = ["estimate_performance"]


def estimate_performance(
    reference: Any,
    current: Any,
    *,
    y_true: str,
    y_pred_proba: str,
    y_pred: str | None = None,
    metrics: Sequence[str] | str = ("roc_auc", "accuracy"),
    chunk_size: int | None = None,
    catalog: DataCatalog | None = None,
) -> PerformanceEstimate:
    """Estimate a probabilistic binary classifier's ``metrics`` per chunk of ``current``
    without its labels (CBPE-style; ``reference`` carries the ``y_true`` labels).

    Returns an object whose ``.to_frame()`` has one row per (chunk, metric) with ``chunk``,
    ``metric``, ``estimate``, ``lower``, ``upper`` (the band where the realized metric is
    expected: estimate ± 3 standard errors), ``alert`` (the estimate is outside the
    reference's expected range: reference metric ± 3 standard errors), and ``realized``
    when ``current`` carries ``y_true`` too. ``metrics`` from roc_auc, accuracy, precision,
    recall, f1; ``y_pred`` defaults to probability ≥ 0.5.
    """
    from shipyard.services.monitoring.estimation import estimate_performance as estimate
    from shipyard.services.monitoring.estimation import estimation_options

    estimation_options(metrics, chunk_size)  # refused before any data is read
    return estimate(
        load_table(reference, "reference", catalog),
        load_table(current, "current", catalog),
        y_true=y_true,
        y_pred_proba=y_pred_proba,
        y_pred=y_pred,
        metrics=metrics,
        chunk_size=chunk_size,
    )
