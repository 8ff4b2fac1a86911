"""Job leases and runs: the compare-and-set claim, the release, the bounded run history."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.core.jobs import (
    JobLease,
    JobRun,
    JobRunStatus,
    JobSpec,
    JobSummary,
    check_job_run_transition,
    next_due_after,
    truncate_error,
)
from shipyard.stores.sql.engine import upsert_insert
from shipyard.stores.sql.tables_jobs import job_leases, job_runs

__all__ = ["JobsRepo"]


def _lease(row: Any) -> JobLease:
    return JobLease(
        name=row.name,
        holder=row.holder,
        lease_until=int(row.lease_until),
        next_due=int(row.next_due),
        interval_ms=int(row.interval_ms),
        lease_ms=int(row.lease_ms),
        tick=int(row.tick),
    )


def _run(row: Any) -> JobRun:
    return JobRun(
        run_id=int(row.id),
        name=row.name,
        holder=row.holder,
        due=int(row.due),
        started=int(row.started),
        finished=None if row.finished is None else int(row.finished),
        status=JobRunStatus(row.status),
        duration_ms=None if row.duration_ms is None else float(row.duration_ms),
        error=row.error,
    )


class JobsRepo:
    """Stateless: every method takes the connection of the caller's unit of work."""

    # ------------------------------------------------------------ leases
    def ensure(self, conn: Connection, spec: JobSpec, now: int) -> None:
        """Create the job's lease row (due now) unless some replica already did."""
        values = {
            "name": spec.name,
            "holder": None,
            "lease_until": 0,
            "next_due": now,
            "interval_ms": spec.interval_ms,
            "lease_ms": spec.lease_ms,
            "tick": 0,
        }
        conn.execute(upsert_insert(conn, job_leases).values(**values).on_conflict_do_nothing())

    def leases(self, conn: Connection, names: Sequence[str]) -> dict[str, JobLease]:
        query = sa.select(job_leases).where(job_leases.c.name.in_(list(names)))
        return {r.name: _lease(r) for r in conn.execute(query)}

    def lease(self, conn: Connection, name: str) -> JobLease | None:
        row = conn.execute(sa.select(job_leases).where(job_leases.c.name == name)).first()
        return None if row is None else _lease(row)

    def claim(
        self, conn: Connection, seen: JobLease, spec: JobSpec, holder: str, now: int
    ) -> JobLease | None:
        """Take the due slot of ``seen`` for ``holder``: a conditional UPDATE that only
        matches the row as it was read (same claim counter, still due, lease free or
        expired). Exactly one concurrent claimer gets a row back; the others get None."""
        c = job_leases.c
        claimed = JobLease(
            name=seen.name,
            holder=holder,
            lease_until=now + spec.lease_ms,
            next_due=next_due_after(seen.next_due, spec.interval_ms, now),
            interval_ms=spec.interval_ms,
            lease_ms=spec.lease_ms,
            tick=seen.tick + 1,
        )
        result = conn.execute(
            job_leases.update()
            .where(
                c.name == seen.name,
                c.tick == seen.tick,
                c.next_due == seen.next_due,
                c.next_due <= now,
                sa.or_(c.holder.is_(None), c.lease_until <= now),
            )
            .values(
                holder=claimed.holder,
                lease_until=claimed.lease_until,
                next_due=claimed.next_due,
                interval_ms=claimed.interval_ms,
                lease_ms=claimed.lease_ms,
                tick=claimed.tick,
            )
        )
        return claimed if result.rowcount == 1 else None

    def release(self, conn: Connection, held: JobLease) -> bool:
        """Give the lease back; False when it had expired and another replica took it."""
        c = job_leases.c
        result = conn.execute(
            job_leases.update()
            .where(c.name == held.name, c.tick == held.tick, c.holder == held.holder)
            .values(holder=None, lease_until=0)
        )
        return result.rowcount == 1

    # ------------------------------------------------------------ runs
    def start_run(self, conn: Connection, held: JobLease, due: int, now: int) -> int:
        result = conn.execute(
            job_runs.insert().values(
                name=held.name,
                holder=held.holder,
                due=due,
                started=now,
                status=JobRunStatus.RUNNING.value,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def mark_lost(self, conn: Connection, name: str, holder: str, now: int) -> int:
        """The runs ``holder`` left running when its lease expired are lost."""
        c = job_runs.c
        result = conn.execute(
            job_runs.update()
            .where(c.name == name, c.holder == holder, c.status == JobRunStatus.RUNNING.value)
            .values(
                status=JobRunStatus.LOST.value,
                error=f"the lease of {holder} expired before the run finished (taken over)",
                finished=now,
            )
        )
        return int(result.rowcount)

    def finish_run(
        self,
        conn: Connection,
        run_id: int,
        status: JobRunStatus,
        now: int,
        duration_ms: float,
        error: str | None,
    ) -> JobRunStatus:
        """Record the outcome; a run already marked lost stays lost (its duration is kept).
        Returns the status the run ends with."""
        c = job_runs.c
        row = conn.execute(sa.select(c.status).where(c.id == run_id)).first()
        current = JobRunStatus(row.status) if row is not None else JobRunStatus.RUNNING
        if current is not JobRunStatus.RUNNING:
            conn.execute(job_runs.update().where(c.id == run_id).values(duration_ms=duration_ms))
            return current
        check_job_run_transition(current, status)
        conn.execute(
            job_runs.update()
            .where(c.id == run_id, c.status == JobRunStatus.RUNNING.value)
            .values(
                status=status.value,
                finished=now,
                duration_ms=duration_ms,
                error=None if error is None else truncate_error(error),
            )
        )
        return status

    def prune(self, conn: Connection, name: str, keep: int) -> None:
        """Delete all but the newest ``keep`` runs of ``name``."""
        c = job_runs.c
        cutoff = conn.execute(
            sa.select(c.id).where(c.name == name).order_by(c.id.desc()).offset(keep).limit(1)
        ).scalar()
        if cutoff is not None:
            conn.execute(job_runs.delete().where(c.name == name, c.id <= cutoff))

    # ------------------------------------------------------------ listings
    def count_jobs(self, conn: Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(job_leases)).scalar() or 0)

    def jobs(self, conn: Connection, after: str | None, limit: int) -> builtins.list[JobSummary]:
        """Jobs by name, those after ``after`` (a keyset cursor), with their last run."""
        query = sa.select(job_leases).order_by(job_leases.c.name).limit(limit)
        if after is not None:
            query = query.where(job_leases.c.name > after)
        leases = [_lease(r) for r in conn.execute(query)]
        names = [lease.name for lease in leases]
        c = job_runs.c
        counted = sa.select(c.name, sa.func.count()).where(c.name.in_(names)).group_by(c.name)
        counts: dict[str, int] = {r[0]: int(r[1]) for r in conn.execute(counted)}
        newest = sa.select(sa.func.max(c.id)).where(c.name.in_(names)).group_by(c.name)
        last = {r.name: _run(r) for r in conn.execute(sa.select(job_runs).where(c.id.in_(newest)))}
        return [JobSummary(x, last.get(x.name), int(counts.get(x.name, 0))) for x in leases]

    def count_runs(self, conn: Connection, name: str) -> int:
        query = sa.select(sa.func.count()).select_from(job_runs).where(job_runs.c.name == name)
        return int(conn.execute(query).scalar() or 0)

    def runs(
        self, conn: Connection, name: str, before: int | None, limit: int
    ) -> builtins.list[JobRun]:
        """Runs of ``name``, newest first, those older than run id ``before`` (a cursor)."""
        c = job_runs.c
        query = sa.select(job_runs).where(c.name == name).order_by(c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(c.id < before)
        return [_run(r) for r in conn.execute(query)]
