"""Entities → JSON shapes (MLflow's message shapes, which /api/v1 shares)."""

from __future__ import annotations

import math
from typing import Any, overload

from shipyard.core.datasets import Dataset, DatasetVersion, ValidationRecord
from shipyard.core.entities import Experiment, FileInfo, Metric, Run

__all__ = [
    "dataset_json",
    "dataset_version_json",
    "experiment_json",
    "file_json",
    "metric_json",
    "run_json",
    "validation_json",
]


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


def dataset_json(d: Dataset) -> dict[str, Any]:
    return {
        "name": d.name,
        "description": d.description,
        "owner": d.owner,
        "tags": dict(sorted(d.tags.items())),
        "latest_version": d.latest_version,
        "aliases": dict(sorted(d.aliases.items())),
        "created_by": d.created_by,
        "creation_time": d.creation_time,
        "last_update_time": d.last_update_time,
    }


@overload
def validation_json(r: ValidationRecord) -> dict[str, Any]: ...
@overload
def validation_json(r: None) -> None: ...
def validation_json(r: ValidationRecord | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "passed": r.passed,
        "checks_run": r.checks_run,
        "failed": r.failed,
        "report": r.report,
        "created_by": r.created_by,
        "creation_time": r.creation_time,
    }


def dataset_version_json(v: DatasetVersion) -> dict[str, Any]:
    return {
        "name": v.name,
        "version": v.version,
        "ref": v.ref,
        "content_id": v.content_id,
        "object_digest": v.object_digest,
        "kind": v.kind.value,
        "size": v.size,
        "file_count": v.file_count,
        "row_count": v.row_count,
        "schema": [{"name": n, "type": t} for n, t in v.columns],
        "profile": v.profile,
        "pii": v.pii,
        "pii_allowed": v.pii_allowed,
        "source": v.source,
        "description": v.description,
        "aliases": list(v.aliases),
        "created_by": v.created_by,
        "creation_time": v.creation_time,
        "validation": validation_json(v.validation),
    }
