"""Mapping between table rows and domain entities, in one place."""

from __future__ import annotations

from typing import Any

from shipyard.core.entities import Experiment, Metric, RunInfo
from shipyard.core.states import RunStatus

__all__ = ["escape_like", "experiment_from_row", "metric_from_row", "run_info_from_row"]


def escape_like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (with ``escape="\\"``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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
