"""Compaction is idempotent and skips what did not change: a second run over the same files
opens no log file; a new file, or an hour closing, brings its partition (only) back; a lost,
corrupt or newer-format marker costs a full pass, never a wrong one. Real files, real Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.services.formats.compaction_marker import MARKER_KEY
from shipyard.services.formats.prediction_compactor import PredictionLogCompactor
from shipyard.services.formats.predictions import parse_key
from shipyard.stores.blobs import LocalBackend
from tests.services.formats.test_prediction_compactor import (
    DAY,
    HOUR,
    T0,
    HookedBackend,
    _ids,
    _names,
    _small_files,
)

NOW = T0 + 5 * HOUR + 30 * 60_000  # 05:30: hours 0-4 closed (with the 10 min grace), 5 open


@pytest.fixture
def backend(tmp_path: Path) -> HookedBackend:
    return HookedBackend(LocalBackend(tmp_path / "objects"))


def _log_opens(backend: HookedBackend) -> list[str]:
    return [k for k in backend.opened if parse_key(k) is not None]


def _today(backend: HookedBackend) -> None:
    """Three files in each of hours 1 and 5 of churn/prod, two in hour 1 of churn/staging."""
    _small_files(backend, [T0 + HOUR + m * 60_000 for m in (1, 2, 3)])
    _small_files(backend, [T0 + 5 * HOUR + m * 60_000 for m in (1, 2, 3)])
    _small_files(backend, [T0 + HOUR + m * 60_000 for m in (1, 2)], env="staging")


def _run(backend: HookedBackend, now: int, **kw: str):  # type: ignore[no-untyped-def]
    backend.opened.clear()
    return PredictionLogCompactor(backend, clock=lambda: now).run(**kw)


def test_a_second_run_with_nothing_new_opens_no_log_file(backend: HookedBackend) -> None:
    _today(backend)
    rows, files = _ids(backend), len(_names(backend))
    first = _run(backend, NOW)
    assert first.partitions == 2 and first.skipped == 0 and first.merged == 2
    assert (first.files_before, first.files_after) == (files, files - 5 + 2)
    assert _log_opens(backend)  # the first run had to read the small files
    names = _names(backend)
    again = _run(backend, NOW + 60_000)
    assert again.partitions == 2 and again.skipped == 2
    assert again.merged == again.removed == again.rows == 0
    assert _log_opens(backend) == [] and backend.opened == [MARKER_KEY]
    assert (again.files_before, again.files_after) == (first.files_after, first.files_after)
    assert _names(backend) == names and _ids(backend) == rows


def test_a_new_file_brings_back_its_partition_only(backend: HookedBackend) -> None:
    _today(backend)
    _run(backend, NOW)
    _small_files(backend, [T0 + 5 * HOUR + 20 * 60_000])  # prod's open hour, one more file
    report = _run(backend, NOW + 60_000)
    assert report.skipped == 1 and report.merged == 0  # staging untouched; hour 5 still open
    assert all("env=prod" in k for k in _log_opens(backend))
    assert _run(backend, NOW + 2 * 60_000).skipped == 2  # and now it is known


def test_an_hour_closing_brings_its_partition_back_without_new_files(
    backend: HookedBackend,
) -> None:
    _today(backend)
    rows = _ids(backend)
    _run(backend, NOW)
    later = T0 + 6 * HOUR + 11 * 60_000  # hour 5 closed (grace 10 min)
    report = _run(backend, later)
    assert report.skipped == 1 and report.merged == 1 and report.files_in == 3
    assert sum("-compacted-h05-" in n for n in _names(backend)) == 1
    assert _run(backend, later + 60_000).skipped == 2
    day = _run(backend, T0 + DAY + HOUR)  # the day closes: each partition into one file
    assert day.skipped == 0 and day.merged == 1  # staging's one hourly file already is one
    assert len(_names(backend)) == 2 and _ids(backend) == rows
    assert _run(backend, T0 + 3 * DAY).skipped == 2 and _log_opens(backend) == []


def test_model_and_env_scopes(backend: HookedBackend) -> None:
    _today(backend)
    _small_files(backend, [T0 + HOUR + m * 60_000 for m in (1, 2)], model="fraud")
    report = _run(backend, NOW, env="staging")
    assert report.partitions == 1 and report.merged == 1
    assert all("env=staging" in k for k in _log_opens(backend))
    report = _run(backend, NOW, model="fraud")
    assert report.partitions == 1 and report.merged == 1
    report = _run(backend, NOW)  # the scoped runs' marks hold for the full run
    assert report.partitions == 3 and report.skipped == 2 and report.merged == 1


def test_a_lost_corrupt_or_newer_marker_costs_a_full_pass(
    backend: HookedBackend, tmp_path: Path
) -> None:
    _today(backend)
    _run(backend, NOW)
    rows, names = _ids(backend), _names(backend)
    marker = json.loads(backend.inner.open_read(MARKER_KEY).read())
    assert marker["version"] == 1 and len(marker["partitions"]) == 2
    for body in ("{not json", json.dumps({**marker, "version": 99}), "[]"):
        staged = tmp_path / "marker.json"
        staged.write_text(body)
        backend.put_file(staged, MARKER_KEY)
        report = _run(backend, NOW + 60_000)
        assert report.skipped == 0 and report.merged == 0 and report.failed == 0
        assert _names(backend) == names and _ids(backend) == rows
    backend.delete(MARKER_KEY)
    assert _run(backend, NOW + 60_000).skipped == 0
    assert _run(backend, NOW + 60_000).skipped == 2


def test_a_failed_partition_is_not_marked(backend: HookedBackend, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    _today(backend)
    future = pa.table({"_time": pa.array([T0 + HOUR], pa.timestamp("ms", tz="UTC"))})
    staged = tmp_path / "future.parquet"
    pq.write_table(future.replace_schema_metadata({"shipyard.predlog.version": "2"}), staged)
    backend.put_file(
        staged, "predictions/model=churn/date=2024-06-10/env=prod/v1-r9-000001.parquet"
    )
    first = _run(backend, NOW)
    assert first.failed == 1 and first.merged == 1  # staging merged, prod refused
    again = _run(backend, NOW + 60_000)
    assert again.failed == 1 and again.skipped == 1  # prod tried again, not skipped
