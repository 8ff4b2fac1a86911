"""Read prediction logs back: streamed in record batches, pruned by model, version,
environment and time window before any file is opened.

>>> reader = PredictionLogReader(store.backend)
>>> for frame in reader.frames("churn", env="prod", start_ms=t0, end_ms=t1):
...     ...

Keys say a file's model, day, environment and version (``formats.predictions``): only the
files that can hold matching rows are opened; inside one, row groups whose ``_time``
statistics miss the window are skipped, and rows outside it are dropped. Memory stays bounded
by one batch (``batch_size`` rows) whatever the number and size of the files. Files of format
0 have no environment: an ``env`` filter leaves them out, and their batches get a null
``_env`` column. The backend is any ``ByteBackend``: a local folder, or S3 through fsspec.

Compaction (``formats.prediction_compactor``) replaces small files with merged ones while
readers read: a listing keeps only the compacted file of files it replaces, and a file
removed after the listing is read from the compacted file holding its rows, less the rows
already read (``formats.prediction_manifest``), so a reader sees no row twice and none lost.
"""

from __future__ import annotations

import datetime as dt
import io
import re
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
        if self.start_ms is not None and f.day < day_of(self.start_ms):
            return False
        return self.end_ms is None or f.day <= day_of(self.end_ms - 1)


class PredictionLogReader:
    """Streams prediction logs out of a byte backend (``batch_size`` rows at most per batch)."""

    def __init__(self, backend: ByteBackend, *, batch_size: int = 65_536) -> None:
        if batch_size < 1:
            raise ValidationError(f"batch_size must be >= 1, got {batch_size}", field="batch_size")
        self.backend = backend
        self.batch_size = batch_size

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
        files, manifests = self._listing(wanted)
        done: set[str] = set()  # keys whose rows were read (directly or in a compacted file)
        for f in files:
            if f.key in done:
                continue
            done.add(f.key)
            done.update(sibling(f, e[0]) for e in manifests.get(f.key, []))
            picked = list(columns) if columns is not None else None
            yield from self._read_once(f, wanted, picked, done)

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
            raw = self.backend.open_read(merged.key)
            f = merged
            yield from self._read(f, wanted, columns, raw, skip)
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
    if columns is None:
        return batch
    names = batch.schema.names
    arrays = [batch.column(c) if c in names else pa.nulls(batch.num_rows) for c in columns]
    return pa.RecordBatch.from_arrays(arrays, columns)
