"""REST API under /api/v1 (OpenAPI at /docs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from shipyard.core.errors import ValidationError
from shipyard.core.validation import check_metric
from shipyard.interfaces.http.artifacts import DOWNLOAD, artifact_response
from shipyard.interfaces.http.params import EpochMs, Int64
from shipyard.interfaces.presenters.records import experiment_json, file_json, metric_json, run_json

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["tracking"])


def _tracking(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.services.tracking


class ExperimentIn(BaseModel):
    name: str
    tags: dict[str, str] = Field(default_factory=dict)


class RunIn(BaseModel):
    experiment_id: str
    run_name: str | None = None
    start_time: EpochMs | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    parent_run_id: str | None = None


class MetricIn(BaseModel):
    key: str
    value: float | str
    timestamp: Int64
    step: Int64 = 0


class RunUpdate(BaseModel):
    status: str | None = None
    end_time: EpochMs | None = None
    run_name: str | None = None
    error: str | None = None
    metrics: list[MetricIn] = Field(default_factory=list)  # written in the same transaction


class BatchIn(BaseModel):
    metrics: list[MetricIn] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, Any] = Field(default_factory=dict)


class SearchIn(BaseModel):
    experiment_ids: list[str] = Field(default_factory=list)
    filter: str | None = None
    order_by: list[str] = Field(default_factory=list)
    max_results: Int64 = 1000
    page_token: str | None = None
    view_type: str = "ACTIVE_ONLY"


@router.get("/experiments")
def list_experiments(
    request: Request, view_type: str = "ACTIVE_ONLY", name: str | None = None
) -> dict[str, Any]:
    t = _tracking(request)
    if name is not None:
        found_one = t.experiments_by_name(name)
        return {"experiments": [experiment_json(e) for e in found_one], "next_page_token": None}
    found, token = t.search_experiments(view_type=view_type)
    return {"experiments": [experiment_json(e) for e in found], "next_page_token": token}


@router.post("/experiments", status_code=201)
def create_experiment(request: Request, body: ExperimentIn) -> dict[str, Any]:
    t = _tracking(request)
    return {
        "experiment": experiment_json(t.get_experiment(t.create_experiment(body.name, body.tags)))
    }


@router.get("/experiments/{experiment_id}")
def get_experiment(request: Request, experiment_id: str) -> dict[str, Any]:
    return {"experiment": experiment_json(_tracking(request).get_experiment(experiment_id))}


@router.post("/runs", status_code=201)
def create_run(request: Request, body: RunIn) -> dict[str, Any]:
    run = _tracking(request).create_run(
        body.experiment_id,
        run_name=body.run_name,
        user=request.state.user.name,
        start_time=body.start_time,
        tags=body.tags,
        parent_run_id=body.parent_run_id,
    )
    return {"run": run_json(run)}


@router.get("/runs/{run_id}")
def get_run(request: Request, run_id: str) -> dict[str, Any]:
    return {"run": run_json(_tracking(request).get_run(run_id))}


@router.patch("/runs/{run_id}")
def update_run(request: Request, run_id: str, body: RunUpdate) -> dict[str, Any]:
    points = [check_metric(m.key, m.value, m.timestamp, m.step) for m in body.metrics]
    run = _tracking(request).update_run(
        run_id,
        status=body.status,
        end_time=body.end_time,
        run_name=body.run_name,
        error=body.error,
        metrics=points,
    )
    return {"run": run_json(run)}


@router.post("/runs/{run_id}/batch")
def log_batch(request: Request, run_id: str, body: BatchIn) -> dict[str, Any]:
    points = [check_metric(m.key, m.value, m.timestamp, m.step) for m in body.metrics]
    _tracking(request).log_batch(run_id, points, body.params, body.tags)
    return {}


@router.get("/runs/{run_id}/metrics/{key:path}")
def metric_history(request: Request, run_id: str, key: str) -> dict[str, Any]:
    return {"metrics": [metric_json(m) for m in _tracking(request).metric_history(run_id, key)]}


@router.post("/runs/search")
def search_runs(request: Request, body: SearchIn) -> dict[str, Any]:
    page = _tracking(request).search_runs(
        body.experiment_ids,
        body.filter,
        body.order_by,
        body.max_results,
        body.page_token,
        body.view_type,
    )
    return {"runs": [run_json(r) for r in page.runs], "next_page_token": page.next_page_token}


@router.get("/runs/{run_id}/artifacts")
def list_artifacts(request: Request, run_id: str, path: str = "") -> dict[str, Any]:
    return {"files": [file_json(f) for f in _tracking(request).list_artifacts(run_id, path)]}


@router.get("/runs/{run_id}/artifacts/download", **DOWNLOAD)
def download_artifact(request: Request, run_id: str, path: str) -> StreamingResponse:
    return artifact_response(_tracking(request), run_id, path)


@router.put("/runs/{run_id}/artifacts/{path:path}")
async def upload_artifact(request: Request, run_id: str, path: str) -> dict[str, Any]:
    body = await request.body()
    if len(body) > 1 << 30:
        raise ValidationError("artifact uploads are limited to 1 GiB", field="body")
    info = _tracking(request).log_artifact_bytes(run_id, body, path)
    return {"file": file_json(info)}
