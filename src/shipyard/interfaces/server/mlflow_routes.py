"""The route table of the MLflow registry and logged-model calls, and how it is mounted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from shipyard.core.errors import ValidationError
from shipyard.interfaces.server.mlflow_fields import read_body

__all__ = ["Handler", "mount", "page", "route", "user_of"]

Handler = Callable[..., dict[str, Any]]
_ROUTES: list[tuple[str, str, Handler]] = []


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _ROUTES.append((method, path, fn))
        return fn

    return register


def user_of(r: Request) -> str:
    return str(r.state.user.name)


def _endpoint(handler: Handler):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> JSONResponse:
        body = await read_body(request)
        if request.method != "GET":  # DELETE calls may carry their fields in the query
            for key, value in request.query_params.items():
                body.setdefault(key, value)
        services = request.app.state.services
        params = dict(request.path_params)
        result = await run_in_threadpool(handler, services, body, request, **params)
        return JSONResponse(result)

    endpoint.__name__ = f"mlflow_{handler.__name__}"
    return endpoint


def mount(app: FastAPI) -> None:
    """Register before ``mlflow_compat.mount``, whose catch-all answers unknown calls."""
    from shipyard.interfaces.server import mlflow_logged_models, mlflow_registry  # noqa: F401

    for prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow"):
        for method, path, handler in _ROUTES:
            app.add_api_route(
                prefix + path,
                _endpoint(handler),
                methods=[method],
                include_in_schema=prefix.startswith("/api"),
                tags=["mlflow-compat"],
            )


def page(b: dict[str, Any], key: str, items: list[Any], default: int) -> dict[str, Any]:
    try:
        limit = int(b.get("max_results") or default)
        offset = int(b.get("page_token") or 0)
    except ValueError:
        raise ValidationError(
            "max_results and page_token must be integers", field="page_token"
        ) from None
    out: dict[str, Any] = {key: items[offset : offset + limit]}
    if offset + limit < len(items):
        out["next_page_token"] = str(offset + limit)
    return out
