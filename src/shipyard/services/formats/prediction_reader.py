"""Read prediction logs back: streamed in record batches, pruned by model, version,
environment and time window before any file is opened.

>>> reader = PredictionLogReader(store.backend)
>>> for frame in reader.frames("churn", env="prod", start_ms=t0, end_ms=t1):
...     ...

Keys say a file's model, day, environment and version (``formats.predictions``): only the
files that can hold matching rows are opened; inside one, row groups whose ``_time``
statistics miss the window are skipped, and rows outside it are dropped. Memory stays bounded
by one batch (``batch_size`` rows) whatever the number and size of the files.

A serving replica leaves one file per flush (every few seconds: tens of thousands a day), and
a key says the file's day, not its hours. So the reader remembers the span of ``_time`` of
each file it has opened (from the row groups' statistics, ~100 bytes a file, at most
``MAX_SPANS`` files): a later window of the same day skips the files that end before it or
start after it without opening them. Log files are written once under a key of their own
(replica and sequence number) and never changed, so a remembered span stays true.

``monitor run`` reads each window more than once (log statistics with every column, then
drift and realized metrics with some of them): the reader keeps the batches of the last
bounded window read with every column (up to ``MAX_KEPT_BYTES``) and answers a later read of
the same window from them, as long as the same files match it. Files of format
0 have no environment: an ``env`` filter leaves them out, and their batches get a null
``_env`` column. The backend is any ``ByteBackend``: a local folder, or S3 through fsspec.

Compaction (``formats.prediction_compactor``) replaces small files with merged ones while
readers read: a listing keeps only the compacted file of files it replaces, and a file
removed after the listing is read from the compacted file holding its rows, less the rows
already read (``formats.prediction_manifest``), so a reader sees no row twice and none lost.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from shipyard.core.errors import ArtifactCorruptedError, NotFoundError, ValidationError
from shipyard.services.formats.prediction_manifest import Entry, replacement, resolve, sibling
from shipyard.services.formats.predictions import (
    LogFile,
    day_of,
    day_prefix,
    format_version,
    model_prefix,
    parse_key,
)
from shipyard.stores.blobs.base import ByteBackend

__all__ = ["LogFilter", "PredictionLogReader"]

MAX_DAY_LISTINGS = 14  # a longer window lists the model's whole folder once instead
MAX_SPANS = 1_000_000  # files whose time span is remembered (oldest forgotten first)
MAX_KEPT_BYTES = 256 * 2**20  # the last window's batches are kept when no larger
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # as model names are checked
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class LogFilter:
    """Which rows to read: ``versions`` None and ``env`` None mean all; the time window is
    ``[start_ms, end_ms)`` in milliseconds since the epoch, open where None."""

    model: str
    versions: frozenset[int] | None = None
    env: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None

    def days(self) -> list[str] | None:
        """The days of a bounded window short enough to list day by day, else None."""
        if self.start_ms is None or self.end_ms is None or self.end_ms <= self.start_ms:
            return None
        first = dt.date.fromisoformat(day_of(self.start_ms))
        last = dt.date.fromisoformat(day_of(self.end_ms - 1))
        if (last - first).days >= MAX_DAY_LISTINGS:
            return None
        return [(first + i * _DAY).isoformat() for i in range((last - first).days + 1)]

    def admits(self, f: LogFile) -> bool:
        """Whether the file's key allows matching rows (the day is checked, not the rows)."""
        if f.model != self.model or (self.versions is not None and f.version not in self.versions):
            return False
        if self.env is not None and f.env != self.env:
            return False
        first, last = self._day_range
        return (first is None or f.day >= first) and (last is None or f.day <= last)

    @functools.cached_property
    def _day_range(self) -> tuple[str | None, str | None]:
        """The first and last day of the window (None where open), worked out once."""
        first = None if self.start_ms is None else day_of(self.start_ms)
        return first, None if self.end_ms is None else day_of(self.end_ms - 1)


class PredictionLogReader:
    """Streams prediction logs out of a byte backend (``batch_size`` rows at most per batch)."""

    def __init__(self, backend: ByteBackend, *, batch_size: int = 65_536) -> None:
        if batch_size < 1:
            raise ValidationError(f"batch_size must be >= 1, got {batch_size}", field="batch_size")
        self.backend = backend
        self.batch_size = batch_size
        self._spans: dict[str, tuple[int, int] | None] = {}  # key -> (min, max) of _time
        self._lock = threading.Lock()  # jobs of the scheduler share one reader
        self._kept: tuple[LogFilter, tuple[str, ...], list[Any]] | None = None

    def files(
        self,
        model: str,
        *,
        version: int | Collection[int] | None = None,
        env: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[LogFile]:
        """The log files that may hold matching rows, by day then key; none is opened."""
        return self._files(_filter(model, version, env, start_ms, end_ms))

    def batches(
        self,
        model: str,
        *,
        version: int | Collection[int] | None = None,
        env: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> Iterator[Any]:
        """Matching rows as ``pyarrow.RecordBatch``es, file after file (oldest day first).

        ``columns`` picks and orders the columns; one a file lacks (an input of another
        signature) comes back as nulls."""
        wanted = _filter(model, version, env, start_ms, end_ms)
        listed, manifests = self._listing(wanted)
        files = [f for f in listed if not self._misses(f.key, wanted)]
        keys, picked = tuple(f.key for f in files), None if columns is None else list(columns)
        kept = self._kept
        if kept is not None and kept[0] == wanted and kept[1] == keys:
            yield from (_picked(batch, picked) for batch in kept[2])
            return
        keep = picked is None and wanted.start_ms is not None and wanted.end_ms is not None
        if keep:
            self._kept = None  # not held while the next window is read
        read, size = [], 0
        done: set[str] = set()  # keys whose rows were read (directly or in a compacted file)
        for f in files:
            if f.key in done:
                continue
            done.add(f.key)
            done.update(sibling(f, e[0]) for e in manifests.get(f.key, []))
            for batch in self._read_once(f, wanted, picked, done):
                if keep and size <= MAX_KEPT_BYTES:
                    read.append(batch)
                    size += batch.nbytes
                yield batch
        if keep and size <= MAX_KEPT_BYTES:  # keyed by the files left once spans are known
            left = tuple(f.key for f in files if not self._misses(f.key, wanted))
            self._kept = (wanted, left, read)

    def head(
        self,
        model: str,
        max_rows: int,
        *,
        version: int | Collection[int] | None = None,
        env: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> list[Any]:
        """The first ``max_rows`` matching rows (the stream is in time order) as batches;
        reading stops there, so memory stays bounded whatever the window holds."""
        out, taken = [], 0
        for batch in self.batches(
            model, version=version, env=env, start_ms=start_ms, end_ms=end_ms, columns=columns
        ):
            out.append(batch.slice(0, max_rows - taken))
            taken += out[-1].num_rows
            if taken >= max_rows:
                break
        return out

    def frames(
        self,
        model: str,
        *,
        version: int | Collection[int] | None = None,
        env: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> Iterator[Any]:
        """The same batches as pandas DataFrames."""
        window = {"start_ms": start_ms, "end_ms": end_ms}
        for batch in self.batches(model, version=version, env=env, columns=columns, **window):
            yield batch.to_pandas()

    def _files(self, wanted: LogFilter) -> list[LogFile]:
        return self._listing(wanted)[0]

    def _listing(self, wanted: LogFilter) -> tuple[list[LogFile], dict[str, list[Entry]]]:
        """The files to read (none a listed compacted file replaces) and the manifests of
        the compacted ones; listed again if a compacted file vanished meanwhile."""
        for _ in range(4):
            found = resolve(self.backend, self._listed(wanted))
            if found is not None:
                return found
        return self._listed(wanted), {}  # compaction keeps racing: read what is there

    def _listed(self, wanted: LogFilter) -> list[LogFile]:
        if wanted.start_ms is not None and wanted.start_ms == wanted.end_ms:
            return []  # an empty window
        days = wanted.days()
        prefixes = (
            [model_prefix(wanted.model)]
            if days is None
            else [day_prefix(wanted.model, d) for d in days]
        )
        found = [parse_key(key) for prefix in prefixes for key in self.backend.list(prefix)]
        kept = [f for f in found if f is not None and wanted.admits(f)]
        return sorted(kept, key=lambda f: (f.day, f.key))

    def _read_once(
        self, f: LogFile, wanted: LogFilter, columns: list[str] | None, done: set[str]
    ) -> Iterator[Any]:
        """``f``'s rows; if it was compacted away since the listing, the rows of the file that
        replaced it that were not read yet."""
        try:
            raw = self.backend.open_read(f.key)
        except NotFoundError:
            found = replacement(self.backend, f)
            if found is None:
                raise
            merged, entries = found
            if merged.key in done:
                return
            read = done - {f.key}
            skip = [(start, rows) for name, start, rows in entries if sibling(f, name) in read]
            done.update([merged.key, *(sibling(f, e[0]) for e in entries)])
            yield from self._read(merged, wanted, columns, self.backend.open_read(merged.key), skip)
            return
        yield from self._read(f, wanted, columns, raw)

    def _read(
        self,
        f: LogFile,
        wanted: LogFilter,
        columns: list[str] | None,
        raw: Any,
        skip: list[tuple[int, int]] | None = None,
    ) -> Iterator[Any]:
        """Read the opened file ``raw``; ``skip``: (first row, rows) ranges left out."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        where = f"{self.backend.url}/{f.key}"
        with raw:
            stream: Any = raw if raw.seekable() else io.BytesIO(raw.read())
            try:
                parquet = pq.ParquetFile(stream)
            except (pa.ArrowInvalid, OSError) as e:
                raise ArtifactCorruptedError(f"{where} is not a readable Parquet file") from e
            format_version(parquet.metadata.metadata, where)
            self._remember(f.key, _time_span(parquet))
            names = parquet.schema_arrow.names
            read = None if columns is None else [c for c in names if c in {*columns, "_time"}]
            groups = list(range(parquet.num_row_groups)) if skip else _row_groups(parquet, wanted)
            batches = parquet.iter_batches(
                batch_size=self.batch_size, row_groups=groups, columns=read, use_threads=False
            )
            offset = 0
            for batch in batches:
                offset += batch.num_rows
                if skip:
                    batch = _without(batch, offset - batch.num_rows, skip)
                batch = _in_window(batch, wanted)
                if batch.num_rows:
                    yield _shaped(batch, f, columns)

    def _misses(self, key: str, wanted: LogFilter) -> bool:
        """Whether the remembered time span of a file lies outside the window."""
        span = self._spans.get(key)
        if span is None:
            return False
        low, high = span
        if wanted.end_ms is not None and low >= wanted.end_ms:
            return True
        return wanted.start_ms is not None and high < wanted.start_ms

    def _remember(self, key: str, span: tuple[int, int] | None) -> None:
        with self._lock:
            if key in self._spans:
                return
            while len(self._spans) >= MAX_SPANS:
                del self._spans[next(iter(self._spans))]
            self._spans[key] = span


def _filter(
    model: str,
    version: int | Collection[int] | None,
    env: str | None,
    start_ms: int | None,
    end_ms: int | None,
) -> LogFilter:
    if not isinstance(model, str) or not _MODEL.fullmatch(model):
        raise ValidationError(f"model must be a model name, got {model!r}", field="model")
    if start_ms is not None and end_ms is not None and end_ms < start_ms:
        raise ValidationError(
            f"end_ms ({end_ms}) is before start_ms ({start_ms}); the window is [start, end)",
            field="end_ms",
        )
    if version is None:
        return LogFilter(model, None, env, start_ms, end_ms)
    versions = frozenset([version] if isinstance(version, int) else version)
    return LogFilter(model, versions, env, start_ms, end_ms)


def _row_groups(parquet: Any, wanted: LogFilter) -> list[int]:
    """The row groups whose ``_time`` statistics overlap the window (all when unknown)."""
    every = list(range(parquet.num_row_groups))
    schema = parquet.schema_arrow
    if (wanted.start_ms is None and wanted.end_ms is None) or "_time" not in schema.names:
        return every
    if getattr(schema.field("_time").type, "unit", None) != "ms":
        return every
    at = parquet.schema_arrow.get_field_index("_time")
    kept = []
    for i in every:
        stats = parquet.metadata.row_group(i).column(at).statistics
        if stats is None or not stats.has_min_max:
            kept.append(i)
            continue
        low, high = stats.min_raw, stats.max_raw
        if wanted.end_ms is not None and low >= wanted.end_ms:
            continue
        if wanted.start_ms is not None and high < wanted.start_ms:
            continue
        kept.append(i)
    return kept


def _time_span(parquet: Any) -> tuple[int, int] | None:
    """The smallest and largest ``_time`` (ms) of a file by its row groups' statistics;
    None when a row group has none (or ``_time`` is not in milliseconds)."""
    schema = parquet.schema_arrow
    if "_time" not in schema.names or getattr(schema.field("_time").type, "unit", None) != "ms":
        return None
    at = schema.get_field_index("_time")
    lows, highs = [], []
    for i in range(parquet.num_row_groups):
        stats = parquet.metadata.row_group(i).column(at).statistics
        if stats is None or not stats.has_min_max:
            return None
        lows.append(stats.min_raw)
        highs.append(stats.max_raw)
    return (min(lows), max(highs)) if lows else None


def _without(batch: Any, first: int, skip: list[tuple[int, int]]) -> Any:
    """``batch`` (rows ``first``.. of its file) less the rows in the ``skip`` ranges."""
    import numpy as np
    import pyarrow as pa

    rows = np.arange(first, first + batch.num_rows)
    keep = np.ones(batch.num_rows, dtype=bool)
    for start, count in skip:
        keep &= (rows < start) | (rows >= start + count)
    return batch.filter(pa.array(keep))


def _in_window(batch: Any, wanted: LogFilter) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    time = batch.column("_time").cast(pa.int64())  # milliseconds since the epoch
    keep = []
    if wanted.start_ms is not None:
        keep.append(pc.greater_equal(time, wanted.start_ms))
    if wanted.end_ms is not None:
        keep.append(pc.less(time, wanted.end_ms))
    if not keep:
        return batch
    return batch.filter(keep[0] if len(keep) == 1 else pc.and_(*keep))


def _shaped(batch: Any, f: LogFile, columns: list[str] | None) -> Any:
    """``_env`` for format-0 files, then the columns asked for, in order (nulls if absent)."""
    import pyarrow as pa

    if "_env" not in batch.schema.names:
        env = pa.repeat(f.env, batch.num_rows) if f.env else pa.nulls(batch.num_rows, pa.string())
        batch = pa.RecordBatch.from_arrays([*batch.columns, env], [*batch.schema.names, "_env"])
    return _picked(batch, columns)


def _picked(batch: Any, columns: list[str] | None) -> Any:
    """The columns asked for, in order (nulls where the batch has none); all when None."""
    import pyarrow as pa

    if columns is None:
        return batch
    names = batch.schema.names
    arrays = [batch.column(c) if c in names else pa.nulls(batch.num_rows) for c in columns]
    return pa.RecordBatch.from_arrays(arrays, columns)
