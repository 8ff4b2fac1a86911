"""The OpenAPI document as the server behaves: validation failures are 400s (MLflow's
INVALID_PARAMETER_VALUE, not FastAPI's 422), the errors every API call can meet are listed
with their JSON shape, and every ``{name}`` of a path is a declared path parameter."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

__all__ = ["ERRORS", "document", "install_document"]

ERRORS: dict[str, str] = {
    "400": "Invalid parameter value: the message names the field (INVALID_PARAMETER_VALUE)",
    "401": "Missing, invalid or expired token (UNAUTHENTICATED)",
    "403": "The caller's role may not do this, or a cross-site write (PERMISSION_DENIED)",
    "404": "No such object (RESOURCE_DOES_NOT_EXIST)",
    "409": "The object's state does not allow it (INVALID_STATE, conflicts)",
}
_PUBLIC = {"/health", "/api/v1/health"}
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error_code", "message"],
    "properties": {
        "error_code": {"type": "string"},
        "message": {"type": "string"},
        "field": {"type": ["string", "null"]},
    },
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _path_names(template: str) -> list[str]:
    return re.findall(r"{([^}:]+)", template)


def _fix_operation(template: str, method: str, op: dict[str, Any]) -> None:
    responses = op.setdefault("responses", {})
    responses.pop("422", None)  # FastAPI's default; the server answers 400
    if template in _PUBLIC:
        return
    for status, description in ERRORS.items():
        responses.setdefault(
            status,
            {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}},
        )
    params = op.setdefault("parameters", [])
    declared = {p["name"] for p in params if p.get("in") == "path"}
    for name in _path_names(template):
        if name not in declared:
            params.append(
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            )
    if not params:
        op.pop("parameters")
    if method != "get" and "requestBody" not in op and template.startswith("/api/2.0/mlflow/"):
        op["requestBody"] = {  # MLflow calls take a JSON object (MLflow's REST reference)
            "required": False,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of ``app``, corrected as the module docstring says."""
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for template, ops in doc.get("paths", {}).items():
        for method, op in ops.items():
            _fix_operation(template, method, op)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = _ERROR_SCHEMA
    return doc


def install_document(app: FastAPI) -> None:
    """Serve ``document(app)`` at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
