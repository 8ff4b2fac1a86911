"""Ports: what services need from the stores, as ``typing.Protocol``s (one per capability).

Every store method takes the connection of the caller's unit of work (``Transactions``), so
one service call is one transaction whatever the backend. The SQL repos in ``stores.sql``
and ``ContentStore`` in ``stores.blobs`` implement these; services are typed against them.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from shipyard.core.query import Expr, OrderKey

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from shipyard.core.alerts import Alert, AlertDelivery, AlertStatus, MonitorWindow
    from shipyard.core.audit import AuditEntry
    from shipyard.core.datasets import Dataset, DatasetRef, DatasetVersion, ValidationRecord
    from shipyard.core.deployments import Deployment, DeploymentEvent, EnvironmentSummary
    from shipyard.core.entities import Experiment, FileInfo, Metric, Run, RunInfo
    from shipyard.core.feedback import FeedbackLabel
    from shipyard.core.models import ModelRef, ModelVersion, RegisteredModel, VersionStatus
    from shipyard.core.retraining import RetrainRun, RetrainState
    from shipyard.stores.sql.datasets_repo import NewVersion
    from shipyard.stores.sql.deployments_repo import StatsRow
    from shipyard.stores.sql.monitors_repo import AlertFilter, NewWindow

__all__ = [
    "ArtifactIndex",
    "AuditCheckpoints",
    "AuditLedger",
    "AuditLog",
    "AuditReader",
    "BlobReader",
    "BlobStore",
    "BlobWriter",
    "DatabaseSnapshots",
    "DatasetEvidence",
    "DatasetRecords",
    "DatasetStore",
    "DatasetVersions",
    "DbSnapshot",
    "DeploymentStats",
    "DeploymentStore",
    "ExperimentStore",
    "Expired",
    "FeedbackStore",
    "GateResults",
    "IntegrityQueries",
    "ModelRecords",
    "ModelStore",
    "ModelVersions",
    "MonitorStore",
    "NewEntry",
    "RetentionQueries",
    "RetrainingStore",
    "RunLog",
    "RunQuery",
    "RunRecords",
    "RunSearch",
    "RunStore",
    "Transactions",
]


# ---------------------------------------------------------------- units of work
class Transactions(Protocol):
    """Opens units of work: a write transaction (committed on a clean exit) or a read."""

    def write(self) -> AbstractContextManager[Connection]: ...

    def read(self) -> AbstractContextManager[Connection]: ...


# ---------------------------------------------------------------- audit
@dataclass(frozen=True)
class NewEntry:
    """An audit entry to append: who did what to which object (the log adds time and hashes)."""

    actor: str
    action: str
    object_type: str
    object_id: str
    reason: str = ""
    payload: Mapping[str, object] = field(default_factory=dict)


class AuditLog(Protocol):
    """The append-only audit ledger, written in the caller's transaction."""

    def append(self, conn: Connection, entries: Sequence[NewEntry], now: int) -> None: ...


class AuditReader(Protocol):
    """Reading the ledger back: entries by object, and the chain for verification."""

    def head(self, conn: Connection) -> tuple[int, str] | None: ...

    def entries(
        self,
        conn: Connection,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        limit: int = 100,
        before: int | None = None,
        offset: int = 0,
        text: str | None = None,
        kind: str | None = None,
    ) -> list[AuditEntry]: ...

    def count(
        self,
        conn: Connection,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        text: str | None = None,
        kind: str | None = None,
    ) -> int: ...

    def first_after(self, conn: Connection, seq: int) -> int | None: ...

    def stream(
        self, conn: Connection, upto: int | None = None, batch: int = 50_000, after: int = 0
    ) -> Iterator[tuple[Any, ...]]: ...


class AuditCheckpoints(Protocol):
    """The last (seq, hash) a verify found intact, so a view re-checks only newer entries."""

    def hash_at(self, conn: Connection, seq: int) -> str | None: ...

    def checkpoint(self, conn: Connection) -> tuple[int, str] | None: ...

    def set_checkpoint(self, conn: Connection, seq: int, digest: str, now: int) -> None: ...

    def clear_checkpoint(self, conn: Connection) -> None: ...


class AuditLedger(AuditReader, AuditCheckpoints, Protocol):
    """What the audit service reads and checkpoints."""


# ---------------------------------------------------------------- tracking
class ExperimentStore(Protocol):
    def create(
        self, conn: Connection, name: str, artifact_location: str, tags: dict[str, str], now: int
    ) -> str: ...

    def get(self, conn: Connection, experiment_id: object) -> Experiment: ...

    def get_by_name(self, conn: Connection, name: str) -> Experiment | None: ...

    def search(
        self,
        conn: Connection,
        *,
        stages: tuple[str, ...],
        name_like: str | None,
        max_results: int,
        offset: int,
    ) -> list[Experiment]: ...

    def update(
        self, conn: Connection, experiment_id: object, now: int, **values: object
    ) -> None: ...

    def set_tag(self, conn: Connection, experiment_id: object, key: str, value: str) -> None: ...


class RunRecords(Protocol):
    """Runs themselves: create, read (one, or many in order), update, check still active."""

    def create(self, conn: Connection, info: RunInfo, run_tags: dict[str, str]) -> None: ...

    def create_many(
        self, conn: Connection, entries: Sequence[tuple[RunInfo, dict[str, str], dict[str, str]]]
    ) -> None:
        """Runs with their tags and params, in one round trip (a pipeline's steps)."""
        ...

    def get_info(self, conn: Connection, run_id: str) -> RunInfo: ...

    def infos(self, conn: Connection, run_ids: Sequence[str]) -> dict[str, RunInfo]: ...

    def child_infos(self, conn: Connection, parent_ids: Sequence[str]) -> list[RunInfo]: ...

    def get(self, conn: Connection, run_id: str) -> Run: ...

    def load(self, conn: Connection, run_ids: Sequence[str]) -> list[Run]: ...

    def update(self, conn: Connection, run_id: str, **values: object) -> None: ...

    def require_active(self, conn: Connection, run_id: str) -> RunInfo: ...


class RunLog(Protocol):
    """Metrics, params and tags of a run (``log_batch`` is the one write primitive)."""

    def log_batch(
        self,
        conn: Connection,
        info: RunInfo,
        points: Sequence[Metric],
        new_params: dict[str, str],
        new_tags: dict[str, str],
    ) -> None: ...

    def metric_history(self, conn: Connection, run_id: str, key: str) -> list[Metric]: ...

    def delete_tag(self, conn: Connection, run_id: str, key: str) -> None: ...


class ArtifactIndex(Protocol):
    """Which stored objects are a run's artifacts, by path."""

    def add_artifacts(
        self, conn: Connection, run_id: str, files: Sequence[tuple[str, str, int]], now: int
    ) -> None: ...

    def artifact(self, conn: Connection, run_id: str, path: str) -> FileInfo: ...

    def list_artifacts(self, conn: Connection, run_id: str, prefix: str) -> list[FileInfo]: ...

    def all_artifacts(self, conn: Connection, run_id: str, prefix: str) -> list[FileInfo]: ...


@dataclass(frozen=True)
class RunQuery:
    """A run search: the filter language's AST and ordering, one page of it."""

    experiment_ids: Sequence[int]
    stages: Sequence[str]
    where: Expr | None
    order_by: Sequence[OrderKey]
    limit: int
    offset: int


class RunSearch(Protocol):
    def search_ids(self, conn: Connection, query: RunQuery) -> list[str]:
        """Ids of the runs matching ``query``, in its order, filtered by the backend."""
        ...

    def activity(
        self, conn: Connection, experiment_ids: Sequence[int], stages: Sequence[str]
    ) -> dict[int, tuple[int, int]]:
        """Per experiment with runs: (run count, last start or end time in ms)."""
        ...


class RunStore(RunRecords, RunLog, ArtifactIndex, RunSearch, Protocol):
    """Everything tracking needs about runs."""


# ---------------------------------------------------------------- data catalog
class DatasetRecords(Protocol):
    def dataset_row(self, conn: Connection, name: str) -> Any: ...

    def ensure_dataset(
        self, conn: Connection, name: str, *, description: str, owner: str, user: str, now: int
    ) -> Any: ...

    def update_dataset(
        self, conn: Connection, dataset_id: int, now: int, **values: Any
    ) -> None: ...

    def set_tags(self, conn: Connection, dataset_id: int, tags: dict[str, str]) -> None: ...

    def get_dataset(self, conn: Connection, name: str) -> Dataset: ...

    def search(
        self,
        conn: Connection,
        text: str | None,
        limit: int,
        offset: int,
        after: str | None = None,
    ) -> list[Dataset]: ...

    def count(self, conn: Connection, text: str | None) -> int: ...


class DatasetVersions(Protocol):
    def latest_if_same(self, conn: Connection, dataset_id: int, content_id: str) -> int | None: ...

    def add_version(self, conn: Connection, dataset_id: int, new: NewVersion) -> int: ...

    def version_row(self, conn: Connection, ref: DatasetRef) -> Any: ...

    def get_version(self, conn: Connection, ref: DatasetRef) -> DatasetVersion: ...

    def list_versions(self, conn: Connection, name: str) -> list[DatasetVersion]: ...

    def set_alias(
        self, conn: Connection, ref: DatasetRef, alias: str, user: str, now: int
    ) -> None: ...


class DatasetEvidence(Protocol):
    """What is recorded about a version: validation results and the runs that read it."""

    def add_validation(
        self, conn: Connection, version_id: int, record: ValidationRecord
    ) -> None: ...

    def add_run_input(
        self, conn: Connection, run_id: str, ref: DatasetRef, context: str, now: int
    ) -> DatasetVersion: ...


class DatasetStore(DatasetRecords, DatasetVersions, DatasetEvidence, Protocol):
    """Everything the catalog needs about datasets."""


# ---------------------------------------------------------------- model registry
class ModelRecords(Protocol):
    def ensure_model(
        self, conn: Connection, name: str, description: str, user: str, now: int, *, lock: bool
    ) -> int: ...

    def model_id(self, conn: Connection, name: str) -> int: ...

    def get_model(self, conn: Connection, name: str) -> RegisteredModel: ...

    def list_models(
        self,
        conn: Connection,
        *,
        search: str | None = None,
        names: list[str] | None = None,
        limit: int = 100,
        offset: int = 0,
        after: str | None = None,
    ) -> list[RegisteredModel]: ...

    def count_models(self, conn: Connection, *, search: str | None = None) -> int: ...

    def touch(self, conn: Connection, model_id: int, now: int, **values: Any) -> None: ...

    def set_tags(self, conn: Connection, model_id: int, tags: Mapping[str, str]) -> None: ...


class ModelEdits(Protocol):
    """Registered models as a whole: create, rename, delete (MLflow's registry calls)."""

    def create_model(
        self, conn: Connection, name: str, description: str, user: str, now: int
    ) -> int: ...

    def rename_model(self, conn: Connection, model_id: int, new_name: str, now: int) -> None: ...

    def delete_model(self, conn: Connection, model_id: int) -> None: ...

    def count_versions(self, conn: Connection, model_id: int) -> int: ...

    def delete_tag(self, conn: Connection, model_id: int, key: str) -> bool: ...

    def delete_alias(self, conn: Connection, model_id: int, alias: str) -> int | None: ...


class ModelVersions(Protocol):
    def all_versions(
        self, conn: Connection, names: Sequence[str] | None = None
    ) -> list[ModelVersion]: ...

    def add_version(self, conn: Connection, model_id: int, values: Mapping[str, Any]) -> int: ...

    def get_version(
        self, conn: Connection, ref: ModelRef, *, lock: bool = False
    ) -> ModelVersion: ...

    def versions(
        self,
        conn: Connection,
        name: str,
        *,
        below: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[ModelVersion]: ...

    def versions_of_runs(self, conn: Connection, run_ids: Sequence[str]) -> list[ModelVersion]:
        """The versions registered from one of ``run_ids``, by name and number."""
        ...

    def set_status(
        self, conn: Connection, ref: ModelRef, status: VersionStatus, reason: str, now: int
    ) -> list[str]: ...

    def set_alias(
        self, conn: Connection, ref: ModelRef, alias: str, user: str, now: int
    ) -> int | None: ...


class GateResults(Protocol):
    def add_gate_result(
        self,
        conn: Connection,
        ref: ModelRef,
        *,
        passed: bool,
        holdout: str,
        report: Mapping[str, Any],
        user: str,
        now: int,
    ) -> None: ...

    def gate_results(self, conn: Connection, ref: ModelRef) -> list[dict[str, Any]]: ...


class ModelStore(ModelRecords, ModelEdits, ModelVersions, GateResults, Protocol):
    """Everything the registry needs about models."""


# ---------------------------------------------------------------- deployments
class DeploymentStore(Protocol):
    """Deployment state per (environment, model) and its event history."""

    def get(
        self, conn: Connection, env: str, model: str, *, lock: bool = False
    ) -> Deployment | None: ...

    def list(
        self,
        conn: Connection,
        env: str | None = None,
        *,
        text: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        models: Sequence[str] | None = None,
    ) -> builtins.list[Deployment]: ...

    def count(
        self,
        conn: Connection,
        env: str | None = None,
        *,
        text: str | None = None,
        models: Sequence[str] | None = None,
    ) -> int: ...

    def environments(self, conn: Connection) -> builtins.list[str]: ...

    def environment_page(
        self, conn: Connection, *, text: str | None, after: str | None, limit: int
    ) -> builtins.list[EnvironmentSummary]: ...

    def count_environments(self, conn: Connection, *, text: str | None) -> int: ...

    def first_per_environment(
        self, conn: Connection, envs: Sequence[str], per_env: int
    ) -> builtins.list[Deployment]: ...

    def record(self, conn: Connection, state: Deployment, event: DeploymentEvent) -> Deployment: ...

    def events(
        self, conn: Connection, env: str | None, model: str | None, limit: int
    ) -> builtins.list[DeploymentEvent]: ...

    def last_live_change_to(
        self, conn: Connection, env: str, model: str, version: int, before: int
    ) -> DeploymentEvent | None: ...

    def live_since(self, conn: Connection, env: str, model: str) -> int | None: ...

    def generation(self, conn: Connection, env: str) -> int: ...


class DeploymentStats(Protocol):
    """Serving figures per time window, written by replicas and read by dashboards."""

    def add_stats(
        self, conn: Connection, env: str, replica: str, window_end: int, rows: Sequence[StatsRow]
    ) -> None: ...

    def stats(
        self, conn: Connection, env: str, model: str | None, since: int
    ) -> builtins.list[dict[str, Any]]: ...

    def stats_of(
        self, conn: Connection, envs: Sequence[str], models: Sequence[str], since: int
    ) -> builtins.list[dict[str, Any]]: ...


# ---------------------------------------------------------------- object store
class BlobReader(Protocol):
    """Reads by digest; every read is verified against the digest."""

    def exists(self, digest: str) -> bool: ...

    def open(self, digest: str) -> BinaryIO: ...

    def get_bytes(self, digest: str) -> bytes: ...

    def copy_to(self, digest: str, dest_path: str | os.PathLike[str]) -> None: ...


class BlobWriter(Protocol):
    """Writes return the content's digest (``<algorithm>:<hex>``)."""

    @property
    def algorithm(self) -> str: ...

    def put_bytes(self, data: bytes | bytearray | memoryview) -> str: ...

    def put_file(self, path: str | os.PathLike[str]) -> str: ...


class BlobStore(BlobReader, BlobWriter, Protocol):
    """The content store's read/write/exists surface, and where it lives."""

    @property
    def url(self) -> str: ...


# ---------------------------------------------------------------- monitoring
class MonitorStore(Protocol):
    """Computed windows (each once), alerts (compare-and-set status), their deliveries."""

    def computed_windows(
        self, conn: Connection, model: str, env: str, since: int
    ) -> set[tuple[int, int]]: ...

    def add_window(self, conn: Connection, w: NewWindow) -> int | None: ...

    def windows(
        self, conn: Connection, model: str | None, env: str | None, before: int | None, limit: int
    ) -> builtins.list[MonitorWindow]: ...

    def windows_from(
        self, conn: Connection, model: str, env: str, start: int, limit: int
    ) -> builtins.list[MonitorWindow]: ...

    def count_windows(self, conn: Connection, model: str | None, env: str | None) -> int: ...

    def get_alert(self, conn: Connection, alert_id: int, *, lock: bool = False) -> Alert | None: ...

    def latest_alert(self, conn: Connection, model: str, env: str, rule: str) -> Alert | None: ...

    def add_alert(self, conn: Connection, values: Mapping[str, Any]) -> int: ...

    def update_alert(
        self, conn: Connection, alert_id: int, expected: AlertStatus, values: Mapping[str, Any]
    ) -> bool: ...

    def alerts(
        self, conn: Connection, where: AlertFilter, before: int | None, limit: int
    ) -> builtins.list[Alert]: ...

    def count_alerts(self, conn: Connection, where: AlertFilter) -> int: ...

    def add_delivery(
        self, conn: Connection, alert_id: int | None, sink: str, target: str, event: str,
        body: str, now: int, *, model: str | None = None,
    ) -> int: ...  # fmt: skip

    def due_deliveries(
        self, conn: Connection, now: int, limit: int
    ) -> builtins.list[tuple[AlertDelivery, str]]: ...

    def claim_delivery(
        self, conn: Connection, seen: AlertDelivery, now: int, hold_ms: int
    ) -> bool: ...

    def finish_delivery(
        self, conn: Connection, delivery_id: int, values: Mapping[str, Any]
    ) -> None: ...

    def deliveries(
        self, conn: Connection, alert_ids: builtins.list[int]
    ) -> builtins.list[AlertDelivery]: ...


class FeedbackStore(Protocol):
    """Ground-truth labels keyed by (model, prediction id, row); a repeated key updates."""

    def existing(
        self, conn: Connection, model: str, keys: Sequence[tuple[str, int]]
    ) -> builtins.set[tuple[str, int]]: ...

    def upsert(
        self, conn: Connection, labels: Sequence[FeedbackLabel], recorded: int, user: str
    ) -> None: ...

    def labels(
        self, conn: Connection, model: str, start_ms: int | None, end_ms: int | None
    ) -> builtins.list[FeedbackLabel]: ...

    def changes(self, conn: Connection, model: str) -> tuple[int, int]:
        """(labels stored, latest recording time): changes whenever labels are added or
        updated, so a reader can tell its realized metrics are still current."""
        ...


# ---------------------------------------------------------------- retraining
class RetrainingStore(Protocol):
    """Retraining runs: one active per model (database-enforced), leases, history."""

    def add(self, conn: Connection, values: Mapping[str, Any]) -> int: ...

    def get(self, conn: Connection, run_id: int, *, lock: bool = False) -> RetrainRun | None: ...

    def active(self, conn: Connection, model: str, *, lock: bool = False) -> RetrainRun | None: ...

    def actives(self, conn: Connection) -> list[RetrainRun]: ...

    def last_started(self, conn: Connection, model: str) -> RetrainRun | None: ...

    def pending_outcomes(self, conn: Connection, model: str) -> list[RetrainRun]: ...

    def update(
        self, conn: Connection, run_id: int, expected: RetrainState, values: Mapping[str, Any]
    ) -> bool: ...

    def claim(
        self, conn: Connection, run_id: int, holder: str, now: int, lease_until: int
    ) -> bool: ...

    def renew(self, conn: Connection, run_id: int, holder: str, lease_until: int) -> bool: ...

    def coalesce(self, conn: Connection, run_id: int, now: int) -> None: ...

    def runs(
        self, conn: Connection, model: str | None, before: int | None, limit: int
    ) -> list[RetrainRun]: ...

    def count(self, conn: Connection, model: str | None) -> int: ...


class IntegrityQueries(Protocol):
    """What ``shipyard doctor`` asks the metadata database."""

    def references(self, conn: Connection) -> Iterator[tuple[str, str]]:
        """``(digest, where)`` for every column naming an object that readers open."""
        ...

    def mentions(self, conn: Connection) -> builtins.set[str]:
        """Every digest the database names (but its history): what GC must keep."""
        ...

    def integrity_problems(self, conn: Connection) -> tuple[str, builtins.list[str]]:
        """(what was checked, the problems found)."""
        ...


# ---------------------------------------------------------------- retention and backup
@dataclass
class Expired:
    """Rows past retention, and the old-enough ones kept (with the reason)."""

    runs: builtins.list[str] = field(default_factory=builtins.list)
    experiments: builtins.list[int] = field(default_factory=builtins.list)
    versions: builtins.list[tuple[int, str]] = field(default_factory=builtins.list)  # id, ref
    skipped: builtins.list[str] = field(default_factory=builtins.list)


class RetentionQueries(Protocol):
    """What garbage collection asks and removes (times come from the audit ledger)."""

    def expired_runs(self, conn: Connection, cutoff_ms: int, out: Expired) -> None: ...

    def expired_experiments(self, conn: Connection, cutoff_ms: int, out: Expired) -> None: ...

    def expired_versions(self, conn: Connection, cutoff_ms: int, out: Expired) -> None: ...

    def artifact_bytes(self, conn: Connection, run_ids: Sequence[str]) -> int: ...

    def delete(self, conn: Connection, expired: Expired) -> builtins.dict[str, int]: ...


@dataclass(frozen=True)
class DbSnapshot:
    """One consistent copy of the metadata database and what it references."""

    kind: str  # "sqlite" | "postgresql"
    file: str  # its file name in the backup folder
    tool: str  # what made it: the SQLite online backup API, or pg_dump and its version
    revision: str | None  # the schema revision it holds
    counts: Mapping[str, int]  # rows per table
    mentions: frozenset[str]  # every digest it names outside the history tables
    references: tuple[tuple[str, str], ...]  # (digest, where) a reader opens
    audit_head: tuple[int, str] | None  # the ledger's last (seq, hash)


class DatabaseSnapshots(Protocol):
    """Consistent copies of the metadata database taken while it is in use, and restores."""

    @property
    def kind(self) -> str: ...

    def snapshot(self, folder: os.PathLike[str] | str) -> DbSnapshot:
        """Copy the database into ``folder``; what it references is read from the same
        snapshot, so objects written later are neither needed nor missed."""
        ...

    def occupied(self) -> builtins.dict[str, int]:
        """Tables that hold a project's data, with their row count (empty: a new project)."""
        ...

    def restore(self, path: os.PathLike[str] | str, kind: str) -> DbSnapshot:
        """Replace this (empty) database with the copy at ``path``; then its contents."""
        ...
