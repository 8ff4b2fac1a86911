"""The API application: one error mapping, auth on every API route, routers mounted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI, Request

from shipyard import __version__
from shipyard.core.errors import ShipyardError

if TYPE_CHECKING:
    from shipyard.interfaces.object_graph import Services

__all__ = ["create_app"]

_PUBLIC = ("/api/v1/health", "/health", "/version", "/docs", "/openapi.json", "/login", "/static")


def create_app(services: Services, *, auth_mode: str = "local") -> FastAPI:
    """The REST API (``/api/v1``, MLflow's ``/api/2.0/mlflow``) over already-built services,
    with one error mapping and auth on every API route; the composition root mounts the web
    UI next to it (``bootstrap.build_server_app``)."""
    from shipyard.interfaces.http.auth import current_user
    from shipyard.interfaces.http.cross_site import cross_site_refusal
    from shipyard.interfaces.http.route_permissions import authorize_route, is_api_path
    from shipyard.interfaces.server import (
        api_audit,
        api_data,
        api_deployments,
        api_jobs,
        api_models,
        api_monitoring_alerts,
        api_monitoring_feedback,
        api_pipelines,
        api_retraining,
        api_tokens,
        api_v1,
        mlflow_artifacts,
        mlflow_compat,
        mlflow_logged_models,
        mlflow_registry,
        mlflow_routes,
    )
    from shipyard.interfaces.server.http_errors import error_response, install_error_handlers
    from shipyard.interfaces.server.openapi_doc import install_document

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        services.monitor_runner.register_jobs(services.jobs.scheduler)  # monitor:<model>
        services.retraining.register_jobs(services.jobs.scheduler)  # retrain:<model>
        services.gc.register_jobs(services.jobs.scheduler)  # gc, daily, with [retention]
        services.jobs.scheduler.start()  # periodic jobs, once across server replicas
        try:
            yield
        finally:
            services.jobs.scheduler.stop()

    app = FastAPI(
        title="Shipyard",
        version=__version__,
        docs_url="/docs",
        lifespan=lifespan,
        dependencies=[Depends(authorize_route)],  # the route's action, from the table
    )
    app.state.services = services
    app.state.auth_mode = auth_mode
    app.state.local_admin = services.access.ensure_local_admin() if auth_mode == "local" else None

    @app.middleware("http")
    async def authenticate(request: Request, call_next):  # type: ignore[no-untyped-def]
        path = request.url.path
        refusal = cross_site_refusal(request.method, path, request.headers)
        if refusal is not None:
            return error_response(refusal)
        if is_api_path(path) and not path.startswith(_PUBLIC):
            try:  # who is calling; what they may do is the route's check (authorize_route)
                request.state.user = current_user(request)
            except ShipyardError as e:
                return error_response(e)
        return await call_next(request)

    install_error_handlers(app)
    install_document(app)

    @app.get("/health")
    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(api_v1.router)
    app.include_router(api_data.router)
    app.include_router(api_pipelines.router)
    app.include_router(api_audit.router)
    app.include_router(api_models.router)
    app.include_router(api_deployments.router)
    app.include_router(api_jobs.router)
    app.include_router(api_monitoring_alerts.router)
    app.include_router(api_monitoring_feedback.router)
    app.include_router(api_tokens.router)
    app.include_router(api_retraining.router)
    mlflow_artifacts.mount(app)
    mlflow_routes.mount(
        app, mlflow_logged_models.ROUTES, mlflow_registry.ROUTES, mlflow_compat.ROUTES
    )
    return app
