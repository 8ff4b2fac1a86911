"""``sy.monitor.drift``: drift of current data against a reference, as plain functions.

``reference`` and ``current`` are DataFrames, CSV/Parquet files or dataset refs
(``loans@v2``) read through the catalog passed in; ``reference`` may also be a stored
profile (``Profile`` or its dict).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shipyard.core.drift import DEFAULT_MIN_ROWS
from shipyard.interfaces.sdk.tables import load_table

if TYPE_CHECKING:
    from shipyard.services.monitoring.drift import DriftResult
    from shipyard.services.ports import DatasetTables

__all__ = ["drift"]


def drift(
    reference: Any,
    current: Any,
    *,
    columns: Sequence[str] | None = None,
    chunk_size: int | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    min_rows: int = DEFAULT_MIN_ROWS,
    multivariate: bool = False,
    catalog: DatasetTables | None = None,
) -> DriftResult:
    """Drift per (chunk, column) of ``current`` against ``reference``; ``.to_frame()`` has
    one row each (``chunk``, ``column``, ``method``, ``value``, ``threshold``, ``drifted``,
    ``p_value``, …) and ``.summary()`` the drift share. Without ``chunk_size`` the whole
    current data is chunk 0; the last partial chunk is kept."""
    from shipyard.services.monitoring.drift import drift as compute

    return compute(
        load_table(reference, "reference", catalog),
        load_table(current, "current", catalog),
        columns=columns,
        chunk_size=chunk_size,
        methods=methods,
        thresholds=thresholds,
        min_rows=min_rows,
        multivariate=multivariate,
    )
