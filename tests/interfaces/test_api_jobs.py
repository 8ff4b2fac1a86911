"""The jobs over real HTTP: the server runs its own scheduler (started with the app), the
listing shows every job with its last run, the runs page with a keyset cursor, a viewer
may read them, an unknown job is a 404 that says which jobs exist."""

from __future__ import annotations

import time
from typing import Any

import httpx

from shipyard.core.entities import Role
from tests.interfaces.conftest import LiveServer


def _get(server: LiveServer, path: str, token: str | None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(server.url + path, headers=headers, params=params, timeout=10)


def test_jobs_and_runs_listed_for_viewers(live_server: LiveServer) -> None:
    svc: Any = live_server.services
    assert svc.jobs.scheduler.running  # started by the app's lifespan
    calls: list[int] = []

    def failing_once() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first run fails")

    svc.jobs.scheduler.register("nightly-check", 0.2, failing_once)
    deadline = time.monotonic() + 10
    while len(calls) < 3:
        assert time.monotonic() < deadline, "the server's scheduler did not run the job"
        time.sleep(0.05)
    svc.access.add_user("vera", Role.VIEWER, actor="admin")
    viewer = svc.access.issue_token("vera", actor="admin")

    listed = _get(live_server, "/api/v1/jobs", viewer)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["total"] == 1 and body["next_cursor"] is None
    job = body["jobs"][0]
    assert job["name"] == "nightly-check" and job["interval_s"] == 0.2
    assert job["runs"] >= 3 and job["last_run"]["holder"] == svc.jobs.scheduler.holder

    first = _get(live_server, "/api/v1/jobs/nightly-check/runs", viewer, limit=2).json()
    assert len(first["runs"]) == 2 and first["total"] >= 3 and first["next_cursor"]
    ids = [r["id"] for r in first["runs"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    rest = _get(
        live_server, "/api/v1/jobs/nightly-check/runs", viewer, cursor=first["next_cursor"]
    ).json()
    assert all(r["id"] < ids[-1] for r in rest["runs"])
    oldest = rest["runs"][-1] if rest["runs"] else first["runs"][-1]
    assert oldest["status"] == "failed" and oldest["error"] == "RuntimeError: first run fails"

    unknown = _get(live_server, "/api/v1/jobs/nope/runs", viewer)
    assert unknown.status_code == 404
    assert unknown.json()["message"].startswith("no job named 'nope'; known jobs: nightly-check")
    bad = _get(live_server, "/api/v1/jobs", viewer, cursor="garbage")
    assert bad.status_code == 400 and "cursor 'garbage' is not valid" in bad.json()["message"]
    assert _get(live_server, "/api/v1/jobs", None).status_code == 401
