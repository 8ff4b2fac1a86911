"""Prediction-log layout at fleet scale, with the real writer, compactor and reader (in-process).

1. The writer: ``SECONDS`` of spread-out traffic (100 req/s over 300 models) drained every 2 s,
   as a replica does; the old way (every drain writes one file per active model) next to the
   buffered one (a file per model version once it holds ``log_rows`` or its oldest row is
   ``log_age_s`` old). Simulated time: the writer's clock is replaced, nothing else.
2. A day at N models: one model gets a full day of traffic (a request every 10 s, one file per
   5 minutes: what the buffered writer leaves with 100 req/s over 1,000 models), the other N - 1
   a file every 6 hours each. Reading the model's day (files touched, seconds): without
   compaction; at 12:30 after compacting the closed hours (its morning's files only exist
   then); and the next day after compacting the day. The compaction runs walk the whole store.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

DAY, HOUR, MINUTE = 86_400_000, 3_600_000, 60_000
T0 = 1_750_000_000_000 // DAY * DAY
COLUMNS = tuple(f"f{i}" for i in range(8))


class _Clock:
    """Stands in for the ``time`` module inside the writer (only ``monotonic`` is used)."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


def _record(model: str, t: int, i: int) -> Any:
    from shipyard.services.serving.predlog import LogRecord

    x = np.full((1, len(COLUMNS)), i % 7, dtype="float64")
    return LogRecord(f"p-{t:x}-{i:x}", t, model, 1, "live", 1.2, COLUMNS, x, np.array([i % 2]))


def writer(tmp: Path, seconds: int, models: int = 300, rate: int = 100) -> dict[str, Any]:
    """Files written by the old and the buffered writer for the same traffic."""
    import shipyard.services.serving.predlog as predlog_module
    from shipyard.services.serving.predlog import PredictionLog
    from shipyard.services.serving.stats import ServingStats
    from shipyard.stores.blobs import LocalBackend

    out: dict[str, Any] = {"seconds": seconds, "models": models, "req_s": rate}
    clock, real = _Clock(), predlog_module.time
    predlog_module.time = clock  # type: ignore[assignment]
    try:
        for label, final in (("per_flush", True), ("buffered", False)):
            backend = LocalBackend(tmp / f"writer-{label}")
            log = PredictionLog(backend, "r1", ServingStats(), 10**6, env="prod")
            rng = np.random.default_rng(1)
            i = 0
            for second in range(seconds):
                for _ in range(rate):
                    model = f"m-{rng.integers(models):04d}"
                    log.add(_record(model, T0 + second * 1000, i))
                    i += 1
                clock.now = second + 1.0
                if (second + 1) % 2 == 0:
                    log.drain(final=final)
            log.drain(final=True)  # shutdown
            out[label] = {"files": log.files, "rows_per_file": i / max(1, log.files)}
    finally:
        predlog_module.time = real
    return out


def day(tmp: Path, models: int) -> dict[str, Any]:
    """A day of logs at ``models`` models: reading one model's day before and after compaction."""
    from shipyard.services.formats.prediction_compactor import PredictionLogCompactor
    from shipyard.services.formats.prediction_reader import PredictionLogReader
    from shipyard.services.formats.predictions import parse_key
    from shipyard.stores.blobs import LocalBackend

    plain = LocalBackend(tmp / "day-uncompacted")
    _watched(plain, 0, 24 * 60)
    out: dict[str, Any] = {"models": models, "before": _read_day(PredictionLogReader(plain))}
    backend = LocalBackend(tmp / "day")
    started = time.perf_counter()
    written = _others(backend, models) + _watched(backend, 0, 12 * 60 + 30)
    midday = PredictionLogCompactor(backend, clock=lambda: T0 + 12 * HOUR + 30 * MINUTE).run()
    reader = PredictionLogReader(backend)
    out["midday"] = {**_read_day(reader), "compact_s": midday.seconds, "merged": midday.merged}
    # the job's next run, nothing written since: what it costs to find nothing to do
    again = PredictionLogCompactor(backend, clock=lambda: T0 + 12 * HOUR + 35 * MINUTE).run()
    out["midday_again"] = {
        "compact_s": again.seconds,
        "merged": again.merged,
        "skipped": getattr(again, "skipped", None),  # None: a compactor without the marker
        "partitions": again.partitions,
    }
    written += _watched(backend, 12 * 60 + 30, 24 * 60)
    out["files_written"] = written
    out["write_s"] = time.perf_counter() - started - midday.seconds
    report = PredictionLogCompactor(backend, clock=lambda: T0 + DAY + HOUR).run()
    out["after"] = {**_read_day(reader), "compact_s": report.seconds, "merged": report.merged}
    out["files_left"] = sum(1 for k in backend.list("predictions/") if parse_key(k) is not None)
    return out


def _watched(backend: Any, first: int, last: int) -> int:
    """The watched model's minutes [first, last): a request every 10 s, a file every 5 min."""
    from shipyard.services.serving.predlog import PredictionLog
    from shipyard.services.serving.stats import ServingStats

    log = PredictionLog(backend, f"w{first}", ServingStats(), 10**6, env="prod")
    for minute in range(first, last):
        for k in range(6):
            log.add(_record("m-0000", T0 + minute * MINUTE + k * 10_000, minute * 6 + k))
        if (minute + 1) % 5 == 0:
            log.drain(final=True)
    log.drain(final=True)
    return log.files


def _others(backend: Any, models: int) -> int:
    """The other models of the fleet: a file every 6 hours each (so compaction has a store
    of ``models`` models to walk)."""
    from shipyard.services.serving.predlog import PredictionLog
    from shipyard.services.serving.stats import ServingStats

    log = PredictionLog(backend, "others", ServingStats(), 10**6, env="prod")
    for m in range(1, models):
        for hour in range(0, 24, 6):
            log.add(_record(f"m-{m:04d}", T0 + hour * HOUR + m, m * 24 + hour))
            log.drain(final=True)
    return log.files


def _read_day(reader: Any) -> dict[str, Any]:
    started = time.perf_counter()
    files = reader.files("m-0000", env="prod", start_ms=T0, end_ms=T0 + DAY)
    rows = sum(
        b.num_rows for b in reader.batches("m-0000", env="prod", start_ms=T0, end_ms=T0 + DAY)
    )
    return {"files": len(files), "rows": rows, "read_s": time.perf_counter() - started}
