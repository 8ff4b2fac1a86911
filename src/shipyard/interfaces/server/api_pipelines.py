"""REST API of pipeline runs under /api/v1: list runs (newest first, a page at a time with a
keyset cursor, the total and a link to the next page), one run with its DAG and its steps.

A step's status aggregates the last attempt of each of its items (fan-out items, sweep
trials): failed > running > finished > cached; a node of the DAG without any execution
was not run (skipped after an upstream failure, or not reached yet).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from shipyard.core.validation import check_run_id
from shipyard.interfaces.http.params import Count
from shipyard.interfaces.presenters.pipelines import pipeline_run_json, step_summaries

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["pipelines"])


def _pipelines(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.services.pipelines


class PipelineRunsPage(BaseModel):
    """One page of pipeline runs, newest first."""

    runs: list[dict[str, Any]] = Field(description="The runs of this page, newest first.")
    next_cursor: str | None = Field(
        description="Pass as ``cursor`` for the next page; null on the last page."
    )
    next: str | None = Field(description="The URL of the next page; null on the last page.")
    total: int = Field(description="How many runs match, over every page.")


@router.get("/pipelines/runs", response_model=PipelineRunsPage)
def list_pipeline_runs(
    request: Request,
    pipeline: str | None = Query(
        None, description='Only this pipeline\'s runs ("module:function" or the function name).'
    ),
    limit: Annotated[Count, Query(le=1000, description="How many runs per page.")] = 50,
    cursor: str | None = Query(None, description="The next_cursor of the previous page."),
) -> dict[str, Any]:
    page = _pipelines(request).page_runs(pipeline or None, cursor=cursor or None, limit=limit)
    nxt = None
    if page.next_cursor:
        query = {"pipeline": pipeline or None, "limit": limit, "cursor": page.next_cursor}
        nxt = f"{request.url.path}?{urlencode({k: v for k, v in query.items() if v})}"
    return {
        "runs": [pipeline_run_json(r) for r in page.items],
        "next_cursor": page.next_cursor,
        "next": nxt,
        "total": page.total,
    }


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
