"""Inference over real HTTP: V2 (with tritonclient), MLflow scoring (its own client), errors."""

from __future__ import annotations

import time
from typing import Any

import httpx
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tests.serving.conftest import Project, Server
from tests.serving.models import Exploding


@pytest.fixture
def deployed(project: Project) -> Any:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(project.frame, project.labels)
    v = project.log(model)
    project.services.deployments.deploy("bc", v.version, "staging", project.admin)
    return model


@pytest.fixture
def server(serve: Any, deployed: Any) -> Server:
    return serve()


def _columns(project: Project, rows: int = 1) -> list[dict[str, Any]]:
    head = project.frame.head(rows)
    return [
        {"name": c, "shape": [rows], "datatype": "FP64", "data": head[c].tolist()}
        for c in head.columns
    ]


def test_v2_columns_and_matrix_give_the_models_answers(
    project: Project, server: Server, deployed: Any
) -> None:
    want = deployed.predict(project.frame.head(3)).tolist()
    r = server.post("/v2/models/bc/infer", {"id": "req-7", "inputs": _columns(project, 3)})
    assert r.status_code == 200
    body = r.json()
    assert body["model_name"] == "bc" and body["model_version"] == "1" and body["id"] == "req-7"
    assert body["outputs"][0]["data"] == want and body["outputs"][0]["shape"] == [3]
    assert body["parameters"]["prediction_id"] == r.headers["x-prediction-id"]
    matrix = project.frame.head(3).to_numpy().tolist()
    r = server.post(
        "/v2/models/bc/versions/1/infer",
        {"inputs": [{"name": "x", "shape": [3, 30], "datatype": "FP64", "data": matrix}]},
    )
    assert r.status_code == 200 and r.json()["outputs"][0]["data"] == want


def test_tritonclient_speaks_v2_to_shipyard(
    project: Project, server: Server, deployed: Any
) -> None:
    import tritonclient.http as triton

    client = triton.InferenceServerClient(server.url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("bc")
    meta = client.get_model_metadata("bc")
    assert [i["name"] for i in meta["inputs"]] == list(project.frame.columns)
    inputs = []
    for c in project.frame.columns:
        tensor = triton.InferInput(c, [5], "FP64")
        tensor.set_data_from_numpy(project.frame[c].head(5).to_numpy())
        inputs.append(tensor)
    result = client.infer("bc", inputs)
    assert result.as_numpy("predict").tolist() == deployed.predict(project.frame.head(5)).tolist()


@pytest.mark.filterwarnings("ignore:.*Any type hint:UserWarning")
def test_mlflow_scoring_client_gets_predictions(
    project: Project, server: Server, deployed: Any
) -> None:
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient

    host, port = server.url.removeprefix("http://").split(":")
    client = ScoringServerClient(host, int(port))
    client.ping()
    got = client.invoke(project.frame.head(10)).get_predictions()
    assert np.asarray(got).ravel().tolist() == deployed.predict(project.frame.head(10)).tolist()
    records = project.frame.head(2).to_dict(orient="records")
    for body in (
        {"dataframe_records": records},
        {"instances": records},
        {"inputs": {c: project.frame[c].head(2).tolist() for c in project.frame.columns}},
    ):
        r = server.post("/invocations", body)
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == deployed.predict(project.frame.head(2)).tolist()


def _split(project: Project, data: list[list[Any]], columns: list[str] | None = None) -> Any:
    return {"dataframe_split": {"columns": columns or list(project.frame.columns), "data": data}}


def test_bad_inputs_are_4xx_naming_the_problem(project: Project, server: Server) -> None:
    row = project.frame.iloc[0].tolist()
    cols = list(project.frame.columns)
    cases = [
        (_split(project, [row[1:]], cols[1:]), 422, "mean_radius"),  # missing column
        (_split(project, [[*row, 1.0]], [*cols, "zip"]), 422, "zip"),  # unknown column
        (_split(project, [["big", *row[1:]]]), 422, "mean_radius"),  # wrong type
        (_split(project, [[None, *row[1:]]]), 422, "missing value"),  # null / NaN
        (_split(project, [["NaN", *row[1:]]]), 422, "'NaN' is not allowed"),
        (_split(project, []), 422, "empty"),
        ({"dataframe_split": {"data": [row[:3]]}}, 422, "row 0 must be a list of 30"),
        ({"rows": [row]}, 400, "dataframe_split"),
    ]
    for body, status, words in cases:
        r = server.post("/invocations", body)
        assert r.status_code == status, (body, r.text)
        assert words in r.text, r.text
    v2 = _columns(project)
    v2[0] = {**v2[0], "datatype": "BYTES", "data": ["x"]}
    r = server.post("/v2/models/bc/infer", {"inputs": v2})
    assert r.status_code == 422 and "mean_radius" in r.json()["error"]
    r = httpx.post(server.url + "/invocations", content=b"{not json", timeout=10)
    assert r.status_code == 400 and "not valid JSON" in r.text
    assert server.post("/v2/models/nope/infer", {"inputs": v2}).status_code == 404
    r = server.post("/v2/models/bc/versions/9/infer", {"inputs": _columns(project)})
    assert r.status_code == 404 and "version 9" in r.json()["error"]
    assert httpx.get(server.url + "/nowhere", timeout=10).status_code == 404


def test_a_50_mb_body_is_refused_with_413(project: Project, server: Server) -> None:
    big = b'{"dataframe_split": {"data": [' + b"[1.0]," * (50 * 1024 * 1024 // 6) + b"[1.0]]}}"
    r = httpx.post(server.url + "/invocations", content=big, timeout=60)
    assert r.status_code == 413 and "exceeds the limit" in r.text
    assert server.post("/invocations", _split(project, [project.frame.iloc[0].tolist()])).is_success


def test_a_model_that_throws_gets_a_clean_500_and_the_server_stays_up(
    project: Project, serve: Any
) -> None:
    v = project.log(Exploding())
    project.services.deployments.deploy("bc", v.version, "staging", project.admin)
    server = serve("--allow-pickle")
    row = project.frame.iloc[0].tolist()
    bad = server.post("/invocations", _split(project, [[-1.0, *row[1:]]]))
    assert bad.status_code == 500
    assert bad.json()["error_code"] == "MODEL_ERROR" and "boom" in bad.json()["message"]
    good = server.post("/invocations", _split(project, [row]))
    assert good.status_code == 200 and good.json()["predictions"] == [1]
    metrics = httpx.get(server.url + "/metrics", timeout=10).text
    assert 'shipyard_request_errors_total{env="staging",model="bc",version="1",role="live"} 1' in (
        metrics
    )


def test_pickle_models_are_not_served_without_allow_pickle(project: Project, serve: Any) -> None:
    v = project.log(Exploding())
    project.services.deployments.deploy("bc", v.version, "staging", project.admin)
    server = serve()
    r = server.post("/invocations", _split(project, [project.frame.iloc[0].tolist()]))
    assert r.status_code == 400 and "allow_pickle" in r.text


def test_metrics_parse_as_prometheus_and_count_requests(project: Project, server: Server) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    for _ in range(3):
        assert server.post("/v2/models/bc/infer", {"inputs": _columns(project, 2)}).is_success
    families = {
        f.name: f for f in text_string_to_metric_families(httpx.get(server.url + "/metrics").text)
    }
    requests = {
        s.labels["version"]: s.value
        for s in families["shipyard_requests"].samples
        if s.name == "shipyard_requests_total"
    }
    assert requests == {"1": 3.0}
    hist = [
        s
        for s in families["shipyard_request_duration_seconds"].samples
        if s.name.endswith("_count")
    ]
    assert hist[0].value == 3.0


def test_every_prediction_is_logged_to_parquet_by_model_and_day(
    project: Project, server: Server
) -> None:
    import pyarrow.dataset as ds

    ids = [
        server.post("/invocations", _split(project, project.frame.head(2).values.tolist())).json()[
            "prediction_id"
        ]
        for _ in range(4)
    ]
    root = project.path / ".shipyard" / "objects" / "predictions"
    deadline = time.monotonic() + 10
    table = None
    while time.monotonic() < deadline:
        if root.exists() and list(root.rglob("*.parquet")):
            table = ds.dataset(root, format="parquet", partitioning="hive").to_table()
            if table.num_rows >= 8:
                break
        time.sleep(0.1)
    assert table is not None and table.num_rows == 8
    frame = table.to_pandas()
    assert sorted(set(frame["_id"])) == sorted(ids)
    assert set(frame["model"]) == {"bc"} and frame["_version"].eq(1).all()
    assert frame["mean_radius"].tolist()[:2] == project.frame["mean_radius"].head(2).tolist()
    assert (root / "model=bc").is_dir() and next((root / "model=bc").iterdir()).name.startswith(
        "date="
    )


def _v2(project: Project) -> dict[str, Any]:
    return {"inputs": _columns(project)}


def test_many_models_load_lazily_within_the_memory_cap(project: Project, serve: Any) -> None:
    model = LogisticRegression(max_iter=3000).fit(project.frame, project.labels)
    for name in ("m-a", "m-b", "m-c"):
        v = project.log(model, name)
        project.services.deployments.deploy(name, v.version, "staging", project.admin)
    server = serve("--max-models", "2")
    assert httpx.get(server.url + "/v2").json()["loaded_versions"] == 2  # preloaded up to the cap
    for _ in range(2):
        for name in ("m-a", "m-b", "m-c"):  # the third loads on demand; the oldest makes room
            r = server.post(f"/v2/models/{name}/infer", _v2(project))
            assert r.status_code == 200 and r.json()["model_name"] == name
    assert httpx.get(server.url + "/v2").json()["loaded_versions"] <= 3
    r = server.post("/invocations", _split(project, [project.frame.iloc[0].tolist()]))
    assert (
        r.status_code == 400 and "m-a, m-b, m-c" in r.text
    )  # which model? it says how to name one
    r = server.post("/invocations?model=m-b", _split(project, [project.frame.iloc[0].tolist()]))
    assert r.status_code == 200


def test_a_full_log_queue_drops_and_counts_instead_of_blocking(
    project: Project, serve: Any, deployed: Any
) -> None:
    server = serve(SHIPYARD_SERVE_LOG_QUEUE="2", SHIPYARD_SERVE_FLUSH_S="60")
    for _ in range(5):
        assert server.post("/v2/models/bc/infer", _v2(project)).status_code == 200
    metrics = httpx.get(server.url + "/metrics").text
    assert 'shipyard_prediction_logs_dropped_total{env="staging"} 3' in metrics


def test_a_shadow_answers_nothing_but_is_logged_and_counted(
    project: Project, serve: Any, deployed: Any
) -> None:
    import pyarrow.dataset as ds

    v2 = project.log(LogisticRegression(max_iter=3000).fit(project.frame, project.labels))
    project.services.deployments.deploy(
        "bc", v2.version, "staging", project.admin, strategy="shadow"
    )
    server = serve()
    answers = {
        server.post("/v2/models/bc/infer", _v2(project)).json()["model_version"] for _ in range(10)
    }
    assert answers == {"1"}  # the shadow never answers
    root = project.path / ".shipyard" / "objects" / "predictions"
    deadline, roles = time.monotonic() + 10, set()
    while time.monotonic() < deadline and roles != {("1", "live"), ("2", "shadow")}:
        time.sleep(0.2)
        if root.exists():
            frame = ds.dataset(root, format="parquet", partitioning="hive").to_table().to_pandas()
            roles = {(str(v), r) for v, r in zip(frame["_version"], frame["_role"], strict=True)}
    assert roles == {("1", "live"), ("2", "shadow")}
    metrics = httpx.get(server.url + "/metrics").text
    assert (
        'shipyard_requests_total{env="staging",model="bc",version="2",role="shadow"} 10' in metrics
    )


def test_bluegreen_stages_then_switches_at_once(
    project: Project, serve: Any, deployed: Any
) -> None:
    deployments = project.services.deployments
    v2 = project.log(LogisticRegression(max_iter=3000).fit(project.frame, project.labels))
    deployments.deploy("bc", v2.version, "staging", project.admin, strategy="bluegreen")
    server = serve()
    assert {
        server.post("/v2/models/bc/infer", _v2(project)).json()["model_version"] for _ in range(10)
    } == {"1"}
    r = server.post("/v2/models/bc/versions/2/infer", _v2(project))  # green answers when pinned
    assert r.status_code == 200 and r.json()["model_version"] == "2"
    deployments.promote("staging", project.admin)
    deadline = time.monotonic() + 2
    while server.post("/v2/models/bc/infer", _v2(project)).json()["model_version"] != "2":
        assert time.monotonic() < deadline, "the switch was not picked up within 2 s"
    assert {
        server.post("/v2/models/bc/infer", _v2(project)).json()["model_version"] for _ in range(10)
    } == {"2"}


def test_a_lightgbm_model_is_served_without_pickle(project: Project, serve: Any) -> None:
    import lightgbm

    model = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(project.frame, project.labels)
    v = project.log(model)
    assert v.flavor == "lightgbm"
    project.services.deployments.deploy("bc", v.version, "staging", project.admin)
    server = serve()  # no --allow-pickle needed
    r = server.post("/v2/models/bc/infer", {"inputs": _columns(project, 4)})
    assert r.status_code == 200
    assert r.json()["outputs"][0]["data"] == model.predict(project.frame.head(4)).tolist()


def test_serve_help_lists_the_endpoints() -> None:
    import subprocess

    from tests.serving.conftest import SHIPYARD

    done = subprocess.run(
        [str(SHIPYARD), "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "/invocations" in done.stdout and "--no-onnx" in done.stdout
