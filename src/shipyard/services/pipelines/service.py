"""Pipelines as a service: run, resume, list and inspect pipeline runs."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import ConflictError, ValidationError
from shipyard.core.pipelines.fingerprint import canonical_json
from shipyard.core.pipelines.graph import Graph
from shipyard.core.pipelines.steps import PipelineDef
from shipyard.core.retraining import TrainingOutcome
from shipyard.services import provenance
from shipyard.services.paging import (
    Page,
    check_limit,
    check_offset,
    decode_cursor,
    encode_cursor,
)
from shipyard.services.pipelines import training
from shipyard.services.pipelines.executors import Executor, make_executor
from shipyard.services.pipelines.records import RunRecorder
from shipyard.services.pipelines.runner import PipelineResult, Scheduler, StepEvent, dataset_inputs
from shipyard.services.ports import DatasetInputs
from shipyard.services.tracking import TrackingService
from shipyard.stores.ports import BlobStore
from shipyard.stores.sql.engine import Database
from shipyard.stores.sql.pipelines_repo import PipelineRunRow, PipelinesRepo, StepExecution

__all__ = ["ExecutorConfig", "PipelineService", "load_pipeline"]


@dataclass(frozen=True)
class ExecutorConfig:
    default: str = "local"
    dask_address: str | None = None
    ray_address: str | None = None
    workers: int | None = None


def load_pipeline(target: str) -> PipelineDef:
    """Import ``module:attribute`` (the current folder is importable, as for ``python -m``)."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ValidationError(
            f"name a pipeline as module:function (e.g. train:training), got {target!r}",
            field="pipeline",
        )
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValidationError(f"cannot import {module_name!r}: {e}", field="pipeline") from e
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
    if not isinstance(obj, PipelineDef):
        raise ValidationError(
            f"{target} is not a pipeline: decorate the function with @sy.pipeline",
            field="pipeline",
        )
    return obj


class PipelineService:
    def __init__(
        self,
        db: Database,
        tracking: TrackingService,
        catalog: DatasetInputs,
        blobs: BlobStore,
        *,
        storage_options: dict[str, Any] | None = None,
        executors: ExecutorConfig | None = None,
    ) -> None:
        self.db = db
        self.tracking = tracking
        self.catalog = catalog
        self.blobs = blobs
        self.storage_options = dict(storage_options or {})
        self.executors = executors or ExecutorConfig()
        self.repo = PipelinesRepo()

    # ------------------------------------------------------------ running
    def executor(self, name: str | Executor | None, workers: int | None = None) -> Executor:
        chosen = name or self.executors.default
        address = {"dask": self.executors.dask_address, "ray": self.executors.ray_address}
        return make_executor(
            chosen,
            workers=workers or self.executors.workers,
            address=address.get(chosen) if isinstance(chosen, str) else None,
        )

    def run(
        self,
        pipeline: PipelineDef,
        params: dict[str, Any] | None = None,
        *,
        actor: str,
        executor: str | Executor | None = None,
        workers: int | None = None,
        experiment: str | None = None,
        seed: int = 0,
        cache: bool = True,
        from_steps: Sequence[str] = (),
        on_event: Callable[[StepEvent], None] | None = None,
        data_pins: dict[str, str] | None = None,
        on_start: Callable[[str], None] | None = None,
    ) -> PipelineResult:
        """Run ``pipeline``; ``on_start`` hears the new run's id before any step runs."""
        graph = pipeline.build(params)
        try:
            canonical_json(graph.params)
        except (TypeError, ValueError):
            raise ValidationError(
                f"pipeline {pipeline.name!r} params must be JSON values (str, number, bool, "
                "list, dict) so that the run can be resumed and reproduced",
                field="params",
            ) from None
        force = _forced(graph, from_steps)
        graph.options = {"cache": cache, "from": list(from_steps)}  # what resume repeats
        # A missing dataset version fails here, before any run is recorded.
        datasets = dataset_inputs(graph, self.catalog, data_pins)
        with self.executor(executor or pipeline.default_executor, workers) as ex:
            recorder = self._start_run(pipeline, graph, ex.name, seed, experiment, actor)
            for version, _ in datasets.values():
                self.catalog.record_input(recorder.run_id, version.ref, "pipeline")
            if on_start is not None:
                on_start(recorder.run_id)
            return self._schedule(graph, ex, recorder, seed, cache, force, datasets, {}, on_event)

    def resume(
        self,
        run_id: str,
        *,
        actor: str,
        executor: str | Executor | None = None,
        workers: int | None = None,
        on_event: Callable[[StepEvent], None] | None = None,
        force: bool = False,
    ) -> PipelineResult:
        """Re-run only what did not succeed in ``run_id`` (and what depends on it), with the
        run's own ``cache`` and ``from`` options; ``force`` resumes a run left RUNNING."""
        row = self.get_run(run_id)
        if row.status == "FINISHED":
            raise ValidationError(f"pipeline run {run_id} already finished", field="run_id")
        if row.status == "RUNNING" and not force:
            raise ConflictError(
                f"pipeline run {run_id} is still RUNNING; if its process is gone (killed, "
                "machine lost), resume it with --force",
                field="run_id",
            )
        pipeline = load_pipeline(row.pipeline)
        graph = pipeline.build(row.params)
        options = row.spec.get("options") or {}
        graph.options = options
        reuse: dict[tuple[str, int | None], StepExecution] = {}
        for e in self.executions(run_id):
            if e.succeeded:
                reuse[(e.node, e.map_index)] = e
        datasets = dataset_inputs(graph, self.catalog, row.spec.get("datasets"))
        with self.executor(executor or row.executor, workers) as ex:
            recorder = RunRecorder.reopen(self.db, self.tracking, actor, run_id)
            return self._schedule(
                graph,
                ex,
                recorder,
                row.seed,
                bool(options.get("cache", True)),
                _forced(graph, options.get("from") or []),
                datasets,
                reuse,
                on_event,
            )

    def _schedule(
        self,
        graph: Graph,
        ex: Executor,
        recorder: RunRecorder,
        seed: int,
        cache: bool,
        force: set[str],
        datasets: dict[str, Any],
        reuse: dict[tuple[str, int | None], StepExecution],
        on_event: Callable[[StepEvent], None] | None,
    ) -> PipelineResult:
        scheduler = Scheduler(
            graph=graph,
            executor=ex,
            recorder=recorder,
            store=self.blobs,
            store_url=self.blobs.url,
            storage_options=self.storage_options,
            seed=seed,
            cache=cache,
            force=force,
            datasets={ref: stored for ref, (_, stored) in datasets.items()},
            reuse=reuse,
            on_event=on_event,
            lookup=self._lookup,
        )
        try:
            result = scheduler.run()
        except BaseException as e:
            recorder.ended(
                "KILLED" if isinstance(e, KeyboardInterrupt) else "FAILED",
                f"{type(e).__name__}: {e}",
                graph.spec(),
            )
            raise
        recorder.ended(result.status, result.error, graph.spec())
        return result

    def _lookup(self, fingerprints: Sequence[str]) -> dict[str, StepExecution]:
        with self.db.read() as conn:
            return self.repo.cached(conn, fingerprints)

    def _start_run(
        self,
        pipeline: PipelineDef,
        graph: Graph,
        executor: str,
        seed: int,
        experiment: str | None,
        actor: str,
    ) -> RunRecorder:
        source = _source_dir(pipeline)
        tags = {
            **provenance.environment_tags(),
            **provenance.code_version(source),
            **pipeline.tags,
            "shipyard.pipeline": pipeline.qualified_name,
            "shipyard.executor": executor,
        }
        top = provenance.git_toplevel(source)
        import_root = _import_root(pipeline)
        if top is not None and import_root is not None and import_root.is_relative_to(top):
            tags["shipyard.git.import_root"] = import_root.relative_to(top).as_posix() or "."
        experiment_id = self.tracking.get_or_create_experiment(
            experiment or pipeline.name
        ).experiment_id
        row = PipelineRunRow(
            run_id="",
            pipeline=pipeline.qualified_name,
            spec=graph.spec(),
            params=graph.params,
            executor=executor,
            seed=seed,
            status="RUNNING",
            creation_time=now_ms(),
        )
        recorder = RunRecorder.start(
            self.db,
            self.tracking,
            actor=actor,
            experiment_id=experiment_id,
            row=row,
            tags=tags,
            run_name=f"{pipeline.name}",
        )
        self.tracking.log_artifact_bytes(
            recorder.run_id, provenance.environment_lock(), "environment/requirements.txt"
        )
        if tags.get("shipyard.git.dirty") == "true":
            patch = provenance.uncommitted_diff(source)
            if patch:
                self.tracking.log_artifact_bytes(recorder.run_id, patch, "code/uncommitted.patch")
        return recorder

    # ------------------------------------------------------------ training (retraining)
    def run_training(
        self,
        target: str,
        params: Mapping[str, Any],
        *,
        data: str | None,
        model_step: str | None,
        actor: str,
        on_start: Callable[[str], None] | None = None,
    ) -> TrainingOutcome:
        """Run pipeline ``target`` on dataset version ``data``; its fitted model."""
        return training.run_training(
            self, target, params, data=data, model_step=model_step, actor=actor, on_start=on_start
        )

    def resume_training(
        self, run_id: str, *, model_step: str | None, actor: str
    ) -> TrainingOutcome:
        """Finish an interrupted training run from its last completed steps."""
        return training.resume_training(self, run_id, model_step=model_step, actor=actor)

    def check_pipeline(self, target: str) -> None:
        """ValidationError naming ``pipeline`` unless ``target`` imports as a pipeline."""
        training.check_training_pipeline(target)

    # ------------------------------------------------------------ reading
    def get_run(self, run_id: str) -> PipelineRunRow:
        with self.db.read() as conn:
            return self.repo.get_run(conn, run_id)

    def list_runs(self, pipeline: str | None = None, limit: int = 50) -> list[PipelineRunRow]:
        with self.db.read() as conn:
            return self.repo.list_runs(conn, pipeline, limit)

    def page_runs(
        self,
        pipeline: str | None = None,
        *,
        cursor: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """One page of runs, newest first, after ``cursor`` (the previous page's next_cursor)
        and/or ``offset`` runs skipped, with the total of ``pipeline``'s runs (of all when
        None)."""
        key, limit, offset = _before(cursor), check_limit(limit), check_offset(offset)
        with self.db.read() as conn:
            found = self.repo.list_runs(conn, pipeline, limit + 1, before=key, offset=offset)
            total = self.repo.count_runs(conn, pipeline)
        more, found = len(found) > limit, found[:limit]
        last = found[-1] if found else None
        nxt = encode_cursor("before", [last.creation_time, last.run_id]) if more and last else None
        return Page(found, nxt, total)

    def executions(self, run_id: str) -> list[StepExecution]:
        with self.db.read() as conn:
            self.repo.get_run(conn, run_id)
            return self.repo.executions(conn, run_id)

    def latest_executions(self, run_id: str) -> dict[tuple[str, int | None], StepExecution]:
        """Each node's executions in the last attempt that ran it (by item)."""
        executions = self.executions(run_id)
        last = {e.node: e.attempt for e in executions}
        return {(e.node, e.map_index): e for e in executions if e.attempt == last[e.node]}


def _before(cursor: str | None) -> tuple[int, str] | None:
    """The (creation_time, run_id) key a runs cursor carries (None without a cursor)."""
    key = decode_cursor(cursor, "before", list)
    if key is None:
        return None
    if (
        len(key) == 2
        and isinstance(key[0], int)
        and not isinstance(key[0], bool)
        and 0 <= key[0] < 2**63
        and isinstance(key[1], str)
    ):
        return key[0], key[1]
    raise ValidationError(
        f"cursor {cursor!r} is not valid; pass the next_cursor of the previous page",
        field="cursor",
    )


def _forced(graph: Graph, from_steps: Sequence[str]) -> set[str]:
    roots: set[str] = set()
    for name in from_steps:
        matches = [n.id for n in graph.nodes.values() if name in {n.id, n.step.name}]
        if not matches:
            raise ValidationError(
                f"--from {name!r}: no such step in pipeline {graph.name!r} "
                f"(steps: {', '.join(graph.order)})",
                field="from",
            )
        roots.update(matches)
    return graph.downstream(roots) if roots else set()


def _source_dir(pipeline: PipelineDef) -> Path:
    try:
        return Path(inspect.getfile(pipeline.fn)).resolve().parent
    except (TypeError, OSError):
        return Path.cwd()


def _import_root(pipeline: PipelineDef) -> Path | None:
    """The sys.path entry the pipeline's module was imported from."""
    try:
        path = Path(inspect.getfile(pipeline.fn)).resolve()
    except (TypeError, OSError):
        return None
    parts = pipeline.fn.__module__.split(".")
    root = path.parent
    for _ in parts[:-1] if path.name != "__init__.py" else parts:
        root = root.parent
    return root
