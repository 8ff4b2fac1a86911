"""The prediction log's files: where they are, what they hold, and their format version.

A serving replica writes one Parquet file per model version, environment and day::

    predictions/model=<name>/date=<YYYY-MM-DD>/env=<env>/v<version>-<replica>-<seq>.parquet

with the inputs as columns (the signature's names), then ``_id``, ``_row``, ``_time``
(timestamp ms, UTC), ``_version``, ``_role``, ``_latency_ms``, ``_prediction`` and ``_env``.
The file's key-value metadata holds the format version (``shipyard.predlog.version``) and the
model, version, environment and replica that wrote it.

Files of format 0 (written before the version was recorded) sit directly under ``date=``, have
no ``_env`` column and no metadata; they stay readable. A newer format is refused.

A binary classifier's files also hold ``_proba`` (float64): the probability of the positive
class (``classes_[1]``) of each row. The column is optional and additive, so the format stays
version 1: readers of format 1 that do not know it read the files unchanged (they pick the
signature's columns and the ``_``-columns they know), and a reader asking for ``_proba``
gets nulls from files without it (regressors, older files).

Compacted files (``formats.prediction_compactor``) merge the files of one model, day,
environment and version into one per closed hour, then one per closed day::

    .../env=<env>/v<version>-compacted-<h00..h23|day>-<time ms>.parquet

in the same format (version 1: to a reader that does not know them, they are files of a
replica named ``compacted-…``), with one more metadata entry, ``shipyard.predlog.sources``:
the JSON list ``[[file name, first row, rows], …]`` of every file whose rows it holds (files
it merged and, transitively, theirs), so that a reader skips the files it replaces and finds
the rows of one removed while it was reading.

Prediction ids (``_id``, one per request; ``_row`` numbers its rows) are
``<replica prefix>-<time ms, hex>-<counter, hex>``: ``prediction_time`` reads the time back,
so whoever joins labels to predictions by id knows which days of logs to read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.core.errors import StorageError

__all__ = [
    "DAY_MS",
    "FORMAT_VERSION",
    "HOUR_MS",
    "METADATA_PREFIX",
    "META_COLUMNS",
    "PREFIX",
    "SOURCES_KEY",
    "VERSION_KEY",
    "LogFile",
    "compacted_key",
    "day_of",
    "day_prefix",
    "file_key",
    "format_version",
    "log_table",
    "model_prefix",
    "parse_key",
    "prediction_id",
    "prediction_time",
]

FORMAT_VERSION = 1
PREFIX = "predictions"
METADATA_PREFIX = "shipyard.predlog."
VERSION_KEY = f"{METADATA_PREFIX}version"
SOURCES_KEY = f"{METADATA_PREFIX}sources"
META_COLUMNS = (
    "_id",
    "_row",
    "_time",
    "_version",
    "_role",
    "_latency_ms",
    "_prediction",
    "_proba",
    "_env",
)
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
_FILE = re.compile(r"v(\d+)-(.+)-(\d+)\.parquet")
_HEX_TIME = re.compile(r"[0-9a-f]{9,12}")
_COMPACTED = re.compile(r"compacted-(h[0-2]\d|day)")


@dataclass(frozen=True)
class LogFile:
    """One log file, as its key describes it (``env`` is None for format-0 files)."""

    key: str
    model: str
    day: str
    env: str | None
    version: int
    replica: str
    compacted: str | None = None  # "h00".."h23" or "day" for a compacted file

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    @property
    def partition(self) -> tuple[str, str, str | None, int]:
        return (self.model, self.day, self.env, self.version)


def day_of(time_ms: int) -> str:
    """The UTC day (``YYYY-MM-DD``) of a time in milliseconds since the epoch."""
    day = time_ms // DAY_MS * DAY_MS
    return dt.datetime.fromtimestamp(day / 1000, dt.UTC).strftime("%Y-%m-%d")


def prediction_id(prefix: str, time_ms: int, counter: int) -> str:
    """The id of one answered request: a replica's prefix, the time and a counter."""
    return f"{prefix}-{time_ms:x}-{counter:x}"


_EARLIEST_MS, _LATEST_MS = 946_684_800_000, 4_102_444_800_000  # 2000 .. 2100


def prediction_time(pid: str) -> int | None:
    """The time (ms) written into a prediction id, None for ids of another form."""
    parts = pid.split("-") if isinstance(pid, str) else []
    if len(parts) != 3 or not _HEX_TIME.fullmatch(parts[1]):
        return None
    time_ms = int(parts[1], 16)
    return time_ms if _EARLIEST_MS <= time_ms < _LATEST_MS else None


def model_prefix(model: str) -> str:
    return f"{PREFIX}/model={model}/"


def day_prefix(model: str, day: str) -> str:
    return f"{model_prefix(model)}date={day}/"


def file_key(*, model: str, day: str, env: str, version: int, replica: str, seq: int) -> str:
    return f"{day_prefix(model, day)}env={env}/v{version}-{replica}-{seq:06d}.parquet"


def parse_key(key: str) -> LogFile | None:
    """The partition values in a log file's key; None for any other key."""
    parts = key.split("/")
    if len(parts) not in (4, 5) or parts[0] != PREFIX:
        return None
    model, day = parts[1].partition("model=")[2], parts[2].partition("date=")[2]
    env = parts[3].partition("env=")[2] if len(parts) == 5 else None
    match = _FILE.fullmatch(parts[-1])
    if not model or not day or env == "" or match is None:
        return None
    replica = match.group(2)
    compacted = _COMPACTED.fullmatch(replica)
    tag = compacted.group(1) if compacted else None
    return LogFile(key, model, day, env, int(match.group(1)), replica, tag)


def compacted_key(*, model: str, day: str, env: str, version: int, tag: str, now_ms: int) -> str:
    """The key of a compacted file (``tag``: ``h00``..``h23`` or ``day``)."""
    return f"{day_prefix(model, day)}env={env}/v{version}-compacted-{tag}-{now_ms:013d}.parquet"


def log_table(
    columns: Iterable[tuple[str, Any]], *, model: str, version: int, env: str, replica: str
) -> Any:
    """The Arrow table of one log file: the columns given (inputs and ``_``-columns but
    ``_env``), ``_time`` as a UTC timestamp, ``_env``, and the format's metadata."""
    import pyarrow as pa

    table = pa.Table.from_pydict(dict(columns))
    at = table.schema.get_field_index("_time")
    table = table.set_column(at, "_time", table["_time"].cast(pa.timestamp("ms", tz="UTC")))
    table = table.append_column("_env", pa.repeat(env, table.num_rows))
    meta = {"version": FORMAT_VERSION, "model": model, "model_version": version, "env": env}
    meta["replica"] = replica
    return table.replace_schema_metadata({f"{METADATA_PREFIX}{k}": str(v) for k, v in meta.items()})


def format_version(metadata: Mapping[bytes, bytes] | None, where: str) -> int:
    """The format version in a file's key-value metadata (0 when absent); a version newer
    than this Shipyard reads is a ``StorageError`` saying to upgrade."""
    raw = (metadata or {}).get(VERSION_KEY.encode())
    if raw is None:
        return 0
    try:
        version = int(raw)
    except ValueError:
        version = -1
    if version < 0:
        raise StorageError(f"{where} has an invalid {VERSION_KEY} {raw!r}; expected a number")
    if version > FORMAT_VERSION:
        raise StorageError(
            f"{where} is a prediction log of format version {version}, newer than this "
            f"Shipyard reads (up to {FORMAT_VERSION}); upgrade Shipyard to read it"
        )
    return version
