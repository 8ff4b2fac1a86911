"""Performance estimation without labels: fit on a labeled reference, estimate per chunk.

``estimate_performance(reference, current, y_true=..., y_pred_proba=...)`` checks the input,
calibrates the reference's probabilities with isotonic regression when a test of
calibration rejects them (see ``fit_calibration``), measures each metric's sampling
error on the reference by bootstrap, and estimates every chunk of the current data
(``core.estimation`` has the maths and the definition of the band and the alert).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shipyard.core.errors import ValidationError
from shipyard.core.estimation import (
    METRICS,
    CalibrationMap,
    EstimationReference,
    MetricEstimate,
    bootstrap_unit_sd,
    estimate_chunks,
    expected_calibration_error,
    hosmer_lemeshow,
    metric_value,
)

__all__ = [
    "PerformanceEstimate",
    "estimate_performance",
    "estimate_with_reference",
    "estimation_options",
    "fit_calibration",
    "fit_reference",
    "fit_reference_frame",
]

BOOTSTRAP_ROWS = 2000  # bootstrap sample size; SE at other sizes scales with 1/sqrt(n)
BOOTSTRAP_DRAWS = 100
# A pre-test, so a liberal level: missing a miscalibration biases every chunk's estimate,
# calibrating calibrated scores only adds the isotonic step function's (small) noise.
CALIBRATION_ALPHA = 0.2
ECE_BINS = 10

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class PerformanceEstimate:
    """Estimated (and, when the current data has labels, realized) metrics per chunk."""

    rows: tuple[MetricEstimate, ...]
    reference: EstimationReference
    has_realized: bool

    @property
    def alerts(self) -> tuple[MetricEstimate, ...]:
        return tuple(r for r in self.rows if r.alert)

    def to_dicts(self) -> list[dict[str, object]]:
        """One JSON-ready dict per (chunk, metric); NaN becomes None."""
        keep = None if self.has_realized else {"realized", "labeled"}
        out = []
        for row in self.rows:
            item = {k: _plain(v) for k, v in vars(row).items() if not keep or k not in keep}
            item["rows"] = row.stop - row.start
            out.append(item)
        return out

    def to_frame(self) -> Any:
        """A pandas DataFrame: one row per (chunk, metric) with ``chunk``, ``start``,
        ``stop``, ``rows``, ``metric``, ``estimate``, ``lower``, ``upper``, ``reference``,
        ``lower_threshold``, ``upper_threshold``, ``alert`` (+ ``realized``, ``labeled``)."""
        import pandas as pd

        frame = pd.DataFrame(self.to_dicts())
        head = ["chunk", "start", "stop", "rows", "metric", "estimate", "lower", "upper"]
        rest = [c for c in frame.columns if c not in head]
        frame = frame.reindex(columns=head + rest)
        for col in ("estimate", "lower", "upper", "reference", "realized"):
            if col in frame:
                frame[col] = frame[col].astype(float)
        return frame


def _plain(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


# ---------------------------------------------------------------------------- fitting
def _isotonic(score: Array, y_true: Array) -> Any:
    from sklearn.isotonic import IsotonicRegression

    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(score, y_true)


def fit_calibration(y_true: Array, score: Array) -> CalibrationMap:
    """Isotonic calibration of ``score``, fitted on the reference, when its probabilities are
    not calibrated: the Hosmer-Lemeshow test rejects them at ``CALIBRATION_ALPHA``.

    Why not NannyML's test (calibrate when out-of-sample calibration lowers the binned
    expected calibration error): that error is biased towards the step function isotonic
    regression fits, so it calibrates even calibrated scores, which costs estimation
    accuracy on small references (the step function's noise); a test of calibration only
    calibrates on evidence of miscalibration.
    """
    before = expected_calibration_error(y_true, score, ECE_BINS)
    statistic, p_value = hosmer_lemeshow(y_true, score, ECE_BINS)
    if p_value >= CALIBRATION_ALPHA:
        return CalibrationMap((), (), before, before, statistic, p_value)
    fitted = _isotonic(score, y_true)
    after = expected_calibration_error(y_true, fitted.predict(score), ECE_BINS)
    x = tuple(float(v) for v in fitted.X_thresholds_)
    y = tuple(float(v) for v in fitted.y_thresholds_)
    return CalibrationMap(x, y, before, after, statistic, p_value)


def fit_reference(
    y_true: Array,
    score: Array,
    y_pred: Array,
    metrics: Sequence[str] = METRICS,
    *,
    seed: int = 0,
) -> EstimationReference:
    """Everything estimation needs from a labeled reference (checked arrays: labels 0/1,
    probabilities in [0, 1], decisions 0/1)."""
    calibration = fit_calibration(y_true, score)
    realized = {m: metric_value(m, y_true, score, y_pred) for m in metrics}
    size = min(len(y_true), BOOTSTRAP_ROWS)
    unit_sd = bootstrap_unit_sd(
        metrics, y_true, score, y_pred, size=size, draws=BOOTSTRAP_DRAWS, seed=seed
    )
    return EstimationReference(calibration, realized, unit_sd, len(y_true))


# ---------------------------------------------------------------------------- input checks
def _column(frame: Any, name: str, role: str, where: str) -> Any:
    columns = [str(c) for c in frame.columns]
    if name not in columns:
        shown = ", ".join(columns[:10]) + (", …" if len(columns) > 10 else "")
        raise ValidationError(
            f"{role}: column {name!r} is not in the {where} data (columns: {shown})", field=role
        )
    return frame[name]


def _probabilities(frame: Any, name: str, where: str) -> Array:
    raw = _column(frame, name, "y_pred_proba", where)
    try:
        values = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(
            f"y_pred_proba: column {name!r} of the {where} data is not numeric; expected the "
            "positive class probability in [0, 1]",
            field="y_pred_proba",
        ) from None
    missing = int(np.isnan(values).sum())
    bad = int(((values < 0) | (values > 1)).sum())
    if missing or bad:
        raise ValidationError(
            f"y_pred_proba: column {name!r} of the {where} data has {missing} missing and "
            f"{bad} out-of-range values; expected probabilities in [0, 1]",
            field="y_pred_proba",
        )
    return values


def _binary(frame: Any, name: str, role: str, where: str, *, allow_missing: bool) -> Array:
    """0/1 (or boolean) values as floats, NaN for a missing label where that is allowed."""
    raw = _column(frame, name, role, where)
    found: Sequence[object]
    try:
        values = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        values = np.array([math.nan])  # text labels: reported as not binary below
        found = sorted({str(v) for v in raw if v is not None})[:5]
    else:
        distinct = np.unique(values[~np.isnan(values)])
        found = [float(v) for v in distinct if v not in (0.0, 1.0)][:5]
    missing = int(np.isnan(values).sum())
    if found or (missing and not allow_missing):
        what = f"values {found}" if found else f"{missing} missing values"
        raise ValidationError(
            f"{role}: column {name!r} of the {where} data must hold binary labels 0/1 (or "
            f"booleans) for a binary classifier; found {what}",
            field=role,
        )
    return values


def _metrics(metrics: Sequence[str] | str) -> tuple[str, ...]:
    chosen = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    unknown = [m for m in chosen if m not in METRICS]
    if not chosen or unknown:
        raise ValidationError(
            f"metrics: {unknown or 'none'} given; choose from {', '.join(METRICS)}",
            field="metrics",
        )
    return tuple(dict.fromkeys(chosen))


def _chunk_size(chunk_size: int | None) -> int | None:
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
    ):
        raise ValidationError(
            f"chunk_size: expected a whole number of rows ≥ 1 (or None for one chunk); "
            f"got {chunk_size!r}",
            field="chunk_size",
        )
    return chunk_size


def estimation_options(
    metrics: Sequence[str] | str, chunk_size: int | None
) -> tuple[tuple[str, ...], int | None]:
    """The metrics and chunk size, checked (surfaces call this before reading any data)."""
    return _metrics(metrics), _chunk_size(chunk_size)


def _frame(frame: Any, where: str) -> Any:
    if not hasattr(frame, "columns") or not hasattr(frame, "__getitem__"):
        raise ValidationError(
            f"{where}: expected a DataFrame; got {type(frame).__name__}", field=where
        )
    if len(frame) == 0:
        raise ValidationError(f"{where}: the {where} data has no rows", field=where)
    return frame


def _decisions(frame: Any, y_pred: str | None, score: Array, where: str) -> Array:
    if y_pred is None:
        return (score >= 0.5).astype(float)
    return _binary(frame, y_pred, "y_pred", where, allow_missing=False)


# ---------------------------------------------------------------------------- entry points
def fit_reference_frame(
    reference: Any,
    *,
    y_true: str,
    y_pred_proba: str,
    y_pred: str | None = None,
    metrics: Sequence[str] | str = METRICS,
) -> EstimationReference:
    """Fit on a labeled reference DataFrame once; ``EstimationReference.to_dict()`` is what a
    reference profile stores, so later estimates never re-read the reference."""
    chosen, ref = _metrics(metrics), _frame(reference, "reference")
    score = _probabilities(ref, y_pred_proba, "reference")
    labels = _binary(ref, y_true, "y_true", "reference", allow_missing=False)
    if len(np.unique(labels)) < 2:
        raise ValidationError(
            f"y_true: the reference's column {y_true!r} holds one class only "
            f"({int(labels[0])}); estimation needs labeled rows of both classes",
            field="y_true",
        )
    return fit_reference(labels, score, _decisions(ref, y_pred, score, "reference"), chosen)


def estimate_with_reference(
    fitted: EstimationReference,
    current: Any,
    *,
    y_pred_proba: str,
    y_pred: str | None = None,
    y_true: str | None = None,
    metrics: Sequence[str] | str = ("roc_auc", "accuracy"),
    chunk_size: int | None = None,
) -> PerformanceEstimate:
    """Estimate ``metrics`` per chunk of ``current`` from a fitted (or stored) reference;
    with ``y_true`` naming a column of ``current``, realized metrics come alongside."""
    chosen, size = _metrics(metrics), _chunk_size(chunk_size)
    unfitted = [m for m in chosen if m not in fitted.unit_sd]
    if unfitted:
        raise ValidationError(
            f"metrics: the reference was fitted for {sorted(fitted.unit_sd)}, not {unfitted}; "
            "fit it again with those metrics",
            field="metrics",
        )
    cur = _frame(current, "current")
    score = _probabilities(cur, y_pred_proba, "current")
    labels = None
    if y_true is not None and y_true in [str(c) for c in cur.columns]:
        labels = _binary(cur, y_true, "y_true", "current", allow_missing=True)
    decisions = _decisions(cur, y_pred, score, "current")
    rows = estimate_chunks(fitted, score, decisions, chosen, size, labels)
    return PerformanceEstimate(tuple(rows), fitted, labels is not None)


def estimate_performance(
    reference: Any,
    current: Any,
    *,
    y_true: str,
    y_pred_proba: str,
    y_pred: str | None = None,
    metrics: Sequence[str] | str = ("roc_auc", "accuracy"),
    chunk_size: int | None = None,
) -> PerformanceEstimate:
    """Estimate ``metrics`` per chunk of ``current`` without its labels.

    ``reference`` carries the labels (column ``y_true``); ``y_pred_proba`` names the positive
    class probability column and ``y_pred`` the model's 0/1 decision (default: probability
    ≥ 0.5). Without ``chunk_size`` the whole current data is chunk 0; the last partial chunk
    is kept. When ``current`` has the ``y_true`` column too (missing where a label has not
    arrived), each row also carries the realized metric over the labeled rows.
    """
    chosen = _metrics(metrics)
    _chunk_size(chunk_size)  # refused before the (slower) fit
    _frame(current, "current")
    fitted = fit_reference_frame(
        reference, y_true=y_true, y_pred_proba=y_pred_proba, y_pred=y_pred, metrics=chosen
    )
    return estimate_with_reference(
        fitted, current, y_pred_proba=y_pred_proba, y_pred=y_pred, y_true=y_true,
        metrics=chosen, chunk_size=chunk_size,
    )  # fmt: skip
