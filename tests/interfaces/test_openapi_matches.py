"""The OpenAPI document matches what the server does: cases generated from /openapi.json
check every operation's parameters and documented statuses against real requests."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.interfaces.conftest import LiveServer

METHODS = ("get", "post", "put", "patch", "delete")
_PUBLIC = {"/health", "/api/v1/health"}


@pytest.fixture
def doc(local_server: LiveServer) -> dict[str, Any]:
    return httpx.get(local_server.url + "/openapi.json").json()


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(t, m, op) for t, ops in doc["paths"].items() for m, op in ops.items()]


def _concrete(template: str) -> str:
    return re.sub(r"{[^}]+}", "x", template)


def _required_query(op: dict[str, Any]) -> dict[str, str]:
    return {
        p["name"]: "x" for p in op.get("parameters", []) if p["in"] == "query" and p["required"]
    }


def test_every_path_parameter_is_declared_and_400_is_documented(doc: dict[str, Any]) -> None:
    from openapi_spec_validator import validate  # pinned in requirements/constraints.txt

    validate(doc)  # a valid OpenAPI 3.1 document
    ops = _operations(doc)
    assert len(ops) >= 90
    for template, method, op in ops:
        names = set(re.findall(r"{([^}]+)}", template))
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert names == declared, (method, template, names, declared)
        assert "422" not in op["responses"], (method, template)
        if template not in _PUBLIC:
            assert {"400", "401", "403", "404"} <= set(op["responses"]), (method, template)
            error = op["responses"]["400"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}
    logged = [(t, m) for t, m, _ in ops if t.startswith("/api/2.0/mlflow/logged-models/{")]
    assert len(logged) == 6  # get, patch, delete, tags, delete tag, params


def test_every_operation_answers_a_documented_status(
    local_server: LiveServer, doc: dict[str, Any]
) -> None:
    """A request per operation with placeholder values, one with a body that is not an
    object, and one without its required query parameters: each status is documented."""
    sent = 0
    with httpx.Client(base_url=local_server.url, timeout=30) as c:
        for template, method, op in _operations(doc):
            url, query = _concrete(template), _required_query(op)
            body = {} if "requestBody" in op else None
            cases = [c.request(method, url, params=query, json=body)]
            if "requestBody" in op:
                bad = c.request(method, url, params=query, json=["not", "an", "object"])
                assert bad.status_code == 400, (method, template, bad.text)
                cases.append(bad)
            if query:
                missing = c.request(method, url, json=body)
                assert missing.status_code == 400, (method, template, missing.text)
                assert missing.json()["field"] in query, missing.text
                cases.append(missing)
            sent += len(cases)
            for r in cases:
                assert str(r.status_code) in op["responses"], (
                    method,
                    template,
                    r.status_code,
                    r.text[:200],
                )
    print(f"openapi: {len(_operations(doc))} operations, {sent} generated requests")


def _templates_matching(doc: dict[str, Any], path: str) -> set[str]:
    """The documented methods (upper case) of every template that ``path`` matches."""
    found: set[str] = set()
    for template, ops in doc["paths"].items():
        if re.fullmatch(re.sub(r"{[^}]+}", "[^/]+", template), path):
            found |= {m.upper() for m in ops}
    return found


def test_a_wrong_method_is_a_405_with_allow(local_server: LiveServer, doc: dict[str, Any]) -> None:
    tried = 0
    with httpx.Client(base_url=local_server.url, timeout=30) as c:
        for template in doc["paths"]:
            path = _concrete(template)
            allowed = _templates_matching(doc, path)
            for method in METHODS:
                if method.upper() in allowed:
                    continue
                r = c.request(method, path, json={})
                assert r.status_code == 405, (method, template, r.status_code, r.text)
                assert set(r.headers["allow"].split(", ")) == allowed, (template, r.headers)
                if template.startswith("/api/"):  # API errors keep their JSON shape
                    assert r.json()["error_code"] == "METHOD_NOT_ALLOWED", r.text
                tried += 1
    assert tried >= 200
    print(f"openapi: {tried} wrong-method requests, all 405 with Allow")
    # the probe's case: PATCH on a POST route, MLflow's and the UI's copy alike
    for prefix in ("/api", "/ajax-api"):
        r = httpx.patch(local_server.url + prefix + "/2.0/mlflow/experiments/create", json={})
        assert r.status_code == 405 and r.headers["allow"] == "POST", r.text
    unknown = httpx.post(local_server.url + "/api/2.0/mlflow/no-such/call", json={})
    assert unknown.status_code == 404 and "not supported" in unknown.json()["message"]
