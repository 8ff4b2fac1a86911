"""How the API answers what is not a ``ShipyardError``: a body that fails validation or
cannot be read (400, as MLflow's INVALID_PARAMETER_VALUE), a path nobody serves (404) and a
method a path does not take (405 with the complete ``Allow``) — always the same JSON error
shape."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException

from shipyard.core.errors import ShipyardError
from shipyard.interfaces.http.route_permissions import is_api_path

__all__ = [
    "CATCH_ALL",
    "allowed_methods",
    "error_response",
    "install_error_handlers",
    "route_index",
]

CATCH_ALL = "/api/2.0/mlflow/{rest:path}"  # MLflow calls Shipyard does not offer


def error_response(err: ShipyardError) -> JSONResponse:
    return JSONResponse(err.to_dict(), status_code=err.http_status)


def route_index(app: FastAPI) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Every route's path pattern and methods (the MLflow catch-all left out), built once."""
    cached = getattr(app.state, "route_index", None)
    if cached is None:
        cached = [
            (r.path_regex, frozenset(r.methods or ()))
            for r in iter_route_contexts(app.router.routes)
            if getattr(r, "path_regex", None) is not None and r.path != CATCH_ALL
        ]
        app.state.route_index = cached
    return list(cached)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods some route of ``app`` answers on ``path`` (empty: no route has it)."""
    found: set[str] = set()
    for pattern, methods in route_index(app):
        if pattern.match(path):
            found |= methods
    return sorted(found)


def _on_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    where = list(first.get("loc", ()))
    if where and where[0] in ("body", "query", "path", "header", "cookie"):
        where = where[1:]  # the part of the request; a parameter may be *named* path
    loc = ".".join(str(p) for p in where)
    msg = f"{loc or 'request'}: {first.get('msg', 'invalid request')}"
    return JSONResponse(
        {"error_code": "INVALID_PARAMETER_VALUE", "message": msg, "field": loc},
        status_code=400,
    )


_CODES = {400: "INVALID_PARAMETER_VALUE", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED"}


def _error_shape(exc: Any) -> Response:
    """Any other HTTP error of an API path (FastAPI's 400 for a body it cannot read: not
    UTF-8, say) in the documented shape rather than FastAPI's ``{"detail": …}``."""
    message = str(exc.detail)
    if exc.status_code == 400 and message == "There was an error parsing the body":
        message = "request body: cannot be read; send JSON encoded in UTF-8"
    code = _CODES.get(exc.status_code, "BAD_REQUEST" if exc.status_code < 500 else "INTERNAL_ERROR")
    return JSONResponse(
        {"error_code": code, "message": message},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _on_http_error(request: Request, exc: Any) -> Response:
    path = request.url.path
    if not is_api_path(path):
        return await http_exception_handler(request, exc)
    if exc.status_code not in (404, 405):
        return _error_shape(exc)
    allow = allowed_methods(request.app, path)
    if not allow:
        body = {
            "error_code": "ENDPOINT_NOT_FOUND",
            "message": f"no API endpoint {path}; the operations are listed at /docs",
        }
        return JSONResponse(body, status_code=404)
    body = {
        "error_code": "METHOD_NOT_ALLOWED",
        "message": f"{request.method} is not allowed on {path}; use {' or '.join(allow)}",
    }
    return JSONResponse(body, status_code=405, headers={"Allow": ", ".join(allow)})


def install_error_handlers(app: FastAPI) -> None:
    """The API's one error mapping: Shipyard errors, validation, 404 and 405."""

    @app.exception_handler(ShipyardError)
    async def on_shipyard_error(_request: Request, exc: ShipyardError) -> JSONResponse:
        return error_response(exc)

    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _on_http_error)
