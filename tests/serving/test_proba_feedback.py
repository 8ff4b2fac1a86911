"""Probabilities over real HTTP with real ``shipyard serve`` processes: a binary classifier's
positive-class probability is logged (``_proba``) on every path (ONNX, matrix, LightGBM)
and returned on request (V2 ``outputs``/``parameters``, MLflow ``?proba=`` / ``params``);
a regressor refuses the request. End to end: the answers' prediction ids take labels and
the realized metrics equal scikit-learn's on those rows."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from shipyard.services.formats.prediction_reader import PredictionLogReader
from tests.serving.conftest import Project, Server


@pytest.fixture
def classifier(project: Project) -> Any:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(project.frame, project.labels)
    v = project.log(model)
    assert v.package["onnx"]["kept"]  # type: ignore[index]
    project.services.deployments.deploy("bc", v.version, "staging", project.admin)
    return model


def _v2(project: Project, rows: Any, **extra: Any) -> dict[str, Any]:
    data = np.asarray(rows).tolist()
    tensor = {"name": "x", "shape": [len(data), len(project.frame.columns)], "datatype": "FP64"}
    return {"inputs": [{**tensor, "data": data}], **extra}


def _split(project: Project, rows: Any, **extra: Any) -> dict[str, Any]:
    columns = list(project.frame.columns)
    return {"dataframe_split": {"columns": columns, "data": np.asarray(rows).tolist()}, **extra}


def _logged(project: Project, model: str, ids: set[str]) -> dict[tuple[str, int], Any]:
    """(id, row) → (prediction, proba) once every id is in the logs (they flush every 0.2 s)."""
    reader = PredictionLogReader(project.services.blobs.backend)
    deadline = time.monotonic() + 15
    while True:
        found = {}
        for batch in reader.batches(model, columns=["_id", "_row", "_prediction", "_proba"]):
            for pid, row, y, p in zip(
                *(batch.column(i).to_pylist() for i in range(4)), strict=True
            ):
                found[(pid, row)] = (y, p)
        if ids <= {pid for pid, _ in found}:
            return found
        assert time.monotonic() < deadline, "the answers did not reach the logs in 15 s"
        time.sleep(0.1)


def _get(server: Server, path: str) -> Any:
    return httpx.get(server.url + path, timeout=10).json()


def _check_paths(project: Project, server: Server, model: Any, tolerance: float) -> None:
    rows = project.frame.head(3).to_numpy()
    want = model.predict_proba(project.frame.head(3))[:, 1]
    plain = server.post("/v2/models/bc/infer", _v2(project, rows)).json()
    assert [o["name"] for o in plain["outputs"]] == ["predict"]  # unchanged unless asked
    asked = server.post(
        "/v2/models/bc/infer", _v2(project, rows, outputs=[{"name": "predict"}, {"name": "proba"}])
    ).json()
    predict, proba = asked["outputs"]
    assert predict["data"] == model.predict(project.frame.head(3)).tolist()
    assert proba["name"] == "proba" and proba["datatype"] == "FP64" and proba["shape"] == [3]
    assert np.allclose(proba["data"], want, atol=tolerance, rtol=0)
    by_param = server.post("/v2/models/bc/infer", _v2(project, rows, parameters={"proba": True}))
    assert by_param.json()["outputs"][1]["data"] == proba["data"]
    mlflow = server.post("/invocations?proba=true", _split(project, rows)).json()
    assert mlflow["predictions"] == predict["data"] and mlflow["probabilities"] == proba["data"]
    params = server.post("/invocations", _split(project, rows, params={"proba": True})).json()
    assert params["probabilities"] == proba["data"]
    assert "probabilities" not in server.post("/invocations", _split(project, rows)).json()
    bad = server.post("/invocations?proba=maybe", _split(project, rows))
    assert bad.status_code == 400 and bad.json()["field"] == "proba"
    outputs = _get(server, "/v2/models/bc")["outputs"]  # the metadata lists the extra output
    assert [o["name"] for o in outputs] == ["predict", "proba"]
    logged = _logged(project, "bc", {asked["parameters"]["prediction_id"]})
    pid = asked["parameters"]["prediction_id"]
    assert [logged[(pid, r)][1] for r in range(3)] == proba["data"]  # exactly what was returned
    assert [logged[(pid, r)][0] for r in range(3)] == predict["data"]


def test_onnx_and_matrix_paths_log_and_return_probabilities(
    project: Project, serve: Any, classifier: Any
) -> None:
    onnx = serve()
    assert _get(onnx, "/v2/models/bc")["parameters"]["predict_path"] == "onnx"
    _check_paths(project, onnx, classifier, tolerance=1e-4)  # float32 inside ONNX
    matrix = serve("--no-onnx")
    assert _get(matrix, "/v2/models/bc")["parameters"]["predict_path"] == "matrix"
    _check_paths(project, matrix, classifier, tolerance=1e-12)


def test_lightgbm_logs_probabilities_and_a_regressor_refuses_them(
    project: Project, serve: Any
) -> None:
    import lightgbm

    gbm = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(project.frame, project.labels)
    reg = LinearRegression().fit(project.frame, project.labels.astype(float))
    deployments = project.services.deployments
    deployments.deploy("gbm", project.log(gbm, "gbm").version, "staging", project.admin)
    deployments.deploy("reg", project.log(reg, "reg").version, "staging", project.admin)
    server = serve()
    rows = project.frame.head(4).to_numpy()
    r = server.post("/v2/models/gbm/infer", _v2(project, rows, parameters={"proba": True}))
    assert r.status_code == 200, r.text
    predict, proba = r.json()["outputs"]
    assert predict["data"] == gbm.predict(project.frame.head(4)).tolist()
    assert np.allclose(proba["data"], gbm.predict_proba(project.frame.head(4))[:, 1])
    refused = server.post("/models/reg/invocations?proba=true", _split(project, rows))
    assert refused.status_code == 400 and refused.json()["field"] == "proba"
    assert "reg@v1 gives no probabilities" in refused.json()["message"]
    v2 = server.post("/v2/models/reg/infer", _v2(project, rows, outputs=[{"name": "proba"}]))
    assert v2.status_code == 400 and v2.json()["field"] == "proba"
    answered = server.post("/models/reg/invocations", _split(project, rows)).json()
    logged = _logged(project, "reg", {answered["prediction_id"]})
    assert {p for _, p in logged.values()} == {None}  # no _proba for a regressor
    values = [logged[(answered["prediction_id"], i)][0] for i in range(4)]
    assert np.allclose(values, reg.predict(project.frame.head(4)), atol=1e-5)  # ONNX: float32


def test_served_answers_take_labels_and_realized_metrics_match_scikit_learn(
    project: Project, serve: Any, classifier: Any
) -> None:
    server = serve()
    frame, truth = project.frame, project.labels.to_numpy()
    singles = list(range(0, 120))
    batches = [list(range(120 + 5 * k, 125 + 5 * k)) for k in range(8)]  # 8 requests of 5 rows

    def one(rows: list[int]) -> tuple[list[int], dict[str, Any]]:
        body = _split(project, frame.iloc[rows].to_numpy(), params={"proba": True})
        answer = server.post("/invocations", body)
        assert answer.status_code == 200, answer.text
        return rows, answer.json()

    with ThreadPoolExecutor(8) as pool:  # concurrent: micro-batched, answers split back
        answers = list(pool.map(one, [[i] for i in singles] + batches))
    labels, rows_seen, predicted, proba = [], [], [], []
    for rows, body in answers:
        assert body["probabilities"] == pytest.approx(
            classifier.predict_proba(frame.iloc[rows])[:, 1], abs=1e-4
        )
        for r, index in enumerate(rows):
            labels.append({"prediction_id": body["prediction_id"], "row": r,
                           "label": int(truth[index])})  # fmt: skip
            rows_seen.append(index)
            predicted.append(body["predictions"][r])
            proba.append(body["probabilities"][r])
    _logged(project, "bc", {body["prediction_id"] for _, body in answers})
    receipt = project.services.feedback.record("bc", labels, user=project.admin.name)
    assert (receipt.inserted, receipt.unknown) == (160, 0)
    assert receipt.mean_delay_ms is not None and receipt.mean_delay_ms >= 0

    got = project.services.realized.realized("bc", env="staging").versions[0]
    y = truth[rows_seen]
    assert (got.version, got.labelled, got.predictions) == (1, 160, 160)
    want = {
        "accuracy": skm.accuracy_score(y, predicted),
        "precision": skm.precision_score(y, predicted),
        "recall": skm.recall_score(y, predicted),
        "f1": skm.f1_score(y, predicted),
        "roc_auc": skm.roc_auc_score(y, proba),
        "log_loss": skm.log_loss(y, proba),
    }
    for name, value in want.items():
        assert got.metrics[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name
