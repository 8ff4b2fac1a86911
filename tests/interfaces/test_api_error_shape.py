"""Found by the schemathesis run: answers the OpenAPI document did not describe.

A JSON body that is not UTF-8 got FastAPI's ``{"detail": …}`` instead of the documented
error shape, and downloads answered ``application/octet-stream`` where the document listed
only ``application/json``."""

from __future__ import annotations

import httpx
import pandas as pd

from tests.interfaces.conftest import LiveServer


def test_a_body_that_is_not_utf8_is_a_400_in_the_error_shape(live_server: LiveServer) -> None:
    headers = {
        "Authorization": f"Bearer {live_server.admin_token}",
        "Content-Type": "application/json",
    }
    for path in ("/api/v1/experiments", "/api/v1/runs/search", "/api/v1/deployments"):
        r = httpx.post(live_server.url + path, content=b"@\xff", headers=headers)
        assert r.status_code == 400, (path, r.text)
        body = r.json()
        assert body["error_code"] == "INVALID_PARAMETER_VALUE", body
        assert "UTF-8" in body["message"], body
        assert "detail" not in body


def test_pages_keep_their_own_error_answers(live_server: LiveServer) -> None:
    r = httpx.get(live_server.url + "/no-such-page")
    assert r.status_code == 404
    assert "error_code" not in r.text


def test_downloads_answer_the_content_type_the_document_declares(
    live_server: LiveServer,
) -> None:
    svc = live_server.services
    svc.catalog.register("loans", pd.DataFrame({"a": [1, 2]}), user="admin")  # type: ignore[attr-defined]
    exp = svc.tracking.get_or_create_experiment("e").experiment_id  # type: ignore[attr-defined]
    run = svc.tracking.create_run(exp, user="admin")  # type: ignore[attr-defined]
    svc.tracking.log_artifact_bytes(run.run_id, b"hello", "a.txt")  # type: ignore[attr-defined]
    doc = httpx.get(live_server.url + "/openapi.json").json()
    headers = {"Authorization": f"Bearer {live_server.admin_token}"}
    v1, artifacts = "/api/v1", "/api/2.0/mlflow-artifacts/artifacts"
    calls = {
        v1 + "/datasets/{name}/versions/{version}/download": (
            v1 + "/datasets/loans/versions/1/download"
        ),
        v1 + "/runs/{run_id}/artifacts/download": (
            f"{v1}/runs/{run.run_id}/artifacts/download?path=a.txt"
        ),
        artifacts + "/{path}": f"{artifacts}/runs/{run.run_id}/artifacts/a.txt",
    }
    for template, url in calls.items():
        declared = doc["paths"][template]["get"]["responses"]["200"]["content"]
        r = httpx.get(live_server.url + url, headers=headers)
        assert r.status_code == 200, (url, r.text)
        assert r.headers["content-type"] in declared, (template, r.headers["content-type"])
        assert "application/octet-stream" in declared
