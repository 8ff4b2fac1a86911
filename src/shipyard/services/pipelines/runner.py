"""The scheduler: runs a validated DAG on an executor, reusing cached executions.

The driver decides (fingerprints, cache, ordering) and records (runs, executions); the
executor's workers only compute and write outputs to the content store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from shipyard.core.errors import ValidationError
from shipyard.core.pipelines.fingerprint import dep_versions
from shipyard.core.pipelines.graph import Graph, iter_datasets
from shipyard.services.pipelines.codec import Stored, decode_value, is_complete
from shipyard.services.pipelines.executors import Executor
from shipyard.services.pipelines.records import RunRecorder
from shipyard.services.pipelines.tasks import ArgResolver, NodeDriver, Task, driver_for
from shipyard.services.pipelines.worker import TaskResult, TaskSpec
from shipyard.services.ports import DatasetInputs
from shipyard.stores.sql.pipelines_repo import StepExecution

__all__ = ["PipelineResult", "Scheduler", "StepEvent"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepEvent:
    """Progress of one node (``index`` for an item of a fan-out or a sweep trial)."""

    node: str
    status: str  # running | finished | cached | failed | skipped
    index: int | None = None
    run_id: str | None = None
    duration_ms: int | None = None
    error: str | None = None
    done: int = 0  # items finished so far (fan-outs)
    total: int = 1


@dataclass
class PipelineResult:
    run_id: str
    status: str
    outputs: dict[str, Stored]
    store: Any
    error: str | None = None
    node_status: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "FINISHED"

    def output(self, node: str) -> Any:
        """The decoded output of a finished node."""
        if node not in self.outputs:
            raise ValidationError(
                f"node {node!r} has no output in run {self.run_id} "
                f"(nodes with outputs: {sorted(self.outputs)})",
                field="node",
            )
        return decode_value(self.outputs[node], self.store)


@dataclass
class Scheduler:
    """One execution of a graph. ``reuse`` maps (node, index) → a finished execution."""

    graph: Graph
    executor: Executor
    recorder: RunRecorder
    store: Any
    store_url: str
    storage_options: dict[str, Any]
    seed: int = 0
    cache: bool = True
    force: set[str] = field(default_factory=set)
    datasets: dict[str, Stored] = field(default_factory=dict)
    reuse: dict[tuple[str, int | None], StepExecution] = field(default_factory=dict)
    on_event: Callable[[StepEvent], None] | None = None
    lookup: Callable[[Sequence[str]], dict[str, StepExecution]] | None = None

    def __post_init__(self) -> None:
        self.outputs: dict[str, Stored] = {}
        self.status: dict[str, str] = {n: "pending" for n in self.graph.order}
        self.drivers: dict[str, NodeDriver] = {}
        self.inflight: dict[Any, tuple[Task, str]] = {}
        self.resolver = ArgResolver(self.store, self.outputs, self.datasets)
        self.errors: list[str] = []
        self.hits: dict[str, int] = {}

    # ------------------------------------------------------------ the loop
    def run(self) -> PipelineResult:
        try:
            self._loop()
        except BaseException as e:  # the run stops: its unfinished steps must not stay RUNNING
            status = "KILLED" if isinstance(e, KeyboardInterrupt) else "FAILED"
            children = [child for _, child in self.inflight.values()]
            self.recorder.abandon(children, status, f"the pipeline stopped: {e!r}"[:2000])
            raise
        return self._result()

    def _loop(self) -> None:
        while True:
            self._start_ready()
            self.recorder.flush_hits()
            if not self.inflight:
                return
            done = [
                (*self.inflight.pop(handle), result)
                for handle, result in self.executor.wait_any(list(self.inflight))
            ]
            refused = self.recorder.finished([(child, result) for _, child, result in done])
            for task, child, result in done:
                if child in refused:
                    result = replace(result, ok=False, output=None, error=refused[child])
                self._finished(task, child, result)

    def _result(self) -> PipelineResult:
        for node, status in self.status.items():
            if status in {"pending", "running"}:
                self.status[node] = "skipped"
                self._emit(StepEvent(node, "skipped"))
        ok = all(s in {"finished", "cached"} for s in self.status.values())
        error = None if ok else "; ".join(self.errors) or "the pipeline did not complete"
        return PipelineResult(
            run_id=self.recorder.run_id,
            status="FINISHED" if ok else "FAILED",
            outputs=dict(self.outputs),
            store=self.store,
            error=error,
            node_status=dict(self.status),
        )

    def _emit(self, event: StepEvent) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:  # a progress display must never stop the pipeline
            log.warning("progress callback failed on %s", event, exc_info=True)

    def _ready(self) -> list[str]:
        return [
            n
            for n in self.graph.order
            if self.status[n] == "pending"
            and all(self.status[d] in {"finished", "cached"} for d in self.graph.deps[n])
        ]

    def _start_ready(self) -> None:
        """Start every ready node; cache hits complete at once, so repeat until stable."""
        while not self.errors and (ready := self._ready()):
            for node_id in ready:
                self._start_node(node_id)

    def _start_node(self, node_id: str) -> None:
        node = self.graph.nodes[node_id]
        self.status[node_id] = "running"
        try:
            deps = dep_versions(node.step.options.deps)
            driver = driver_for(node, self.resolver, self.seed, deps)
            self.drivers[node_id] = driver
            tasks = driver.start()
        except Exception as e:
            self._node_error(node_id, e)
            return
        self._launch(driver, tasks)
        self._maybe_complete(node_id)

    def _launch(self, driver: NodeDriver, tasks: list[Task]) -> None:
        """Serve tasks from the cache where allowed, submit the rest; may loop (sweeps)."""
        try:
            self._launch_tasks(driver, tasks)
        except Exception as e:  # a cached output the driver refuses, a task that won't submit
            self._node_error(driver.node.id, e)

    def _launch_tasks(self, driver: NodeDriver, tasks: list[Task]) -> None:
        while tasks:
            hits = self._cached(driver.node.id, tasks)
            more: list[Task] = []
            misses = [t for t in tasks if t.fingerprint not in hits]
            if misses:
                self._submit(misses)
            for task in tasks:
                source = hits.get(task.fingerprint)
                if source is None:
                    continue
                self.recorder.cache_hit(task, source)
                self.hits[task.node] = self.hits.get(task.node, 0) + 1
                self._emit(
                    StepEvent(
                        task.node,
                        "cached",
                        task.index,
                        source.run_id,
                        0,
                        done=len(driver.results) + 1,
                        total=driver.expected,
                    )
                )
                assert source.output is not None
                more += driver.finished(task, Stored.from_dict(source.output))
            tasks = more

    def _cached(self, node_id: str, tasks: list[Task]) -> dict[str, StepExecution]:
        node = self.graph.nodes[node_id]
        found: dict[str, StepExecution] = {}
        for task in tasks:  # resume: the earlier attempt of this run, cache or not
            earlier = self.reuse.get((task.node, task.index))
            if earlier and earlier.fingerprint == task.fingerprint and earlier.output:
                found[task.fingerprint] = earlier
        allowed = self.cache and node.step.options.cache and node_id not in self.force
        if allowed and self.lookup is not None:
            wanted = [t.fingerprint for t in tasks if t.fingerprint not in found]
            if wanted:
                found.update(self.lookup(wanted))
        return {
            fp: e
            for fp, e in found.items()
            if e.output and is_complete(Stored.from_dict(e.output), self.store)
        }

    def _submit(self, tasks: list[Task]) -> None:
        """Hand tasks to the executor first (workers start at once), then record them."""
        handles = [
            self.executor.submit(
                TaskSpec(
                    node=task.node,
                    step=task.step,
                    args=task.args,
                    seed=task.seed,
                    store_url=self.store_url,
                    storage_options=self.storage_options,
                    index=task.index,
                    params=task.param_texts,
                )
            )
            for task in tasks
        ]
        children = self.recorder.started(tasks)
        for handle, task, child in zip(handles, tasks, children, strict=True):
            self.inflight[handle] = (task, child)
            self._emit(StepEvent(task.node, "running", task.index, child))

    def _finished(self, task: Task, child: str, result: TaskResult) -> None:
        """A task's result, once recorded: feed its node's driver."""
        duration = result.end_ms - result.start_ms
        driver = self.drivers[task.node]
        if self.status[task.node] == "failed":  # another item already failed the node
            return
        if not result.ok or result.output is None:
            self._node_failed(task.node, task.index, result.error or "failed", child, duration)
            return
        try:
            more = driver.finished(task, Stored.from_dict(result.output))
        except Exception as e:
            self._node_error(task.node, e)
            return
        self._emit(
            StepEvent(
                task.node,
                "finished",
                task.index,
                child,
                duration,
                done=len(driver.results),
                total=driver.expected,
            )
        )
        if not self.errors:
            self._launch(driver, more)
        self._maybe_complete(task.node)

    def _maybe_complete(self, node_id: str) -> None:
        driver = self.drivers.get(node_id)
        if driver is None or self.status[node_id] != "running" or not driver.complete:
            return
        if any(t.node == node_id for t, _ in self.inflight.values()):
            return
        try:
            self.outputs[node_id] = driver.output()
        except Exception as e:
            self._node_error(node_id, e)
            return
        all_hits = self.hits.get(node_id, 0) >= driver.expected > 0
        self.status[node_id] = "cached" if all_hits else "finished"
        self._emit(
            StepEvent(
                node_id,
                self.status[node_id],
                None,
                None,
                None,
                done=driver.expected,
                total=driver.expected,
            )
        )
        best = getattr(driver, "best_index", None)
        if best is not None:
            self._tag_best(node_id, best)

    def _tag_best(self, node_id: str, index: int) -> None:
        self.recorder.flush_hits()  # trials served from the cache must be written first
        with self.recorder.db.read() as conn:
            executions = self.recorder.repo.executions(conn, self.recorder.run_id)
        for e in reversed(executions):
            if e.node == node_id and e.map_index == index:
                self.recorder.tag(e.run_id, {"shipyard.sweep.best": "true"})
                return

    def _node_error(self, node_id: str, e: Exception) -> None:
        """A failure of the node itself, not of one of its tasks: recorded as its own run."""
        if self.status[node_id] == "failed":
            return
        error = f"{type(e).__name__}: {e}"
        self.recorder.node_error(node_id, self.graph.nodes[node_id].step.name, error)
        self._node_failed(node_id, None, error)

    def _node_failed(
        self,
        node_id: str,
        index: int | None,
        error: str,
        run_id: str | None = None,
        duration: int | None = None,
    ) -> None:
        self.status[node_id] = "failed"
        where = node_id if index is None else f"{node_id}[{index}]"
        self.errors.append(f"step {where!r} failed: {error.strip().splitlines()[-1]}")
        self._emit(StepEvent(node_id, "failed", index, run_id, duration, error=error))


def dataset_inputs(
    graph: Graph, catalog: DatasetInputs, pins: dict[str, str] | None = None
) -> dict[str, tuple[Any, Stored]]:
    """Resolve every ``sy.dataset(ref)`` of the graph before anything runs.

    ``pins`` maps a ref as written (``loans@training``) to the version to read instead
    (``loans@v3``): how a reproduction reads what the original run read.
    """
    out: dict[str, tuple[Any, Stored]] = {}
    for node in graph.nodes.values():
        for item in iter_datasets(node.args):
            if item.ref in out:
                continue
            version = catalog.get_version((pins or {}).get(item.ref, item.ref))
            if version.kind.value != "table":
                raise ValidationError(
                    f"dataset {version.ref} holds files, not a table: steps receive tables as "
                    "DataFrames; read files inside the step with sy.data.get",
                    field="dataset",
                )
            stored = Stored(
                format="parquet",
                digest=version.object_digest,
                content_id=version.content_id,
                size=version.size,
                type_name="pandas.DataFrame",
                summary=f"{version.ref} {version.row_count} x {len(version.columns)}",
            )
            out[item.ref] = (version, stored)
            graph.datasets[item.ref] = version.ref
    return out
