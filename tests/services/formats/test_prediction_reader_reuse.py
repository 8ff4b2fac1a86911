"""What the prediction-log reader reuses between reads: the ``_time`` span of each file it
opened (a later window of the same day skips the files outside it unopened), and the batches
of the last window read with every column (a read of the same window with fewer columns is
answered from them, unless a file of that window arrived in between)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from shipyard.services.formats import prediction_reader
from shipyard.services.formats.prediction_reader import PredictionLogReader
from shipyard.services.serving.predlog import LogRecord, PredictionLog
from shipyard.services.serving.stats import ServingStats
from shipyard.stores.blobs import LocalBackend
from tests.services.formats.test_prediction_reader import CountingBackend

HOUR = 3_600_000
T0 = 1_718_000_000_000 // 86_400_000 * 86_400_000  # a midnight, UTC
COLUMNS = ("age", "income")


def _flush(log: PredictionLog, hour: int, rows: int, start: float) -> None:
    """One flush of ``log``: one request of ``rows`` rows 10 minutes into ``hour``."""
    x = np.arange(rows * 2, dtype="float64").reshape(rows, 2) + start
    t = T0 + hour * HOUR + 600_000
    rid = f"{log.replica}-{hour}"
    log.add(LogRecord(rid, t, "churn", 1, "live", 1.0, COLUMNS, x, x[:, 0]))
    assert log.drain() == rows


def _log(backend: CountingBackend, replica: str) -> PredictionLog:
    return PredictionLog(backend, replica, ServingStats(), capacity=100, env="prod")


def _day(tmp_path: Path) -> CountingBackend:
    """Three hourly flushes of one replica: three files of one day."""
    backend = CountingBackend(LocalBackend(tmp_path / "objects"))
    log = _log(backend, "r1")
    for hour in range(3):
        _flush(log, hour, rows=4 + hour, start=100.0 * hour)
    return backend


def _window(reader: PredictionLogReader, hour: int, columns: list[str] | None = None) -> pa.Table:
    start = T0 + hour * HOUR
    batches = reader.batches("churn", env="prod", start_ms=start, end_ms=start + HOUR,
                             columns=columns)  # fmt: skip
    return pa.Table.from_batches(list(batches))


def test_a_later_window_opens_only_the_files_whose_time_span_meets_it(tmp_path: Path) -> None:
    backend = _day(tmp_path)
    reader = PredictionLogReader(backend)
    assert _window(reader, 0).num_rows == 4
    assert len(backend.opened) == 3  # spans unknown yet: every file of the day
    backend.opened.clear()
    assert _window(reader, 2, ["age"]).column("age").to_pylist() == [
        200.0 + 2 * i for i in range(6)
    ]
    assert [k.rsplit("-", 1)[1] for k in backend.opened] == ["000003.parquet"]
    backend.opened.clear()
    late = T0 + 5 * HOUR
    assert list(reader.batches("churn", start_ms=late, end_ms=late + HOUR)) == []
    # every file's span misses the window: nothing was opened
    assert backend.opened == []


def test_the_last_window_read_with_every_column_answers_a_narrower_read(
    tmp_path: Path,
) -> None:
    backend = _day(tmp_path)
    reader = PredictionLogReader(backend)
    everything = _window(reader, 1)
    backend.opened.clear()
    narrow = _window(reader, 1, ["_id", "income", "absent"])
    assert backend.opened == []
    fresh = _window(PredictionLogReader(backend), 1, ["_id", "income", "absent"])
    assert narrow.equals(fresh)
    assert narrow.column("income").to_pylist() == everything.column("income").to_pylist()
    assert narrow.column("absent").null_count == 5
    backend.opened.clear()
    _flush(_log(backend, "r2"), 1, rows=2, start=900.0)  # a late file of the same window
    again = _window(reader, 1, ["age"])
    assert again.num_rows == 7 and 900.0 in again.column("age").to_pylist()
    assert backend.opened  # read again, not answered from the kept batches


def test_a_window_larger_than_the_limit_is_not_kept(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    backend = _day(tmp_path)
    monkeypatch.setattr(prediction_reader, "MAX_KEPT_BYTES", 10)
    reader = PredictionLogReader(backend)
    _window(reader, 1)
    backend.opened.clear()
    assert _window(reader, 1, ["age"]).num_rows == 5
    assert len(backend.opened) == 1  # its file, read again
