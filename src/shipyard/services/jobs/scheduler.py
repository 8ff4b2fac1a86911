"""The job scheduler: periodic jobs that run once per due time across all replicas.

Every replica (``shipyard server``, each ``shipyard serve`` worker) runs one scheduler over
the shared metadata database. A job's lease row says when it is next due and who holds it;
a replica claims a due slot with a compare-and-set UPDATE in a write transaction, so exactly
one replica wins it, runs the job in the scheduler's thread, records the run and releases
the lease. A replica that dies mid-run leaves its lease to expire: after ``lease_s`` another
replica takes the job over and marks the dead one's run as lost. A run must therefore finish
within its lease.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import ValidationError
from shipyard.core.jobs import JobLease, JobRunStatus, JobSpec, default_lease_s
from shipyard.stores.sql.jobs_repo import JobsRepo

__all__ = ["DEFAULT_KEEP_RUNS", "JobScheduler", "RunOutcome", "replica_name"]

log = logging.getLogger("shipyard.jobs")

DEFAULT_KEEP_RUNS = 200
MIN_WAIT_S = 0.01


def replica_name() -> str:
    """host:pid-random, unique per process and readable in listings."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class _Job:
    spec: JobSpec
    fn: Callable[[], Any]


@dataclass(frozen=True)
class RunOutcome:
    """What one claimed run did (``run_due`` returns these, mostly for tests and logs)."""

    name: str
    run_id: int
    due: int
    status: JobRunStatus
    duration_ms: float
    error: str | None


class JobScheduler:
    """Registered jobs, a tick loop in a daemon thread, claims through the lease table."""

    def __init__(
        self,
        db: Any,
        repo: JobsRepo | None = None,
        *,
        holder: str | None = None,
        keep_runs: int = DEFAULT_KEEP_RUNS,
        max_wait_s: float = 1.0,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        if keep_runs < 1:
            raise ValidationError(f"keep_runs must be at least 1; got {keep_runs}", field="keep")
        self.db = db
        self.repo = repo or JobsRepo()
        self.holder = holder or replica_name()
        self.keep_runs = keep_runs
        self.max_wait_s = max_wait_s
        self.clock = clock
        self._jobs: dict[str, _Job] = {}
        self._ensured: set[str] = set()
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ registration
    def register(
        self, name: str, interval_s: float, fn: Callable[[], Any], *, lease_s: float | None = None
    ) -> JobSpec:
        """Run ``fn`` every ``interval_s`` seconds (once across all replicas)."""
        spec = JobSpec(
            name, interval_s, default_lease_s(interval_s) if lease_s is None else lease_s
        )
        with self._guard:
            self._jobs[name] = _Job(spec, fn)
            self._ensured.discard(name)
        self._wake.set()
        return spec

    def unregister(self, name: str) -> None:
        """Stop running ``name`` here (its lease row and history stay)."""
        with self._guard:
            self._jobs.pop(name, None)

    def specs(self) -> list[JobSpec]:
        with self._guard:
            return sorted((j.spec for j in self._jobs.values()), key=lambda s: s.name)

    # ------------------------------------------------------------ the loop
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the tick loop (a no-op when it runs already)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="shipyard-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop; a run in progress finishes (up to ``timeout``) and is recorded."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    def _loop(self) -> None:
        wait = 0.0
        while not self._stop.is_set():
            self._wake.wait(wait)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                _, wait = self.run_due()
            except Exception:
                log.exception("job scheduler tick failed; retrying shortly")
                wait = self.max_wait_s

    def run_due(self) -> tuple[list[RunOutcome], float]:
        """One pass: claim and run every registered job that is due now. Returns what ran
        and how long to wait before the next pass."""
        with self._guard:
            jobs = dict(self._jobs)
        if not jobs:
            return [], self.max_wait_s
        self._ensure(jobs)
        with self.db.read() as conn:
            leases = self.repo.leases(conn, list(jobs))
        outcomes = []
        for name, lease in sorted(leases.items()):
            if self._stop.is_set():
                break
            if lease.is_due(self.clock()):
                outcome, leases[name] = self._claim_and_run(jobs[name], lease)
                if outcome is not None:
                    outcomes.append(outcome)
        return outcomes, self._next_wait(jobs, leases)

    def _ensure(self, jobs: dict[str, _Job]) -> None:
        missing = [j for n, j in jobs.items() if n not in self._ensured]
        if not missing:
            return
        with self.db.write() as conn:
            for job in missing:
                self.repo.ensure(conn, job.spec, self.clock())
        self._ensured.update(j.spec.name for j in missing)

    def _next_wait(self, jobs: dict[str, _Job], leases: dict[str, JobLease]) -> float:
        now = self.clock()
        wait = self.max_wait_s
        for name, lease in leases.items():
            if lease.held(now):  # held elsewhere: look again soon, it may be released early
                target_s = min(lease.lease_until - now, jobs[name].spec.interval_ms / 2) / 1000
            else:
                target_s = (lease.next_due - now) / 1000
            wait = min(wait, target_s)
        return max(MIN_WAIT_S, wait)

    # ------------------------------------------------------------ one run
    def _claim_and_run(self, job: _Job, seen: JobLease) -> tuple[RunOutcome | None, JobLease]:
        """Claim ``seen``'s slot and run it; also returns the lease as this replica last
        knows it (released, or as seen when another replica won)."""
        now = self.clock()
        with self.db.write() as conn:
            held = self.repo.claim(conn, seen, job.spec, self.holder, now)
            if held is None:  # another replica won this slot: look again soon
                return None, replace(seen, holder="?", lease_until=now + job.spec.lease_ms)
            if seen.holder is not None:  # its holder's lease expired mid-run: taken over
                self.repo.mark_lost(conn, seen.name, seen.holder, now)
            run_id = self.repo.start_run(conn, held, seen.next_due, now)
        started = time.perf_counter()
        error = None
        try:
            job.fn()
            status = JobRunStatus.OK
        except Exception as e:  # a failing job is recorded; the scheduler carries on
            status, error = JobRunStatus.FAILED, f"{type(e).__name__}: {e}"
            log.warning("job %s failed: %s", job.spec.name, error)
        duration_ms = (time.perf_counter() - started) * 1000
        with self.db.write() as conn:
            status = self.repo.finish_run(conn, run_id, status, self.clock(), duration_ms, error)
            released = self.repo.release(conn, held)
            self.repo.prune(conn, job.spec.name, self.keep_runs)
        if not released:
            log.warning("job %s ran past its lease; another replica took it", job.spec.name)
        outcome = RunOutcome(job.spec.name, run_id, seen.next_due, status, duration_ms, error)
        return outcome, replace(held, holder=None, lease_until=0)
