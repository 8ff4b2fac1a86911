"""The job scheduler on real databases: two replicas (two schedulers, two ``Database``
objects on one SQLite file or one PostgreSQL database) run every due time exactly once; a
crashed holder blocks the job until its lease expires; failures are recorded and the
scheduler carries on; the history stays bounded; the listings page with cursors."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from shipyard.core.errors import InvalidStateTransitionError, NotFoundError, ValidationError
from shipyard.core.jobs import (
    JobRunStatus,
    JobSpec,
    check_job_run_transition,
    next_due_after,
    truncate_error,
)
from shipyard.services.jobs import JobScheduler, JobsService
from shipyard.stores.sql.engine import Database
from shipyard.stores.sql.schema import ensure_schema

INTERVAL = 0.2


@pytest.fixture
def open_db(db_url: str) -> Iterator[Callable[[], Database]]:
    """Each call opens another ``Database`` on the same metadata store (another replica)."""
    opened: list[Database] = []

    def open_one() -> Database:
        db = Database(db_url)
        if not opened:
            ensure_schema(db)
        opened.append(db)
        return db

    yield open_one
    for db in opened:
        db.dispose()


@pytest.fixture
def schedulers() -> Iterator[list[JobScheduler]]:
    started: list[JobScheduler] = []
    yield started
    for s in started:
        s.stop()


class Counter:
    """A job that counts its calls per replica (thread-safe)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def for_replica(self, holder: str, work_s: float = 0.0) -> Callable[[], None]:
        def run() -> None:
            with self._lock:
                self.calls.append(holder)
            time.sleep(work_s)

        return run


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


# ---------------------------------------------------------------- exactly once
def test_two_replicas_run_every_due_time_exactly_once(
    open_db: Callable[[], Database], schedulers: list[JobScheduler]
) -> None:
    counter = Counter()
    for holder in ("replica-a", "replica-b"):
        s = JobScheduler(open_db(), holder=holder)
        s.register("count", INTERVAL, counter.for_replica(holder, work_s=0.01))
        schedulers.append(s)
    for s in schedulers:
        s.start()
    time.sleep(2.1)
    for s in schedulers:
        s.stop()

    runs = JobsService(open_db()).runs("count", limit=1000).items
    dues = sorted(r.due for r in runs)
    assert len(runs) == len(counter.calls)  # every call recorded, no call unrecorded
    assert len(set(dues)) == len(dues)  # no due time ran twice
    steps = [b - a for a, b in itertools.pairwise(dues)]
    assert all(step % 200 == 0 for step in steps), steps  # one grid of due times
    skipped = sum(step // 200 - 1 for step in steps)
    assert skipped <= 3, steps  # a busy machine may miss a slot; never many
    assert len(runs) >= 7  # ~10 due times in 2.1 s
    assert {r.status for r in runs} == {JobRunStatus.OK}
    assert {r.holder for r in runs} <= {"replica-a", "replica-b"}


def test_a_slot_is_won_by_one_claim_only(open_db: Callable[[], Database]) -> None:
    """The compare-and-set itself: two replicas that read the same due row both claim;
    exactly one gets the slot."""
    a, b = JobScheduler(open_db(), holder="a"), JobScheduler(open_db(), holder="b")
    spec = JobSpec("cas", INTERVAL, 5.0)
    with a.db.write() as conn:
        a.repo.ensure(conn, spec, 1_000)
    with a.db.read() as conn:
        seen = a.repo.lease(conn, "cas")
    assert seen is not None and seen.is_due(1_000)
    won = []
    for s in (a, b):
        with s.db.write() as conn:
            won.append(s.repo.claim(conn, seen, spec, s.holder, 1_050))
    assert won[0] is not None and won[1] is None
    assert won[0].next_due == 1_200 and won[0].lease_until == 6_050 and won[0].tick == 1


# ---------------------------------------------------------------- crash and lease expiry
def test_a_crashed_holder_blocks_the_job_until_its_lease_expires(
    open_db: Callable[[], Database], schedulers: list[JobScheduler]
) -> None:
    lease_s = 0.8
    entered, unblock = threading.Event(), threading.Event()

    def hang() -> None:  # the replica "dies" mid-run: its lease is never given back
        entered.set()
        unblock.wait(10)

    crashed = JobScheduler(open_db(), holder="crashed")
    crashed.register("sweep", INTERVAL, hang, lease_s=lease_s)
    schedulers.append(crashed)
    crashed.start()
    assert entered.wait(5)

    counter = Counter()
    survivor = JobScheduler(open_db(), holder="survivor")
    survivor.register("sweep", INTERVAL, counter.for_replica("survivor"), lease_s=lease_s)
    schedulers.append(survivor)
    survivor.start()
    _wait_for(lambda: len(counter.calls) >= 2)
    unblock.set()

    jobs = JobsService(open_db())
    runs = list(reversed(jobs.runs("sweep").items))
    first, taken = runs[0], runs[1]
    assert first.holder == "crashed" and taken.holder == "survivor"
    assert taken.started >= first.started + lease_s * 1000  # not before the lease expired
    assert taken.started <= first.started + lease_s * 1000 + 2000  # but soon after
    assert first.status is JobRunStatus.LOST
    assert "lease of crashed expired" in (first.error or "")
    survivor.stop()
    crashed.stop()
    # the crashed run finished late: it stays lost; the survivor's runs are fine
    runs = jobs.runs("sweep").items
    assert [r.status for r in runs if r.holder == "crashed"][-1] is JobRunStatus.LOST
    assert {r.status for r in runs if r.holder == "survivor"} == {JobRunStatus.OK}


# ---------------------------------------------------------------- failures and history
def test_a_failing_job_is_recorded_and_the_scheduler_keeps_going(
    open_db: Callable[[], Database], schedulers: list[JobScheduler]
) -> None:
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("the model store is down " + "x" * 5000)

    s = JobScheduler(open_db(), holder="solo")
    s.register("flaky", INTERVAL, flaky)
    schedulers.append(s)
    s.register("steady", INTERVAL, lambda: None)  # a second job keeps running beside it
    s.start()
    _wait_for(lambda: len(calls) >= 3)
    s.stop()

    jobs = JobsService(open_db())
    runs = list(reversed(jobs.runs("flaky").items))
    assert runs[0].status is JobRunStatus.FAILED
    assert runs[0].error is not None and runs[0].error.startswith("ValueError: the model store")
    assert len(runs[0].error) <= 2000 and runs[0].error.endswith("(truncated)")
    assert runs[0].finished is not None and runs[0].duration_ms is not None
    assert [r.status for r in runs[1:]] == [JobRunStatus.OK] * (len(runs) - 1)
    listed = {j.lease.name: j for j in jobs.jobs().items}
    assert listed["flaky"].last_run is not None
    assert listed["flaky"].last_run.status is JobRunStatus.OK
    assert listed["steady"].runs >= 2


def test_history_is_bounded_and_missed_slots_are_skipped(open_db: Callable[[], Database]) -> None:
    now = [10_000]
    s = JobScheduler(open_db(), holder="solo", keep_runs=3, clock=lambda: now[0])
    s.register("tidy", 1.0, lambda: None)
    for _ in range(5):
        outcomes, wait = s.run_due()
        assert len(outcomes) == 1 and 0.01 <= wait <= 1.0
        assert s.run_due()[0] == []  # the same due time never runs twice
        now[0] += 1000
    now[0] += 3500  # the replica slept through three slots: they are skipped, not replayed
    assert [o.due for o in s.run_due()[0]] == [15_000]
    assert [o.due for o in s.run_due()[0]] == []
    runs = JobsService(s.db).runs("tidy").items
    assert [r.due for r in runs] == [15_000, 14_000, 13_000]  # only the newest 3 kept
    now[0] = 19_000
    assert [o.due for o in s.run_due()[0]] == [19_000]


# ---------------------------------------------------------------- listings
def test_listings_page_with_cursors_and_name_unknown_jobs(open_db: Callable[[], Database]) -> None:
    now = [50_000]
    s = JobScheduler(open_db(), holder="solo", clock=lambda: now[0])
    for name in ("c-job", "a-job", "b-job"):
        s.register(name, 1.0, lambda: None)
    for _ in range(3):
        s.run_due()
        now[0] += 1000
    jobs = JobsService(s.db)
    first = jobs.jobs(limit=2)
    assert [j.lease.name for j in first.items] == ["a-job", "b-job"] and first.total == 3
    rest = jobs.jobs(first.next_cursor, limit=2)
    assert [j.lease.name for j in rest.items] == ["c-job"] and rest.next_cursor is None
    page = jobs.runs("a-job", limit=2)
    assert [r.due for r in page.items] == [52_000, 51_000] and page.total == 3
    older = jobs.runs("a-job", page.next_cursor, limit=2)
    assert [r.due for r in older.items] == [50_000] and older.next_cursor is None
    with pytest.raises(NotFoundError, match="no job named 'nope'; known jobs: a-job, b-job"):
        jobs.runs("nope")
    with pytest.raises(ValidationError, match="cursor 'garbage' is not valid"):
        jobs.jobs("garbage")
    with pytest.raises(ValidationError, match=r"limit must be 1\.\.1000"):
        jobs.jobs(limit=0)


# ---------------------------------------------------------------- pure parts
def test_due_maths_specs_and_run_transitions() -> None:
    assert next_due_after(1000, 200, 1000) == 1200
    assert next_due_after(1000, 200, 1199) == 1200
    assert next_due_after(1000, 200, 1200) == 1400
    assert next_due_after(1000, 200, 1950) == 2000
    assert next_due_after(1000, 200, 900) == 1200
    spec = JobSpec("canary-watch:production", 0.25, 30)
    assert (spec.interval_ms, spec.lease_ms) == (250, 30_000)
    with pytest.raises(ValidationError, match="interval_s of job 'x' must be a positive"):
        JobSpec("x", 0, 1)
    with pytest.raises(ValidationError, match="job name must be"):
        JobSpec("has space", 1, 1)
    check_job_run_transition(JobRunStatus.RUNNING, JobRunStatus.LOST)
    with pytest.raises(InvalidStateTransitionError, match="from ok to failed; allowed: none"):
        check_job_run_transition(JobRunStatus.OK, JobRunStatus.FAILED)
    assert truncate_error("short") == "short"
    assert len(truncate_error("y" * 3000)) == 2000


def test_register_rejects_bad_specs_and_stop_is_idempotent(
    open_db: Callable[[], Database],
) -> None:
    s = JobScheduler(open_db())
    with pytest.raises(ValidationError, match="lease_s of job 'x'"):
        s.register("x", 1.0, lambda: None, lease_s=-1)
    with pytest.raises(ValidationError, match="keep_runs must be at least 1"):
        JobScheduler(s.db, keep_runs=0)
    s.stop()  # never started
    s.start()
    s.start()
    assert s.running
    s.stop()
    s.stop()
    assert not s.running
