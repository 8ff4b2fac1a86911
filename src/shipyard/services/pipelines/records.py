"""What a pipeline run writes: the pipeline run, a child run per step execution, evidence.

Cache hits are written in one batch (one transaction for all of them), so a fully cached
re-run costs a handful of transactions whatever the number of steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.engine import Connection

from shipyard.core.clock import now_ms
from shipyard.core.entities import Metric
from shipyard.core.errors import ShipyardError
from shipyard.core.states import RunStatus
from shipyard.services.pipelines.tasks import Task, param_text
from shipyard.services.pipelines.worker import TaskResult
from shipyard.services.run_batches import NewRun, RunEnd, create_child_runs, end_runs
from shipyard.services.tracking import TrackingService
from shipyard.stores.sql.engine import Database
from shipyard.stores.sql.pipelines_repo import PipelineRunRow, PipelinesRepo, StepExecution

__all__ = ["RunRecorder"]


@dataclass
class RunRecorder:
    db: Database
    tracking: TrackingService
    actor: str
    run_id: str
    experiment_id: str
    attempt: int = 1
    repo: PipelinesRepo = field(default_factory=PipelinesRepo)
    _pending_hits: list[tuple[Task, StepExecution]] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        db: Database,
        tracking: TrackingService,
        *,
        actor: str,
        experiment_id: str,
        row: PipelineRunRow,
        tags: dict[str, str],
        run_name: str,
    ) -> RunRecorder:
        run = tracking.create_run(experiment_id, run_name=run_name, user=actor, tags=tags)
        row = PipelineRunRow(**{**row.__dict__, "run_id": run.run_id})
        with db.write() as conn:
            PipelinesRepo().create_run(conn, row)
        params = {k: param_text(v) for k, v in row.params.items()}
        params["seed"] = str(row.seed)
        tracking.log_batch(run.run_id, params=params)
        return cls(db, tracking, actor, run.run_id, experiment_id)

    @classmethod
    def reopen(cls, db: Database, tracking: TrackingService, actor: str, run_id: str) -> Any:
        """Resume: the same pipeline run, RUNNING again; new executions are a new attempt."""
        run = tracking.update_run(run_id, status="RUNNING")
        assert run is not None
        with db.read() as conn:
            attempts = [e.attempt for e in PipelinesRepo().executions(conn, run_id)]
        with db.write() as conn:
            PipelinesRepo().set_run(conn, run_id, status="RUNNING")
        return cls(db, tracking, actor, run_id, run.info.experiment_id, max(attempts or [0]) + 1)

    # ------------------------------------------------------------ executions
    def _row(self, run_id: str, node: str, step: str, **values: Any) -> StepExecution:
        """An execution of this run's current attempt; ``values`` fill or override fields."""
        now = now_ms()
        fields: dict[str, Any] = {
            "map_index": None,
            "fingerprint": "",
            "status": "RUNNING",
            "cached_from": None,
            "output": None,
            "error": None,
            "worker": None,
            "start_time": now,
            "end_time": None,
        }
        fields.update(values)
        return StepExecution(
            run_id=run_id,
            pipeline_run_id=self.run_id,
            node=node,
            step=step,
            attempt=self.attempt,
            **fields,
        )

    def _tags(self, task: Task, cache: str) -> dict[str, str]:
        return {
            "shipyard.pipeline.run": self.run_id,
            "shipyard.step": task.step.name,
            "shipyard.node": task.label,
            "shipyard.fingerprint": task.fingerprint,
            "shipyard.cache": cache,
            "shipyard.seed": str(task.seed),
            **{f"shipyard.input.{k}": v for k, v in task.arg_ids.items()},
        }

    def cache_hit(self, task: Task, source: StepExecution) -> None:
        """Queue a reused execution; written by ``flush_hits``."""
        self._pending_hits.append((task, source))

    def flush_hits(self) -> list[StepExecution]:
        """Write the queued cache hits: child runs and executions, one transaction."""
        if not self._pending_hits:
            return []
        hits, self._pending_hits = self._pending_hits, []
        runs = []
        for task, source in hits:
            tags = self._tags(task, "hit")
            tags["shipyard.cache.source"] = source.run_id
            tags.update(_output_tags(source.output))
            artifacts = _output_artifact(source.output)
            runs.append(NewRun(task.label, tags, status=RunStatus.FINISHED, artifacts=artifacts))
        now = now_ms()
        rows: list[StepExecution] = []

        def executions(conn: Connection, ids: list[str]) -> None:
            for run_id, (task, source) in zip(ids, hits, strict=True):
                rows.append(
                    self._row(
                        run_id,
                        task.node,
                        task.step.name,
                        map_index=task.index,
                        fingerprint=task.fingerprint,
                        status="CACHED",
                        cached_from=source.run_id,
                        output=source.output,
                        start_time=now,
                        end_time=now,
                    )
                )
            self.repo.add_executions(conn, rows)

        create_child_runs(
            self.tracking,
            self.experiment_id,
            self.run_id,
            runs,
            user=self.actor,
            also=executions,
        )
        return rows

    def started(self, tasks: list[Task]) -> list[str]:
        """Child runs and RUNNING executions for tasks just submitted, one transaction."""
        runs = [NewRun(t.label, self._tags(t, "miss"), t.param_texts) for t in tasks]
        now = now_ms()

        def executions(conn: Connection, ids: list[str]) -> None:
            rows = [
                self._row(
                    run_id,
                    t.node,
                    t.step.name,
                    map_index=t.index,
                    fingerprint=t.fingerprint,
                    start_time=now,
                )
                for run_id, t in zip(ids, tasks, strict=True)
            ]
            self.repo.add_executions(conn, rows)

        return create_child_runs(
            self.tracking,
            self.experiment_id,
            self.run_id,
            runs,
            user=self.actor,
            also=executions,
        )

    def finished(self, done: list[tuple[str, TaskResult]]) -> dict[str, str]:
        """End the child runs of finished tasks (logs stored first), one transaction.

        Returns the results that could not be recorded (child → why): those runs end FAILED
        with the reason, one bad result never loses the others.
        """
        ends = [self._end(child, result) for child, result in done]
        try:
            self._write_ends(ends, done)
            return {}
        except ShipyardError:
            pass
        refused: dict[str, str] = {}
        for end, item in zip(ends, done, strict=True):
            try:
                self._write_ends([end], [item])
            except ShipyardError as e:
                refused[item[0]] = f"its result could not be recorded: {e.message}"
        self.abandon(list(refused), "FAILED", refused)
        return refused

    def _end(self, child: str, result: TaskResult) -> RunEnd:
        files = _output_artifact(result.output)
        for text, path in ((result.logs, "logs/output.txt"), (result.error, "logs/error.txt")):
            if text:
                data = text.encode()
                files.append((path, self.tracking.blobs.put_bytes(data), len(data)))
        return RunEnd(
            run_id=child,
            status=RunStatus.FINISHED if result.ok else RunStatus.FAILED,
            end_time=result.end_ms,
            start_time=result.start_ms,
            error=result.error,
            params={k: param_text(v) for k, v in result.params.items()},
            tags={"shipyard.worker": result.worker, **_output_tags(result.output)},
            metrics=[Metric(k, v, ts, step) for k, v, ts, step in result.metrics],
            artifacts=files,
        )

    def _write_ends(self, ends: list[RunEnd], done: list[tuple[str, TaskResult]]) -> None:
        def executions(conn: Connection) -> None:
            for child, result in done:
                self.repo.finish_execution(
                    conn,
                    child,
                    status="FINISHED" if result.ok else "FAILED",
                    start_time=result.start_ms,
                    end_time=result.end_ms,
                    output=result.output,
                    error=result.error,
                    worker=result.worker,
                )

        end_runs(self.tracking, ends, also=executions)

    def abandon(self, children: list[str], status: str, why: dict[str, str] | str) -> None:
        """End child runs whose results will never be recorded (best effort)."""
        if not children:
            return
        now = now_ms()
        reasons = why if isinstance(why, dict) else dict.fromkeys(children, why)
        ends = [RunEnd(c, RunStatus(status), now, error=reasons[c]) for c in children]

        def executions(conn: Connection) -> None:
            for child in children:
                self.repo.finish_execution(
                    conn, child, status=status, end_time=now, error=reasons[child]
                )

        end_runs(self.tracking, ends, also=executions)

    def node_error(self, node: str, step: str, error: str) -> None:
        """A node that failed outside any task (setup, fan-out items, a sweep's objective)."""
        run = self.tracking.create_run(
            self.experiment_id,
            run_name=node,
            user=self.actor,
            tags={
                "shipyard.pipeline.run": self.run_id,
                "shipyard.step": step,
                "shipyard.node": node,
            },
            parent_run_id=self.run_id,
        )
        row = self._row(run.run_id, node, step, status="FAILED", error=error[:65_536])
        row = replace(row, end_time=row.start_time)
        with self.db.write() as conn:
            self.repo.add_executions(conn, [row])
        self.tracking.update_run(run.run_id, status="FAILED", error=error, load=False)

    def tag(self, run_id: str, tags: dict[str, str]) -> None:
        self.tracking.log_batch(run_id, tags=tags)

    def ended(self, status: str, error: str | None, spec: dict[str, Any]) -> None:
        with self.db.write() as conn:
            self.repo.set_run(conn, self.run_id, status=status, spec=spec)
        # A run that finishes after a resume drops the error of its failed attempt.
        error = error if status != "FINISHED" else ""
        self.tracking.update_run(self.run_id, status=status, error=error, load=False)


def _output_tags(output: dict[str, Any] | None) -> dict[str, str]:
    if not output:
        return {}
    return {
        "shipyard.output.content_id": str(output["content_id"]),
        "shipyard.output.format": str(output["format"]),
        "shipyard.output.summary": str(output.get("summary", ""))[:250],
    }


_SUFFIX = {
    "parquet": "parquet",
    "series": "parquet",
    "json": "json",
    "skops": "skops",
    "arrow-tensor": "arrow",
    "pickle": "pkl",
    "bundle": "json",
}


def _output_artifact(output: dict[str, Any] | None) -> list[tuple[str, str, int]]:
    """The step's output as a run artifact (the object already in the store)."""
    if not output:
        return []
    suffix = _SUFFIX.get(str(output["format"]), "bin")
    return [(f"output/value.{suffix}", str(output["digest"]), int(output["size"]))]
