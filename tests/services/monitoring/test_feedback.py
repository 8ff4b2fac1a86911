"""Ground truth on SQLite and PostgreSQL: labels joined to real prediction logs by id,
idempotent upserts, unknown ids, wrong types and classes, repeats in a batch, label delay,
the audit entry, and realized metrics checked against scikit-learn on the same rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LinearRegression, LogisticRegression

from shipyard.core.errors import NotFoundError, PayloadTooLargeError, ValidationError
from shipyard.core.feedback import MAX_FEEDBACK_BATCH
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.services.formats.predictions import prediction_id
from shipyard.settings import Settings
from shipyard.stores.sql.tables_monitoring import feedback
from tests.services.monitoring.logs import COLUMNS, HOUR, SIG, T0, data, log_predictions


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Any:
    services = build_services(
        Settings(project_dir=tmp_path, db_url=db_url, artifacts_url=str(tmp_path / "objects"))
    )
    yield services
    services.close()


@pytest.fixture
def classifier(svc: Services) -> LogisticRegression:
    x, y = data(400)
    model = LogisticRegression().fit(pd.DataFrame(x, columns=COLUMNS), y)
    svc.registry.log_model(model, "bc", user="ada", signature=SIG)
    return model


def _stored(svc: Services) -> list[Any]:
    with svc.db.read() as conn:
        return list(conn.execute(sa.select(feedback).order_by(feedback.c.prediction_id)))


def test_labels_join_by_id_and_a_repeated_id_updates(svc: Services, classifier: Any) -> None:
    x, y = data(20, seed=1)
    ids = log_predictions(svc, classifier, "bc", x)
    receipt = svc.feedback.record("bc", dict(zip(ids, y.tolist(), strict=True)), user="ada")
    assert (receipt.received, receipt.inserted, receipt.updated) == (20, 20, 0)
    assert receipt.unknown == 0 and receipt.unknown_ids == ()
    flipped = {pid: 1 - int(label) for pid, label in zip(ids[:5], y[:5], strict=True)}
    again = svc.feedback.record("bc", flipped, user="ada")
    assert (again.received, again.inserted, again.updated) == (5, 0, 5)
    rows = _stored(svc)
    assert len(rows) == 20  # updated, never duplicated
    by_id = {r.prediction_id: r for r in rows}
    assert all(by_id[pid].label == str(label) for pid, label in flipped.items())
    assert all(r.matched and r.version == 1 for r in rows)


def test_unknown_ids_are_counted_returned_kept_and_used_once_logged(
    svc: Services, classifier: Any
) -> None:
    x, y = data(10, seed=2)
    early = [prediction_id("abcd1234", T0 + n * 1000, n + 1) for n in range(10)]
    receipt = svc.feedback.record("bc", dict(zip(early, y.tolist(), strict=True)), user="ada")
    assert receipt.unknown == 10 and set(receipt.unknown_ids) == set(early)
    assert not any(r.matched for r in _stored(svc))
    assert svc.realized.realized("bc").versions == ()  # no logs yet
    ids = log_predictions(svc, classifier, "bc", x)  # the logs arrive afterwards
    assert ids == early
    got = svc.realized.realized("bc")
    assert got.versions[0].labelled == 10
    assert got.versions[0].metrics["accuracy"] == pytest.approx(
        skm.accuracy_score(y, classifier.predict(pd.DataFrame(x, columns=COLUMNS)))
    )
    odd = svc.feedback.record("bc", {"no-such-id": 1}, user="ada")
    assert odd.unknown == 1 and odd.unknown_ids == ("no-such-id",)


def test_wrong_types_and_classes_are_refused_naming_the_item(
    svc: Services, classifier: Any
) -> None:
    ids = log_predictions(svc, classifier, "bc", data(3)[0])
    cases = [
        ({ids[0]: "yes"}, f"labels[{ids[0]!r}].label", "is a string"),
        ({ids[0]: 2}, f"labels[{ids[0]!r}].label", "not one of bc@v1's classes"),
        ({ids[0]: True}, f"labels[{ids[0]!r}].label", "is a boolean"),
        ({ids[0]: 0.5}, f"labels[{ids[0]!r}].label", "not one of"),
        ({ids[0]: None}, f"labels[{ids[0]!r}].label", "missing"),
        ([{"prediction_id": ids[0]}], "labels[0].label", "missing"),
        ([{"prediction_id": 7, "label": 1}], "labels[0].prediction_id", "prediction_id"),
        ([{"prediction_id": ids[0], "label": 1, "row": -1}], "labels[0].row", "row"),
        ([{"prediction_id": ids[0], "label": 1, "when": 3}], "labels[0].when", "unknown"),
        ([{"prediction_id": ids[0], "label": 1, "time": "soon"}], "labels[0].time", "ISO"),
        ({}, "labels", "empty"),
        ("bc.csv", "labels", "must be"),
        (pd.DataFrame({"id": ids, "label": 1}), "prediction_id", "columns"),
    ]
    for labels, field, words in cases:
        with pytest.raises(ValidationError, match=words) as e:
            svc.feedback.record("bc", labels, user="ada")
        assert e.value.field == field, (labels, e.value.message)
    assert _stored(svc) == []  # nothing half-written
    svc.feedback.record("bc", {ids[0]: 1.0}, user="ada")  # a whole float is the class 1
    assert _stored(svc)[0].label == "1"


def test_regression_labels_must_be_numbers(svc: Services) -> None:
    x, _ = data(30, seed=3)
    target = x @ np.array([2.0, -1.0]) + 0.3
    model = LinearRegression().fit(pd.DataFrame(x, columns=COLUMNS), target)
    sig = {**SIG, "output": "float64"}
    svc.registry.log_model(model, "price", user="ada", signature=sig)
    ids = log_predictions(svc, model, "price", x, proba=False)
    with pytest.raises(ValidationError, match="regression") as e:
        svc.feedback.record("price", {ids[0]: "high"}, user="ada")
    assert e.value.field == f"labels[{ids[0]!r}].label"
    truth = target + np.random.default_rng(4).normal(size=30)
    svc.feedback.record("price", dict(zip(ids, truth.tolist(), strict=True)), user="ada")
    got = svc.realized.realized("price").versions[0]
    predicted = model.predict(pd.DataFrame(x, columns=COLUMNS))
    assert got.task == "regression" and got.labelled == 30
    assert got.metrics["mae"] == pytest.approx(skm.mean_absolute_error(truth, predicted), 1e-12)
    rmse = np.sqrt(skm.mean_squared_error(truth, predicted))
    assert got.metrics["rmse"] == pytest.approx(rmse, 1e-12)
    assert got.metrics["r2"] == pytest.approx(skm.r2_score(truth, predicted), 1e-12)


def test_repeats_in_a_batch_collapse_or_are_refused(svc: Services, classifier: Any) -> None:
    ids = log_predictions(svc, classifier, "bc", data(4)[0])
    same = [{"prediction_id": ids[0], "label": 1}, {"prediction_id": ids[0], "label": 1}]
    receipt = svc.feedback.record("bc", [*same, {"prediction_id": ids[1], "label": 0}], user="a")
    assert (receipt.received, receipt.inserted, receipt.duplicates) == (3, 2, 1)
    clash = [{"prediction_id": ids[2], "label": 1}, {"prediction_id": ids[2], "label": 0}]
    with pytest.raises(ValidationError, match=r"repeats prediction .* labels\[0\]") as e:
        svc.feedback.record("bc", clash, user="a")
    assert e.value.field == "labels[1].prediction_id"
    assert len(_stored(svc)) == 2


def test_label_delay_rows_and_frames(svc: Services, classifier: Any) -> None:
    x, y = data(6, seed=5)
    ids = log_predictions(
        svc, classifier, "bc", x, rows_per_request=3
    )  # two requests of three rows
    frame = pd.DataFrame(
        {
            "prediction_id": [ids[0]] * 3 + [ids[1]] * 3,
            "row": [0, 1, 2, 0, 1, 2],
            "label": y,
            "time": pd.to_datetime([T0 + HOUR] * 3 + [T0 + 2 * HOUR] * 3, unit="ms", utc=True),
        }
    )
    receipt = svc.feedback.record("bc", frame, user="ada")
    assert receipt.inserted == 6 and receipt.unknown == 0
    logged = [T0 + 3, T0 + 1000 + 3]  # each request's logged time
    delays = [T0 + HOUR - logged[0]] * 3 + [T0 + 2 * HOUR - logged[1]] * 3
    assert receipt.mean_delay_ms == pytest.approx(np.mean(delays))
    rows = {(r.prediction_id, r.row_no): r for r in _stored(svc)}
    assert rows[(ids[1], 2)].prediction_time == logged[1]
    assert rows[(ids[1], 2)].label_time - rows[(ids[1], 2)].prediction_time == delays[-1]
    got = svc.realized.realized("bc").versions[0]
    assert got.mean_delay_ms == pytest.approx(np.mean(delays)) and got.predictions == 6


def test_one_audit_entry_per_batch_and_the_batch_limit(svc: Services, classifier: Any) -> None:
    ids = log_predictions(svc, classifier, "bc", data(3)[0])
    svc.feedback.record("bc", {ids[0]: 1, ids[1]: 0, "late-id": 1}, user="ada")
    entries = svc.audit.log("model:bc")
    batches = [e for e in entries if e.action == "feedback.record"]
    assert len(batches) == 1 and batches[0].actor == "ada"
    payload = json.loads(batches[0].payload)
    assert payload["received"] == 3 and payload["unknown"] == 1 and payload["inserted"] == 3
    too_many = {f"id-{i}": 1 for i in range(MAX_FEEDBACK_BATCH + 1)}
    with pytest.raises(PayloadTooLargeError, match="10,000") as e:
        svc.feedback.record("bc", too_many, user="ada")
    assert e.value.field == "labels"


def test_unknown_model_version_and_window(svc: Services, classifier: Any) -> None:
    with pytest.raises(NotFoundError) as e:
        svc.feedback.record("nope", {"x": 1}, user="ada")
    assert e.value.field == "model"
    with pytest.raises(NotFoundError) as e:
        svc.realized.realized("nope")
    assert e.value.field == "model"
    with pytest.raises(NotFoundError) as e:
        svc.realized.realized("bc", version=9)
    assert e.value.field == "version"
    with pytest.raises(ValidationError) as e:
        svc.realized.realized("bc", start_ms=T0, end_ms=T0 - 1)
    assert e.value.field == "end"


def _ece(y: np.ndarray, p: np.ndarray) -> float:
    """The expected calibration error from scikit-learn's calibration curve."""
    edges = np.linspace(0, 1, 11)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=10)
    true, mean = calibration_curve(y, p, n_bins=10, strategy="uniform")
    filled = counts[counts > 0]
    return float(np.sum(filled / len(p) * np.abs(true - mean)))


def test_realized_classification_equals_scikit_learn_per_version_and_window(
    svc: Services, classifier: Any
) -> None:
    x, y = data(300, seed=6)
    ids = log_predictions(svc, classifier, "bc", x)
    other = LogisticRegression(C=0.01).fit(pd.DataFrame(x[:50], columns=COLUMNS), y[:50])
    svc.registry.log_model(other, "bc", user="ada", signature=SIG)
    ids2 = log_predictions(svc, other, "bc", x[:100], t0=T0 + HOUR, version=2)
    labelled = dict(zip(ids[:250], y[:250].tolist(), strict=True))  # 50 stay unlabelled
    labelled |= dict(zip(ids2, y[:100].tolist(), strict=True))
    svc.feedback.record("bc", labelled, user="ada")

    got = svc.realized.realized("bc")
    assert [v.version for v in got.versions] == [1, 2]
    v1 = got.versions[0]
    assert (v1.predictions, v1.labelled, v1.task) == (300, 250, "classification")
    frame = pd.DataFrame(x[:250], columns=COLUMNS)
    pred, proba, truth = classifier.predict(frame), classifier.predict_proba(frame)[:, 1], y[:250]
    want = {
        "accuracy": skm.accuracy_score(truth, pred),
        "precision": skm.precision_score(truth, pred),
        "recall": skm.recall_score(truth, pred),
        "f1": skm.f1_score(truth, pred),
        "roc_auc": skm.roc_auc_score(truth, proba),
        "log_loss": skm.log_loss(truth, proba),
        "calibration_error": _ece(truth, proba),
    }
    for name, value in want.items():
        assert v1.metrics[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name

    only2 = svc.realized.realized("bc", version=2)
    assert [v.version for v in only2.versions] == [2]
    pred2 = other.predict(pd.DataFrame(x[:100], columns=COLUMNS))
    assert only2.versions[0].metrics["f1"] == pytest.approx(skm.f1_score(y[:100], pred2))

    window = svc.realized.realized("bc", start_ms=T0, end_ms=T0 + 100 * 1000)  # first 100 s
    assert [(v.version, v.labelled) for v in window.versions] == [(1, 100)]
    table = got.to_frame()
    assert list(table.columns) == ["version", "metric", "value", "labelled", "predictions"]
    assert len(table) == 2 * 7
    row = table[(table.version == 1) & (table.metric == "roc_auc")].iloc[0]
    assert row.value == pytest.approx(want["roc_auc"]) and row.labelled == 250
