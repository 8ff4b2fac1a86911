"""Reading the jobs: every job any replica registered, with its last run, and its runs.

Listings page with keyset cursors (the last name, the last run id), opaque to callers.
"""

from __future__ import annotations

from typing import Any

from shipyard.core.errors import NotFoundError
from shipyard.core.jobs import JobRun, JobSummary, check_job_name
from shipyard.services.jobs.scheduler import JobScheduler
from shipyard.services.paging import MAX_PAGE, Page, check_limit, decode_cursor, encode_cursor
from shipyard.stores.sql.jobs_repo import JobsRepo

__all__ = ["MAX_PAGE", "JobsService", "Page"]


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
        after = decode_cursor(cursor, "after", str)
        limit = check_limit(limit)
        with self.db.read() as conn:
            found: list[JobSummary] = self.repo.jobs(conn, after, limit + 1)
            total = self.repo.count_jobs(conn)
        more = len(found) > limit
        found = found[:limit]
        return Page(found, encode_cursor("after", found[-1].lease.name) if more else None, total)

    def runs(self, name: str, cursor: str | None = None, limit: int = 100) -> Page:
        """Runs of job ``name``, newest first; NotFoundError for a job no replica registered."""
        check_job_name(name)
        before = decode_cursor(cursor, "before", int)
        limit = check_limit(limit)
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
        return Page(found, encode_cursor("before", found[-1].run_id) if more else None, total)
