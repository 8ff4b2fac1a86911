"""The composition root: builds the object graph from settings. No module-level singletons."""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

from shipyard.interfaces.object_graph import Services

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shipyard.interfaces.serving.app import InferenceApp
    from shipyard.services.formats.prediction_compactor import PredictionLogCompactor
    from shipyard.services.registry.dossier import DossierBuilder
    from shipyard.settings import Settings

__all__ = [
    "Services",
    "build_compactor",
    "build_inference_app",
    "build_server_app",
    "build_services",
    "dossier_builder",
    "inference_app_from_env",
]


def build_services(settings: Settings) -> Services:
    """Open the metadata database (creating its schema when empty) and the object store; the
    services over them are built on first use (``Services.build_all`` builds them all)."""
    from shipyard.stores.blobs import open_content_store
    from shipyard.stores.sql.engine import Database
    from shipyard.stores.sql.schema import ensure_schema

    db = Database(settings.db_url)
    ensure_schema(db)
    blobs = open_content_store(settings.artifacts_url, dict(settings.storage_options) or None)
    return Services(settings, db, blobs)


def build_compactor(services: Services) -> PredictionLogCompactor:
    """The prediction-log compactor over the project's store (the serving job's, and
    ``shipyard monitor compact``'s): an hour merges once a late flush can no longer reach it
    (at most log_age_s + flush_s after the hour: the grace leaves room for it)."""
    from shipyard.services.formats.prediction_compactor import PredictionLogCompactor

    serving = services.settings.serving
    grace_s = max(600.0, 3 * (serving.log_age_s + serving.flush_s))
    return PredictionLogCompactor(services.blobs.backend, grace_s=grace_s)


def build_inference_app(settings: Settings) -> InferenceApp:
    """``shipyard serve``'s inference app: one replica's runtime over the shared stores, with
    its own figures and prediction log (serving code is imported only here, when serving)."""
    from shipyard.interfaces.serving.app import InferenceApp
    from shipyard.services.serving.predlog import PredictionLog
    from shipyard.services.serving.runtime import ServingRuntime
    from shipyard.services.serving.stats import ServingStats

    svc = build_services(settings).build_all()
    serving = settings.serving
    stats = ServingStats(detail=serving.metrics_models)
    replica = f"{os.getpid()}-{secrets.token_hex(3)}"
    runtime = ServingRuntime(
        env=serving.env,
        deployments=svc.deployments,
        figures=svc.figures,
        registry=svc.registry,
        stats=stats,
        predlog=PredictionLog(
            svc.blobs.backend,
            replica,
            stats,
            serving.log_queue,
            env=serving.env,
            max_rows=serving.log_rows,
            max_age_s=serving.log_age_s,
        ),
        settings=serving,
        allow_pickle=serving.allow_pickle,
        jobs=svc.jobs.scheduler,  # runs the canary watcher, once across replicas
        compact=build_compactor(svc).run,  # merges small prediction-log files of closed hours
    )
    return InferenceApp(
        runtime,
        max_body=int(serving.max_body_mb * 1_000_000),
        on_close=svc.close,
        authenticate=svc.access.authenticate if serving.auth == "token" else None,
        rate_limit=serving.rate_limit,
    )


def build_server_app(services: Services, *, auth_mode: str = "local") -> FastAPI:
    """``shipyard server``: the REST API and the web UI, one app over ``services``."""
    from shipyard.interfaces.server.app import create_app
    from shipyard.interfaces.web import routes as web_routes

    app = create_app(services.build_all(), auth_mode=auth_mode)
    web_routes.mount(app)
    return app


def dossier_builder(services: Services) -> DossierBuilder:
    """The dossier of a model version reads the registry, runs, pipelines, datasets, ledger."""
    from shipyard.services.registry.dossier import DossierBuilder

    return DossierBuilder(
        registry=services.registry,
        tracking=services.tracking,
        pipelines=services.pipelines,
        catalog=services.catalog,
        audit=services.audit,
        release=services.settings.release,
        actor=services.settings.actor,
        monitor=services.settings.monitor,
        history=services.alerts,
        retraining=services.retraining,
    )


def inference_app_from_env() -> InferenceApp:
    """The uvicorn factory of ``shipyard serve`` (which sets the environment it reads)."""
    from shipyard.settings import load_settings

    return build_inference_app(load_settings())
