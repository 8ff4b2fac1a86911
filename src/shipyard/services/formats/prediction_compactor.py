"""Compaction of prediction logs: a model's small files of a closed hour, then of a closed day,
merged into one file per partition (model, day, environment, version).

Serving replicas write many small files when traffic spreads over many models; monitoring
reads a model's day at a time. A job (``predlog-compact``, once across replicas) runs
``PredictionLogCompactor.run``: for every partition, the files of each hour that ended more
than ``grace_s`` ago merge into ``…-compacted-hNN-…``, and once the day is that far behind,
all its files merge into ``…-compacted-day-…`` — at most 24 hourly files plus the last hour's
small ones for today, one file for any earlier day (a lone file is left as it is: it already
is one file for its hour or day). Late files (a replica that flushed after
a run) merge with the compacted file on the next run.

Each merge writes the new file first (atomically, with the manifest of every file whose rows
it holds) and only then removes the files it replaces, so a reader sees either the old files
or the new one, and a reader racing the removal finds the rows in the new file
(``formats.prediction_manifest``). A run that stops in between leaves files the manifest
covers: readers skip them and the next run removes them. The format version is kept: the
merged file is format 1 with the sources' metadata, written by replica ``compactor``.

A partition whose files are those the last complete pass left, before its next hour closes,
is skipped without opening anything (``formats.compaction_marker``): a run with nothing new
only lists the keys and reads the marker.
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import NotFoundError, ShipyardError
from shipyard.services.formats.compaction_marker import CompactionMarker, partition_id
from shipyard.services.formats.prediction_manifest import manifest_of, read_manifest, sibling
from shipyard.services.formats.predictions import (
    DAY_MS,
    HOUR_MS,
    METADATA_PREFIX,
    PREFIX,
    SOURCES_KEY,
    LogFile,
    compacted_key,
    format_version,
    parse_key,
)
from shipyard.services.formats.tables import read_parquet_bytes
from shipyard.stores.blobs.base import ByteBackend

__all__ = ["CompactionReport", "PredictionLogCompactor"]

log = logging.getLogger("shipyard.predlog")
Partition = tuple[str, str, str | None, int]


@dataclass
class CompactionReport:
    """What one run did."""

    partitions: int = 0  # partitions looked at
    skipped: int = 0  # of them, unchanged since the last run: nothing opened
    files_before: int = 0  # log files in the partitions looked at, before the run
    files_after: int = 0  # and after it
    merged: int = 0  # compacted files written
    files_in: int = 0  # files merged into them
    removed: int = 0  # files removed (merged, or left over by an interrupted run)
    rows: int = 0  # rows rewritten
    failed: int = 0  # partitions skipped because of an error (logged)
    seconds: float = 0.0


class PredictionLogCompactor:
    """Merges the small prediction-log files of closed hours and days in ``backend``."""

    def __init__(
        self,
        backend: ByteBackend,
        *,
        grace_s: float = 600.0,
        row_group_rows: int = 65_536,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.backend = backend
        self.grace_ms = int(grace_s * 1000)
        self.row_group_rows = row_group_rows
        self.clock = clock

    def run(
        self,
        model: str | None = None,
        *,
        env: str | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> CompactionReport:
        """One pass over every partition (of ``model`` and of ``env`` only, when given);
        ``on_progress(1, partitions)`` after each partition."""
        started, now = time.perf_counter(), self.clock()
        report = CompactionReport()
        partitions = self._partitions(model, env)
        marker = CompactionMarker(self.backend)
        for partition, files in sorted(partitions.items(), key=lambda p: str(p[0])):
            report.partitions += 1
            report.files_before += len(files)
            pid = partition_id(partition)
            if marker.unchanged(pid, (f.key for f in files), now):
                report.skipped += 1
                report.files_after += len(files)
            else:
                self._partition_once(pid, files, now, report, marker)
            if on_progress is not None:
                on_progress(1, len(partitions))
        marker.prune({partition_id(p) for p in partitions}, model, env)
        try:
            marker.save()
        except (ShipyardError, OSError) as e:  # a cache: the next run does a full pass
            log.warning("cannot write the compaction marker: %s", e)
        report.seconds = time.perf_counter() - started
        return report

    def _partitions(self, model: str | None, env: str | None) -> dict[Partition, list[LogFile]]:
        prefix = f"{PREFIX}/model={model}/" if model else f"{PREFIX}/"
        partitions: dict[Partition, list[LogFile]] = {}
        for key in self.backend.list(prefix):
            f = parse_key(key)
            if f is None or f.env is None:  # format-0 files stay as they are
                continue
            if (model is None or f.model == model) and (env is None or f.env == env):
                partitions.setdefault(f.partition, []).append(f)
        return partitions

    def _partition_once(
        self,
        pid: str,
        files: list[LogFile],
        now: int,
        report: CompactionReport,
        marker: CompactionMarker,
    ) -> None:
        """A full pass over one partition; what it left goes into the marker."""
        keys = {f.key for f in files}
        try:
            due = self._partition(files, now, report, keys)
        except (ShipyardError, OSError, ValueError) as e:
            report.failed += 1
            marker.forget(pid)
            log.warning("cannot compact %s: %s", files[0].key.rsplit("/", 1)[0], e)
            report.files_after += len(keys)
            return
        report.files_after += len(keys)
        marker.record(pid, keys, due)

    def _partition(
        self, files: list[LogFile], now: int, report: CompactionReport, keys: set[str]
    ) -> int | None:
        """Merge what is closed; ``keys`` becomes the partition's keys after the pass. The
        time at which time alone gives the partition work (None: never)."""
        files = self._without_leftovers(files, report, keys)
        if not files:
            return None
        day_start = _day_start(files[0].day)
        day_end = day_start + DAY_MS + self.grace_ms
        if day_end <= now:
            if len(files) > 1:  # one file already is one file per partition
                self._merge(files, "day", now, report, keys)
            return None
        hours: dict[int, list[LogFile]] = {}
        for f in files:
            hours.setdefault(self._hour(f, day_start), []).append(f)
        due = day_end
        for hour, group in sorted(hours.items()):
            closes = day_start + (hour + 1) * HOUR_MS + self.grace_ms
            if closes > now:
                due = min(due, closes)
            elif len(group) > 1:
                self._merge(group, f"h{hour:02d}", now, report, keys)
        return due

    def _without_leftovers(
        self, files: list[LogFile], report: CompactionReport, keys: set[str]
    ) -> list[LogFile]:
        """Remove the files a compacted one replaces (left by a run that stopped)."""
        covered: set[str] = set()
        for f in files:
            if f.compacted is not None:
                covered.update(sibling(f, e[0]) for e in read_manifest(self.backend, f.key))
        for f in files:
            if f.key in covered:
                self._delete(f.key, report)
                keys.discard(f.key)
        return [f for f in files if f.key not in covered]

    def _hour(self, f: LogFile, day_start: int) -> int:
        """The hour of the day a file's rows belong to (its first row's, for old files
        that span hours: they merge into that hour's file, harmlessly)."""
        if f.compacted is not None and f.compacted.startswith("h"):
            return int(f.compacted[1:])
        import pyarrow.parquet as pq

        with self.backend.open_read(f.key) as raw:
            stream: Any = raw if raw.seekable() else io.BytesIO(raw.read())
            first = pq.ParquetFile(stream).read_row_group(0, columns=["_time"])["_time"][0]
        first_ms = int(first.cast("int64").as_py()) if first.is_valid else day_start
        return min(23, max(0, (first_ms - day_start) // HOUR_MS))

    def _merge(
        self, files: list[LogFile], tag: str, now: int, report: CompactionReport, keys: set[str]
    ) -> None:
        """Write the rows of ``files`` as one compacted file, then remove them."""
        first = files[0]
        sources = {f.key for f in files}
        key = ""
        while not key or key in sources:  # never the name of a file it replaces
            key = compacted_key(
                model=first.model, day=first.day, env=first.env or "", version=first.version,
                tag=tag, now_ms=now,
            )  # fmt: skip
            now += 1
        files = sorted(files, key=lambda f: f.key)
        footers = [self._footer(f) for f in files]  # every schema first: the writer needs one
        schema = _schema([schema for schema, _ in footers])
        staging = self.backend.staging_dir()
        with tempfile.NamedTemporaryFile(dir=staging, suffix=".parquet", delete=False) as fh:
            path = Path(fh.name)
            try:
                rows = self._write(fh, schema, files, [m for _, m in footers])
            except BaseException:
                path.unlink(missing_ok=True)
                raise
        self.backend.put_file(path, key, move=True)
        keys.add(key)
        report.merged += 1
        report.files_in += len(files)
        report.rows += rows
        for f in files:
            self._delete(f.key, report)
            keys.discard(f.key)

    def _write(self, out: Any, schema: Any, files: list[LogFile], manifests: list[Any]) -> int:
        """Stream ``files`` into ``out`` in row groups of ``row_group_rows``; their rows."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        entries: list[list[Any]] = []
        rows = 0
        with pq.ParquetWriter(out, schema, compression="zstd") as writer:
            pending: list[Any] = []
            for f, manifest in zip(files, manifests, strict=True):
                with self.backend.open_read(f.key) as raw:
                    table = read_parquet_bytes(raw.read())
                entries.append([f.name, rows, table.num_rows])
                entries.extend([name, rows + start, n] for name, start, n in manifest)
                rows += table.num_rows
                pending.append(_aligned(table, schema))
                if sum(t.num_rows for t in pending) >= self.row_group_rows:
                    writer.write_table(pa.concat_tables(pending), self.row_group_rows)
                    pending = []
            if pending:
                writer.write_table(pa.concat_tables(pending), self.row_group_rows)
            writer.add_key_value_metadata({SOURCES_KEY: json.dumps(entries)})
        return rows

    def _footer(self, f: LogFile) -> tuple[Any, list[Any]]:
        """A file's schema and manifest, from its footer; a newer format is refused."""
        import pyarrow.parquet as pq

        where = f"{self.backend.url}/{f.key}"
        with self.backend.open_read(f.key) as raw:
            stream: Any = raw if raw.seekable() else io.BytesIO(raw.read())
            footer = pq.read_metadata(stream)
        metadata = footer.metadata  # the file's key-value metadata (the manifest is there)
        format_version(metadata, where)
        return footer.schema.to_arrow_schema(), manifest_of(metadata, where)

    def _delete(self, key: str, report: CompactionReport) -> None:
        try:
            self.backend.delete(key)
            report.removed += 1
        except NotFoundError:
            pass  # removed already (another run, or retention)


def _day_start(day: str) -> int:
    import datetime as dt

    start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    return int(start.timestamp() * 1000)


def _schema(schemas: list[Any]) -> Any:
    """The union of the files' columns (``_proba`` may be in some only), with the first
    file's format metadata, written by ``compactor`` (the manifest is added at the end)."""
    import pyarrow as pa

    union = pa.unify_schemas([s.remove_metadata() for s in schemas], promote_options="permissive")
    metadata = dict(schemas[0].metadata or {})
    metadata.pop(SOURCES_KEY.encode(), None)
    metadata[f"{METADATA_PREFIX}replica".encode()] = b"compactor"
    return union.with_metadata(metadata)


def _aligned(table: Any, schema: Any) -> Any:
    """``table`` with ``schema``'s columns in its order (nulls for those it lacks)."""
    import pyarrow as pa

    names = table.schema.names
    arrays = [
        table[f.name].cast(f.type) if f.name in names else pa.nulls(len(table), f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)
