"""The fluent tracking API: ``with sy.start_run(...)``, ``sy.log_metric`` and friends."""

from __future__ import annotations

import atexit
import json
import threading
import traceback
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from shipyard.core.clock import now_ms
from shipyard.core.entities import Metric, Run
from shipyard.core.errors import ValidationError
from shipyard.core.pipelines.context import current_step
from shipyard.core.states import RunStatus
from shipyard.core.validation import check_metric
from shipyard.interfaces.sdk.batcher import MetricBatcher
from shipyard.interfaces.sdk.exit_hooks import ExitHooks, exit_status
from shipyard.services.tracking import DEFAULT_EXPERIMENT

if TYPE_CHECKING:
    from shipyard.interfaces.sdk.data import DataAPI
    from shipyard.interfaces.sdk.models import ModelsAPI
    from shipyard.interfaces.sdk.monitor import MonitorAPI
    from shipyard.interfaces.sdk.ports import SdkServices

__all__ = ["ActiveRun", "Session"]


class ActiveRun:
    """The run being logged to; a context manager that ends the run on exit."""

    def __init__(self, session: Session, run: Run) -> None:
        self._session = session
        self.run_id = run.run_id
        self.info = run.info

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or (isinstance(exc, SystemExit) and not exit_status(exc.code)):
            self._session.end_run(RunStatus.FINISHED)  # sys.exit(0) inside the block too
        else:
            error = "".join(traceback.format_exception(exc_type, exc, tb))
            status = RunStatus.KILLED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
            self._session.end_run(status, error=error)

    @property
    def data(self) -> Run:
        return self._session.get_run(self.run_id)


class Session:
    """SDK state of one process: the services, the metric batcher and the active-run stack."""

    def __init__(self, services: SdkServices | None = None) -> None:
        self._services = services
        self._lock = threading.RLock()
        self._stack: list[ActiveRun] = []
        self._batcher: MetricBatcher | None = None
        self._data: DataAPI | None = None
        self._models: ModelsAPI | None = None
        self._monitor: MonitorAPI | None = None
        self._experiment_ids: dict[str, str] = {}  # name → id; experiments are never renamed here
        self._exit_hooks = ExitHooks()
        atexit.register(self.close)

    @property
    def services(self) -> SdkServices:
        """The local object graph, or the HTTP client when the settings name a server."""
        with self._lock:
            if self._services is None:
                self._services = _connect()
            return self._services

    @property
    def batcher(self) -> MetricBatcher:
        with self._lock:
            if self._batcher is None:
                tracking = self.services.tracking
                self._batcher = MetricBatcher(lambda rid, pts: tracking.log_batch(rid, pts))
            return self._batcher

    # ---------------------------------------------------------------- runs
    def start_run(
        self,
        experiment: str | None = None,
        run_name: str | None = None,
        *,
        nested: bool = False,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, object] | None = None,
        inputs: Sequence[str] = (),
        log_environment: bool = True,
    ) -> ActiveRun:
        """Start a run (a child of the active run when ``nested=True``).

        ``inputs`` names the dataset versions the run reads (``["loans@v2"]``): lineage.
        """
        tracking = self.services.tracking
        parent = self._stack[-1] if self._stack else None
        if parent is not None and not nested:
            raise ValidationError(
                f"run {parent.run_id} is already active; end it or pass nested=True",
                field="nested",
            )
        name = experiment or DEFAULT_EXPERIMENT
        experiment_id = self._experiment_ids.get(name)
        if experiment_id is None:
            experiment_id = tracking.get_or_create_experiment(name).experiment_id
            self._experiment_ids[name] = experiment_id
        all_tags = dict(tags or {})
        if log_environment:
            from shipyard.services.provenance import code_version, environment_tags

            all_tags = {
                **environment_tags(),
                **code_version(self.services.settings.project_dir),
                **all_tags,
            }
        run = tracking.create_run(
            experiment_id,
            run_name=run_name,
            user=self.services.settings.actor,
            tags=all_tags,
            parent_run_id=parent.run_id if parent else None,
        )
        active = ActiveRun(self, run)
        self._stack.append(active)
        self._exit_hooks.install()  # a run left open at exit ends with the exit's status
        if log_environment:
            from shipyard.services.provenance import environment_lock

            tracking.log_artifact_bytes(
                run.run_id, environment_lock(), "environment/requirements.txt"
            )
        if params:
            self.log_params(params)
        for ref in inputs:
            self.data.log_input(ref)
        return active

    @property
    def data(self) -> DataAPI:
        """The data catalog (``sy.data``)."""
        with self._lock:
            if self._data is None:
                from shipyard.interfaces.sdk.data import DataAPI

                self._data = DataAPI(self)
            return self._data

    @property
    def monitor(self) -> MonitorAPI:
        """Drift, performance estimation and monitoring reports (``sy.monitor``)."""
        with self._lock:
            if self._monitor is None:
                from shipyard.interfaces.sdk.monitor import MonitorAPI

                self._monitor = MonitorAPI(self)
            return self._monitor

    @property
    def models(self) -> ModelsAPI:
        """The model registry (``sy.models``)."""
        with self._lock:
            if self._models is None:
                from shipyard.interfaces.sdk.models import ModelsAPI

                self._models = ModelsAPI(self)
            return self._models

    def log_input(self, ref: str, context: str = "input") -> None:
        """Record that the active run read the dataset version ``ref``."""
        self.data.log_input(ref, context)

    def active_run(self) -> ActiveRun | None:
        return self._stack[-1] if self._stack else None

    def _run_id(self) -> str:
        if not self._stack:
            raise ValidationError(
                "no active run: call sy.start_run() first (e.g. `with sy.start_run():`)",
                field="run",
            )
        return self._stack[-1].run_id

    def end_run(
        self, status: RunStatus | str = RunStatus.FINISHED, error: str | None = None
    ) -> None:
        """Flush the active run's metrics and mark it ended. Logged data is never dropped."""
        if not self._stack:
            return
        active = self._stack.pop()
        batcher = self.batcher
        points = batcher.take(active.run_id)
        try:
            batcher.raise_pending_error()
        except BaseException as e:
            status, error = RunStatus.FAILED, error or f"metrics could not be written: {e}"
        try:
            # The last metrics and the status change land in one transaction.
            self.services.tracking.update_run(
                active.run_id, status=status, error=error, metrics=points, load=False
            )
        except BaseException:
            batcher.put_back(active.run_id, points)
            raise

    # ---------------------------------------------------------------- logging
    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        if (context := current_step()) is not None:  # inside a pipeline step, on any worker
            context.log_metric(key, value, step or 0)
            return
        point = check_metric(
            key, value, timestamp if timestamp is not None else now_ms(), step or 0
        )
        self.batcher.add(self._run_id(), [point])

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if (context := current_step()) is not None:
            context.log_metrics(dict(metrics), step or 0)
            return
        ts = now_ms()
        points = [check_metric(k, v, ts, step or 0) for k, v in metrics.items()]
        self.batcher.add(self._run_id(), points)

    def log_param(self, key: str, value: object) -> None:
        if (context := current_step()) is not None:
            context.log_param(key, value)
            return
        self.services.tracking.log_batch(self._run_id(), params={key: value})

    def log_params(self, params: Mapping[str, object]) -> None:
        if (context := current_step()) is not None:
            for key, value in params.items():
                context.log_param(key, value)
            return
        self.services.tracking.log_batch(self._run_id(), params=params)

    def set_tag(self, key: str, value: object) -> None:
        self.services.tracking.log_batch(self._run_id(), tags={key: value})

    def set_tags(self, tags: Mapping[str, object]) -> None:
        self.services.tracking.log_batch(self._run_id(), tags=tags)

    def log_artifact(self, local_path: str, artifact_path: str | None = None) -> None:
        self.services.tracking.log_artifact(self._run_id(), local_path, artifact_path)

    def log_dict(self, dictionary: Mapping[str, Any], artifact_file: str) -> None:
        data = json.dumps(dictionary, indent=2, sort_keys=True, default=str).encode()
        self.services.tracking.log_artifact_bytes(self._run_id(), data, artifact_file)

    def flush(self) -> None:
        if self._batcher is not None:
            self._batcher.flush()

    # ---------------------------------------------------------------- reading
    def get_run(self, run_id: str) -> Run:
        if self._batcher is not None:
            self._batcher.flush(run_id)
        return self.services.tracking.get_run(run_id)

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        if self._batcher is not None:
            self._batcher.flush(run_id)
        return self.services.tracking.metric_history(run_id, key)

    def search_runs(
        self,
        experiment: str | Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        output_format: str = "list",
    ) -> Any:
        """Runs matching ``filter``; ``output_format="pandas"`` returns a DataFrame."""
        self.flush()
        tracking = self.services.tracking
        names = [experiment] if isinstance(experiment, str) else list(experiment or [])
        ids = [tracking.get_experiment_by_name(n).experiment_id for n in names]
        page = tracking.search_runs(ids, filter, order_by, max_results)
        if output_format == "list":
            return page.runs
        if output_format == "pandas":
            return _runs_frame(page.runs)
        raise ValidationError(
            f"output_format must be 'list' or 'pandas', got {output_format!r}",
            field="output_format",
        )

    def close(self) -> None:
        """End the runs still open (FINISHED on a normal exit or ``sys.exit(0)``, FAILED on
        another exit status or an uncaught exception) and flush everything; run at
        interpreter exit."""
        status, error = self._exit_hooks.outcome()
        try:
            while self._stack:
                self.end_run(status, error=error)
        finally:
            self._exit_hooks.uninstall()
            if self._batcher is not None:
                self._batcher.close()


def _connect() -> SdkServices:
    from shipyard.settings import load_settings

    settings = load_settings()
    if settings.is_remote:
        from shipyard.interfaces.sdk.remote import RemoteServices

        return RemoteServices.connect(settings)
    from shipyard.interfaces.bootstrap import build_services

    return build_services(settings)


def _runs_frame(runs: Sequence[Run]) -> Any:
    import pandas as pd

    rows = []
    for r in runs:
        row: dict[str, Any] = {
            "run_id": r.run_id,
            "experiment_id": r.info.experiment_id,
            "run_name": r.info.run_name,
            "status": r.info.status.value,
            "start_time": pd.to_datetime(r.info.start_time, unit="ms", utc=True),
            "end_time": pd.to_datetime(r.info.end_time, unit="ms", utc=True)
            if r.info.end_time
            else None,
        }
        row.update({f"metrics.{k}": m.value for k, m in r.metrics.items()})
        row.update({f"params.{k}": v for k, v in r.params.items()})
        row.update({f"tags.{k}": v for k, v in r.tags.items()})
        rows.append(row)
    return pd.DataFrame(rows)
