"""Realized performance from labelled predictions: classification (accuracy, precision,
recall, f1, roc_auc, log_loss, expected calibration error) and regression (mae, rmse, r2).

numpy only; the definitions are scikit-learn's (tests compare on the same data):
precision/recall/f1 of the positive class for binary problems and macro averages otherwise,
0.0 where scikit-learn's ``zero_division`` gives 0; roc_auc by the rank statistic with ties
averaged; log_loss with probabilities clipped to [eps, 1 - eps]; r2 finite as scikit-learn's
``force_finite``. A metric that cannot be computed on the rows (roc_auc with one class,
anything on zero rows) is None, never NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "CALIBRATION_BINS",
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
    "classification_metrics",
    "expected_calibration_error",
    "regression_metrics",
    "roc_auc",
]

CALIBRATION_BINS = 10
CLASSIFICATION_METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "calibration_error",
)
REGRESSION_METRICS = ("mae", "rmse", "r2")


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else 0.0


def _prf(y_true: Any, y_pred: Any, positive: Any) -> tuple[float, float, float]:
    tp = float(((y_pred == positive) & (y_true == positive)).sum())
    predicted, actual = float((y_pred == positive).sum()), float((y_true == positive).sum())
    precision, recall = _ratio(tp, predicted), _ratio(tp, actual)
    return precision, recall, _ratio(2 * tp, predicted + actual)


def roc_auc(y_true: Any, score: Any, positive: Any) -> float | None:
    """Area under the ROC curve of ``score`` for ``positive`` (None with one class only):
    the estimator's Mann-Whitney AUC with 0/1 weights."""
    import math

    import numpy as np

    from shipyard.core.estimation import roc_auc as weighted_auc

    hits = (np.asarray(y_true) == positive).astype(np.float64)
    value = weighted_auc(np.asarray(score, dtype=np.float64), hits)
    return None if math.isnan(value) else value


def expected_calibration_error(
    y_true: Any, proba: Any, positive: Any, bins: int = CALIBRATION_BINS
) -> float | None:
    """Σ over equal-width probability bins of (rows in bin / rows) x |observed positive
    share - mean predicted probability| (bins as scikit-learn's ``calibration_curve``)."""
    import numpy as np

    p = np.asarray(proba, dtype=np.float64)
    if len(p) == 0:
        return None
    hit = (np.asarray(y_true) == positive).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], p)
    count = np.bincount(ids, minlength=bins).astype(np.float64)
    observed = np.bincount(ids, weights=hit, minlength=bins)
    predicted = np.bincount(ids, weights=p, minlength=bins)
    filled = count > 0
    gaps = np.abs(observed[filled] - predicted[filled])  # = count x |share - mean|
    return float(gaps.sum() / len(p))


def _log_loss(y_true: Any, proba: Any, positive: Any) -> float:
    import numpy as np

    eps = np.finfo(np.float64).eps
    p = np.clip(np.asarray(proba, dtype=np.float64), eps, 1 - eps)
    hit = np.asarray(y_true) == positive
    return float(-np.mean(np.where(hit, np.log(p), np.log1p(-p))))


def classification_metrics(
    y_true: Any, y_pred: Any, proba: Any | None, classes: Sequence[Any]
) -> dict[str, float | None]:
    """Every classification metric; ``proba`` is the probability of ``classes[-1]`` (binary
    only: the probability-based metrics are None without it or with more classes)."""
    import numpy as np

    t, p = np.asarray(y_true), np.asarray(y_pred)
    out: dict[str, float | None] = dict.fromkeys(CLASSIFICATION_METRICS)
    if len(t) == 0:
        return out
    out["accuracy"] = float((t == p).mean())
    if len(classes) == 2:
        positive = classes[-1]
        out["precision"], out["recall"], out["f1"] = _prf(t, p, positive)
    else:
        present = [c for c in classes if (t == c).any() or (p == c).any()]
        scores = np.array([_prf(t, p, c) for c in present]) if present else np.zeros((1, 3))
        out["precision"], out["recall"], out["f1"] = (float(x) for x in scores.mean(axis=0))
    if proba is None or len(classes) != 2:
        return out
    q = np.asarray(proba, dtype=np.float64)
    known = ~np.isnan(q)
    if not known.all():  # rows logged without a probability do not count here
        t, q = t[known], q[known]
    if len(q) == 0:
        return out
    positive = classes[-1]
    out["roc_auc"] = roc_auc(t, q, positive)
    out["log_loss"] = _log_loss(t, q, positive)
    out["calibration_error"] = expected_calibration_error(t, q, positive)
    return out


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float | None]:
    import numpy as np

    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if len(t) == 0:
        return dict.fromkeys(REGRESSION_METRICS)
    err = t - p
    ss_res = float((err**2).sum())
    ss_tot = float(((t - t.mean()) ** 2).sum())
    r2 = (1.0 if ss_res == 0 else 0.0) if ss_tot == 0 else 1 - ss_res / ss_tot
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "r2": r2,
    }
