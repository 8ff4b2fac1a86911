"""REST API of pipeline runs under /api/v1: list runs, one run with its DAG and its steps.

A step's status aggregates the last attempt of each of its items (fan-out items, sweep
trials): failed > running > finished > cached; a node of the DAG without any execution
was not run (skipped after an upstream failure, or not reached yet).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from shipyard.core.validation import check_run_id
from shipyard.interfaces.http.params import Count
from shipyard.interfaces.presenters.pipelines import pipeline_run_json, step_summaries

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["pipelines"])


def _pipelines(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.services.pipelines


@router.get("/pipelines/runs")
def list_pipeline_runs(
    request: Request,
    pipeline: str | None = None,
    limit: Annotated[Count, Query(le=1000)] = 50,
) -> dict[str, Any]:
    rows = _pipelines(request).list_runs(pipeline or None, limit=limit)
    return {"runs": [pipeline_run_json(r) for r in rows]}


@router.get("/pipelines/runs/{run_id}")
def get_pipeline_run(request: Request, run_id: str) -> dict[str, Any]:
    service = _pipelines(request)
    row = service.get_run(check_run_id(run_id))
    latest = service.latest_executions(row.run_id)
    return {
        "run": pipeline_run_json(row),
        "dag": row.spec,
        "steps": step_summaries(row.spec, latest, row.status),
    }
