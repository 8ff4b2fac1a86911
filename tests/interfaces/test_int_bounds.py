"""Integer parameters beyond what the stores hold are 400s naming the parameter, never 500s:
the offenders the hardening probe found, then a sweep generated from the app's routes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.interfaces.conftest import LiveServer

TOO_BIG = 2**63  # one past what a BIGINT column holds
MLFLOW_INT_FIELDS = (
    "max_results",
    "page_token",
    "version",
    "start_time",
    "end_time",
    "step",
    "experiment_id",
    "experiment_ids",
)


def _ids(server: LiveServer) -> dict[str, str]:
    c = httpx.Client(base_url=server.url, timeout=30)
    exp = c.post("/api/2.0/mlflow/experiments/create", json={"name": "bounds"}).json()
    run = c.post("/api/2.0/mlflow/runs/create", json={"experiment_id": exp["experiment_id"]})
    return {"experiment_id": exp["experiment_id"], "run_id": run.json()["run"]["info"]["run_id"]}


def test_the_offenders_of_the_probe_are_400s(local_server: LiveServer) -> None:
    ids = _ids(local_server)
    big = str(TOO_BIG)
    cases: list[tuple[str, str, dict[str, Any] | None, str | None]] = [
        ("GET", f"/api/v1/datasets?offset={big}", None, "offset"),
        ("GET", f"/api/v1/models?offset={big}", None, "offset"),
        ("GET", "/api/v1/models?offset=-1", None, "offset"),
        ("GET", f"/api/v1/monitoring/alerts/{big}", None, "alert_id"),
        ("POST", f"/api/v1/monitoring/alerts/{big}/ack", {}, "alert_id"),
        ("GET", f"/api/v1/monitoring/realized?model=m&version={big}", None, "version"),
        ("GET", f"/api/v1/deployments/figures?env=prod&since={big}", None, "since"),
        ("POST", "/api/v1/runs", {**ids, "start_time": TOO_BIG}, "start_time"),
        ("GET", f"/api/v1/experiments/{big}", None, "experiment_id"),
        ("GET", f"/api/2.0/mlflow/experiments/get?experiment_id={big}", None, "experiment_id"),
        ("POST", "/api/2.0/mlflow/runs/search", {"experiment_ids": [big]}, "experiment_ids"),
        ("POST", "/api/2.0/mlflow/runs/search", {"experiment_ids": 7}, None),
        ("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": big}, "experiment_id"),
        ("POST", "/api/2.0/mlflow/experiments/search", {"max_results": TOO_BIG}, "max_results"),
        ("GET", f"/api/2.0/mlflow/experiments/search?max_results={big}", None, "max_results"),
        ("GET", "/api/2.0/mlflow/experiments/search?max_results=ten", None, "max_results"),
        ("POST", "/api/2.0/mlflow/runs/create", {**ids, "start_time": TOO_BIG}, "start_time"),
        ("POST", "/api/2.0/mlflow/runs/update", {**ids, "end_time": TOO_BIG}, "end_time"),
        ("GET", f"/api/2.0/mlflow/registered-models/search?page_token={big}", None, "page_token"),
        ("GET", "/api/2.0/mlflow/model-versions/search?max_results=0", None, "max_results"),
        ("POST", "/api/2.0/mlflow/logged-models/search", {"max_results": TOO_BIG}, "max_results"),
    ]
    for method, path, body, field in cases:
        r = httpx.request(method, local_server.url + path, json=body, timeout=30)
        if field is None:  # a bare id where a list belongs: taken as a one-item list
            assert r.status_code == 200, (path, r.text)
            continue
        assert r.status_code == 400, (path, r.status_code, r.text)
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
        assert field in r.json()["field"], (path, r.text)


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _is_int(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "integer" or any(
        s.get("type") == "integer" for s in schema.get("anyOf", [])
    )


def _sample(doc: dict[str, Any], schema: dict[str, Any]) -> Any:
    schema = _resolve(doc, schema)
    kind = schema.get("type") or next(
        (s.get("type") for s in schema.get("anyOf", []) if s.get("type") != "null"), "string"
    )
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _sample(doc, props[k]) for k in schema.get("required", []) if k in props}
    return {"integer": 1, "number": 1.0, "array": [], "boolean": False}.get(kind, "x")


def _int_body_fields(doc: dict[str, Any], schema: dict[str, Any]) -> list[tuple[Any, str]]:
    """(a valid-looking body with one integer set too big, that integer's name) per integer
    property of the body, one level into arrays of objects (metrics' timestamps)."""
    schema = _resolve(doc, schema)
    props = schema.get("properties", {})
    out: list[tuple[Any, str]] = []
    for name, prop in props.items():
        prop = _resolve(doc, prop)
        if _is_int(prop):
            out.append(({**_sample(doc, schema), name: TOO_BIG}, name))
        elif prop.get("type") == "array" and "$ref" in prop.get("items", {}):
            for item, inner in _int_body_fields(doc, prop["items"]):
                out.append(({**_sample(doc, schema), name: [item]}, inner))
    return out


def _fill(path: str, ids: dict[str, str]) -> str:
    for key, value in {**ids, "version": "1", "alert_id": "1"}.items():
        path = path.replace("{" + key + "}", value)
    return path.replace("{", "").replace("}", "")  # other names: any text will do


def test_every_integer_of_the_openapi_document_is_bounded(local_server: LiveServer) -> None:
    ids = _ids(local_server)
    doc = httpx.get(local_server.url + "/openapi.json").json()
    tried = 0
    for template, ops in doc["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                if not _is_int(p["schema"]):
                    continue
                path = template.replace("{" + p["name"] + "}", str(TOO_BIG))
                query = {
                    q["name"]: "x"
                    for q in op["parameters"]
                    if q.get("required") and q["in"] == "query"
                }
                if p["in"] == "query":
                    query[p["name"]] = str(TOO_BIG)
                body = {} if "requestBody" in op else None
                r = httpx.request(
                    method, local_server.url + _fill(path, ids), params=query, json=body
                )
                assert r.status_code == 400, (method, template, p["name"], r.status_code, r.text)
                assert r.json()["field"] == p["name"], r.text
                tried += 1
            content = op.get("requestBody", {}).get("content", {}).get("application/json")
            for body, name in _int_body_fields(doc, content["schema"]) if content else []:
                r = httpx.request(method, local_server.url + _fill(template, ids), json=body)
                assert r.status_code == 400, (method, template, name, r.status_code, r.text)
                assert r.json()["field"].endswith(name), r.text
                tried += 1
    assert tried >= 20  # offsets, limits, ids, versions, times, steps, max_results
    print(f"integer sweep: {tried} integer parameters of the OpenAPI document, all 400")


def test_no_integer_sent_to_an_mlflow_route_is_a_500(local_server: LiveServer) -> None:
    """MLflow's calls read their fields by hand: every call and every integer field it may
    carry, sent too big as JSON and as query text, answers below 500."""
    ids = _ids(local_server)
    doc = httpx.get(local_server.url + "/openapi.json").json()
    routes = [
        (method, template)
        for template, ops in doc["paths"].items()
        if template.startswith("/api/2.0/mlflow/")
        for method in ops
    ]
    assert len(routes) >= 40
    c = httpx.Client(timeout=30)
    sent = 0
    for method, template in routes:
        for field in MLFLOW_INT_FIELDS:
            url = local_server.url + _fill(template, {**ids, "model_id": "m-1", "tag_key": "k"})
            for value in (TOO_BIG, str(-TOO_BIG - 1)):
                body = {**ids, "name": "m", "key": "k", "value": 1, "timestamp": 1, field: value}
                if method == "get":
                    r = c.get(url, params={k: str(v) for k, v in body.items()})
                else:
                    r = c.request(method, url, json=body)
                assert r.status_code < 500, (method, template, field, value, r.text)
                sent += 1
    print(f"integer sweep: {sent} MLflow requests ({len(routes)} calls), 0 x 5xx")
