"""Reading the jobs: every job any replica registered, with its last run, and its runs.

Listings page with keyset cursors (the last name, the last run id), opaque to callers.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from shipyard.core.errors import NotFoundError, ValidationError
from shipyard.core.jobs import JobRun, JobSummary, check_job_name
from shipyard.services.jobs.scheduler import JobScheduler
from shipyard.stores.sql.jobs_repo import JobsRepo

__all__ = ["MAX_PAGE", "JobsService", "Page"]

MAX_PAGE = 1000


@dataclass(frozen=True)
class Page:
    """One page of a listing: the items, the cursor of the next page (None at the end) and
    how many items there are in all."""

    items: list[Any]
    next_cursor: str | None
    total: int


def _encode(key: str, value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps({key: value}).encode()).decode()


def _decode(cursor: str | None, key: str, kind: type) -> Any:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))[key]
    except (ValueError, KeyError, TypeError):
        value = None
    out_of_range = isinstance(value, int) and not -(2**63) <= value < 2**63  # a BIGINT
    if not isinstance(value, kind) or isinstance(value, bool) or out_of_range:
        raise ValidationError(
            f"cursor {cursor!r} is not valid; pass the next_cursor of the previous page",
            field="cursor",
        )
    return value


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be 1..{MAX_PAGE}; got {limit!r}", field="limit")
    return limit


class JobsService:
    """The jobs of all replicas as the shared database records them, and the scheduler
    that runs this process's share of them."""

    def __init__(self, db: Any, repo: JobsRepo | None = None) -> None:
        self.db = db
        self.repo = repo or JobsRepo()
        # this process's scheduler: the server and serving replicas start it
        self.scheduler = JobScheduler(db, self.repo)

    def jobs(self, cursor: str | None = None, limit: int = 100) -> Page:
        """Jobs by name with their last run."""
        after = _decode(cursor, "after", str)
        limit = _check_limit(limit)
        with self.db.read() as conn:
            found: list[JobSummary] = self.repo.jobs(conn, after, limit + 1)
            total = self.repo.count_jobs(conn)
        more = len(found) > limit
        found = found[:limit]
        return Page(found, _encode("after", found[-1].lease.name) if more else None, total)

    def runs(self, name: str, cursor: str | None = None, limit: int = 100) -> Page:
        """Runs of job ``name``, newest first; NotFoundError for a job no replica registered."""
        check_job_name(name)
        before = _decode(cursor, "before", int)
        limit = _check_limit(limit)
        with self.db.read() as conn:
            if self.repo.lease(conn, name) is None:
                known = [s.lease.name for s in self.repo.jobs(conn, None, 20)]
                raise NotFoundError(
                    f"no job named {name!r}; known jobs: {', '.join(known) or 'none yet'} "
                    "(see `shipyard jobs ls`)",
                    field="name",
                )
            found: list[JobRun] = self.repo.runs(conn, name, before, limit + 1)
            total = self.repo.count_runs(conn, name)
        more = len(found) > limit
        found = found[:limit]
        return Page(found, _encode("before", found[-1].run_id) if more else None, total)
