"""Prediction logs: every answered row, written asynchronously to Parquet in the object store.

Requests only append to a bounded in-memory queue (never wait on I/O); when it is full the
log is dropped and counted. A writer thread drains it every few seconds into buffers, one per
model version and day, and writes a buffer as one file once it holds ``max_rows`` rows or
its oldest row is ``max_age_s`` old (and everything at shutdown): traffic spread over many
models makes fewer, larger files than one file per model per drain. Files are in the format
of ``services.formats.predictions`` (which says where the files are and what they hold; a
binary classifier's rows also carry ``_proba``); a job merges the small files of closed hours
and days (``formats.prediction_compactor``). Monitoring reads them with
``formats.prediction_reader``.
"""

from __future__ import annotations

import io
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from shipyard.services.formats.predictions import DAY_MS, day_of, file_key, log_table
from shipyard.services.serving.stats import ServingStats

__all__ = ["LogRecord", "PredictionLog"]


class LogRecord(NamedTuple):
    request_id: str
    time_ms: int
    model: str
    version: int
    role: str
    latency_ms: float
    columns: tuple[str, ...]
    inputs: Any  # a matrix or a DataFrame
    outputs: Any  # 1-d array
    proba: Any = None  # 1-d float array: a binary classifier's positive-class probabilities


class PredictionLog:
    """The log of one replica serving environment ``env``."""

    def __init__(
        self,
        backend: Any,
        replica: str,
        stats: ServingStats,
        capacity: int,
        *,
        env: str,
        max_rows: int = 20_000,
        max_age_s: float = 300.0,
    ) -> None:
        self.backend = backend
        self.replica = replica
        self.env = env
        self.stats = stats
        self.capacity = capacity  # records queued and buffered, at most
        self.max_rows = max(1, max_rows)
        self.max_age_s = max_age_s
        self.queue: deque[LogRecord] = deque()
        self.buffers: dict[tuple[str, int, int], _Buffer] = {}  # the writer thread's
        self.held = 0  # records in buffers
        self.seq = 0
        self.files = 0

    def add(self, record: LogRecord) -> None:
        """Never blocks: a full queue drops the record and counts it."""
        if len(self.queue) + self.held >= self.capacity:
            self.stats.logs_dropped += len(record.outputs)
            return
        self.queue.append(record)

    def drain(self, final: bool = True, eager: Callable[[str], bool] | None = None) -> int:
        """Move what is queued into the buffers, then write the buffers that are due (all of
        them when ``final``, or when they hold half the capacity; those of the models
        ``eager`` names at every call: a canary's logs are judged as they come); returns
        the rows written."""
        while self.queue:
            r = self.queue.popleft()
            key = (r.model, r.version, r.time_ms // DAY_MS)
            found = self.buffers.get(key)
            if found is None:
                found = self.buffers[key] = _Buffer(time.monotonic())
            found.records.append(r)
            found.rows += len(r.outputs)
            self.held += 1
        final = final or self.held * 2 >= self.capacity
        oldest = time.monotonic() - self.max_age_s
        written = 0
        for key, buffer in list(self.buffers.items()):
            due = buffer.rows >= self.max_rows or buffer.since <= oldest
            if final or due or (eager is not None and eager(key[0])):
                model, version, day_index = key
                day = day_of(day_index * DAY_MS)
                written += self._write(model, version, day, buffer.records)
                del self.buffers[key]
                self.held -= len(buffer.records)
        self.stats.logs_written += written
        return written

    def _write(self, model: str, version: int, day: str, group: list[LogRecord]) -> int:
        import pyarrow.parquet as pq

        env, replica = self.env, self.replica
        table = log_table(_columns(group), model=model, version=version, env=env, replica=replica)
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        self.seq += 1
        key = file_key(
            model=model, day=day, env=env, version=version, replica=replica, seq=self.seq
        )
        staging = self.backend.staging_dir()
        with tempfile.NamedTemporaryFile(dir=staging, suffix=".parquet", delete=False) as fh:
            fh.write(buf.getvalue())
        self.backend.put_file(Path(fh.name), key, move=True)
        self.files += 1
        return table.num_rows


class _Buffer:
    """The records of one model version and day waiting to be written together."""

    __slots__ = ("records", "rows", "since")

    def __init__(self, since: float) -> None:
        self.records: list[LogRecord] = []
        self.rows = 0
        self.since = since


def _columns(group: list[LogRecord]) -> Iterator[tuple[str, Any]]:
    import numpy as np

    sizes = [len(r.outputs) for r in group]
    columns = group[0].columns
    if isinstance(group[0].inputs, np.ndarray):
        matrix = np.concatenate([r.inputs for r in group])
        yield from ((c, matrix[:, j]) for j, c in enumerate(columns))
    else:
        import pandas as pd

        frame = pd.concat([r.inputs for r in group], ignore_index=True)
        yield from ((c, frame[c].to_numpy()) for c in columns)
    yield "_id", np.repeat(np.array([r.request_id for r in group], dtype=object), sizes)
    starts = np.cumsum(sizes) - sizes
    yield "_row", np.arange(sum(sizes)) - np.repeat(starts, sizes)
    times = np.array([r.time_ms for r in group], dtype="datetime64[ms]")
    yield "_time", np.repeat(times, sizes)
    yield "_version", np.repeat(np.array([r.version for r in group]), sizes)
    yield "_role", np.repeat(np.array([r.role for r in group], dtype=object), sizes)
    yield "_latency_ms", np.repeat(np.array([r.latency_ms for r in group]), sizes)
    yield "_prediction", np.concatenate([np.asarray(r.outputs) for r in group])
    if any(r.proba is not None for r in group):
        yield "_proba", np.concatenate([_proba(r) for r in group])


def _proba(r: LogRecord) -> Any:
    import numpy as np

    if r.proba is None:  # cannot happen within one version; kept as unknown if it does
        return np.full(len(r.outputs), np.nan)
    return np.asarray(r.proba, dtype=np.float64)
