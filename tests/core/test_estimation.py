"""The maths of performance estimation, checked against scikit-learn and brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from shipyard.core.errors import ValidationError
from shipyard.core.estimation import (
    FORMAT_VERSION,
    CalibrationMap,
    EstimationReference,
    bootstrap_unit_sd,
    chunk_bounds,
    estimate_chunks,
    expected_calibration_error,
    hosmer_lemeshow,
    metric_value,
    roc_auc,
)

SKLEARN = {
    "accuracy": accuracy_score,
    "f1": f1_score,
    "precision": precision_score,
    "recall": recall_score,
}


def _labeled(seed: int, n: int = 500, decimals: int | None = None) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    if decimals is not None:
        score = np.round(score, decimals)  # ties
    y = (rng.random(n) < score).astype(float)
    return y, score, (score >= 0.5).astype(float)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("decimals", [None, 1, 2])
def test_realized_roc_auc_matches_sklearn(seed: int, decimals: int | None) -> None:
    y, score, _ = _labeled(seed, decimals=decimals)
    assert roc_auc(score, y) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("metric", sorted(SKLEARN))
def test_realized_confusion_metrics_match_sklearn(seed: int, metric: str) -> None:
    y, score, pred = _labeled(seed)
    expected = SKLEARN[metric](y, pred)
    assert metric_value(metric, y, score, pred) == pytest.approx(expected, abs=1e-12)
    assert metric_value("roc_auc", y, score, pred) == pytest.approx(roc_auc_score(y, score))


def _brute_expected_auc(score: np.ndarray, p: np.ndarray) -> float:
    num = den = 0.0
    for i in range(len(score)):
        for j in range(len(score)):
            if i == j:
                continue
            w = p[i] * (1 - p[j])
            den += w
            num += w * (1.0 if score[i] > score[j] else 0.5 if score[i] == score[j] else 0.0)
    return num / den


@pytest.mark.parametrize("seed", range(3))
def test_expected_roc_auc_is_the_weighted_mann_whitney_statistic(seed: int) -> None:
    rng = np.random.default_rng(seed)
    score = np.round(rng.random(60), 1)
    p = rng.random(60)
    assert roc_auc(score, p) == pytest.approx(_brute_expected_auc(score, p), abs=1e-12)


def test_expected_confusion_metrics_are_ratios_of_expected_counts() -> None:
    rng = np.random.default_rng(3)
    p = rng.random(400)
    pred = (rng.random(400) < 0.5).astype(float)
    tp, fp = p[pred == 1].sum(), (1 - p[pred == 1]).sum()
    fn, tn = p[pred == 0].sum(), (1 - p[pred == 0]).sum()
    assert metric_value("accuracy", p, p, pred) == pytest.approx((tp + tn) / 400)
    assert metric_value("precision", p, p, pred) == pytest.approx(tp / (tp + fp))
    assert metric_value("recall", p, p, pred) == pytest.approx(tp / (tp + fn))
    assert metric_value("f1", p, p, pred) == pytest.approx(2 * tp / (2 * tp + fp + fn))


def test_expected_accuracy_is_the_mean_of_simulated_realized_accuracy() -> None:
    rng = np.random.default_rng(4)
    p = rng.random(300)
    pred = (p >= 0.5).astype(float)
    draws = (rng.random((4000, 300)) < p).astype(float)
    simulated = np.mean([accuracy_score(d, pred) for d in draws])
    assert metric_value("accuracy", p, p, pred) == pytest.approx(simulated, abs=2e-3)


def test_undefined_metrics_are_nan() -> None:
    y = np.array([1.0, 1.0, 1.0])
    assert math.isnan(roc_auc(np.array([0.1, 0.2, 0.3]), y))
    none_predicted = np.zeros(3)
    assert math.isnan(metric_value("precision", y, y, none_predicted))
    assert metric_value("recall", y, y, none_predicted) == 0.0


def test_unknown_metric_names_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        metric_value("auc", np.ones(2), np.ones(2), np.ones(2))
    assert info.value.field == "metrics"


def test_expected_calibration_error_by_hand() -> None:
    y = np.array([0, 0, 1, 1], dtype=float)
    p = np.array([0.1, 0.3, 0.6, 0.8])
    # two bins of two rows: |0 - 0.2| and |1 - 0.7|
    assert expected_calibration_error(y, p, bins=2) == pytest.approx((0.2 * 2 + 0.3 * 2) / 4)
    assert expected_calibration_error(y, y, bins=2) == 0.0


def test_hosmer_lemeshow_by_hand_and_its_false_alarm_rate() -> None:
    from scipy.stats import chi2

    y = np.array([0, 0, 1, 0, 1, 1], dtype=float)
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    lo, hi = p[:3], p[3:]
    expected = (1 - lo.sum()) ** 2 / (lo * (1 - lo)).sum() + (2 - hi.sum()) ** 2 / (
        hi * (1 - hi)
    ).sum()
    statistic, p_value = hosmer_lemeshow(y, p, bins=2)
    assert statistic == pytest.approx(expected)
    assert p_value == pytest.approx(chi2.sf(expected, 2))
    assert hosmer_lemeshow(np.array([1.0, 0.0]), np.array([0.0, 0.0]), bins=1) == (math.inf, 0.0)
    rng = np.random.default_rng(0)
    rejected = 0
    for _ in range(200):  # calibrated probabilities: about 5 % rejected at 0.05
        proba = rng.random(2000)
        rejected += hosmer_lemeshow((rng.random(2000) < proba).astype(float), proba)[1] < 0.05
    assert 2 <= rejected <= 20
    overconfident = np.clip(0.5 + 1.5 * (proba - 0.5), 0, 1)
    labels = (rng.random(2000) < proba).astype(float)
    assert hosmer_lemeshow(labels, overconfident)[1] < 1e-6


def test_calibration_map_interpolates_and_clips() -> None:
    cal = CalibrationMap((0.2, 0.8), (0.1, 0.9))
    out = cal.apply(np.array([0.0, 0.2, 0.5, 0.8, 1.0]))
    assert out.tolist() == pytest.approx([0.1, 0.1, 0.5, 0.9, 0.9])
    assert CalibrationMap().apply(np.array([0.3])).tolist() == [0.3]
    assert cal.applied and not CalibrationMap().applied


def test_chunk_bounds_keep_the_last_partial_chunk() -> None:
    assert chunk_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert chunk_bounds(10, None) == [(0, 10)]
    assert chunk_bounds(8, 4) == [(0, 4), (4, 8)]


def test_bootstrap_unit_sd_of_accuracy_is_the_binomial_one() -> None:
    y, score, pred = _labeled(7, n=20_000)
    acc = accuracy_score(y, pred)
    found = bootstrap_unit_sd(["accuracy", "roc_auc"], y, score, pred, size=2000, draws=400)
    assert found["accuracy"] == pytest.approx(math.sqrt(acc * (1 - acc)), rel=0.1)
    assert found["roc_auc"] > 0


def _reference() -> EstimationReference:
    return EstimationReference(
        CalibrationMap((0.0, 1.0), (0.0, 1.0), 0.05, 0.01),
        {"accuracy": 0.8, "roc_auc": 0.9},
        {"accuracy": 0.4, "roc_auc": 0.3},
        1000,
    )


def test_reference_round_trips_and_refuses_newer_formats() -> None:
    ref = _reference()
    assert EstimationReference.from_dict(ref.to_dict()) == ref
    newer = {**ref.to_dict(), "format_version": FORMAT_VERSION + 1}
    with pytest.raises(ValidationError) as info:
        EstimationReference.from_dict(newer)
    assert info.value.field == "format_version"


def test_band_and_alert_follow_the_documented_rule() -> None:
    ref = _reference()
    rng = np.random.default_rng(0)
    good = rng.random(400)
    pred = (good >= 0.5).astype(float)
    rows = estimate_chunks(ref, good, pred, ["accuracy"], 100)
    assert [(r.start, r.stop) for r in rows] == [(0, 100), (100, 200), (200, 300), (300, 400)]
    for r in rows:
        se = 0.4 / math.sqrt(100)
        assert r.lower == pytest.approx(max(0.0, r.estimate - 3 * se))
        assert r.upper == pytest.approx(min(1.0, r.estimate + 3 * se))
        assert r.lower_threshold == pytest.approx(0.8 - 3 * se)
        assert r.upper_threshold == pytest.approx(min(1.0, 0.8 + 3 * se))
        assert r.alert == (not r.lower_threshold <= r.estimate <= r.upper_threshold)
        assert r.realized is None
    # uniform probabilities: expected accuracy 0.75, inside 0.8 ± 0.12
    assert not any(r.alert for r in rows)
    # probabilities near one half: expected accuracy about 0.5, an alert
    unsure = np.full(100, 0.5)
    (row,) = estimate_chunks(ref, unsure, np.ones(100), ["accuracy"], None)
    assert row.estimate == pytest.approx(0.5) and row.alert


def test_realized_uses_the_labeled_rows_only() -> None:
    ref = _reference()
    y, score, pred = _labeled(2, n=200)
    partial = y.copy()
    partial[::2] = np.nan
    rows = estimate_chunks(ref, score, pred, ["accuracy", "roc_auc"], 100, partial)
    first = rows[0]
    assert first.labeled == 50
    assert first.realized == pytest.approx(accuracy_score(y[1:100:2], pred[1:100:2]))
    none = estimate_chunks(ref, score, pred, ["accuracy"], None, np.full(200, np.nan))
    assert none[0].realized is None and none[0].labeled == 0
