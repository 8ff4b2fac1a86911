"""Compaction of prediction logs over a real local store: small files of closed hours and days
merged into one per partition, read back unchanged, and readers racing it see every row once."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shipyard.services.formats.prediction_compactor import PredictionLogCompactor
from shipyard.services.formats.prediction_manifest import read_manifest
from shipyard.services.formats.prediction_reader import PredictionLogReader
from shipyard.services.formats.predictions import parse_key
from shipyard.services.serving.predlog import LogRecord, PredictionLog
from shipyard.services.serving.stats import ServingStats
from shipyard.stores.blobs import ByteBackend, LocalBackend

DAY, HOUR = 86_400_000, 3_600_000
T0 = 1_718_000_000_000 // DAY * DAY  # 2024-06-10 00:00 UTC
COLUMNS = ("age", "income")
_REPLICAS = itertools.count()  # each replica has a name of its own


class HookedBackend:
    """A real local backend; ``on_open`` runs before a chosen open (to race a reader)."""

    def __init__(self, inner: ByteBackend) -> None:
        self.inner = inner
        self.opened: list[str] = []
        self.on_open: Any = None
        self.deletes = True

    @property
    def url(self) -> str:
        return self.inner.url

    def staging_dir(self) -> Path | None:
        return self.inner.staging_dir()

    def put_file(self, local_path: Path, key: str, *, move: bool = False) -> None:
        self.inner.put_file(local_path, key, move=move)

    def open_read(self, key: str) -> BinaryIO:
        self.opened.append(key)
        if self.on_open is not None:
            self.on_open(key)
        return self.inner.open_read(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def size(self, key: str) -> int:
        return self.inner.size(key)

    def delete(self, key: str) -> None:
        if self.deletes:
            self.inner.delete(key)

    def list(self, prefix: str) -> Iterator[str]:
        return self.inner.list(prefix)


def _record(model: str, version: int, time_ms: int, rid: str, proba: bool = False) -> LogRecord:
    x = np.array([[time_ms % 1000, 2.0], [1.0, 3.0]], dtype="float64")
    y = x.sum(axis=1)
    return LogRecord(
        rid, time_ms, model, version, "live", 1.0, COLUMNS, x, y, y / 10 if proba else None
    )


def _small_files(
    backend: Any, times: list[int], *, model: str = "churn", env: str = "prod"
) -> None:
    """One file per record, as a replica flushing every few seconds writes them."""
    log = PredictionLog(backend, f"r{next(_REPLICAS)}", ServingStats(), 1000, env=env)
    for i, t in enumerate(times):
        log.add(_record(model, 1, t, f"{model}-{env}-{i}", proba=i % 2 == 0))
        assert log.drain() == 2


def _ids(backend: Any, model: str = "churn", **kw: Any) -> list[tuple[str, int]]:
    batches = PredictionLogReader(backend).batches(model, columns=["_id", "_row"], **kw)
    table = pa.Table.from_batches(list(batches))
    return sorted(zip(table["_id"].to_pylist(), table["_row"].to_pylist(), strict=True))


def _names(backend: Any, model: str = "churn") -> list[str]:
    return sorted(k.rsplit("/", 1)[-1] for k in backend.list(f"predictions/model={model}/"))


@pytest.fixture
def backend(tmp_path: Path) -> HookedBackend:
    return HookedBackend(LocalBackend(tmp_path / "objects"))


def test_a_closed_day_becomes_one_file_per_partition_with_the_same_rows(
    backend: HookedBackend,
) -> None:
    times = [T0 + h * HOUR + m * 60_000 for h in range(0, 24, 3) for m in range(0, 60, 20)]
    _small_files(backend, times)
    _small_files(backend, times[:5], env="staging")
    before = _ids(backend)
    assert len(before) == 2 * (len(times) + 5) and len(_names(backend)) == len(times) + 5
    report = PredictionLogCompactor(backend, clock=lambda: T0 + 2 * DAY).run()
    assert (report.partitions, report.merged, report.files_in) == (2, 2, len(times) + 5)
    assert report.removed == len(times) + 5 and report.rows == len(before)
    names = _names(backend)
    assert len(names) == 2 and all("-compacted-day-" in n for n in names)
    backend.opened.clear()
    assert _ids(backend) == before  # same rows, none twice
    assert len(backend.opened) == 2 * 2  # each file's footer (its manifest), then its rows
    key = next(k for k in backend.list("predictions/") if "env=prod" in k)
    meta = pq.read_metadata(backend.inner.open_read(key)).metadata
    assert meta[b"shipyard.predlog.version"] == b"1"  # the format is kept
    assert meta[b"shipyard.predlog.replica"] == b"compactor"
    assert len(read_manifest(backend, key)) == len(times)
    table = pq.read_table(backend.inner.open_read(key))
    assert table["_proba"].null_count == len(times)  # the files without it: nulls
    again = PredictionLogCompactor(backend, clock=lambda: T0 + 2 * DAY).run()
    assert again.merged == 0 and again.removed == 0  # nothing left to do


def test_today_merges_closed_hours_then_the_day_and_late_files_join(
    backend: HookedBackend,
) -> None:
    times = [T0 + h * HOUR + m * 60_000 for h in (1, 2, 5) for m in range(0, 60, 10)]
    _small_files(backend, times)
    now = T0 + 5 * HOUR + 30 * 60_000  # hour 5 is still open
    report = PredictionLogCompactor(backend, grace_s=600, clock=lambda: now).run()
    assert report.merged == 2  # hours 1 and 2
    names = _names(backend)
    assert sum("-compacted-h01-" in n for n in names) == 1
    assert sum("-compacted-h02-" in n for n in names) == 1
    assert sum("compacted" not in n for n in names) == 6  # hour 5's small files
    _small_files(backend, [T0 + 1 * HOUR + 59 * 60_000])  # a replica flushed late
    assert PredictionLogCompactor(backend, clock=lambda: now).run().merged == 1
    assert sum("-compacted-h01-" in n for n in _names(backend)) == 1
    before = _ids(backend)
    assert len(before) == 2 * (len(times) + 1)
    day = PredictionLogCompactor(backend, clock=lambda: T0 + DAY + HOUR).run()
    assert day.merged == 1 and [n for n in _names(backend) if "compacted-day" in n]
    assert len(_names(backend)) == 1 and _ids(backend) == before
    (key,) = [k for k in backend.list("predictions/") if parse_key(k)]  # not the marker
    entries = read_manifest(backend, key)  # hourly files and, transitively, their sources
    assert sum("compacted-h" in name for name, _, _ in entries) >= 2
    assert len([e for e in entries if "compacted" not in e[0]]) == len(times) + 1


def test_a_reader_racing_the_compaction_sees_every_row_once(backend: HookedBackend) -> None:
    times = [T0 + h * HOUR for h in range(12)]
    _small_files(backend, times)
    expected = _ids(backend)
    compactor = PredictionLogCompactor(backend.inner, clock=lambda: T0 + 2 * DAY)
    opened_small: list[str] = []

    def compact_after_the_third_file(key: str) -> None:
        if "compacted" not in key:
            opened_small.append(key)
            if len(opened_small) == 4:  # three files read, the rest removed under the reader
                assert compactor.run().merged == 1

    backend.on_open = compact_after_the_third_file
    got = _ids(backend)
    assert got == expected  # no duplicate (the first three), no gap (the other nine)
    assert any("compacted-day" in k for k in backend.opened)


def test_an_interrupted_run_leaves_no_duplicates_and_the_next_run_tidies_up(
    backend: HookedBackend,
) -> None:
    _small_files(backend, [T0 + h * HOUR for h in range(6)])
    expected = _ids(backend)
    backend.deletes = False  # the compacted file is written, the small ones stay
    PredictionLogCompactor(backend, clock=lambda: T0 + 2 * DAY).run()
    backend.deletes = True
    assert len(_names(backend)) == 7
    backend.opened.clear()
    assert _ids(backend) == expected
    assert sum("compacted" not in k for k in backend.opened) == 0  # replaced: not read
    report = PredictionLogCompactor(backend, clock=lambda: T0 + 2 * DAY).run()
    assert report.removed == 6 and report.merged == 0 and len(_names(backend)) == 1


def test_a_file_of_a_newer_format_stops_its_partition_only(
    backend: HookedBackend, tmp_path: Path
) -> None:
    _small_files(backend, [T0 + HOUR, T0 + 2 * HOUR])
    _small_files(backend, [T0 + HOUR, T0 + 2 * HOUR], model="other")
    future = pa.table({"_time": pa.array([T0 + HOUR], pa.timestamp("ms", tz="UTC"))})
    staged = tmp_path / "future.parquet"
    pq.write_table(future.replace_schema_metadata({"shipyard.predlog.version": "2"}), staged)
    backend.put_file(
        staged, "predictions/model=churn/date=2024-06-10/env=prod/v1-r9-000001.parquet"
    )
    report = PredictionLogCompactor(backend, clock=lambda: T0 + 2 * DAY).run()
    assert report.failed == 1 and report.merged == 1  # "other" compacted, churn left alone
    assert len(_names(backend)) == 3 and len(_names(backend, "other")) == 1
    parsed = parse_key(next(iter(backend.list("predictions/model=other/"))))
    assert parsed is not None and parsed.compacted == "day" and parsed.replica == "compacted-day"


def test_a_lone_file_of_an_hour_or_day_is_left_as_it_is(backend: HookedBackend) -> None:
    _small_files(backend, [T0 + HOUR, T0 + 3 * HOUR])  # one file in each of two hours
    names = _names(backend)
    report = PredictionLogCompactor(backend, clock=lambda: T0 + 12 * HOUR).run()
    assert report.merged == 0 and _names(backend) == names
    _small_files(backend, [T0 + DAY + HOUR], model="other")  # a lone file of a closed day
    report = PredictionLogCompactor(backend).run(model="other")
    assert report.merged == 0 and len(_names(backend, "other")) == 1
