"""Drift of a DataFrame against a reference (a DataFrame or a stored profile), by chunk.

``drift(reference, current)`` profiles the reference (or takes its stored profile), reads
each current column once as a numpy array (numeric) or as category codes (categorical),
and computes every statistic of ``core.drift`` per chunk of rows; the verdict of each
(chunk, column) is its method's value against its threshold. pandas is imported lazily.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from shipyard.core.drift import (
    DEFAULT_MIN_ROWS,
    NOT_ENOUGH_DATA,
    ColumnStats,
    Verdict,
    categorical_stats,
    check_methods,
    check_thresholds,
    judge,
    numeric_stats,
)
from shipyard.core.errors import ValidationError
from shipyard.core.profiles import ColumnProfile, NumericProfile, Profile
from shipyard.services.monitoring.profile_store import OUTPUT_COLUMNS
from shipyard.services.monitoring.profiles import (
    categorical_values,
    column_kinds,
    column_workers,
    numeric_values,
    profile_frame,
    select_columns,
)

__all__ = ["STATISTICS", "ChunkVerdict", "DriftResult", "MultivariateVerdict", "drift"]

STATISTICS = (
    "ks",
    "ks_p_value",
    "wasserstein",
    "psi",
    "jensenshannon",
    "chi2",
    "chi2_p_value",
    "chi2_dof",
    "linf",
)


@dataclass(frozen=True)
class ChunkVerdict:
    """A column's verdict in one chunk of the current rows ``[start, end)``."""

    chunk: int
    start: int
    end: int
    verdict: Verdict


@dataclass(frozen=True)
class MultivariateVerdict:
    """All compared columns together in one chunk: the domain classifier's AUC."""

    chunk: int
    value: float | None  # None when the chunk has fewer than min_rows rows
    threshold: float
    drifted: bool
    method: str = "domain_classifier_auc"


@dataclass(frozen=True)
class DriftResult:
    """Every (chunk, column) verdict, the reference profile used, and a summary."""

    verdicts: tuple[ChunkVerdict, ...]
    profile: Profile
    chunks: int
    multivariate: tuple[MultivariateVerdict, ...] = ()

    @property
    def drift_share(self) -> float:
        """The share of compared columns that drifted (in any chunk)."""
        judged = {v.verdict.column for v in self.verdicts if v.verdict.state != NOT_ENOUGH_DATA}
        drifted = {v.verdict.column for v in self.verdicts if v.verdict.drifted}
        return len(drifted) / len(judged) if judged else 0.0

    def summary(self) -> dict[str, Any]:
        """Drift share overall and per chunk, the drifted columns, the chunks without data."""
        per_chunk = []
        for chunk in range(self.chunks):
            rows = [v.verdict for v in self.verdicts if v.chunk == chunk]
            judged = [v for v in rows if v.state != NOT_ENOUGH_DATA]
            drifted = [v.column for v in judged if v.drifted]
            share = len(drifted) / len(judged) if judged else 0.0
            per_chunk.append({"chunk": chunk, "drift_share": share, "drifted": drifted})
        return {
            "chunks": self.chunks,
            "columns": len(self.profile.columns),
            "drift_share": self.drift_share,
            "drifted_columns": sorted(
                {v.verdict.column for v in self.verdicts if v.verdict.drifted}
            ),
            "per_chunk": per_chunk,
            "multivariate": [m.__dict__ for m in self.multivariate],
        }

    def records(self) -> list[dict[str, Any]]:
        """One JSON-able dict per (chunk, column); statistics absent for a kind are None."""
        return [_record(v) for v in self.verdicts]

    def to_frame(self) -> Any:
        """One row per (chunk, column): ``chunk``, ``column``, ``method``, ``value``,
        ``threshold``, ``drifted``, ``p_value``, ``state``, shares and every statistic."""
        import pandas as pd

        frame = pd.DataFrame.from_records(self.records(), columns=_COLUMNS)
        frame["drifted"] = frame["drifted"].astype(bool)
        for name in ("value", "p_value", "p_adjusted", *STATISTICS):
            frame[name] = frame[name].astype("float64")
        return frame


_COLUMNS = [
    "chunk",
    "start",
    "end",
    "column",
    "kind",
    "method",
    "value",
    "threshold",
    "drifted",
    "p_value",
    "p_adjusted",
    "state",
    "rows",
    "missing_share",
    "reference_missing_share",
    "unseen_share",
    "unseen",
    *STATISTICS,
]


def _record(item: ChunkVerdict) -> dict[str, Any]:
    v, s = item.verdict, item.verdict.stats
    return {
        "chunk": item.chunk,
        "start": item.start,
        "end": item.end,
        "column": v.column,
        "kind": s.kind,
        "method": v.method,
        "value": v.value,
        "threshold": v.threshold,
        "drifted": v.drifted,
        "p_value": v.p_value,
        "p_adjusted": v.p_adjusted,
        "state": v.state,
        "rows": s.rows,
        "missing_share": s.missing_share,
        "reference_missing_share": s.reference_missing_share,
        "unseen_share": s.unseen_share,
        "unseen": list(s.unseen),
        **{name: s.statistics.get(name) for name in STATISTICS},
    }


def _chunks(rows: int, chunk_size: int | None) -> list[tuple[int, int]]:
    if chunk_size is None:
        return [(0, rows)]
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValidationError(
            f"chunk_size must be a positive whole number of rows, got {chunk_size!r}",
            field="chunk_size",
        )
    return [(start, min(start + chunk_size, rows)) for start in range(0, rows, chunk_size)]


def _reference_profile(
    reference: Any, columns: Sequence[str] | None, current: Any = None
) -> Profile:
    """The profile compared; by default a stored profile's model output column (``_proba``,
    ``_prediction``) only when the current data has it too."""
    import pandas as pd

    if isinstance(reference, Profile):
        present = {str(c) for c in getattr(current, "columns", ())}
        available = [c for c in reference.columns if c not in OUTPUT_COLUMNS or c in present]
        chosen = select_columns(available if columns is None else list(reference.columns),
                                columns, "reference profile")  # fmt: skip
        return Profile(reference.rows, {c: reference.columns[c] for c in chosen}, reference.source)
    if isinstance(reference, Mapping):
        return _reference_profile(Profile.from_dict(reference), columns, current)
    if isinstance(reference, pd.DataFrame):
        if len(reference) == 0:
            raise ValidationError("the reference has no rows", field="reference")
        return profile_frame(reference, columns)
    raise ValidationError(
        "reference must be a pandas DataFrame or a reference profile, got "
        f"{type(reference).__name__}",
        field="reference",
    )


def _check_current(current: Any, profile: Profile) -> dict[str, str]:
    """The kind of each profiled column in ``current``; missing or retyped columns refused."""
    import pandas as pd

    if not isinstance(current, pd.DataFrame):
        raise ValidationError(
            f"current must be a pandas DataFrame, got {type(current).__name__}", field="current"
        )
    if len(current) == 0:
        raise ValidationError("the current data has no rows", field="current")
    names = {str(c) for c in current.columns}
    missing = [c for c in profile.columns if c not in names]
    if missing:
        raise ValidationError(f"columns missing from the current data: {missing}", field="columns")
    kinds = column_kinds(
        current.set_axis([str(c) for c in current.columns], axis=1), list(profile.columns)
    )
    for name, col in profile.columns.items():
        if kinds[name] != col.kind:
            raise ValidationError(
                f"column {name!r} is {col.kind} in the reference but {kinds[name]} in the "
                "current data",
                field=name,
            )
    return kinds


def _one_column(
    col: ColumnProfile, series: Any, bounds: list[tuple[int, int]]
) -> list[ColumnStats]:
    """The statistics of one column in every chunk: read once, then sliced."""
    if isinstance(col, NumericProfile):
        values = numeric_values(series)
        return [numeric_stats(col, values[a:b]) for a, b in bounds]
    codes, labels = categorical_values(series)
    out = []
    for a, b in bounds:
        counts = np.bincount(codes[a:b] + 1, minlength=len(labels) + 1)
        found = {labels[k]: int(c) for k, c in enumerate(counts[1:].tolist()) if c}
        out.append(categorical_stats(col, found, int(counts[0])))
    return out


def _column_stats(
    current: Any, profile: Profile, bounds: list[tuple[int, int]]
) -> list[dict[str, ColumnStats]]:
    """The statistics of every column in every chunk, columns on parallel threads (numpy
    releases the GIL while it sorts and scans)."""
    names = list(profile.columns)
    with ThreadPoolExecutor(max_workers=column_workers(len(names))) as pool:
        found = list(pool.map(lambda n: _one_column(profile.columns[n], current[n], bounds), names))
    return [{n: found[k][i] for k, n in enumerate(names)} for i in range(len(bounds))]


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
) -> DriftResult:
    """Drift of ``current`` against ``reference`` (a DataFrame or a ``Profile``), per chunk
    of ``chunk_size`` rows in the current data's order (the whole data without it).

    ``methods`` maps a column or a kind (``numeric``/``categorical``) to a method (numeric:
    wasserstein, ks, psi, jensenshannon; categorical: jensenshannon, chi2, psi, linf);
    ``thresholds`` maps a method to its limit; a column with fewer than ``min_rows``
    non-missing values in a chunk (or in the reference) is "not enough data", not drift.
    ``multivariate=True`` also judges all columns together per chunk (a domain classifier;
    it needs the reference rows, so a DataFrame reference).
    """
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
        raise ValidationError(
            f"min_rows must be a positive whole number, got {min_rows!r}", field="min_rows"
        )
    check_thresholds(thresholds)
    profile = _reference_profile(reference, columns, current)
    kinds = _check_current(current, profile)
    chosen = check_methods(kinds, methods)
    bounds = _chunks(len(current), chunk_size)
    out: list[ChunkVerdict] = []
    for i, stats in enumerate(_column_stats(current, profile, bounds)):
        for verdict in judge(stats, chosen, thresholds, min_rows=min_rows):
            out.append(ChunkVerdict(i, bounds[i][0], bounds[i][1], verdict))
    joint: tuple[MultivariateVerdict, ...] = ()
    if multivariate:
        joint = _multivariate(reference, current, profile, kinds, bounds, min_rows)
    return DriftResult(tuple(out), profile, len(bounds), joint)


def _multivariate(
    reference: Any,
    current: Any,
    profile: Profile,
    kinds: Mapping[str, str],
    bounds: list[tuple[int, int]],
    min_rows: int,
) -> tuple[MultivariateVerdict, ...]:
    import pandas as pd

    from shipyard.services.monitoring.multivariate import DOMAIN_AUC_THRESHOLD, domain_auc

    if not isinstance(reference, pd.DataFrame):
        raise ValidationError(
            "multivariate drift needs the reference rows (a DataFrame), not a profile",
            field="multivariate",
        )
    out = []
    for i, (a, b) in enumerate(bounds):
        if b - a < min_rows:
            out.append(MultivariateVerdict(i, None, DOMAIN_AUC_THRESHOLD, False))
            continue
        auc = domain_auc(reference, current.iloc[a:b], list(profile.columns), kinds)
        out.append(MultivariateVerdict(i, auc, DOMAIN_AUC_THRESHOLD, auc > DOMAIN_AUC_THRESHOLD))
    return tuple(out)
