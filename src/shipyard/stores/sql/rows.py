"""Mapping between table rows and domain entities, in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import CursorResult

from shipyard.core.entities import Experiment, Metric, RunInfo
from shipyard.core.errors import StorageError
from shipyard.core.states import RunStatus

__all__ = [
    "escape_like",
    "experiment_from_row",
    "inserted_id",
    "metric_from_row",
    "run_info_from_row",
]


def escape_like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (with ``escape="\\"``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the row a single-row INSERT created."""
    key = result.inserted_primary_key
    if key is None:  # only for executemany or a table without a primary key
        raise StorageError("the database returned no primary key for the new row")
    return int(key[0])


def experiment_from_row(row: Any, tags: dict[str, str]) -> Experiment:
    return Experiment(
        experiment_id=str(row.id),
        name=row.name,
        artifact_location=row.artifact_location,
        lifecycle_stage=row.lifecycle_stage,
        creation_time=row.creation_time,
        last_update_time=row.last_update_time,
        tags=tags,
    )


def run_info_from_row(row: Any) -> RunInfo:
    return RunInfo(
        run_id=row.id,
        experiment_id=str(row.experiment_id),
        run_name=row.name,
        user=row.user_name,
        status=RunStatus(row.status),
        start_time=row.start_time,
        end_time=row.end_time,
        lifecycle_stage=row.lifecycle_stage,
        parent_run_id=row.parent_run_id,
        error=row.error,
    )


def metric_from_row(row: Any) -> Metric:
    value = float("nan") if row.is_nan else row.value
    return Metric(key=row.key, value=value, timestamp=row.timestamp, step=row.step)
