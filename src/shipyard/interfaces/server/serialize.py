"""Entities → JSON shapes (MLflow's message shapes, which /api/v1 shares)."""

from __future__ import annotations

import math
from typing import Any

from shipyard.core.entities import Experiment, FileInfo, Metric, Run

__all__ = ["experiment_json", "file_json", "metric_json", "run_json"]


def _kv(d: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in sorted(d.items())]


def _num(v: float) -> float | str:
    return "NaN" if math.isnan(v) else v


def metric_json(m: Metric) -> dict[str, Any]:
    return {"key": m.key, "value": _num(m.value), "timestamp": m.timestamp, "step": m.step}


def experiment_json(e: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage,
        "creation_time": e.creation_time,
        "last_update_time": e.last_update_time,
        "tags": _kv(e.tags),
    }


def run_json(r: Run) -> dict[str, Any]:
    i = r.info
    info: dict[str, Any] = {
        "run_id": i.run_id,
        "run_uuid": i.run_id,
        "run_name": i.run_name,
        "experiment_id": i.experiment_id,
        "user_id": i.user,
        "status": i.status.value,
        "start_time": i.start_time,
        "artifact_uri": i.artifact_uri,
        "lifecycle_stage": i.lifecycle_stage,
    }
    if i.end_time is not None:
        info["end_time"] = i.end_time
    if i.parent_run_id:
        info["parent_run_id"] = i.parent_run_id
    return {
        "info": info,
        "data": {
            "metrics": [metric_json(m) for _, m in sorted(r.metrics.items())],
            "params": _kv(r.params),
            "tags": _kv(r.tags),
        },
        "inputs": {},
    }


def file_json(f: FileInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"path": f.path, "is_dir": f.is_dir}
    if not f.is_dir:
        out["file_size"] = f.size
    return out
