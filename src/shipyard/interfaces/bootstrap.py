"""The composition root: builds the object graph from settings. No module-level singletons."""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

from shipyard.interfaces.object_graph import Services
from shipyard.services.access import AccessService
from shipyard.services.audit import AuditService
from shipyard.services.catalog import CatalogService
from shipyard.services.catalog.privacy import load_or_create_key
from shipyard.services.deployments import DeploymentService, FiguresService
from shipyard.services.doctor import DoctorService
from shipyard.services.doctor.backup import BackupService
from shipyard.services.doctor.gc import GarbageCollector
from shipyard.services.formats.prediction_reader import PredictionLogReader
from shipyard.services.jobs import JobsService
from shipyard.services.monitoring.alerts import AlertService
from shipyard.services.monitoring.canary_quality import CanaryQuality
from shipyard.services.monitoring.drift_window import DriftWindowEvaluator
from shipyard.services.monitoring.estimated_window import EstimatedWindowEvaluator
from shipyard.services.monitoring.export import FeedbackExport
from shipyard.services.monitoring.feedback import FeedbackService
from shipyard.services.monitoring.lineage_profiles import LineageProfiler
from shipyard.services.monitoring.log_stats import LogStatsEvaluator
from shipyard.services.monitoring.profile_store import ProfileService
from shipyard.services.monitoring.realized import RealizedService
from shipyard.services.monitoring.realized_window import RealizedWindowEvaluator
from shipyard.services.monitoring.runner import MonitorRunner
from shipyard.services.monitoring.targets import Targets
from shipyard.services.monitoring.webhooks import ModelNotices, WebhookDeliveries
from shipyard.services.pipelines.service import ExecutorConfig, PipelineService
from shipyard.services.registry import RegistryService
from shipyard.services.registry.dossier import DossierBuilder
from shipyard.services.retraining import Collaborators, RetrainingService
from shipyard.services.tracking import TrackingService
from shipyard.settings import Settings
from shipyard.stores.blobs import open_content_store
from shipyard.stores.sql.access_repo import AccessRepo
from shipyard.stores.sql.audit_repo import AuditRepo
from shipyard.stores.sql.datasets_repo import DatasetRepo
from shipyard.stores.sql.deployments_repo import DeploymentsRepo
from shipyard.stores.sql.engine import Database
from shipyard.stores.sql.experiments_repo import ExperimentRepo
from shipyard.stores.sql.feedback_repo import FeedbackRepo
from shipyard.stores.sql.integrity_repo import IntegrityRepo
from shipyard.stores.sql.models_repo import ModelsRepo
from shipyard.stores.sql.monitors_repo import MonitorsRepo
from shipyard.stores.sql.retention_repo import RetentionRepo
from shipyard.stores.sql.retraining_repo import RetrainingRepo
from shipyard.stores.sql.runs_repo import RunRepo
from shipyard.stores.sql.schema import ensure_schema
from shipyard.stores.sql.snapshot import SnapshotRepo
from shipyard.stores.statcache import StatCache

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shipyard.interfaces.serving.app import InferenceApp
    from shipyard.services.formats.prediction_compactor import PredictionLogCompactor

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
    """Open the metadata database (creating its schema when empty) and the object store."""
    db = Database(settings.db_url)
    ensure_schema(db)
    blobs = open_content_store(settings.artifacts_url, dict(settings.storage_options) or None)
    ledger = AuditRepo()  # stateless: every method takes the caller's unit of work
    tracking = TrackingService(
        db, blobs, experiments=ExperimentRepo(), runs=RunRepo(), audit=ledger
    )
    catalog = CatalogService(
        db,
        blobs,
        stat_cache=StatCache(settings.state_dir / "cache" / "stat.db"),
        pii_key=lambda: load_or_create_key(settings.pii_key, settings.pii_key_file),
        checkout_dir=settings.state_dir / "checkouts",
        repo=DatasetRepo(),
        audit=ledger,
    )
    pipelines = PipelineService(
        db,
        tracking,
        catalog,
        blobs,
        storage_options=dict(settings.storage_options),
        executors=ExecutorConfig(
            default=settings.executor,
            dask_address=settings.dask_scheduler_address,
            ray_address=settings.ray_address,
        ),
    )
    registry = RegistryService(
        db, blobs, tracking, catalog=catalog, repo=ModelsRepo(), audit=ledger
    )
    deployments = DeploymentService(
        db,
        registry,
        release=settings.release,
        protected=settings.protected_environments,
        repo=DeploymentsRepo(),
        audit=ledger,
    )
    monitors = MonitorsRepo()
    alerts = AlertService(db, repo=monitors, audit=ledger)
    logs = PredictionLogReader(blobs.backend)
    profiles = ProfileService(
        blobs, catalog=catalog, models=registry, label_columns=_label_columns(settings)
    )
    profiler = LineageProfiler(profiles, runs=tracking, inputs=catalog, tables=catalog)
    registry.hooks.append(profiler)
    targets = Targets(registry)
    realized = RealizedService(db, logs, targets, repo=FeedbackRepo())
    webhooks = WebhookDeliveries(db, monitors, secrets=settings.monitor_secrets)
    # the window evaluators: log statistics, realized metrics, drift, estimated performance
    estimated = EstimatedWindowEvaluator(
        DriftWindowEvaluator(
            RealizedWindowEvaluator(LogStatsEvaluator(logs), realized),
            logs,
            profiles,
            policies=settings.monitor,
        ),
        logs,
        profiles,
        targets,
    )
    monitor_runner = MonitorRunner(
        db,
        policies=settings.monitor,
        deployments=deployments,
        evaluator=estimated,
        alerts=alerts,
        webhooks=webhooks,
    )
    export = FeedbackExport(
        db,
        logs,
        targets,
        catalog,
        repo=FeedbackRepo(),
        audit=ledger,
        pii=settings.data_pii,
        checks=settings.data_checks,
        training_inputs=lambda run_id: [
            edge.ref
            for run in tracking.run_chain(run_id)
            for edge in catalog.inputs_of_run(run.info.run_id)
        ],
    )
    retraining = RetrainingService(
        db,
        policies=settings.retrain,
        parts=Collaborators(
            pipelines=pipelines,
            registry=registry,
            datasets=catalog,
            deployments=deployments,
            alerts=alerts,
            release=settings.release,
            feedback=export,  # data = "feedback": the labelled production data
            notices=ModelNotices(webhooks, monitor_runner.sinks),
            profiles=profiles,
        ),
        repo=RetrainingRepo(),
        audit=ledger,
    )
    audit = AuditService(db, repo=ledger)
    return Services(
        settings=settings,
        db=db,
        blobs=blobs,
        tracking=tracking,
        access=AccessService(db, repo=AccessRepo(), audit=ledger),
        catalog=catalog,
        pipelines=pipelines,
        audit=audit,
        registry=registry,
        deployments=deployments,
        figures=FiguresService(deployments, quality=CanaryQuality(realized, estimates=estimated)),
        jobs=JobsService(db),
        alerts=alerts,
        monitor_runner=monitor_runner,
        profiles=profiles,
        feedback=FeedbackService(db, logs, targets, repo=FeedbackRepo(), audit=ledger),
        realized=realized,
        export=export,
        retraining=retraining,
        doctor=DoctorService(db, blobs, repo=IntegrityRepo(), audit=audit),
        gc=GarbageCollector(
            db,
            blobs,
            policy=settings.retention,
            retention=RetentionRepo(),
            integrity=IntegrityRepo(),
            audit=ledger,
        ),
        backups=BackupService(blobs, SnapshotRepo(db), keys={"pii.key": settings.pii_key_file}),
        profiler=profiler,
    )


def _label_columns(settings: Settings) -> dict[str, str]:
    """Each model's label column, as its release policy (``[release.<model>] target``) names
    it: what a reference profile's estimation reference is fitted on."""
    out = {}
    for model, table in settings.release.items():
        target = table.get("target") if isinstance(table, dict) else None
        if isinstance(target, str) and target:
            out[str(model)] = target
    return out


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

    svc = build_services(settings)
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

    app = create_app(services, auth_mode=auth_mode)
    web_routes.mount(app)
    return app


def dossier_builder(services: Services) -> DossierBuilder:
    """The dossier of a model version reads the registry, runs, pipelines, datasets, ledger."""
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
