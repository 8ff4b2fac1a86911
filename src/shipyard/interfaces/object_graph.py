"""The object graph the composition root builds: every service over the shared stores."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.services.access import AccessService
from shipyard.services.audit import AuditService
from shipyard.services.catalog import CatalogService
from shipyard.services.deployments import DeploymentService, FiguresService
from shipyard.services.doctor import DoctorService
from shipyard.services.doctor.backup import BackupService
from shipyard.services.doctor.gc import GarbageCollector
from shipyard.services.jobs import JobsService
from shipyard.services.monitoring.alerts import AlertService
from shipyard.services.monitoring.export import FeedbackExport
from shipyard.services.monitoring.feedback import FeedbackService
from shipyard.services.monitoring.lineage_profiles import LineageProfiler
from shipyard.services.monitoring.profile_store import ProfileService
from shipyard.services.monitoring.realized import RealizedService
from shipyard.services.monitoring.runner import MonitorRunner
from shipyard.services.pipelines.service import PipelineService
from shipyard.services.registry import RegistryService
from shipyard.services.retraining import RetrainingService
from shipyard.services.tracking import TrackingService
from shipyard.settings import Settings
from shipyard.stores.blobs import ContentStore
from shipyard.stores.sql.engine import Database

__all__ = ["Services"]


@dataclass
class Services:
    settings: Settings
    db: Database
    blobs: ContentStore
    tracking: TrackingService
    access: AccessService
    catalog: CatalogService
    pipelines: PipelineService
    audit: AuditService
    registry: RegistryService
    deployments: DeploymentService
    figures: FiguresService
    jobs: JobsService
    alerts: AlertService
    monitor_runner: MonitorRunner
    profiles: ProfileService
    feedback: FeedbackService
    realized: RealizedService
    export: FeedbackExport
    retraining: RetrainingService
    doctor: DoctorService
    gc: GarbageCollector
    backups: BackupService
    profiler: LineageProfiler | None = None  # profiles new versions from their lineage

    def close(self) -> None:
        if self.profiler is not None:
            self.profiler.close()  # the profiles queued by registrations are finished first
        self.jobs.scheduler.stop()
        self.catalog.stat_cache.close()
        self.db.dispose()
