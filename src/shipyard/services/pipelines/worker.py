"""Runs one step execution in whatever process an executor chose.

The worker reads its inputs from the content store and writes its output there itself
(in a cluster: the shared S3 store), then returns a small ``TaskResult``; it never touches
the metadata database, so workers need no database access.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import socket
import sys
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from shipyard.core.errors import ShipyardError
from shipyard.core.pipelines.context import StepContext
from shipyard.core.pipelines.steps import StepDef

__all__ = ["InputValue", "TaskResult", "TaskSpec", "run_pickled", "run_task"]

MAX_LOG_CHARS = 1_000_000
_STORES: dict[str, Any] = {}


@dataclass(frozen=True)
class InputValue:
    """An argument stored in the content store (an upstream output or a dataset version)."""

    stored: dict[str, Any]
    path: tuple[str | int, ...] = ()


@dataclass
class TaskSpec:
    node: str
    step: StepDef
    args: dict[str, Any]
    seed: int
    store_url: str
    storage_options: dict[str, Any] = field(default_factory=dict)
    index: int | None = None
    params: dict[str, str] = field(default_factory=dict)  # recorded already: immutable


@dataclass
class TaskResult:
    node: str
    ok: bool
    start_ms: int
    end_ms: int
    worker: str
    output: dict[str, Any] | None = None
    metrics: list[tuple[str, float, int, int]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    logs: str = ""
    error: str | None = None


def _store(url: str, options: dict[str, Any]) -> Any:
    key = url + json.dumps(options, sort_keys=True)
    if key not in _STORES:
        from shipyard.stores.blobs import open_content_store

        _STORES[key] = open_content_store(url, options or None)
    return _STORES[key]


class _Decoded:
    """The last few tables and arrays decoded in this process, handed out as copies.

    A fan-out passes the same frame to every item: decoding its Parquet once per worker
    instead of once per item saves more than many models take to fit. Copies keep a step
    that edits its input in place from changing what the next item sees.
    """

    MAX_ENTRIES = 8
    MAX_BYTES = 256 << 20

    def __init__(self) -> None:
        self._values: OrderedDict[tuple[str, tuple[str | int, ...]], Any] = OrderedDict()

    def get(self, item: InputValue, store: Any) -> Any:
        from shipyard.services.pipelines.codec import Stored, decode_value

        key = (str(item.stored.get("digest")), item.path)
        if key in self._values:
            self._values.move_to_end(key)
            return self._values[key].copy()
        value: Any = decode_value(Stored.from_dict(item.stored), store, path=item.path)
        if _copyable(value) and _nbytes(value) <= self.MAX_BYTES:
            self._values[key] = value
            while len(self._values) > self.MAX_ENTRIES:
                self._values.popitem(last=False)
            return value.copy()
        return value


def _copyable(value: Any) -> bool:
    module = type(value).__module__.split(".")[0]
    return module in {"pandas", "numpy"} and hasattr(value, "copy")


def _nbytes(value: Any) -> int:
    if hasattr(value, "memory_usage"):
        usage = value.memory_usage(deep=False)
        return int(usage.sum() if hasattr(usage, "sum") else usage)
    return int(getattr(value, "nbytes", 0))


_DECODED = _Decoded()


def _resolve(value: Any, store: Any) -> Any:
    if isinstance(value, InputValue):
        return _DECODED.get(value, store)
    if isinstance(value, list):
        return [_resolve(v, store) for v in value]
    if isinstance(value, tuple):
        return tuple(_resolve(v, store) for v in value)
    if isinstance(value, dict):
        return {k: _resolve(v, store) for k, v in value.items()}
    return value


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed % 2**32)


class _Capture(io.StringIO):
    """Captured output, keeping the last ``MAX_LOG_CHARS`` characters."""

    def text(self) -> str:
        value = self.getvalue()
        return value if len(value) <= MAX_LOG_CHARS else value[-MAX_LOG_CHARS:]


def run_task(spec: TaskSpec) -> TaskResult:
    """Execute one step; failures come back as a result, never as an exception."""
    from shipyard.services.pipelines.codec import encode_value

    start = int(time.time() * 1000)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    context = StepContext(
        node=spec.node, step=spec.step.name, seed=spec.seed, index=spec.index, fixed=spec.params
    )
    logs = _Capture()
    try:
        store = _store(spec.store_url, spec.storage_options)
        args = _resolve(spec.args, store)
        _seed_everything(spec.seed)
        with context, contextlib.redirect_stdout(logs), contextlib.redirect_stderr(logs):
            value = spec.step.fn(**args)
        owner = f"step {spec.node!r}"
        stored = encode_value(
            value, store, owner=owner, allow_pickle=spec.step.options.allow_pickle
        )
    except (Exception, SystemExit) as e:  # a step's failure is data for the pipeline
        error = (
            f"{type(e).__name__}: {e.message}"
            if isinstance(e, ShipyardError)
            else "".join(traceback.format_exception(e))
        )
        return TaskResult(
            node=spec.node,
            ok=False,
            start_ms=start,
            end_ms=int(time.time() * 1000),
            worker=worker,
            metrics=context.metrics,
            params=context.params,
            logs=logs.text(),
            error=error,
        )
    return TaskResult(
        node=spec.node,
        ok=True,
        start_ms=start,
        end_ms=int(time.time() * 1000),
        worker=worker,
        output=stored.to_dict(),
        metrics=context.metrics,
        params=context.params,
        logs=logs.text(),
    )


def run_pickled(payload: bytes) -> TaskResult:
    """``run_task`` on a cloudpickled spec: steps defined in a script or a notebook
    (``__main__``) travel by value to a process pool, as Dask and Ray ship them."""
    import cloudpickle

    return run_task(cloudpickle.loads(payload))
