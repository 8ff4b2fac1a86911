"""Performance estimation without labels (CBPE-style) for probabilistic binary classifiers.

The maths, in numpy only. Calibrated probabilities ``p`` of the positive class give an
*expected* confusion matrix (``E[TP] = sum of p over rows predicted positive``, …), from which
accuracy, precision, recall and f1 follow as ratios of expectations; the expected ROC AUC is
the Mann-Whitney statistic with each row weighted ``p`` as a positive and ``1 - p`` as a
negative, ranked by the model's own (uncalibrated) scores, pairs of a row with itself left out.
With ``p`` in {0, 1} the same functions give the realized metrics, which tests check against
scikit-learn.

Confidence band and alert (for a chunk of ``n`` rows):

* ``SE(n) = unit_sd / sqrt(n)``, where ``unit_sd`` is the standard deviation of the realized
  metric over bootstrap samples of the reference (size ``m``), times ``sqrt(m)``;
* band: ``estimate ± 3·SE(n)``, clipped to [0, 1] — where the realized metric of the chunk is
  expected to fall;
* alert: the estimate lies outside the reference's expected range for a chunk of that size,
  ``reference metric ± 3·SE(n)`` (clipped to [0, 1]), in either direction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from shipyard.core.errors import ValidationError

__all__ = [
    "BAND_WIDTH",
    "FORMAT_VERSION",
    "METRICS",
    "CalibrationMap",
    "EstimationReference",
    "MetricEstimate",
    "bootstrap_unit_sd",
    "chunk_bounds",
    "estimate_chunks",
    "expected_calibration_error",
    "hosmer_lemeshow",
    "metric_value",
    "roc_auc",
]

METRICS: tuple[str, ...] = ("accuracy", "f1", "precision", "recall", "roc_auc")
BAND_WIDTH = 3.0  # standard errors either side
FORMAT_VERSION = 1

Array = np.ndarray[Any, Any]


def roc_auc(score: Array, positive: Array) -> float:
    """ROC AUC of ``score`` where each row counts ``positive`` as a positive and
    ``1 - positive`` as a negative (labels in {0, 1}: the usual AUC; probabilities: the
    expected AUC). Ties score one half; a row is never paired with itself. NaN when there are
    no (expected) positive-negative pairs."""
    order = np.argsort(score)  # ties are grouped below: no need for a stable sort
    s, p = score[order], positive[order].astype(float)
    q = 1.0 - p
    starts = np.empty(len(s), dtype=bool)
    starts[:1] = True
    starts[1:] = s[1:] != s[:-1]
    group = np.cumsum(starts) - 1
    pos = np.bincount(group, weights=p)
    neg = np.bincount(group, weights=q)
    self_pairs = float(np.dot(p, q))
    neg_below = np.cumsum(neg) - neg
    numerator = float(np.dot(pos, neg_below)) + 0.5 * (float(np.dot(pos, neg)) - self_pairs)
    denominator = float(pos.sum()) * float(neg.sum()) - self_pairs
    return numerator / denominator if denominator > 1e-12 else math.nan


def _ratio(num: float, den: float) -> float:
    return num / den if den > 1e-12 else math.nan


def metric_value(metric: str, positive: Array, score: Array, y_pred: Array) -> float:
    """One metric from labels (realized) or calibrated probabilities (expected).

    Undefined values (precision with no predicted positives, roc_auc with one class) are NaN.
    """
    if metric == "roc_auc":
        return roc_auc(score, positive)
    predicted = y_pred.astype(bool)
    tp = float(positive[predicted].sum())
    fp = float(predicted.sum()) - tp
    fn = float(positive[~predicted].sum())
    if metric == "accuracy":
        return (len(positive) - fp - fn) / len(positive) if len(positive) else math.nan
    if metric == "precision":
        return _ratio(tp, tp + fp)
    if metric == "recall":
        return _ratio(tp, tp + fn)
    if metric == "f1":
        return _ratio(2 * tp, 2 * tp + fp + fn)
    raise ValidationError(f"unknown metric {metric!r}; expected one of {METRICS}", field="metrics")


def expected_calibration_error(y_true: Array, proba: Array, bins: int = 10) -> float:
    """Expected calibration error over ``bins`` bins of equal row count (by probability):
    the row-weighted mean of |mean label - mean probability| per bin."""
    order = np.argsort(proba, kind="stable")
    total = 0.0
    for part in np.array_split(order, min(bins, len(order))):
        total += len(part) * abs(float(y_true[part].mean()) - float(proba[part].mean()))
    return total / len(order)


def hosmer_lemeshow(y_true: Array, proba: Array, bins: int = 10) -> tuple[float, float]:
    """The Hosmer-Lemeshow test of calibration for probabilities not fitted on these rows:
    ``sum over bins of (observed - expected positives)^2 / sum p(1 - p)`` over ``bins`` bins of
    equal row count, against a chi-square with ``bins`` degrees of freedom. Returns the
    statistic and its p-value (small: the probabilities are not calibrated)."""
    from scipy.stats import chi2

    order = np.argsort(proba, kind="stable")
    parts = np.array_split(order, min(bins, len(order)))
    statistic = 0.0
    for part in parts:
        gap = float(y_true[part].sum()) - float(proba[part].sum())
        variance = float(np.dot(proba[part], 1.0 - proba[part]))
        if variance > 1e-12:
            statistic += gap * gap / variance
        elif abs(gap) > 1e-9:  # certain probabilities that are wrong
            return math.inf, 0.0
    return statistic, float(chi2.sf(statistic, len(parts)))


@dataclass(frozen=True)
class CalibrationMap:
    """A monotone map from the model's probabilities to calibrated ones (piecewise linear
    through the points ``x``, ``y``, clipped at the ends); no points means the identity.

    The evidence: the reference's expected calibration error before and after (``ece_*``),
    and the Hosmer-Lemeshow statistic and p-value of its raw probabilities (``hl_*``)."""

    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    ece_before: float = math.nan
    ece_after: float = math.nan
    hl_statistic: float = math.nan
    hl_p_value: float = math.nan

    @property
    def applied(self) -> bool:
        return bool(self.x)

    def apply(self, proba: Array) -> Array:
        if not self.x:
            return proba.astype(float)
        return np.interp(proba, np.asarray(self.x), np.asarray(self.y))


@dataclass(frozen=True)
class EstimationReference:
    """What estimation keeps from the reference: the calibration map, the realized metrics,
    each metric's unit standard deviation (``SE(n) = unit_sd / sqrt(n)``) and the row count.
    Small and serialisable, so a reference profile can store it."""

    calibration: CalibrationMap
    metrics: dict[str, float]
    unit_sd: dict[str, float]
    rows: int

    def to_dict(self) -> dict[str, object]:
        c = self.calibration
        return {
            "format_version": FORMAT_VERSION,
            "calibration": {
                "x": list(c.x),
                "y": list(c.y),
                "ece_before": c.ece_before,
                "ece_after": c.ece_after,
                "hl_statistic": c.hl_statistic,
                "hl_p_value": c.hl_p_value,
            },
            "metrics": dict(self.metrics),
            "unit_sd": dict(self.unit_sd),
            "rows": self.rows,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EstimationReference:
        version = data.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValidationError(
                f"estimation reference has format version {version!r}; this Shipyard reads "
                f"up to {FORMAT_VERSION}: upgrade Shipyard or recompute the reference",
                field="format_version",
            )
        c = data["calibration"]
        scores = ("ece_before", "ece_after", "hl_statistic", "hl_p_value")
        calibration = CalibrationMap(
            tuple(c["x"]), tuple(c["y"]), *(float(c.get(k, math.nan)) for k in scores)
        )
        return cls(calibration, dict(data["metrics"]), dict(data["unit_sd"]), int(data["rows"]))


@dataclass(frozen=True)
class MetricEstimate:
    """One (chunk, metric) row: rows ``[start, stop)`` of the current data."""

    chunk: int
    start: int
    stop: int
    metric: str
    estimate: float
    lower: float
    upper: float
    reference: float
    lower_threshold: float
    upper_threshold: float
    alert: bool
    realized: float | None = None
    labeled: int | None = None


def bootstrap_unit_sd(
    metrics: Sequence[str],
    y_true: Array,
    score: Array,
    y_pred: Array,
    *,
    size: int,
    draws: int = 100,
    seed: int = 0,
) -> dict[str, float]:
    """Per metric, ``sqrt(size)`` times the standard deviation of the realized metric over
    ``draws`` bootstrap samples of ``size`` rows (undefined draws skipped; NaN when fewer than
    two are defined). The same samples serve every metric."""
    rng = np.random.default_rng(seed)
    values: dict[str, list[float]] = {m: [] for m in metrics}
    for _ in range(draws):
        idx = rng.integers(0, len(y_true), size)
        t, s, d = y_true[idx], score[idx], y_pred[idx]
        for metric in metrics:
            values[metric].append(metric_value(metric, t, s, d))
    out: dict[str, float] = {}
    for metric, found in values.items():
        defined = np.asarray(found)
        defined = defined[~np.isnan(defined)]
        sd = float(np.std(defined, ddof=1)) if len(defined) >= 2 else math.nan
        out[metric] = sd * math.sqrt(size)
    return out


def chunk_bounds(rows: int, chunk_size: int | None) -> list[tuple[int, int]]:
    """``[start, stop)`` of each chunk in order; the last partial chunk is kept."""
    if chunk_size is None:
        return [(0, rows)]
    return [(start, min(start + chunk_size, rows)) for start in range(0, rows, chunk_size)]


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def _row(
    ref: EstimationReference, metric: str, chunk: int, bounds: tuple[int, int], estimate: float
) -> MetricEstimate:
    se = ref.unit_sd.get(metric, math.nan) / math.sqrt(bounds[1] - bounds[0])
    reference = ref.metrics.get(metric, math.nan)
    low, high = _clip(reference - BAND_WIDTH * se), _clip(reference + BAND_WIDTH * se)
    alert = not math.isnan(estimate) and not math.isnan(se) and not low <= estimate <= high
    return MetricEstimate(
        chunk=chunk,
        start=bounds[0],
        stop=bounds[1],
        metric=metric,
        estimate=estimate,
        lower=_clip(estimate - BAND_WIDTH * se),
        upper=_clip(estimate + BAND_WIDTH * se),
        reference=reference,
        lower_threshold=low,
        upper_threshold=high,
        alert=alert,
    )


def _realized(metric: str, y_true: Array, score: Array, y_pred: Array) -> tuple[float | None, int]:
    labeled = ~np.isnan(y_true)
    count = int(labeled.sum())
    if count == 0:
        return None, 0
    return metric_value(metric, y_true[labeled], score[labeled], y_pred[labeled]), count


def estimate_chunks(
    ref: EstimationReference,
    score: Array,
    y_pred: Array,
    metrics: Sequence[str],
    chunk_size: int | None,
    y_true: Array | None = None,
) -> list[MetricEstimate]:
    """Estimate ``metrics`` per chunk of the current rows (``score``: the model's positive
    class probability; ``y_pred``: its 0/1 decision). With ``y_true`` (NaN where a label has
    not arrived) each row also carries the realized metric over the labeled rows."""
    calibrated = ref.calibration.apply(score)
    out: list[MetricEstimate] = []
    for chunk, (start, stop) in enumerate(chunk_bounds(len(score), chunk_size)):
        s, p, d = score[start:stop], calibrated[start:stop], y_pred[start:stop]
        for metric in metrics:
            row = _row(ref, metric, chunk, (start, stop), metric_value(metric, p, s, d))
            if y_true is not None:
                realized, labeled = _realized(metric, y_true[start:stop], s, d)
                row = replace(row, realized=realized, labeled=labeled)
            out.append(row)
    return out
