"""Where step executions run: in-process, a local process pool, Dask distributed, or Ray.

Every executor takes the same ``TaskSpec`` and gives back the same ``TaskResult``; a task
that could not even report (its worker died, its payload did not pickle) comes back as a
failed result naming the cause, so the pipeline fails cleanly and can be resumed.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Sequence
from typing import Any

from shipyard.core.errors import StorageError, ValidationError
from shipyard.services.pipelines.worker import TaskResult, TaskSpec, run_pickled, run_task

__all__ = ["EXECUTORS", "Executor", "make_executor"]

EXECUTORS = ("local", "process", "dask", "ray")
GATHER_SECONDS = 0.005  # after a first result, how long to wait for others to batch with it
CONNECT_TIMEOUT = "10s"  # to reach a Dask scheduler


def _failed(node: str, error: str) -> TaskResult:
    now = int(time.time() * 1000)
    return TaskResult(node=node, ok=False, start_ms=now, end_ms=now, worker="", error=error)


class Executor:
    """Submit tasks; collect whichever finish first."""

    name = "base"
    workers = 1

    def submit(self, spec: TaskSpec) -> Any:
        raise NotImplementedError

    def wait_any(self, handles: Sequence[Any]) -> list[tuple[Any, TaskResult]]:
        raise NotImplementedError

    def close(self, interrupted: bool = False) -> None:
        """Release the workers (a cluster this executor started is shut down); when
        ``interrupted`` (Ctrl-C, a crash) pending work is cancelled, not waited for."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.close(interrupted=exc_type is not None)


class LocalExecutor(Executor):
    """In this process, one task at a time: the debugger and print() just work."""

    name = "local"

    def submit(self, spec: TaskSpec) -> Any:
        return _Done(run_task(spec))

    def wait_any(self, handles: Sequence[Any]) -> list[tuple[Any, TaskResult]]:
        return [(h, h.result) for h in handles]


class _Done:
    """A handle whose result is already there (hashable by identity)."""

    def __init__(self, result: TaskResult) -> None:
        self.result = result


class _FutureExecutor(Executor):
    """Shared by executors whose handles are ``concurrent.futures``-like futures."""

    def __init__(self) -> None:
        self._nodes: dict[Any, str] = {}

    def _result(self, future: Any) -> TaskResult:
        node = self._nodes.pop(future, "?")
        try:
            return future.result()
        except Exception as e:
            return _failed(node, _describe_crash(e))


def _describe_crash(e: BaseException) -> str:
    name = type(e).__name__
    if name in {"BrokenProcessPool", "KilledWorker", "WorkerCrashedError", "NodeDiedError"}:
        return (
            f"the worker process running this step died ({name}: {e}); "
            "fix the cause (memory? a crash in native code?) and `shipyard pipeline resume`"
        )
    return f"{name}: {e}"


class ProcessExecutor(_FutureExecutor):
    """A local pool of processes (forkserver: no inherited threads or locks)."""

    name = "process"

    def __init__(self, workers: int | None = None) -> None:
        super().__init__()
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.workers = workers or os.cpu_count() or 1
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["shipyard.services.pipelines.worker"])
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)

    def submit(self, spec: TaskSpec) -> Any:
        import cloudpickle

        try:
            future = self._pool.submit(run_pickled, cloudpickle.dumps(spec))
        except Exception as e:  # a broken pool refuses new work
            from concurrent.futures import Future

            future = Future()
            future.set_exception(e)
        self._nodes[future] = spec.node
        return future

    def wait_any(self, handles: Sequence[Any]) -> list[tuple[Any, TaskResult]]:
        from concurrent.futures import FIRST_COMPLETED, wait

        done, rest = wait(handles, return_when=FIRST_COMPLETED)
        if rest:  # whatever finishes within a few ms joins this batch: one commit for all
            done |= wait(rest, timeout=GATHER_SECONDS)[0]
        return [(f, self._result(f)) for f in done]

    def close(self, interrupted: bool = False) -> None:
        self._pool.shutdown(wait=not interrupted, cancel_futures=True)


class DaskExecutor(_FutureExecutor):
    """Dask distributed: a scheduler at ``address``, else a LocalCluster started here."""

    name = "dask"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        super().__init__()
        try:
            from distributed import Client, LocalCluster
        except ImportError as e:
            raise ValidationError(
                "executor 'dask' needs dask[distributed]: pip install 'dask[distributed]'",
                field="executor",
            ) from e
        self._cluster = None
        try:
            if address:
                self._client = Client(address, timeout=CONNECT_TIMEOUT)
            else:
                self._cluster = LocalCluster(
                    n_workers=workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                )
                self._client = Client(self._cluster)
            self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))
        except Exception as e:
            if self._cluster is not None:
                self._cluster.close()
            raise StorageError(f"cannot reach the Dask scheduler {address or ''}: {e}") from e

    def submit(self, spec: TaskSpec) -> Any:
        key = f"{spec.node}-{uuid.uuid4().hex}"
        future = self._client.submit(run_task, spec, pure=False, key=key)
        self._nodes[future] = spec.node
        return future

    def wait_any(self, handles: Sequence[Any]) -> list[tuple[Any, TaskResult]]:
        from distributed import wait

        done, rest = wait(list(handles), return_when="FIRST_COMPLETED")
        if rest:  # whatever finishes within a few ms joins this batch: one commit for all
            with contextlib.suppress(TimeoutError):  # distributed's TimeoutError is this one
                wait(list(rest), timeout=GATHER_SECONDS)
            done = {f for f in handles if f.done()}
        return [(f, self._result(f)) for f in done]

    def close(self, interrupted: bool = False) -> None:
        if self._nodes:  # tasks of a failed or stopped run: free the cluster's workers
            self._client.cancel(list(self._nodes))
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


class RayExecutor(Executor):
    """Ray: the cluster at ``address`` (``RAY_ADDRESS``), else a local Ray started here."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            import ray
        except ImportError as e:
            raise ValidationError(
                "executor 'ray' needs Ray: pip install 'shipyard[ray]'", field="executor"
            ) from e
        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            ray.init(
                address=address,
                num_cpus=None if address else (workers or os.cpu_count() or 1),
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        self.workers = workers or int(ray.cluster_resources().get("CPU", 1))
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_pickled)
        self._nodes: dict[Any, str] = {}

    def submit(self, spec: TaskSpec) -> Any:
        import cloudpickle

        ref = self._remote.remote(cloudpickle.dumps(spec))
        self._nodes[ref] = spec.node
        return ref

    def wait_any(self, handles: Sequence[Any]) -> list[tuple[Any, TaskResult]]:
        done, _ = self._ray.wait(list(handles), num_returns=1)
        out = []
        for ref in done:
            node = self._nodes.pop(ref, "?")
            try:
                out.append((ref, self._ray.get(ref)))
            except Exception as e:
                out.append((ref, _failed(node, _describe_crash(e))))
        return out

    def close(self, interrupted: bool = False) -> None:
        for ref in self._nodes:  # tasks of a failed or stopped run
            self._ray.cancel(ref, force=True)
        if self._started:
            self._ray.shutdown()


def make_executor(
    name: str | Executor, *, workers: int | None = None, address: str | None = None
) -> Executor:
    """An executor by name; ``address`` is the Dask scheduler or the Ray cluster."""
    if isinstance(name, Executor):
        return name
    if name == "local":
        return LocalExecutor()
    if name == "process":
        return ProcessExecutor(workers)
    if name == "dask":
        return DaskExecutor(address, workers)
    if name == "ray":
        return RayExecutor(address, workers)
    raise ValidationError(
        f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}", field="executor"
    )
