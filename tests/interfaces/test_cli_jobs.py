"""``shipyard jobs ls|runs`` over the runs a replica's scheduler recorded."""

from __future__ import annotations

import json
import time
from pathlib import Path

from shipyard.interfaces.bootstrap import build_services
from shipyard.settings import load_settings
from tests.cli import run_cli


def test_jobs_ls_and_runs_show_what_the_scheduler_ran(tmp_path: Path) -> None:
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    scheduler = svc.jobs.scheduler
    calls: list[int] = []
    scheduler.register("canary-watch:staging", 0.2, lambda: calls.append(1))
    scheduler.register("broken", 0.2, lambda: 1 / 0)
    scheduler.start()
    deadline = time.monotonic() + 10
    while len(calls) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    svc.close()  # stops the scheduler

    listed = json.loads(run_cli(tmp_path, "jobs", "ls", "--json").stdout)
    assert listed["total"] == 2
    jobs = {j["name"]: j for j in listed["jobs"]}
    assert jobs["canary-watch:staging"]["status"] == "ok"
    assert jobs["canary-watch:staging"]["last_run"]["holder"] == scheduler.holder
    assert jobs["broken"]["status"] == "failed"
    assert jobs["broken"]["last_run"]["error"] == "ZeroDivisionError: division by zero"

    table = run_cli(tmp_path, "jobs", "ls")
    assert table.returncode == 0
    assert "canary-watch:staging" in table.stdout and "0.2 s" in table.stdout
    assert "showing 2 of 2" in table.stdout

    runs = json.loads(run_cli(tmp_path, "jobs", "runs", "broken", "--json").stdout)
    assert runs["total"] >= 1 and {r["status"] for r in runs["runs"]} == {"failed"}
    limited = run_cli(tmp_path, "jobs", "runs", "canary-watch:staging", "-n", "1")
    assert limited.returncode == 0 and f"showing 1 of {len(calls)}" in limited.stdout

    unknown = run_cli(tmp_path, "jobs", "runs", "nope")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == [
        "error: no job named 'nope'; known jobs: broken, canary-watch:staging "
        "(see `shipyard jobs ls`)"
    ]
