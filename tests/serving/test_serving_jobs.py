"""Serving replicas share the canary watcher: two ``shipyard serve`` processes on one
environment each register ``canary-watch:<env>``, and every due time runs on one of them."""

from __future__ import annotations

import time
from typing import Any

from tests.serving.conftest import Project

WATCHER = "canary-watch:staging"


def test_two_replicas_run_the_canary_watcher_once_per_due_time(
    project: Project, serve: Any
) -> None:
    first, second = serve(), serve()
    jobs = project.services.jobs
    deadline = time.monotonic() + 20
    while not (_known(jobs) and jobs.runs(WATCHER).total >= 10):
        assert time.monotonic() < deadline, "the replicas did not run the canary watcher"
        time.sleep(0.1)
    for server in (first, second):  # a graceful stop finishes the run and frees the lease
        server.process.terminate()
        server.process.wait(timeout=15)
    runs = jobs.runs(WATCHER, limit=1000).items
    dues = [r.due for r in runs]
    assert len(dues) == len(set(dues))  # no due time ran twice
    assert {r.status.value for r in runs} == {"ok"}
    listed = {j.lease.name: j for j in jobs.jobs().items}
    assert set(listed) == {WATCHER, "predlog-compact"}  # serve also compacts the logs
    watcher = listed[WATCHER]
    assert watcher.lease.interval_ms == 200  # every SHIPYARD_SERVE_FLUSH_S
    assert watcher.lease.holder is None


def _known(jobs: Any) -> bool:
    return any(j.lease.name == WATCHER for j in jobs.jobs().items)
