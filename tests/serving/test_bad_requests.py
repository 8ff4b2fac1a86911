"""Client mistakes get 4xx in every encoding and never count against the version's figures."""

from __future__ import annotations

import struct
from typing import Any

import httpx
import orjson
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tests.serving.conftest import Project, Server


@pytest.fixture
def deployed(project: Project) -> Any:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(project.frame, project.labels)
    v = project.log(model)
    project.services.deployments.deploy("bc", v.version, "staging", project.admin)
    return model


def _binary_request(project: Project, first: float) -> tuple[bytes, dict[str, str]]:
    """One row as FP64 binary tensors (tritonclient's default encoding)."""
    row = project.frame.iloc[0].tolist()
    row[0] = first
    inputs, blobs = [], []
    for name, value in zip(project.frame.columns, row, strict=True):
        blob = struct.pack("<d", value)
        inputs.append(
            {
                "name": name,
                "shape": [1],
                "datatype": "FP64",
                "parameters": {"binary_data_size": len(blob)},
            }
        )
        blobs.append(blob)
    head = orjson.dumps({"inputs": inputs})
    headers = {"Inference-Header-Content-Length": str(len(head))}
    return head + b"".join(blobs), headers


def _model_errors(server: Server) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(server.url + "/metrics", timeout=10).text
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "shipyard_request_errors_total"
    )


@pytest.mark.parametrize("path_flag", [(), ("--no-onnx",)], ids=["onnx", "native"])
def test_nan_and_inf_in_binary_tensors_are_422_and_not_model_errors(
    project: Project, serve: Any, deployed: Any, path_flag: tuple[str, ...]
) -> None:
    server = serve(*path_flag)
    for bad in (float("nan"), float("inf"), float("-inf"), 1e39):
        body, headers = _binary_request(project, bad)
        r = httpx.post(
            server.url + "/v2/models/bc/infer", content=body, headers=headers, timeout=10
        )
        assert r.status_code == 422, r.text
        assert "mean_radius" in r.json()["error"] and "finite" in r.json()["error"]
    body, headers = _binary_request(project, 14.0)
    ok = httpx.post(server.url + "/v2/models/bc/infer", content=body, headers=headers, timeout=10)
    assert ok.status_code == 200, ok.text
    assert _model_errors(server) == 0


def test_malformed_v2_requests_are_4xx_not_500(project: Project, serve: Any, deployed: Any) -> None:
    server = serve()
    row = project.frame.iloc[0].tolist()
    tensors = [
        {"name": c, "shape": [1], "datatype": "FP64", "data": [v]}
        for c, v in zip(project.frame.columns, row, strict=True)
    ]
    cases: list[tuple[str, Any, dict[str, str], int, str]] = [
        ("/v2/models/bc/infer", {"inputs": tensors, "parameters": [1]}, {}, 400, "parameters"),
        (
            "/v2/models/bc/infer",
            {"inputs": [{**tensors[0], "parameters": "x"}, *tensors[1:]]},
            {},
            400,
            "parameters",
        ),
        (
            "/v2/models/bc/infer",
            {"inputs": tensors, "outputs": [{"name": "predict", "parameters": 3}]},
            {},
            400,
            "parameters",
        ),
        ("/v2/models/bc/infer", {"inputs": tensors, "outputs": "all"}, {}, 400, "outputs"),
        ("/v2/models/bc/versions/%C2%B2/infer", {"inputs": tensors}, {}, 400, "version"),
        (
            "/v2/models/bc/infer",
            {
                "inputs": [
                    {**tensors[0], "datatype": "BF16", "parameters": {"binary_data_size": 2}},
                    *tensors[1:],
                ]
            },
            {"Inference-Header-Content-Length": "LEN"},
            400,
            "BF16",
        ),
        (
            "/v2/models/bc/infer",
            {"inputs": tensors},
            {"Inference-Header-Content-Length": "\u00b2"},
            400,
            "Inference-Header-Content-Length",
        ),
    ]
    for path, body, headers, status, words in cases:
        content = orjson.dumps(body)
        if headers.get("Inference-Header-Content-Length") == "LEN":
            headers = {"Inference-Header-Content-Length": str(len(content))}
            content += b"\x00\x00"
        raw_headers = [(k.encode(), v.encode()) for k, v in headers.items()]
        r = httpx.post(server.url + path, content=content, headers=raw_headers, timeout=10)
        assert r.status_code == status, (path, body, r.text)
        assert words in r.text, r.text
    assert _model_errors(server) == 0


def test_prediction_requests_from_another_site_are_refused_and_not_counted(
    project: Project, serve: Any, deployed: Any
) -> None:
    server = serve()
    row = project.frame.iloc[0].tolist()
    body = {"dataframe_split": {"columns": list(project.frame.columns), "data": [row]}}
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        r = httpx.post(server.url + "/invocations", json=body, headers=headers, timeout=10)
        assert r.status_code == 403 and r.json()["error_code"] == "CROSS_SITE_REQUEST"
    assert httpx.post(server.url + "/invocations", json=body, timeout=10).status_code == 200
    same = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    assert httpx.post(server.url + "/invocations", json=body, headers=same).status_code == 200
    assert _model_errors(server) == 0
