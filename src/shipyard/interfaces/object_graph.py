"""The object graph the composition root builds: every service over the shared stores.

Each service is built, and its module imported, the first time it is used: a command that
lists models opens the registry and what it needs, not the monitoring, pipeline and
retraining code (and their libraries). ``build_all`` builds the whole graph up front; the
server and the inference app call it, so that no request pays for a first build.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar, overload

if TYPE_CHECKING:
    from shipyard.core.models import ModelVersion
    from shipyard.services.access import AccessService
    from shipyard.services.audit import AuditService
    from shipyard.services.catalog import CatalogService
    from shipyard.services.deployments import DeploymentService, FiguresService
    from shipyard.services.doctor import DoctorService
    from shipyard.services.doctor.backup import BackupService
    from shipyard.services.doctor.gc import GarbageCollector
    from shipyard.services.formats.prediction_reader import PredictionLogReader
    from shipyard.services.jobs import JobsService
    from shipyard.services.monitoring.alerts import AlertService
    from shipyard.services.monitoring.estimated_window import EstimatedWindowEvaluator
    from shipyard.services.monitoring.export import FeedbackExport
    from shipyard.services.monitoring.feedback import FeedbackService
    from shipyard.services.monitoring.lineage_profiles import LineageProfiler
    from shipyard.services.monitoring.profile_store import ProfileService
    from shipyard.services.monitoring.realized import RealizedService
    from shipyard.services.monitoring.runner import MonitorRunner
    from shipyard.services.monitoring.targets import Targets
    from shipyard.services.monitoring.webhooks import WebhookDeliveries
    from shipyard.services.pipelines.service import PipelineService
    from shipyard.services.registry import RegistryService
    from shipyard.services.retraining import RetrainingService
    from shipyard.services.tracking import TrackingService
    from shipyard.settings import Settings
    from shipyard.stores.blobs import ContentStore
    from shipyard.stores.sql.audit_repo import AuditRepo
    from shipyard.stores.sql.engine import Database
    from shipyard.stores.sql.monitors_repo import MonitorsRepo

__all__ = ["Services"]

T = TypeVar("T")


class _built(Generic[T]):
    """A service built on first access, once per graph (one lock per graph: two threads
    asking at once get the same object)."""

    def __init__(self, build: Callable[[Services], T]) -> None:
        self.build = build
        self.name = build.__name__
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, graph: None, owner: type) -> _built[T]: ...
    @overload
    def __get__(self, graph: Services, owner: type) -> T: ...
    def __get__(self, graph: Services | None, owner: type) -> T | _built[T]:
        if graph is None:
            return self
        with graph._lock:
            if self.name not in graph.__dict__:
                graph.__dict__[self.name] = self.build(graph)
        return graph.__dict__[self.name]  # type: ignore[no-any-return]


class _ProfileOnRegister:
    """The registry's ``RegistrationHooks``: hands each new version to the graph's
    ``LineageProfiler``, built at the first registration rather than with the registry."""

    def __init__(self, graph: Services) -> None:
        self.graph = graph

    def on_registered(self, version: ModelVersion) -> None:
        self.graph.profiler.on_registered(version)


class Services:
    """Every service of one project (its ``settings``), each built on first use."""

    def __init__(self, settings: Settings, db: Database, blobs: ContentStore) -> None:
        self.settings = settings
        self.db = db
        self.blobs = blobs
        self._lock = threading.RLock()

    def build_all(self) -> Services:
        """Build every service now (a long-lived process, before it serves)."""
        for name, value in vars(Services).items():
            if isinstance(value, _built) and not name.startswith("_"):
                getattr(self, name)
        return self

    def close(self) -> None:
        built = self.__dict__
        if "profiler" in built:
            built["profiler"].close()  # the profiles queued by registrations are finished first
        if "jobs" in built:
            built["jobs"].scheduler.stop()
        if "catalog" in built:
            built["catalog"].stat_cache.close()
        self.db.dispose()

    # ------------------------------------------------------------ stateless repos
    @_built
    def _ledger(self) -> AuditRepo:
        from shipyard.stores.sql.audit_repo import AuditRepo

        return AuditRepo()  # stateless: every method takes the caller's unit of work

    @_built
    def _monitors(self) -> MonitorsRepo:
        from shipyard.stores.sql.monitors_repo import MonitorsRepo

        return MonitorsRepo()

    # ------------------------------------------------------------ data, runs, models
    @_built
    def tracking(self) -> TrackingService:
        from shipyard.services.tracking import TrackingService
        from shipyard.stores.sql.experiments_repo import ExperimentRepo
        from shipyard.stores.sql.runs_repo import RunRepo

        return TrackingService(
            self.db, self.blobs, experiments=ExperimentRepo(), runs=RunRepo(), audit=self._ledger
        )

    @_built
    def catalog(self) -> CatalogService:
        from shipyard.services.catalog import CatalogService
        from shipyard.services.catalog.privacy import load_or_create_key
        from shipyard.stores.sql.datasets_repo import DatasetRepo
        from shipyard.stores.statcache import StatCache

        settings = self.settings
        return CatalogService(
            self.db,
            self.blobs,
            stat_cache=StatCache(settings.state_dir / "cache" / "stat.db"),
            pii_key=lambda: load_or_create_key(settings.pii_key, settings.pii_key_file),
            checkout_dir=settings.state_dir / "checkouts",
            repo=DatasetRepo(),
            audit=self._ledger,
        )

    @_built
    def pipelines(self) -> PipelineService:
        from shipyard.services.pipelines.service import ExecutorConfig, PipelineService

        settings = self.settings
        return PipelineService(
            self.db,
            self.tracking,
            self.catalog,
            self.blobs,
            storage_options=dict(settings.storage_options),
            executors=ExecutorConfig(
                default=settings.executor,
                dask_address=settings.dask_scheduler_address,
                ray_address=settings.ray_address,
            ),
        )

    @_built
    def registry(self) -> RegistryService:
        from shipyard.services.registry import RegistryService
        from shipyard.stores.sql.models_repo import ModelsRepo

        registry = RegistryService(
            self.db, self.blobs, self.tracking, catalog=self.catalog, repo=ModelsRepo(),
            audit=self._ledger,
        )  # fmt: skip
        registry.hooks.append(_ProfileOnRegister(self))
        return registry

    @_built
    def deployments(self) -> DeploymentService:
        from shipyard.services.deployments import DeploymentService
        from shipyard.stores.sql.deployments_repo import DeploymentsRepo

        return DeploymentService(
            self.db,
            self.registry,
            release=self.settings.release,
            protected=self.settings.protected_environments,
            repo=DeploymentsRepo(),
            audit=self._ledger,
        )

    @_built
    def figures(self) -> FiguresService:
        from shipyard.services.deployments import FiguresService
        from shipyard.services.monitoring.canary_quality import CanaryQuality

        quality = CanaryQuality(self.realized, estimates=self._estimated)
        return FiguresService(self.deployments, quality=quality)

    @_built
    def jobs(self) -> JobsService:
        from shipyard.services.jobs import JobsService

        return JobsService(self.db)

    @_built
    def access(self) -> AccessService:
        from shipyard.services.access import AccessService
        from shipyard.stores.sql.access_repo import AccessRepo

        return AccessService(self.db, repo=AccessRepo(), audit=self._ledger)

    @_built
    def audit(self) -> AuditService:
        from shipyard.services.audit import AuditService

        return AuditService(self.db, repo=self._ledger)

    # ------------------------------------------------------------ monitoring
    @_built
    def alerts(self) -> AlertService:
        from shipyard.services.monitoring.alerts import AlertService

        return AlertService(self.db, repo=self._monitors, audit=self._ledger)

    @_built
    def _logs(self) -> PredictionLogReader:
        from shipyard.services.formats.prediction_reader import PredictionLogReader

        return PredictionLogReader(self.blobs.backend)

    @_built
    def profiles(self) -> ProfileService:
        from shipyard.services.monitoring.profile_store import ProfileService

        return ProfileService(
            self.blobs,
            catalog=self.catalog,
            models=self.registry,
            label_columns=_label_columns(self.settings),
        )

    @_built
    def profiler(self) -> LineageProfiler:
        """Profiles new versions from their lineage (the registry's registration hook)."""
        from shipyard.services.monitoring.lineage_profiles import LineageProfiler

        return LineageProfiler(
            self.profiles, runs=self.tracking, inputs=self.catalog, tables=self.catalog
        )

    @_built
    def _targets(self) -> Targets:
        from shipyard.services.monitoring.targets import Targets

        return Targets(self.registry)

    @_built
    def realized(self) -> RealizedService:
        from shipyard.services.monitoring.realized import RealizedService
        from shipyard.stores.sql.feedback_repo import FeedbackRepo

        return RealizedService(self.db, self._logs, self._targets, repo=FeedbackRepo())

    @_built
    def _webhooks(self) -> WebhookDeliveries:
        from shipyard.services.monitoring.webhooks import WebhookDeliveries

        return WebhookDeliveries(self.db, self._monitors, secrets=self.settings.monitor_secrets)

    @_built
    def _estimated(self) -> EstimatedWindowEvaluator:
        """The window evaluators: log statistics, realized metrics, drift, estimated
        performance, each wrapping the one before."""
        from shipyard.services.monitoring.drift_window import DriftWindowEvaluator
        from shipyard.services.monitoring.estimated_window import EstimatedWindowEvaluator
        from shipyard.services.monitoring.log_stats import LogStatsEvaluator
        from shipyard.services.monitoring.realized_window import RealizedWindowEvaluator

        logs, profiles = self._logs, self.profiles
        drift = DriftWindowEvaluator(
            RealizedWindowEvaluator(LogStatsEvaluator(logs), self.realized),
            logs,
            profiles,
            policies=self.settings.monitor,
        )
        return EstimatedWindowEvaluator(drift, logs, profiles, self._targets)

    @_built
    def monitor_runner(self) -> MonitorRunner:
        from shipyard.services.monitoring.runner import MonitorRunner

        return MonitorRunner(
            self.db,
            policies=self.settings.monitor,
            deployments=self.deployments,
            evaluator=self._estimated,
            alerts=self.alerts,
            webhooks=self._webhooks,
        )

    @_built
    def feedback(self) -> FeedbackService:
        from shipyard.services.monitoring.feedback import FeedbackService
        from shipyard.stores.sql.feedback_repo import FeedbackRepo

        return FeedbackService(
            self.db, self._logs, self._targets, repo=FeedbackRepo(), audit=self._ledger
        )

    @_built
    def export(self) -> FeedbackExport:
        from shipyard.services.monitoring.export import FeedbackExport
        from shipyard.stores.sql.feedback_repo import FeedbackRepo

        tracking, catalog = self.tracking, self.catalog
        return FeedbackExport(
            self.db,
            self._logs,
            self._targets,
            catalog,
            repo=FeedbackRepo(),
            audit=self._ledger,
            pii=self.settings.data_pii,
            checks=self.settings.data_checks,
            training_inputs=lambda run_id: [
                edge.ref
                for run in tracking.run_chain(run_id)
                for edge in catalog.inputs_of_run(run.info.run_id)
            ],
        )

    @_built
    def retraining(self) -> RetrainingService:
        from shipyard.services.monitoring.webhooks import ModelNotices
        from shipyard.services.retraining import Collaborators, RetrainingService
        from shipyard.stores.sql.retraining_repo import RetrainingRepo

        parts = Collaborators(
            pipelines=self.pipelines,
            registry=self.registry,
            datasets=self.catalog,
            deployments=self.deployments,
            alerts=self.alerts,
            release=self.settings.release,
            feedback=self.export,  # data = "feedback": the labelled production data
            notices=ModelNotices(self._webhooks, self.monitor_runner.sinks),
            profiles=self.profiles,
        )
        return RetrainingService(
            self.db,
            policies=self.settings.retrain,
            parts=parts,
            repo=RetrainingRepo(),
            audit=self._ledger,
        )

    # ------------------------------------------------------------ upkeep
    @_built
    def doctor(self) -> DoctorService:
        from shipyard.services.doctor import DoctorService
        from shipyard.stores.sql.integrity_repo import IntegrityRepo

        return DoctorService(self.db, self.blobs, repo=IntegrityRepo(), audit=self.audit)

    @_built
    def gc(self) -> GarbageCollector:
        from shipyard.services.doctor.gc import GarbageCollector
        from shipyard.stores.sql.integrity_repo import IntegrityRepo
        from shipyard.stores.sql.retention_repo import RetentionRepo

        return GarbageCollector(
            self.db,
            self.blobs,
            policy=self.settings.retention,
            retention=RetentionRepo(),
            integrity=IntegrityRepo(),
            audit=self._ledger,
        )

    @_built
    def backups(self) -> BackupService:
        from shipyard.services.doctor.backup import BackupService
        from shipyard.stores.sql.snapshot import SnapshotRepo

        keys = {"pii.key": self.settings.pii_key_file}
        return BackupService(self.blobs, SnapshotRepo(self.db), keys=keys)


def _label_columns(settings: Settings) -> dict[str, str]:
    """Each model's label column, as its release policy (``[release.<model>] target``) names
    it: what a reference profile's estimation reference is fitted on."""
    out = {}
    for model, table in settings.release.items():
        target = table.get("target") if isinstance(table, dict) else None
        if isinstance(target, str) and target:
            out[str(model)] = target
    return out
