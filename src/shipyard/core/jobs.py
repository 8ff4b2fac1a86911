"""Periodic jobs: the job spec, its lease, its runs' lifecycle and the "is it due" maths.

A job runs on a fixed grid of due times ``due, due + interval, …``. The replica that claims
a due slot holds the job's lease until it finishes (or until the lease expires, when it is
taken to have crashed); the next due time is the first slot after the claim, so missed
slots are skipped rather than run in a burst.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from shipyard.core.errors import InvalidStateTransitionError, ValidationError

__all__ = [
    "JOB_RUN_TRANSITIONS",
    "MAX_ERROR_CHARS",
    "JobLease",
    "JobRun",
    "JobRunStatus",
    "JobSpec",
    "JobSummary",
    "check_job_name",
    "check_job_run_transition",
    "default_lease_s",
    "next_due_after",
    "truncate_error",
]

MAX_ERROR_CHARS = 2000
MAX_NAME_CHARS = 128
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


def check_job_name(name: str) -> str:
    """``name`` when it is a valid job name, else a ValidationError saying what is allowed."""
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_CHARS or not _NAME.match(name):
        raise ValidationError(
            f"job name must be 1..{MAX_NAME_CHARS} letters, digits or _.:- starting with a "
            f"letter or digit; got {name!r}",
            field="name",
        )
    return name


def default_lease_s(interval_s: float) -> float:
    """How long a claim holds the job when the caller does not say: long enough for any
    sane run, short enough that a crashed replica blocks the job for under a minute."""
    return max(30.0, 2 * interval_s)


@dataclass(frozen=True)
class JobSpec:
    """A periodic job as registered: run every ``interval_s``; a claim holds it ``lease_s``."""

    name: str
    interval_s: float
    lease_s: float

    def __post_init__(self) -> None:
        check_job_name(self.name)
        for field, value in (("interval_s", self.interval_s), ("lease_s", self.lease_s)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValidationError(
                    f"{field} of job {self.name!r} must be a positive number of seconds; "
                    f"got {value!r}",
                    field=field,
                )

    @property
    def interval_ms(self) -> int:
        return max(1, round(self.interval_s * 1000))

    @property
    def lease_ms(self) -> int:
        return max(1, round(self.lease_s * 1000))


@dataclass(frozen=True)
class JobLease:
    """The shared row of one job: who holds it until when, and when it is next due.

    ``tick`` counts claims; a claim is a compare-and-set on it, so two replicas that read
    the same row cannot both win the same slot.
    """

    name: str
    holder: str | None
    lease_until: int
    next_due: int
    interval_ms: int
    lease_ms: int
    tick: int

    def held(self, now: int) -> bool:
        """True while a replica holds an unexpired lease."""
        return self.holder is not None and self.lease_until > now

    def is_due(self, now: int) -> bool:
        """True when a replica may claim the job now."""
        return self.next_due <= now and not self.held(now)


def next_due_after(due: int, interval_ms: int, now: int) -> int:
    """The first slot of the grid ``due + k * interval_ms`` (k ≥ 1) that is after ``now``."""
    if interval_ms <= 0:
        raise ValidationError(f"interval must be positive; got {interval_ms} ms", field="interval")
    if now < due:
        return due + interval_ms
    return due + ((now - due) // interval_ms + 1) * interval_ms


class JobRunStatus(StrEnum):
    """A run's lifecycle: running, then ok or failed; lost when its holder's lease expired
    before it finished (another replica took the job over)."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    LOST = "lost"

    @property
    def is_terminal(self) -> bool:
        return self is not JobRunStatus.RUNNING


JOB_RUN_TRANSITIONS: dict[JobRunStatus, frozenset[JobRunStatus]] = {
    JobRunStatus.RUNNING: frozenset({JobRunStatus.OK, JobRunStatus.FAILED, JobRunStatus.LOST}),
    JobRunStatus.OK: frozenset(),
    JobRunStatus.FAILED: frozenset(),
    JobRunStatus.LOST: frozenset(),
}


def check_job_run_transition(current: JobRunStatus, new: JobRunStatus) -> None:
    """Raise when ``current → new`` is not in the transition table."""
    if new in JOB_RUN_TRANSITIONS[current]:
        return
    allowed = ", ".join(sorted(s.value for s in JOB_RUN_TRANSITIONS[current])) or "none"
    raise InvalidStateTransitionError(
        f"a job run cannot go from {current.value} to {new.value}; allowed: {allowed}",
        field="status",
    )


def truncate_error(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` cut to ``limit`` characters, marked when cut."""
    if len(text) <= limit:
        return text
    marker = " … (truncated)"
    return text[: limit - len(marker)] + marker


@dataclass(frozen=True)
class JobRun:
    """One run of a job on one replica."""

    run_id: int
    name: str
    holder: str
    due: int
    started: int
    finished: int | None
    status: JobRunStatus
    duration_ms: float | None
    error: str | None


@dataclass(frozen=True)
class JobSummary:
    """A job as listed: its lease row, its last run (if any) and how many runs are kept."""

    lease: JobLease
    last_run: JobRun | None
    runs: int
