"""Realized metrics against scikit-learn on the same data: binary with ties, multiclass,
string classes, zero division, one-class windows, and regression (constant targets too)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from shipyard.core.realized_metrics import (
    classification_metrics,
    expected_calibration_error,
    regression_metrics,
    roc_auc,
)


def _ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=bins)
    true, mean = calibration_curve(y, p, n_bins=bins, strategy="uniform")
    filled = counts[counts > 0]
    return float(np.sum(filled / len(p) * np.abs(true - mean)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_metrics_equal_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 500)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, 500), 0, 1).round(2)  # many ties, some 0 and 1
    pred = (p > 0.5).astype(int)
    got = classification_metrics(y, pred, p, (0, 1))
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred), abs=1e-12)
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred), abs=1e-12)
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-12)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, p, labels=[0, 1]), rel=1e-9)
    assert got["calibration_error"] == pytest.approx(_ece(y, p), abs=1e-12)
    assert expected_calibration_error(y, p, 1, bins=7) == pytest.approx(_ece(y, p, 7), abs=1e-12)


def test_string_classes_use_the_last_class_as_positive() -> None:
    rng = np.random.default_rng(3)
    y = rng.choice(["churn", "stay"], 200)
    p = rng.uniform(size=200)  # the probability of "stay" (classes_[1])
    pred = np.where(p > 0.4, "stay", "churn")
    got = classification_metrics(y.astype(object), pred.astype(object), p, ("churn", "stay"))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred, pos_label="stay"))
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred, pos_label="stay"))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y == "stay", p))


def test_multiclass_is_macro_averaged_without_probability_metrics() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 4, 300)
    pred = np.where(rng.uniform(size=300) < 0.6, y, rng.integers(0, 4, 300))
    pred[pred == 3] = 2  # class 3 is never predicted: its precision is 0 (zero division)
    got = classification_metrics(y, pred, None, (0, 1, 2, 3))
    with pytest.warns(skm._classification.UndefinedMetricWarning):
        precision = skm.precision_score(y, pred, average="macro")
    assert got["precision"] == pytest.approx(precision)
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred, average="macro"))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert got["roc_auc"] is None and got["log_loss"] is None


def test_undefined_metrics_are_none_or_zero_as_in_scikit_learn() -> None:
    y = np.array([1, 1, 1])
    assert roc_auc(y, [0.2, 0.5, 0.9], 1) is None  # one class: scikit-learn refuses
    got = classification_metrics(y, np.array([0, 0, 0]), np.array([0.1, 0.2, 0.3]), (0, 1))
    assert got["precision"] == 0.0 and got["recall"] == 0.0 and got["f1"] == 0.0
    assert got["roc_auc"] is None and got["log_loss"] is not None
    empty = classification_metrics(np.array([]), np.array([]), None, (0, 1))
    assert set(empty.values()) == {None}
    assert set(regression_metrics(np.array([]), np.array([])).values()) == {None}
    partial = classification_metrics(y, y, np.array([0.9, np.nan, 0.8]), (0, 1))
    assert partial["log_loss"] == pytest.approx(skm.log_loss([1, 1], [0.9, 0.8], labels=[0, 1]))


def test_regression_metrics_equal_scikit_learn() -> None:
    rng = np.random.default_rng(5)
    y = rng.normal(size=400)
    pred = y + rng.normal(scale=0.4, size=400)
    got = regression_metrics(y, pred)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), rel=1e-12)
    assert got["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)), rel=1e-12)
    assert got["r2"] == pytest.approx(skm.r2_score(y, pred), rel=1e-12)
    constant = np.full(5, 2.0)
    assert regression_metrics(constant, constant + 1)["r2"] == skm.r2_score(constant, constant + 1)
    assert regression_metrics(constant, constant)["r2"] == skm.r2_score(constant, constant)
