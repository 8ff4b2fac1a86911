"""Experiment tracking: experiments, runs, params, metrics, tags and artifacts."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from shipyard.core.clock import now_ms
from shipyard.core.entities import Experiment, FileInfo, Metric, Run, RunInfo, RunPage
from shipyard.core.errors import AlreadyExistsError, NotFoundError, ValidationError
from shipyard.core.query import parse_filter, parse_order_by
from shipyard.core.states import LifecycleStage, RunStatus, check_run_transition
from shipyard.core.validation import (
    INT64_MAX,
    MAX_BATCH_METRICS,
    MAX_BATCH_PARAMS_TAGS,
    check_int,
    check_key,
    check_param_value,
    check_run_id,
    check_tag_value,
    normalize_artifact_path,
)
from shipyard.stores.ports import (
    AuditLog,
    BlobStore,
    ExperimentStore,
    NewEntry,
    RunQuery,
    RunStore,
    Transactions,
)

__all__ = [
    "DEFAULT_EXPERIMENT",
    "TrackingService",
    "artifact_sources",
    "run_created",
    "run_status_changed",
]

DEFAULT_EXPERIMENT = "Default"
MAX_SEARCH_RESULTS = 50_000
_VIEWS = {
    "ACTIVE_ONLY": (LifecycleStage.ACTIVE.value,),
    "DELETED_ONLY": (LifecycleStage.DELETED.value,),
    "ALL": (LifecycleStage.ACTIVE.value, LifecycleStage.DELETED.value),
}


def _decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        if not isinstance(token, str):  # a JSON body may carry a number or a list
            raise TypeError
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= INT64_MAX:
            raise ValueError
        return offset
    except (ValueError, KeyError, TypeError):
        raise ValidationError(f"page_token {token!r} is not valid", field="page_token") from None


def _encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def artifact_sources(
    local_path: str | os.PathLike[str], artifact_path: str | None
) -> list[tuple[Path, str]]:
    """(local file, artifact path) pairs for a file or a folder (recursively), paths checked."""
    source = Path(local_path)
    base = normalize_artifact_path(artifact_path, "artifact_path")
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.is_file())
        pairs = [(p, p.relative_to(source).as_posix()) for p in files]
    elif source.is_file():
        pairs = [(source, source.name)]
    else:
        raise ValidationError(f"{local_path} is neither a file nor a folder", field="local_path")
    return [(p, normalize_artifact_path(f"{base}/{rel}" if base else rel)) for p, rel in pairs]


def run_created(info: RunInfo) -> NewEntry:
    payload = {
        "experiment_id": info.experiment_id,
        "name": info.run_name,
        "status": info.status.value,
        "parent_run_id": info.parent_run_id,
    }
    return NewEntry(info.user, "run.create", "run", info.run_id, payload=payload)


def run_status_changed(info: RunInfo, new: RunStatus, actor: str | None = None) -> NewEntry:
    payload = {"from": info.status.value, "to": new.value}
    return NewEntry(actor or info.user, "run.status", "run", info.run_id, payload=payload)


class TrackingService:
    """One unit of work per call over the metadata database and the object store.

    Implements ``Tracker``. The stores come from the composition root; left out, the SQL
    ones are used (they are stateless and work on any ``Database``).
    """

    def __init__(
        self,
        db: Transactions,
        blobs: BlobStore,
        *,
        clock: Callable[[], int] = now_ms,
        experiments: ExperimentStore | None = None,
        runs: RunStore | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.clock = clock
        if experiments is None or runs is None or audit is None:  # a caller outside the root
            from shipyard.stores.sql.audit_repo import AuditRepo
            from shipyard.stores.sql.experiments_repo import ExperimentRepo
            from shipyard.stores.sql.runs_repo import RunRepo

            experiments = experiments or ExperimentRepo()
            runs = runs or RunRepo()
            audit = audit or AuditRepo()
        self.experiments = experiments
        self.runs = runs
        self.audit = audit

    # ------------------------------------------------------------ experiments
    def create_experiment(
        self, name: str, tags: Mapping[str, str] | None = None, artifact_location: str = ""
    ) -> str:
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("experiment name must be a non-empty string", field="name")
        clean = {check_key(k, "tag key"): check_tag_value(k, v) for k, v in (tags or {}).items()}
        with self.db.write() as conn:
            return self.experiments.create(
                conn, name, artifact_location or self.blobs.url, clean, self.clock()
            )

    def get_experiment(self, experiment_id: str) -> Experiment:
        with self.db.read() as conn:
            return self.experiments.get(conn, experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment:
        with self.db.read() as conn:
            found = self.experiments.get_by_name(conn, name)
        if found is None:
            raise NotFoundError(f"no experiment named {name!r}", field="experiment_name")
        return found

    def experiments_by_name(self, name: str) -> list[Experiment]:
        """Zero or one experiment with exactly this name."""
        with self.db.read() as conn:
            found = self.experiments.get_by_name(conn, name)
        return [found] if found else []

    def get_or_create_experiment(self, name: str) -> Experiment:
        with self.db.read() as conn:
            found = self.experiments.get_by_name(conn, name)
        if found is not None:
            return found
        try:
            return self.get_experiment(self.create_experiment(name))
        except AlreadyExistsError:  # another process created it between our read and write
            return self.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: str = "ACTIVE_ONLY",
        name_like: str | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> tuple[list[Experiment], str | None]:
        stages = self._stages(view_type)
        max_results = check_int(max_results, "max_results", low=1, high=MAX_SEARCH_RESULTS)
        offset = _decode_page_token(page_token)
        with self.db.read() as conn:
            found = self.experiments.search(
                conn, stages=stages, name_like=name_like, max_results=max_results + 1, offset=offset
            )
        more = len(found) > max_results
        return found[:max_results], _encode_page_token(offset + max_results) if more else None

    def experiment_activity(
        self, experiment_ids: Sequence[str], view_type: str = "ACTIVE_ONLY"
    ) -> dict[str, tuple[int, int]]:
        """Per experiment id with runs: (run count, last start or end time in ms)."""
        ids = [check_int(str(e), "experiment_ids") for e in experiment_ids]
        with self.db.read() as conn:
            found = self.runs.activity(conn, ids, self._stages(view_type))
        return {str(e): v for e, v in found.items()}

    def set_experiment_lifecycle(
        self, experiment_id: str, stage: LifecycleStage, actor: str = "unknown"
    ) -> None:
        with self.db.write() as conn:
            now = self.clock()
            self.experiments.update(conn, experiment_id, now, lifecycle_stage=stage.value)
            action = (
                "experiment.delete" if stage == LifecycleStage.DELETED else "experiment.restore"
            )
            self.audit.append(conn, [NewEntry(actor, action, "experiment", experiment_id)], now)

    def rename_experiment(self, experiment_id: str, new_name: str, actor: str = "unknown") -> None:
        if not isinstance(new_name, str) or not new_name.strip():
            raise ValidationError("new_name must be a non-empty string", field="new_name")
        with self.db.write() as conn:
            now = self.clock()
            self.experiments.update(conn, experiment_id, now, name=new_name)
            entry = NewEntry(
                actor, "experiment.rename", "experiment", experiment_id, payload={"name": new_name}
            )
            self.audit.append(conn, [entry], now)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        key = check_key(key, "tag key")
        with self.db.write() as conn:
            self.experiments.set_tag(conn, experiment_id, key, check_tag_value(key, value))

    @staticmethod
    def _stages(view_type: str) -> tuple[str, ...]:
        try:
            return _VIEWS[str(view_type).upper()]
        except KeyError:
            raise ValidationError(
                f"view_type must be one of {', '.join(_VIEWS)}; got {view_type!r}",
                field="view_type",
            ) from None

    # ------------------------------------------------------------ runs
    def create_run(
        self,
        experiment_id: str,
        *,
        run_name: str | None = None,
        user: str = "unknown",
        start_time: int | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
    ) -> Run:
        clean_tags = {
            check_key(k, "tag key"): check_tag_value(k, v) for k, v in (tags or {}).items()
        }
        if start_time is not None:
            start_time = check_int(start_time, "start_time", low=0)
        run_id = uuid.uuid4().hex
        name = run_name or clean_tags.get("mlflow.runName") or f"run-{run_id[:8]}"
        clean_tags.setdefault("mlflow.runName", name)
        with self.db.write() as conn:
            experiment = self.experiments.get(conn, experiment_id)
            if experiment.lifecycle_stage != LifecycleStage.ACTIVE.value:
                raise ValidationError(
                    f"experiment {experiment_id} is deleted; restore it first",
                    field="experiment_id",
                )
            if parent_run_id is not None:
                self.runs.get_info(conn, check_run_id(parent_run_id))
                clean_tags.setdefault("mlflow.parentRunId", parent_run_id)
            info = RunInfo(
                run_id=run_id,
                experiment_id=experiment.experiment_id,
                run_name=name,
                user=user,
                status=RunStatus.RUNNING,
                start_time=start_time or self.clock(),
                end_time=None,
                lifecycle_stage=LifecycleStage.ACTIVE.value,
                parent_run_id=parent_run_id,
            )
            self.runs.create(conn, info, clean_tags)
            self.audit.append(conn, [run_created(info)], self.clock())  # not the client's time
        return Run(info=info, tags=clean_tags)

    def link_artifacts(self, run_id: str, files: Sequence[tuple[str, str, int]]) -> None:
        """Record objects already in the store as artifacts (path, digest, size) of a run."""
        clean = [(normalize_artifact_path(p, "artifact_path"), d, s) for p, d, s in files]
        with self.db.write() as conn:
            self.runs.require_active(conn, check_run_id(run_id))
            self.runs.add_artifacts(conn, run_id, clean, self.clock())

    def run_chain(self, run_id: str | None, limit: int = 10) -> list[Run]:
        """The run, then its parent, its parent's parent… (a step → its pipeline run)."""
        chain: list[Run] = []
        seen: set[str] = set()
        while run_id and run_id not in seen and len(chain) < limit:
            seen.add(run_id)
            chain.append(self.get_run(run_id))
            run_id = chain[-1].info.parent_run_id
        return chain

    def child_runs(self, run_ids: Sequence[str]) -> list[RunInfo]:
        """The runs whose parent is one of ``run_ids`` (a pipeline run's steps), one query."""
        ids = [check_run_id(r) for r in run_ids]
        with self.db.read() as conn:
            return self.runs.child_infos(conn, ids)

    def get_run(self, run_id: str) -> Run:
        with self.db.read() as conn:
            return self.runs.get(conn, check_run_id(run_id))

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        """The runs among ``run_ids`` that exist, in one read (a page of versions' runs)."""
        with self.db.read() as conn:
            return self.runs.load(conn, [check_run_id(r) for r in dict.fromkeys(run_ids)])

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
        error: str | None = None,
        metrics: Sequence[Metric] = (),
        load: bool = True,
        actor: str | None = None,
    ) -> Run | None:
        """Change status/name/end time; ``metrics`` are appended in the same transaction."""
        check_run_id(run_id)
        if end_time is not None:
            end_time = check_int(end_time, "end_time", low=0)
        with self.db.write() as conn:
            info = self.runs.get_info(conn, run_id)
            if metrics:
                self.runs.log_batch(conn, info, metrics, {}, {})
            values: dict[str, object] = {}
            if status is not None:
                new = RunStatus.parse(status)
                check_run_transition(info.status, new)
                values["status"] = new.value
                if new != info.status:
                    entry = run_status_changed(info, new, actor)
                    self.audit.append(conn, [entry], self.clock())
                if new.is_terminal:
                    values["end_time"] = end_time or self.clock()
                elif new == RunStatus.RUNNING:
                    values["end_time"] = None
            elif end_time is not None:
                values["end_time"] = end_time
            if run_name:
                values["name"] = run_name
                self.runs.log_batch(conn, info, [], {}, {"mlflow.runName": run_name})
            if error is not None:
                values["error"] = error[:65_536]
            if values:
                self.runs.update(conn, run_id, **values)
            return self.runs.get(conn, run_id) if load else None

    def set_run_lifecycle(
        self, run_id: str, stage: LifecycleStage, actor: str | None = None
    ) -> None:
        with self.db.write() as conn:
            info = self.runs.get_info(conn, check_run_id(run_id))
            self.runs.update(conn, run_id, lifecycle_stage=stage.value)
            action = "run.delete" if stage == LifecycleStage.DELETED else "run.restore"
            entry = NewEntry(actor or info.user, action, "run", run_id)
            self.audit.append(conn, [entry], self.clock())

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, object] | None = None,
    ) -> None:
        """The one write primitive of logging: ``log_metric`` is a one-item batch."""
        check_run_id(run_id)
        if len(metrics) > MAX_BATCH_METRICS:
            raise ValidationError(
                f"a batch holds at most {MAX_BATCH_METRICS} metrics, got {len(metrics)}",
                field="metrics",
            )
        params = params or {}
        tags = tags or {}
        if len(params) + len(tags) > MAX_BATCH_PARAMS_TAGS:
            raise ValidationError(
                f"a batch holds at most {MAX_BATCH_PARAMS_TAGS} params and tags", field="params"
            )
        clean_params = {
            check_key(k, "param key"): check_param_value(k, v) for k, v in params.items()
        }
        clean_tags = {check_key(k, "tag key"): check_tag_value(k, v) for k, v in tags.items()}
        with self.db.write() as conn:
            info = self.runs.require_active(conn, run_id)
            self.runs.log_batch(conn, info, metrics, clean_params, clean_tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        with self.db.write() as conn:
            self.runs.require_active(conn, check_run_id(run_id))
            self.runs.delete_tag(conn, run_id, key)

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        with self.db.read() as conn:
            return self.runs.metric_history(
                conn, check_run_id(run_id), check_key(key, "metric key")
            )

    def search_runs(
        self,
        experiment_ids: Iterable[str] = (),
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        view_type: str = "ACTIVE_ONLY",
    ) -> RunPage:
        """Runs matching the filter language, filtered and ordered by the database."""
        max_results = check_int(max_results, "max_results", low=1, high=MAX_SEARCH_RESULTS)
        if isinstance(experiment_ids, str | int):  # one id sent bare, not in a list
            experiment_ids = [str(experiment_ids)]
        ids = [check_int(str(e), "experiment_ids") for e in experiment_ids]
        offset = _decode_page_token(page_token)
        query = RunQuery(
            experiment_ids=ids,
            stages=self._stages(view_type),
            where=parse_filter(filter_string),
            order_by=parse_order_by(order_by),
            limit=max_results + 1,
            offset=offset,
        )
        with self.db.read() as conn:
            run_ids = self.runs.search_ids(conn, query)
            found = self.runs.load(conn, run_ids[:max_results])
        more = len(run_ids) > max_results
        return RunPage(found, _encode_page_token(offset + max_results) if more else None)

    # ------------------------------------------------------------ artifacts
    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[FileInfo]:
        """Store a file or a folder (recursively) under ``artifact_path`` of the run."""
        check_run_id(run_id)
        pairs = artifact_sources(local_path, artifact_path)
        stored = [(dest, self.blobs.put_file(path), path.stat().st_size) for path, dest in pairs]
        with self.db.write() as conn:
            self.runs.require_active(conn, run_id)
            self.runs.add_artifacts(conn, run_id, stored, self.clock())
        return [FileInfo(path=p, is_dir=False, size=s, digest=d) for p, d, s in stored]

    def log_artifact_bytes(self, run_id: str, data: bytes, artifact_path: str) -> FileInfo:
        path = normalize_artifact_path(artifact_path, "artifact_path")
        if not path:
            raise ValidationError("artifact_path must name a file", field="artifact_path")
        digest = self.blobs.put_bytes(data)
        with self.db.write() as conn:
            self.runs.require_active(conn, check_run_id(run_id))
            self.runs.add_artifacts(conn, run_id, [(path, digest, len(data))], self.clock())
        return FileInfo(path=path, is_dir=False, size=len(data), digest=digest)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        prefix = normalize_artifact_path(path)
        with self.db.read() as conn:
            self.runs.get_info(conn, check_run_id(run_id))
            return self.runs.list_artifacts(conn, run_id, prefix)

    def all_artifacts(self, run_id: str) -> list[FileInfo]:
        """Every artifact file of a run, recursively, sorted by path."""
        with self.db.read() as conn:
            self.runs.get_info(conn, check_run_id(run_id))
            return self.runs.all_artifacts(conn, run_id, "")

    def open_artifact(self, run_id: str, path: str) -> tuple[FileInfo, BinaryIO]:
        """A verifying stream of one artifact file (raises at EOF if its bytes were altered)."""
        clean = normalize_artifact_path(path)
        with self.db.read() as conn:
            info = self.runs.artifact(conn, check_run_id(run_id), clean)
        assert info.digest is not None
        return info, self.blobs.open(info.digest)

    def download_artifacts(
        self, run_id: str, path: str | None, dest: str | os.PathLike[str]
    ) -> Path:
        """Copy a file or folder of artifacts to ``dest``, each file verified before it lands."""
        prefix = normalize_artifact_path(path)
        with self.db.read() as conn:
            files = self.runs.all_artifacts(conn, check_run_id(run_id), prefix)
        if not files:
            raise NotFoundError(f"run {run_id} has no artifact {prefix!r}", field="path")
        root = Path(dest)
        for f in files:
            if not prefix:
                rel = f.path
            elif f.path == prefix:  # a single file was asked for
                rel = Path(f.path).name
            else:
                rel = f.path[len(prefix) + 1 :]
            assert f.digest is not None
            self.blobs.copy_to(f.digest, root / rel)
        return root
