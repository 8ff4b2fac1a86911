"""``shipyard jobs ls|runs``: the periodic jobs every replica runs (once across replicas), their
last run and their run history."""

from __future__ import annotations

import typer

from shipyard.core.clock import format_ms, now_ms
from shipyard.interfaces.cli.common import JSON_OPT, console, print_json, services, table

__all__ = ["jobs_app"]

jobs_app = typer.Typer(
    help="Periodic jobs (canary watchers, …): last run, status, who ran it, next due.",
    no_args_is_help=True,
)

LIMIT_OPT = typer.Option(50, "--limit", "-n", min=1, max=1000, help="How many to show.")


def _duration(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def _interval(seconds: float) -> str:
    return f"{seconds:g} s"


@jobs_app.command("ls")
def ls(limit: int = LIMIT_OPT, as_json: bool = JSON_OPT) -> None:
    """List the jobs with their last run."""
    from shipyard.interfaces.presenters.jobs import job_json

    page = services().jobs.jobs(None, limit)
    now = now_ms()
    found = [job_json(s, now) for s in page.items]
    if as_json:
        print_json({"jobs": found, "total": page.total})
        return
    rows = []
    for j in found:
        last = j["last_run"] or {}
        rows.append(
            [
                j["name"],
                _interval(j["interval_s"]),
                format_ms(last.get("started")),
                j["status"] or "-",
                _duration(last.get("duration_ms")),
                last.get("holder"),
                format_ms(j["next_due"]),
            ]
        )
    table(
        "Jobs",
        ["name", "interval", "last run", "status", "duration", "holder", "next due"],
        rows,
    )
    console().print(f"showing {len(found)} of {page.total}")


@jobs_app.command("runs")
def runs(
    name: str = typer.Argument(..., help="Job name, e.g. canary-watch:production."),
    limit: int = LIMIT_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """List the runs of one job, newest first."""
    from shipyard.interfaces.presenters.jobs import run_json

    page = services().jobs.runs(name, None, limit)
    found = [run_json(r) for r in page.items]
    if as_json:
        print_json({"runs": found, "total": page.total})
        return
    table(
        f"Runs of {name}",
        ["#", "started", "status", "duration", "holder", "error"],
        [
            [
                r["id"],
                format_ms(r["started"]),
                r["status"],
                _duration(r["duration_ms"]),
                r["holder"],
                (r["error"] or "")[:80],
            ]
            for r in found
        ],
    )
    console().print(f"showing {len(found)} of {page.total}")
