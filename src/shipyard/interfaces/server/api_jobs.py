"""REST API of the job scheduler under /api/v1: the jobs every replica registered (with their
last run) and the runs of one job, newest first. Both page with a keyset cursor.

Reads need the viewer role (the server's middleware asks for it on every GET under /api/).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from shipyard.core.clock import now_ms
from shipyard.interfaces.http.params import Int64
from shipyard.interfaces.presenters.jobs import job_json, run_json

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["jobs"])

DEFAULT_LIMIT = 100


def _jobs(request: Request) -> Any:
    return request.app.state.services.jobs


@router.get("/jobs")
def list_jobs(
    request: Request,
    limit: Annotated[Int64, Query(description="How many jobs per page (1..1000).")] = DEFAULT_LIMIT,
    cursor: str | None = Query(None, description="The next_cursor of the previous page."),
) -> dict[str, Any]:
    page = _jobs(request).jobs(cursor, limit)
    now = now_ms()
    return {
        "jobs": [job_json(s, now) for s in page.items],
        "next_cursor": page.next_cursor,
        "total": page.total,
    }


@router.get("/jobs/{name}/runs")
def list_job_runs(
    request: Request,
    name: str,
    limit: Annotated[
        Int64, Query(description="How many runs per page, newest first.")
    ] = DEFAULT_LIMIT,
    cursor: str | None = Query(None, description="The next_cursor of the previous page."),
) -> dict[str, Any]:
    page = _jobs(request).runs(name, cursor, limit)
    return {
        "runs": [run_json(r) for r in page.items],
        "next_cursor": page.next_cursor,
        "total": page.total,
    }
