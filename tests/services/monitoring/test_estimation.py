"""estimate_performance on DataFrames: realized metrics against scikit-learn, estimates
against the realized metrics of labeled synthetic data, calibration, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from shipyard.core.errors import ValidationError
from shipyard.core.estimation import EstimationReference
from shipyard.services.monitoring.estimation import (
    estimate_performance,
    estimate_with_reference,
    fit_calibration,
    fit_reference_frame,
)

ALL = ("roc_auc", "accuracy", "f1", "precision", "recall")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _frame(rng: np.random.Generator, n: int, shift: float, sharpness: float = 1.0) -> pd.DataFrame:
    """Labels drawn from the true probability; the model's score is ``sharpness`` times too
    confident (1: calibrated). Shifting the feature moves rows along the logit."""
    x = rng.normal(shift, 1.0, n)
    truth = _sigmoid(2.0 * x - 0.5)
    return pd.DataFrame(
        {
            "x": x,
            "label": (rng.random(n) < truth).astype(int),
            "proba": _sigmoid(sharpness * (2.0 * x - 0.5)),
        }
    )


def _current(rng: np.random.Generator, shifts: list[float], rows: int, **kw: float) -> pd.DataFrame:
    return pd.concat([_frame(rng, rows, s, **kw) for s in shifts], ignore_index=True)


@pytest.fixture(scope="module")
def shifted() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    reference = _frame(rng, 20_000, 0.0)
    current = _current(rng, list(np.linspace(-1.0, 1.5, 20)), 1000)
    return reference, current


def test_realized_metrics_match_sklearn(shifted: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    reference, current = shifted
    frame = estimate_performance(
        reference, current, y_true="label", y_pred_proba="proba", metrics=ALL, chunk_size=1000
    ).to_frame()
    sk = {
        "roc_auc": lambda y, p, d: roc_auc_score(y, p),
        "accuracy": lambda y, p, d: accuracy_score(y, d),
        "f1": lambda y, p, d: f1_score(y, d),
        "precision": lambda y, p, d: precision_score(y, d),
        "recall": lambda y, p, d: recall_score(y, d),
    }
    assert len(frame) == 20 * len(ALL)
    for row in frame.itertuples():
        part = current.iloc[row.start : row.stop]
        y, p = part["label"].to_numpy(), part["proba"].to_numpy()
        expected = sk[row.metric](y, p, (p >= 0.5).astype(int))
        assert row.realized == pytest.approx(expected, abs=1e-12)
        assert row.labeled == 1000


def test_estimates_cover_the_realized_metric_under_covariate_shift(
    shifted: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    reference, current = shifted
    result = estimate_performance(
        reference, current, y_true="label", y_pred_proba="proba", metrics=ALL, chunk_size=1000
    )
    frame = result.to_frame()
    inside = (frame["realized"] >= frame["lower"]) & (frame["realized"] <= frame["upper"])
    per_metric = inside.groupby(frame["metric"]).mean()
    assert (per_metric >= 0.9).all(), per_metric
    error = (frame["estimate"] - frame["realized"]).abs().groupby(frame["metric"]).mean()
    assert (error < 0.02).all(), error


def test_a_performance_drop_is_estimated_and_alerted() -> None:
    rng = np.random.default_rng(5)
    reference = _frame(rng, 10_000, 0.0)
    # rows drift towards x = 0.25, where the true probability is one half: the model is unsure
    steady = [_frame(rng, 1000, 0.0) for _ in range(4)]
    unsure = []
    for _ in range(4):
        x = rng.normal(0.25, 0.2, 1000)
        truth = _sigmoid(2.0 * x - 0.5)
        label = (rng.random(1000) < truth).astype(int)
        unsure.append(pd.DataFrame({"x": x, "label": label, "proba": truth}))
    current = pd.concat(steady + unsure, ignore_index=True)
    frame = estimate_performance(
        reference, current.drop(columns="label"), y_true="label", y_pred_proba="proba",
        chunk_size=1000,
    ).to_frame()  # fmt: skip
    assert "realized" not in frame
    for metric in ("roc_auc", "accuracy"):
        rows = frame[frame["metric"] == metric]
        before, after = rows[rows["chunk"] < 4], rows[rows["chunk"] >= 4]
        assert after["estimate"].max() < before["estimate"].min() - 0.1
        assert after["alert"].all()
        assert not before["alert"].any()
    realized_auc = [roc_auc_score(d["label"], d["proba"]) for d in unsure]
    estimated_auc = frame[(frame["metric"] == "roc_auc") & (frame["chunk"] >= 4)]["estimate"]
    assert np.abs(np.array(realized_auc) - estimated_auc.to_numpy()).max() < 0.06


def test_overconfident_scores_are_calibrated_like_sklearn_isotonic() -> None:
    rng = np.random.default_rng(8)
    reference = _frame(rng, 5000, 0.0, sharpness=3.0)
    y, p = reference["label"].to_numpy().astype(float), reference["proba"].to_numpy()
    cal = fit_calibration(y, p)
    assert cal.applied and cal.ece_after < cal.ece_before and cal.hl_p_value < 0.2
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p, y)
    probe = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(cal.apply(probe), iso.predict(probe), atol=1e-12)
    # the overconfident model's estimate is right after calibration
    current = _current(rng, [0.5, 1.0], 2000, sharpness=3.0)
    frame = estimate_performance(
        reference, current, y_true="label", y_pred_proba="proba", chunk_size=2000
    ).to_frame()
    error = (frame["estimate"] - frame["realized"]).abs()
    assert error.max() < 0.03


def test_calibrated_scores_are_left_alone() -> None:
    rng = np.random.default_rng(9)
    reference = _frame(rng, 5000, 0.0)
    cal = fit_calibration(
        reference["label"].to_numpy().astype(float), reference["proba"].to_numpy()
    )
    assert not cal.applied and cal.hl_p_value >= 0.2


def test_y_pred_column_partial_labels_and_one_chunk() -> None:
    rng = np.random.default_rng(10)
    reference = _frame(rng, 3000, 0.0)
    reference["decision"] = (reference["proba"] >= 0.7).astype(int)
    current = _frame(rng, 2500, 0.3)
    current["decision"] = (current["proba"] >= 0.7).astype(int)
    labels = current["label"].astype(float).copy()
    labels.iloc[::3] = np.nan
    current["label"] = labels
    result = estimate_performance(
        reference, current, y_true="label", y_pred_proba="proba", y_pred="decision",
        metrics="precision",
    )  # fmt: skip
    (row,) = result.to_dicts()
    assert row["chunk"] == 0 and row["rows"] == 2500 and row["metric"] == "precision"
    known = labels.notna()
    assert row["labeled"] == int(known.sum())
    expected = precision_score(labels[known].astype(int), current["decision"][known])
    assert row["realized"] == pytest.approx(expected)


def test_last_partial_chunk_and_frame_columns() -> None:
    rng = np.random.default_rng(12)
    reference, current = _frame(rng, 2000, 0.0), _frame(rng, 2500, 0.0).drop(columns="label")
    frame = estimate_performance(
        reference, current, y_true="label", y_pred_proba="proba", chunk_size=1000
    ).to_frame()
    assert list(frame.columns[:8]) == [
        "chunk", "start", "stop", "rows", "metric", "estimate", "lower", "upper",
    ]  # fmt: skip
    assert {"reference", "lower_threshold", "upper_threshold", "alert"} <= set(frame.columns)
    assert frame["chunk"].tolist() == [0, 0, 1, 1, 2, 2]
    assert frame["rows"].tolist() == [1000, 1000, 1000, 1000, 500, 500]
    assert frame["metric"].tolist()[:2] == ["roc_auc", "accuracy"]
    assert ((frame["lower"] <= frame["estimate"]) & (frame["estimate"] <= frame["upper"])).all()
    assert frame["lower"].between(0, 1).all() and frame["upper"].between(0, 1).all()


# ---------------------------------------------------------------------------- bad input
def _good() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    return _frame(rng, 400, 0.0), _frame(rng, 300, 0.0)


def _refused(field: str, reference: object, current: object, **kw: object) -> str:
    args: dict[str, object] = {"y_true": "label", "y_pred_proba": "proba", **kw}
    with pytest.raises(ValidationError) as info:
        estimate_performance(reference, current, **args)  # type: ignore[arg-type]
    assert info.value.field == field
    return info.value.message


@pytest.mark.parametrize("where", ["reference", "current"])
def test_a_missing_probability_column_is_named(where: str) -> None:
    reference, current = _good()
    frames = {"reference": reference, "current": current}
    frames[where] = frames[where].drop(columns="proba")
    message = _refused("y_pred_proba", frames["reference"], frames["current"])
    assert "'proba'" in message and where in message


def test_missing_label_and_decision_columns_are_named() -> None:
    reference, current = _good()
    assert "'label'" in _refused("y_true", reference.drop(columns="label"), current)
    assert "'decision'" in _refused("y_pred", reference, current, y_pred="decision")


@pytest.mark.parametrize("bad", [1.5, -0.1, np.nan])
def test_probabilities_outside_0_1_are_refused(bad: float) -> None:
    reference, current = _good()
    current.loc[3, "proba"] = bad
    assert "[0, 1]" in _refused("y_pred_proba", reference, current)


def test_text_probabilities_are_refused() -> None:
    reference, current = _good()
    reference["proba"] = "high"
    assert "not numeric" in _refused("y_pred_proba", reference, current)


@pytest.mark.parametrize("labels", [[0, 1, 2], ["no", "yes", "no"]])
def test_non_binary_labels_are_refused(labels: list[object]) -> None:
    reference, current = _good()
    reference["label"] = (labels * len(reference))[: len(reference)]
    assert "binary" in _refused("y_true", reference, current)


def test_missing_reference_labels_and_bad_current_labels_are_refused() -> None:
    reference, current = _good()
    with_gap = reference.astype({"label": float})
    with_gap.loc[0, "label"] = np.nan
    assert "missing" in _refused("y_true", with_gap, current)
    current["label"] = 3
    assert "current" in _refused("y_true", reference, current)


def test_non_binary_decisions_are_refused() -> None:
    reference, current = _good()
    reference["decision"] = 2
    current["decision"] = 1
    _refused("y_pred", reference, current, y_pred="decision")


def test_a_reference_with_one_class_is_refused() -> None:
    reference, current = _good()
    reference["label"] = 1
    assert "one class" in _refused("y_true", reference, current)


def test_empty_data_is_refused() -> None:
    reference, current = _good()
    assert "no rows" in _refused("current", reference, current.iloc[:0])
    assert "no rows" in _refused("reference", reference.iloc[:0], current)
    _refused("reference", [1, 2, 3], current)


@pytest.mark.parametrize("size", [0, -5, True, 2.5])
def test_bad_chunk_sizes_are_refused(size: object) -> None:
    reference, current = _good()
    _refused("chunk_size", reference, current, chunk_size=size)


@pytest.mark.parametrize("metrics", [("auc",), (), ("roc_auc", "log_loss")])
def test_unknown_metrics_are_refused(metrics: tuple[str, ...]) -> None:
    reference, current = _good()
    assert "roc_auc" in _refused("metrics", reference, current, metrics=metrics)


def test_a_stored_reference_gives_the_same_estimates() -> None:
    rng = np.random.default_rng(13)
    reference, current = _frame(rng, 4000, 0.0, sharpness=2.0), _frame(rng, 3000, 0.5)
    args = {"y_pred_proba": "proba", "chunk_size": 1000, "metrics": ALL}
    direct = estimate_performance(reference, current, y_true="label", **args)
    fitted = fit_reference_frame(reference, y_true="label", y_pred_proba="proba")
    stored = EstimationReference.from_dict(json.loads(json.dumps(fitted.to_dict())))
    again = estimate_with_reference(stored, current, y_true="label", **args)
    pd.testing.assert_frame_equal(again.to_frame(), direct.to_frame())
    narrow = fit_reference_frame(reference, y_true="label", y_pred_proba="proba", metrics="f1")
    with pytest.raises(ValidationError) as info:
        estimate_with_reference(narrow, current, y_pred_proba="proba")
    assert info.value.field == "metrics" and "roc_auc" in info.value.message
