"""Prediction logs written by the real ``PredictionLog`` and read back: pruned by model,
version, environment and day before any file is opened, filtered by time, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shipyard.core.errors import ArtifactCorruptedError, StorageError, ValidationError
from shipyard.services.formats.prediction_reader import PredictionLogReader
from shipyard.services.formats.predictions import FORMAT_VERSION, parse_key
from shipyard.services.serving.predlog import LogRecord, PredictionLog
from shipyard.services.serving.stats import ServingStats
from shipyard.stores.blobs import ByteBackend, LocalBackend, open_content_store

DAY = 86_400_000
T0 = 1_718_000_000_000 // DAY * DAY  # a midnight, UTC (2024-06-10)
COLUMNS = ("age", "income")


class CountingBackend:
    """A real backend that remembers which keys were opened."""

    def __init__(self, inner: ByteBackend) -> None:
        self.inner = inner
        self.opened: list[str] = []

    @property
    def url(self) -> str:
        return self.inner.url

    def staging_dir(self) -> Path | None:
        return self.inner.staging_dir()

    def put_file(self, local_path: Path, key: str, *, move: bool = False) -> None:
        self.inner.put_file(local_path, key, move=move)

    def open_read(self, key: str) -> BinaryIO:
        self.opened.append(key)
        return self.inner.open_read(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def size(self, key: str) -> int:
        return self.inner.size(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def list(self, prefix: str) -> Iterator[str]:
        return self.inner.list(prefix)


def _record(model: str, version: int, time_ms: int, rows: int, rid: str) -> LogRecord:
    x = np.arange(rows * 2, dtype="float64").reshape(rows, 2) + time_ms % 1000
    return LogRecord(rid, time_ms, model, version, "live", 1.5, COLUMNS, x, x.sum(axis=1))


def _write_logs(backend: Any) -> None:
    """churn v1 and v2 in prod and staging over three days, and another model."""
    for env in ("prod", "staging"):
        log = PredictionLog(backend, f"r-{env}", ServingStats(), capacity=1000, env=env)
        for day in range(3):
            for hour in (1, 13):
                t = T0 + day * DAY + hour * 3_600_000
                log.add(_record("churn", 1, t, 4, f"{env}-{day}-{hour}-a"))
                log.add(_record("churn", 2, t + 1, 1, f"{env}-{day}-{hour}-b"))
                log.add(_record("other", 1, t, 2, f"{env}-{day}-{hour}-c"))
        assert log.drain() == 3 * 2 * (4 + 1 + 2)


@pytest.fixture
def backend(tmp_path: Path) -> CountingBackend:
    counting = CountingBackend(LocalBackend(tmp_path / "objects"))
    _write_logs(counting)
    return counting


def _rows(batches: Iterator[Any]) -> pa.Table:
    return pa.Table.from_batches(list(batches))


def test_the_files_carry_the_format_version_and_who_wrote_them(backend: CountingBackend) -> None:
    keys = sorted(backend.list("predictions/"))
    assert len(keys) == 2 * 3 * 3  # env x day x (model, version)
    key = next(k for k in keys if "model=churn" in k and "env=prod" in k and "/v2-" in k)
    assert key.startswith("predictions/model=churn/date=2024-06-10/env=prod/v2-r-prod-")
    with backend.open_read(key) as f:
        meta = pq.ParquetFile(f).metadata.metadata
    assert meta[b"shipyard.predlog.version"] == str(FORMAT_VERSION).encode() == b"1"
    assert meta[b"shipyard.predlog.model"] == b"churn"
    assert meta[b"shipyard.predlog.model_version"] == b"2"
    assert meta[b"shipyard.predlog.env"] == b"prod"
    assert meta[b"shipyard.predlog.replica"] == b"r-prod"
    parsed = parse_key(key)
    assert parsed is not None and (parsed.model, parsed.env, parsed.version) == ("churn", "prod", 2)


def test_only_the_files_of_the_model_version_env_and_days_asked_are_opened(
    backend: CountingBackend,
) -> None:
    reader = PredictionLogReader(backend)
    start, end = T0 + DAY + 12 * 3_600_000, T0 + 2 * DAY + 2 * 3_600_000  # day 1 13h, day 2 1h
    files = reader.files("churn", version=1, env="prod", start_ms=start, end_ms=end)
    assert [(f.day, f.env, f.version) for f in files] == [
        ("2024-06-11", "prod", 1),
        ("2024-06-12", "prod", 1),
    ]
    backend.opened.clear()
    table = _rows(reader.batches("churn", version=1, env="prod", start_ms=start, end_ms=end))
    assert sorted(backend.opened) == sorted(f.key for f in files)
    assert sorted(set(table["_id"].to_pylist())) == ["prod-1-13-a", "prod-2-1-a"]
    assert table.num_rows == 8
    assert set(table["_env"].to_pylist()) == {"prod"} and set(table["_version"].to_pylist()) == {1}


def test_the_time_window_is_start_inclusive_end_exclusive(backend: CountingBackend) -> None:
    reader = PredictionLogReader(backend)
    t = T0 + 13 * 3_600_000  # day 0, 13h: churn v1 at t, v2 at t + 1
    table = _rows(reader.batches("churn", env="staging", start_ms=t, end_ms=t + 1))
    assert table["_id"].to_pylist() == ["staging-0-13-a"] * 4
    times = table["_time"].cast(pa.int64()).to_pylist()
    assert set(times) == {t}
    later = _rows(reader.batches("churn", env="staging", start_ms=t + 1, end_ms=t + DAY))
    assert set(later["_id"].to_pylist()) == {"staging-0-13-b", "staging-1-1-a", "staging-1-1-b"}


def test_no_filter_reads_every_file_of_the_model_only(backend: CountingBackend) -> None:
    reader = PredictionLogReader(backend)
    backend.opened.clear()
    table = _rows(reader.batches("churn"))
    assert table.num_rows == 2 * 3 * 2 * (4 + 1)
    assert len(backend.opened) == 2 * 3 * 2 and all("model=churn/" in k for k in backend.opened)
    versions = _rows(reader.batches("churn", version=[2], env="staging"))
    assert versions.num_rows == 3 * 2 and set(versions["_version"].to_pylist()) == {2}


def test_batches_stream_with_bounded_rows_and_frames_pick_columns(
    backend: CountingBackend,
) -> None:
    reader = PredictionLogReader(backend, batch_size=3)
    batches = list(reader.batches("churn", version=1, env="prod"))
    assert max(b.num_rows for b in batches) <= 3 and sum(b.num_rows for b in batches) == 24
    frames = list(
        PredictionLogReader(backend).frames(
            "other", env="prod", columns=["_time", "age", "_prediction", "missing"]
        )
    )
    assert len(frames) == 3 and all(len(f) == 4 for f in frames)  # a file per day
    assert list(frames[0].columns) == ["_time", "age", "_prediction", "missing"]
    assert frames[0]["missing"].isna().all()
    assert (frames[0]["_prediction"] == frames[0]["age"] * 2 + 1).all()
    assert str(frames[0]["_time"].dt.tz) == "UTC"


def test_files_of_format_0_stay_readable(backend: CountingBackend, tmp_path: Path) -> None:
    """Written before the format was versioned: under date=, no _env, no metadata."""
    old = pa.table(
        {
            "age": [1.0, 2.0],
            "income": [2.0, 3.0],
            "_id": ["old", "old"],
            "_row": [0, 1],
            "_time": pa.array([T0 + 5, T0 + 5], pa.timestamp("ms", tz="UTC")),
            "_version": [1, 1],
            "_role": ["live", "live"],
            "_latency_ms": [1.0, 1.0],
            "_prediction": [3.0, 5.0],
        }
    )
    staged = tmp_path / "old.parquet"
    pq.write_table(old, staged)
    backend.put_file(staged, "predictions/model=churn/date=2024-06-10/v1-7-abc-000001.parquet")
    reader = PredictionLogReader(backend)
    table = _rows(reader.batches("churn", version=1, end_ms=T0 + DAY))
    olds = [i for i, v in enumerate(table["_id"].to_pylist()) if v == "old"]
    assert len(olds) == 2 and table["_env"][olds[0]].as_py() is None
    assert "old" not in _rows(reader.batches("churn", env="prod"))["_id"].to_pylist()


def test_a_newer_format_version_is_refused_with_a_clear_error(
    backend: CountingBackend, tmp_path: Path
) -> None:
    future = pa.table({"_time": pa.array([T0], pa.timestamp("ms", tz="UTC"))})
    future = future.replace_schema_metadata({"shipyard.predlog.version": "2"})
    staged = tmp_path / "future.parquet"
    pq.write_table(future, staged)
    key = "predictions/model=next/date=2024-06-10/env=prod/v1-r-000001.parquet"
    backend.put_file(staged, key)
    with pytest.raises(StorageError, match=r"format version 2.*upgrade Shipyard"):
        list(PredictionLogReader(backend).batches("next"))


def test_damaged_files_and_bad_arguments_are_clear_errors(
    backend: CountingBackend, tmp_path: Path
) -> None:
    staged = tmp_path / "junk.parquet"
    staged.write_bytes(b"not parquet at all")
    backend.put_file(staged, "predictions/model=junk/date=2024-06-10/env=prod/v1-r-000001.parquet")
    with pytest.raises(ArtifactCorruptedError, match="not a readable Parquet file"):
        list(PredictionLogReader(backend).batches("junk"))
    with pytest.raises(ValidationError, match="batch_size"):
        PredictionLogReader(backend, batch_size=0)
    reader = PredictionLogReader(backend)
    for model in ("", "../etc", "a/b"):
        with pytest.raises(ValidationError, match="model"):
            reader.files(model)
    with pytest.raises(ValidationError, match=r"end_ms .* is before start_ms"):
        reader.files("churn", start_ms=T0 + 1, end_ms=T0)
    assert reader.files("churn", start_ms=T0, end_ms=T0) == []


def test_prediction_logs_on_s3(s3_bucket: str, moto_endpoint: str) -> None:
    store = open_content_store(
        f"s3://{s3_bucket}/objects", {"client_kwargs": {"endpoint_url": moto_endpoint}}
    )
    backend = CountingBackend(store.backend)
    _write_logs(backend)
    reader = PredictionLogReader(backend, batch_size=2)
    backend.opened.clear()
    start, end = T0 + DAY, T0 + 2 * DAY
    batches = list(reader.batches("churn", version=2, env="staging", start_ms=start, end_ms=end))
    assert len(backend.opened) == 1 and "date=2024-06-11/env=staging/v2-" in backend.opened[0]
    assert sum(b.num_rows for b in batches) == 2 and all(b.num_rows <= 2 for b in batches)
    frame = pa.Table.from_batches(batches).to_pandas()
    assert sorted(frame["_id"]) == ["staging-1-1-b", "staging-1-13-b"]
