"""What one service needs from another, as ``typing.Protocol``s: siblings meet one layer up."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from shipyard.core.alerts import Alert, MonitorWindow
    from shipyard.core.audit import ChainReport
    from shipyard.core.canary import QualityReading
    from shipyard.core.datasets import DatasetVersion, ValidationRecord
    from shipyard.core.deployments import Deployment
    from shipyard.core.entities import Run, User
    from shipyard.core.models import ModelVersion
    from shipyard.core.retraining import TrainingOutcome

__all__ = [
    "ChainVerifier",
    "DatasetInputs",
    "DatasetTables",
    "DeployedModels",
    "DeploymentRoutes",
    "ExportDatasets",
    "FeedbackExporter",
    "ModelNotices",
    "ModelVersionLookup",
    "MonitoredModels",
    "PeriodicJobs",
    "QualityFigures",
    "ReferenceProfiles",
    "RegistrationHooks",
    "RetrainAlerts",
    "RetrainDeployments",
    "RetrainRegistry",
    "RunChain",
    "RunInputs",
    "ServedVersions",
    "ServingFigures",
    "TrainingPipelines",
]


class ChainVerifier(Protocol):
    """What ``shipyard doctor`` needs from the audit service: verify the hash chain."""

    def verify(self) -> ChainReport: ...


class DatasetInputs(Protocol):
    """What the pipeline runner needs from the data catalog: resolve a ref, record a read."""

    def get_version(self, ref: str) -> DatasetVersion: ...

    def record_input(self, run_id: str, ref: str, context: str = "input") -> DatasetVersion: ...


class DatasetTables(Protocol):
    """What monitoring needs from the data catalog: resolve a ref, read a table version."""

    def get_version(self, ref: str) -> DatasetVersion: ...

    def load_frame(self, ref: str, columns: list[str] | None = None) -> Any: ...


class ExportDatasets(Protocol):
    """What the feedback export needs from the data catalog: read a table version (the one
    to mix with), the datasets a training run read (the target's name), register the new
    version (PII policies apply) and validate it."""

    def get_version(self, ref: str) -> DatasetVersion: ...

    def load_frame(self, ref: str, columns: list[str] | None = None) -> Any: ...

    def inputs_of_run(self, run_id: str) -> Sequence[Any]: ...

    def register(
        self,
        name: str,
        source: Any,
        *,
        description: str | None = None,
        tags: Mapping[str, object] | None = None,
        pii: Mapping[str, object] | None = None,
        user: str = "unknown",
        source_label: str | None = None,
    ) -> DatasetVersion: ...

    def validate(
        self, ref: str, spec: Mapping[str, object] | None, user: str = "unknown"
    ) -> ValidationRecord: ...


class ModelVersionLookup(Protocol):
    """What deployments need from the model registry: the version a ref names."""

    def get_version(self, ref: str) -> ModelVersion: ...


class MonitoredModels(Protocol):
    """What monitoring needs from the model registry: a version (the latest for a bare
    name), and its model (for what it predicts: the class set)."""

    def get_version(self, ref: str) -> ModelVersion: ...

    def load(self, ref: str, *, user: str, allow_pickle: bool = False) -> Any: ...


class ServedVersions(Protocol):
    """What a serving replica needs from the model registry: a version, its model, its
    verified ONNX twin."""

    def get_version(self, ref: str) -> ModelVersion: ...

    def load(self, ref: str, *, user: str, allow_pickle: bool = False) -> Any: ...

    def load_onnx(self, ref: str) -> bytes: ...


class DeployedModels(Protocol):
    """What monitoring needs from deployments: what serves where (and since when)."""

    def list(self, env: str | None = None) -> list[Deployment]: ...

    def live_since(self, env: str, model: str) -> int | None: ...


class DeploymentRoutes(Protocol):
    """What a serving replica needs from deployments: what serves, and whether it changed."""

    def generation(self, env: str) -> int: ...

    def list(self, env: str | None = None) -> list[Deployment]: ...


class ServingFigures(Protocol):
    """Where a replica flushes its figures, and the canary watcher that judges them."""

    def flush(self, env: str, replica: str, now: int, rows: Sequence[Any]) -> None: ...

    def watch(self, env: str) -> Any: ...


class QualityFigures(Protocol):
    """What the canary watcher needs from monitoring: a version's model quality on what it
    answered in ``env`` since ``since_ms`` (realized once ``min_labels`` labels arrived)."""

    def for_version(
        self, model: str, env: str, version: int, since_ms: int, min_labels: int
    ) -> QualityReading: ...


class PeriodicJobs(Protocol):
    """The job scheduler as a replica uses it: register work, start and stop the loop."""

    def register(
        self, name: str, interval_s: float, fn: Callable[[], Any], *, lease_s: float | None = None
    ) -> Any: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...


class TrainingPipelines(Protocol):
    """What retraining needs from the pipelines: run one on a dataset version, finish an
    interrupted one, check a pipeline reference; each gives the fitted model and its lineage."""

    def run_training(
        self,
        target: str,
        params: Mapping[str, Any],
        *,
        data: str | None,
        model_step: str | None,
        actor: str,
        on_start: Callable[[str], None] | None = None,
    ) -> TrainingOutcome: ...

    def resume_training(
        self, run_id: str, *, model_step: str | None, actor: str
    ) -> TrainingOutcome: ...

    def check_pipeline(self, target: str) -> None: ...


class RetrainRegistry(Protocol):
    """What retraining needs from the model registry: register, gate, approve, read."""

    def get_version(self, ref: str) -> ModelVersion: ...

    def versions(self, name: str) -> list[ModelVersion]: ...

    def log_model(
        self,
        model: Any,
        name: str,
        *,
        user: str,
        run_id: str | None = None,
        input_example: Any = None,
        signature: Any = None,
        description: str = "",
    ) -> ModelVersion: ...

    def run_gates(
        self,
        ref: str,
        release: Mapping[str, object],
        *,
        user: str,
        holdout: str | None = None,
        target: str | None = None,
    ) -> dict[str, Any]: ...

    def set_status(
        self,
        ref: str,
        status: Any,
        *,
        user: str,
        reason: str = "",
        action: str = "model.status",
        expected: frozenset[Any] | None = None,
    ) -> ModelVersion: ...


class RetrainDeployments(Protocol):
    """What retraining needs from deployments: roll a version out, which envs are protected."""

    def deploy(
        self,
        model: str,
        version: int | str,
        env: str,
        user: User,
        *,
        strategy: str | None = None,
        percent: int | None = None,
        reason: str = "",
    ) -> Deployment: ...

    def is_protected(self, env: str) -> bool: ...

    def get(self, env: str, model: str | None = None) -> Deployment: ...


class RetrainAlerts(Protocol):
    """What retraining needs from monitoring: a model's open alerts, and a note on one."""

    def open_alerts(self, model: str) -> list[Alert]: ...

    def annotate(self, alert_id: int, note: str, *, actor: str) -> Alert: ...

    def get(self, alert_id: int) -> Alert: ...

    def windows_from(self, model: str, env: str, start: int) -> list[MonitorWindow]: ...

    def settle(self, alert_id: int, note: str, *, actor: str) -> Alert: ...


class ModelNotices(Protocol):
    """Notifies a model's alert sinks of an event that is no alert (a retraining waiting
    for its approver): queued in the caller's unit of work, sent and retried like alert
    deliveries. Returns the delivery id, None when the model has no sink."""

    def queue(
        self, conn: Any, model: str, event: str, payload: Mapping[str, Any], now: int
    ) -> int | None: ...

    def send_due(self) -> object: ...


class ReferenceProfiles(Protocol):
    """Records the reference profile a new version's drift is measured against."""

    def attach(
        self, model_ref: str, source: Any, *, columns: Sequence[str] | None = None
    ) -> str: ...


class FeedbackExporter(Protocol):
    """Production predictions joined with their feedback, exported as a new dataset version
    (implemented by monitoring); returns the new version's ref."""

    def export(self, model: str, *, since_ms: int | None, labelled: bool, user: str) -> str: ...


class RegistrationHooks(Protocol):
    """Who the model registry tells about a new version (monitoring: its reference profile),
    after the registration committed. A hook returns quickly and never fails a
    registration: the registry logs whatever it raises."""

    def on_registered(self, version: ModelVersion) -> None: ...


class RunChain(Protocol):
    """What monitoring needs from tracking: a run and its parents (a step → its pipeline)."""

    def run_chain(self, run_id: str | None, limit: int = 10) -> list[Run]: ...


class RunInputs(Protocol):
    """What monitoring needs from the data catalog to follow lineage: the dataset versions a
    run read (each with its ``ref``)."""

    def inputs_of_run(self, run_id: str) -> list[Any]: ...
