"""Pipeline runs and step executions in SQL; the fingerprint index answers cache lookups."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.core.errors import NotFoundError
from shipyard.stores.sql.rows import escape_like
from shipyard.stores.sql.tables import pipeline_runs, runs, step_executions

__all__ = ["PipelineRunRow", "PipelinesRepo", "StepExecution"]


@dataclass(frozen=True)
class PipelineRunRow:
    run_id: str
    pipeline: str
    spec: dict[str, Any]
    params: dict[str, Any]
    executor: str
    seed: int
    status: str
    creation_time: int
    run_name: str = ""
    experiment_id: str = ""
    end_time: int | None = None


@dataclass(frozen=True)
class StepExecution:
    run_id: str
    pipeline_run_id: str
    node: str
    step: str
    map_index: int | None
    attempt: int
    fingerprint: str
    status: str  # RUNNING | FINISHED | CACHED | FAILED (a node never started has no row)
    cached_from: str | None
    output: dict[str, Any] | None
    error: str | None
    worker: str | None
    start_time: int
    end_time: int | None

    @property
    def duration_ms(self) -> int | None:
        return None if self.end_time is None else self.end_time - self.start_time

    @property
    def succeeded(self) -> bool:
        return self.status in {"FINISHED", "CACHED"}


def _execution(row: Any) -> StepExecution:
    return StepExecution(
        run_id=row.run_id,
        pipeline_run_id=row.pipeline_run_id,
        node=row.node,
        step=row.step,
        map_index=row.map_index,
        attempt=row.attempt,
        fingerprint=row.fingerprint,
        status=row.status,
        cached_from=row.cached_from,
        output=json.loads(row.output_json) if row.output_json else None,
        error=row.error,
        worker=row.worker,
        start_time=row.start_time,
        end_time=row.end_time,
    )


def _pipeline_run(row: Any) -> PipelineRunRow:
    return PipelineRunRow(
        run_id=row.run_id,
        pipeline=row.pipeline,
        spec=json.loads(row.spec_json),
        params=json.loads(row.params_json),
        executor=row.executor,
        seed=row.seed,
        status=row.status,
        creation_time=row.creation_time,
        run_name=row.name,
        experiment_id=str(row.experiment_id),
        end_time=row.end_time,
    )


def _of_pipeline(query: Any, pipeline: str | None) -> Any:
    """Runs of ``pipeline``: "module:function", or just the function's name."""
    if not pipeline:
        return query
    escaped = escape_like(pipeline)
    return query.where(
        sa.or_(
            pipeline_runs.c.pipeline == pipeline,
            pipeline_runs.c.pipeline.like(f"%:{escaped}", escape="\\"),
        )
    )


class PipelinesRepo:
    """Stateless: every method takes the connection of the caller's unit of work."""

    def create_run(self, conn: Connection, row: PipelineRunRow) -> None:
        conn.execute(
            pipeline_runs.insert().values(
                run_id=row.run_id,
                pipeline=row.pipeline,
                spec_json=json.dumps(row.spec, sort_keys=True),
                params_json=json.dumps(row.params, sort_keys=True, default=str),
                executor=row.executor,
                seed=row.seed,
                status=row.status,
                creation_time=row.creation_time,
            )
        )

    def set_run(self, conn: Connection, run_id: str, **values: Any) -> None:
        if "spec" in values:
            values["spec_json"] = json.dumps(values.pop("spec"), sort_keys=True)
        conn.execute(pipeline_runs.update().where(pipeline_runs.c.run_id == run_id).values(values))

    def _select_runs(self) -> sa.Select[Any]:
        return sa.select(pipeline_runs, runs.c.name, runs.c.experiment_id, runs.c.end_time).join(
            runs, runs.c.id == pipeline_runs.c.run_id
        )

    def get_run(self, conn: Connection, run_id: str) -> PipelineRunRow:
        row = conn.execute(self._select_runs().where(pipeline_runs.c.run_id == run_id)).first()
        if row is None:
            raise NotFoundError(f"pipeline run {run_id!r} not found", field="run_id")
        return _pipeline_run(row)

    def list_runs(
        self,
        conn: Connection,
        pipeline: str | None = None,
        limit: int = 50,
        *,
        before: tuple[int, str] | None = None,
        offset: int = 0,
    ) -> list[PipelineRunRow]:
        """Newest first (ties by run id); ``before`` a (creation_time, run_id) key (keyset)
        and/or ``offset`` runs skipped."""
        p = pipeline_runs.c
        query = _of_pipeline(self._select_runs(), pipeline)
        if before is not None:
            query = query.where(sa.tuple_(p.creation_time, p.run_id) < sa.tuple_(*before))
        query = query.order_by(p.creation_time.desc(), p.run_id.desc()).limit(limit)
        if offset:
            query = query.offset(offset)
        return [_pipeline_run(r) for r in conn.execute(query)]

    def count_runs(self, conn: Connection, pipeline: str | None = None) -> int:
        """How many runs ``list_runs`` walks through in all."""
        query = sa.select(sa.func.count()).select_from(pipeline_runs)
        return int(conn.execute(_of_pipeline(query, pipeline)).scalar() or 0)

    def add_executions(self, conn: Connection, rows: Sequence[StepExecution]) -> None:
        if not rows:
            return
        conn.execute(
            step_executions.insert(),
            [
                {
                    "run_id": e.run_id,
                    "pipeline_run_id": e.pipeline_run_id,
                    "node": e.node,
                    "step": e.step,
                    "map_index": e.map_index,
                    "attempt": e.attempt,
                    "fingerprint": e.fingerprint,
                    "status": e.status,
                    "cached_from": e.cached_from,
                    "output_json": json.dumps(e.output, sort_keys=True) if e.output else None,
                    "error": e.error,
                    "worker": e.worker,
                    "start_time": e.start_time,
                    "end_time": e.end_time,
                }
                for e in rows
            ],
        )

    def finish_execution(
        self,
        conn: Connection,
        run_id: str,
        *,
        status: str,
        end_time: int,
        start_time: int | None = None,
        output: dict[str, Any] | None = None,
        error: str | None = None,
        worker: str | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "end_time": end_time,
            "output_json": json.dumps(output, sort_keys=True) if output else None,
            "error": error[:65_536] if error else None,
            "worker": worker,
        }
        if start_time is not None:  # the worker's own start, later than the submission
            values["start_time"] = min(start_time, end_time)
        conn.execute(
            step_executions.update().where(step_executions.c.run_id == run_id).values(values)
        )

    def executions(self, conn: Connection, pipeline_run_id: str) -> list[StepExecution]:
        """Every attempt of every node of a pipeline run, oldest first."""
        found = conn.execute(
            sa.select(step_executions)
            .where(step_executions.c.pipeline_run_id == pipeline_run_id)
            .order_by(step_executions.c.attempt, step_executions.c.start_time)
        )
        return [_execution(r) for r in found]

    def cached(self, conn: Connection, fingerprints: Sequence[str]) -> dict[str, StepExecution]:
        """For each fingerprint, its latest successful real execution (not a cache hit)."""
        out: dict[str, StepExecution] = {}
        for chunk in (fingerprints[i : i + 500] for i in range(0, len(fingerprints), 500)):
            found = conn.execute(
                sa.select(step_executions)
                .where(
                    step_executions.c.fingerprint.in_(chunk),
                    step_executions.c.status == "FINISHED",
                )
                .order_by(step_executions.c.end_time)
            )
            for row in found:
                out[row.fingerprint] = _execution(row)
        return out
