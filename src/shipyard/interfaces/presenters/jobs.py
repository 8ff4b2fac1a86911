"""Scheduled jobs and their runs as JSON."""

from __future__ import annotations

from typing import Any

from shipyard.core.jobs import JobRun, JobSummary

__all__ = ["job_json", "run_json"]


def run_json(r: JobRun) -> dict[str, Any]:
    return {
        "id": r.run_id,
        "name": r.name,
        "holder": r.holder,
        "due": r.due,
        "started": r.started,
        "finished": r.finished,
        "status": r.status.value,
        "duration_ms": None if r.duration_ms is None else round(r.duration_ms, 3),
        "error": r.error,
    }


def job_json(s: JobSummary, now: int) -> dict[str, Any]:
    lease, last = s.lease, s.last_run
    return {
        "name": lease.name,
        "interval_s": lease.interval_ms / 1000,
        "lease_s": lease.lease_ms / 1000,
        "holder": lease.holder if lease.held(now) else None,
        "lease_until": lease.lease_until if lease.held(now) else None,
        "next_due": lease.next_due,
        "claims": lease.tick,
        "runs": s.runs,
        "status": None if last is None else last.status.value,
        "last_run": None if last is None else run_json(last),
    }
