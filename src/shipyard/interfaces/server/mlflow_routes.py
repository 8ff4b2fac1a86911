"""The route table of the MLflow registry and logged-model calls, and how it is mounted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from shipyard.core.errors import NotFoundError
from shipyard.core.validation import check_int
from shipyard.interfaces.server.http_errors import CATCH_ALL, allowed_methods
from shipyard.interfaces.server.mlflow_fields import read_body

__all__ = ["Handler", "RouteTable", "mount", "page", "user_of"]

Handler = Callable[..., dict[str, Any]]


class RouteTable:
    """The MLflow calls one module answers, collected by its decorator and mounted
    explicitly by the app (``mount``); ``collaborator`` picks what handlers receive
    first from the services (all of them by default)."""

    def __init__(
        self, collaborator: Callable[[Any], Any] | None = None, *, query_into_body: bool = True
    ) -> None:
        self.collaborator = collaborator
        self.query_into_body = query_into_body
        self.routes: list[tuple[str, str, Handler]] = []

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.routes.append((method, path, fn))
            return fn

        return register

    def endpoint(self, handler: Handler):  # type: ignore[no-untyped-def]
        async def endpoint(request: Request) -> JSONResponse:
            body = await read_body(request)
            if self.query_into_body and request.method != "GET":
                for key, value in request.query_params.items():  # DELETE calls send a query
                    body.setdefault(key, value)
            services = request.app.state.services
            first = services if self.collaborator is None else self.collaborator(services)
            params = dict(request.path_params)
            result = await run_in_threadpool(handler, first, body, request, **params)
            return JSONResponse(result)

        endpoint.__name__ = f"mlflow_{handler.__name__}"
        return endpoint


def user_of(r: Request) -> str:
    return str(r.state.user.name)


def mount(app: FastAPI, *tables: RouteTable) -> None:
    """Every table's calls under both of MLflow's prefixes (the UI's ``ajax-api`` too),
    then a catch-all that answers MLflow calls Shipyard does not offer with a clear 404."""
    for prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow"):
        for table in tables:
            for method, path, handler in table.routes:
                app.add_api_route(
                    prefix + path,
                    table.endpoint(handler),
                    methods=[method],
                    include_in_schema=prefix.startswith("/api"),
                    tags=["mlflow-compat"],
                )

    @app.api_route(CATCH_ALL, methods=["GET", "POST", "PATCH", "DELETE"], include_in_schema=False)
    def not_implemented(request: Request, rest: str) -> JSONResponse:
        if allowed_methods(app, request.url.path):  # a call Shipyard offers, another method
            raise HTTPException(405)  # answered with its Allow by http_errors
        raise NotFoundError(f"MLflow endpoint /{rest} is not supported by Shipyard yet")


def page(b: dict[str, Any], key: str, items: list[Any], default: int) -> dict[str, Any]:
    limit = check_int(b.get("max_results") or default, "max_results", low=1)
    offset = check_int(b.get("page_token") or 0, "page_token", low=0)
    out: dict[str, Any] = {key: items[offset : offset + limit]}
    if offset + limit < len(items):
        out["next_page_token"] = str(offset + limit)
    return out
