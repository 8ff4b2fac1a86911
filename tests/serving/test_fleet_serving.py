"""A fleet behind one real `shipyard serve`: the cap bounds what is loaded whatever is deployed,
cold misses load on demand (once for concurrent requests), pins stay, /metrics reports it."""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sklearn.linear_model import LogisticRegression

from tests.serving.conftest import SHIPYARD, Project, Server

MODELS = [f"m-{i}" for i in range(7)]


@pytest.fixture
def fleet(project: Project) -> list[str]:
    model = LogisticRegression(max_iter=3000).fit(project.frame, project.labels)
    for name in MODELS:
        v = project.log(model, name)
        project.services.deployments.deploy(name, v.version, "staging", project.admin)
    return MODELS


def _body(project: Project) -> dict[str, Any]:
    head = project.frame.head(1)
    return {
        "inputs": [
            {"name": c, "shape": [1], "datatype": "FP64", "data": head[c].tolist()}
            for c in head.columns
        ]
    }


def _figures(server: Server) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(server.url + "/metrics", timeout=10).text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[s.name] = found.get(s.name, 0.0) + s.value
    return found


def _infer(server: Server, project: Project, name: str) -> None:
    r = server.post(f"/v2/models/{name}/infer", _body(project))
    assert r.status_code == 200 and r.json()["model_name"] == name, r.text


def test_the_cap_bounds_deployed_models_and_cold_misses_load_on_demand(
    project: Project, serve: Any, fleet: list[str]
) -> None:
    server = serve("--max-models", "3")
    assert httpx.get(server.url + "/v2").json()["loaded_versions"] == 3  # warmed up to the cap
    for _ in range(2):
        for name in fleet:  # every request answered, most of them cold misses
            _infer(server, project, name)
    assert httpx.get(server.url + "/v2").json()["loaded_versions"] == 3
    figures = _figures(server)
    assert figures["shipyard_models_loaded"] == 3 and figures["shipyard_models_max"] == 3
    assert figures["shipyard_model_loads_total"] >= 2 * len(fleet) - 3
    assert figures["shipyard_model_evictions_total"] == figures["shipyard_model_loads_total"] - 3
    assert figures["shipyard_model_load_seconds_count"] == figures["shipyard_model_loads_total"]
    assert figures["shipyard_model_load_seconds_sum"] > 0
    assert figures["shipyard_requests_total"] == 2 * len(fleet)
    cold = fleet[0]  # the least recently used: evicted by now
    loads = figures["shipyard_model_loads_total"]
    with ThreadPoolExecutor(12) as pool:
        list(pool.map(lambda _: _infer(server, project, cold), range(12)))
    assert _figures(server)["shipyard_model_loads_total"] == loads + 1  # one load for all


def test_a_pinned_model_stays_loaded_whatever_the_traffic(
    project: Project, serve: Any, fleet: list[str]
) -> None:
    server = serve("--max-models", "2", "--pin", fleet[-1])
    meta = httpx.get(server.url + "/v2").json()
    assert meta["max_models"] == 2 and meta["pinned"] == [fleet[-1]]
    _infer(server, project, fleet[-1])
    for name in fleet[:-1]:
        _infer(server, project, name)
    loads = _figures(server)["shipyard_model_loads_total"]
    _infer(server, project, fleet[-1])  # pinned: still loaded, no load
    assert _figures(server)["shipyard_model_loads_total"] == loads
    _infer(server, project, fleet[0])  # evicted by the others: loads again
    assert _figures(server)["shipyard_model_loads_total"] == loads + 1


def test_pinning_as_many_models_as_the_cap_is_refused_with_exit_2(project: Project) -> None:
    done = subprocess.run(
        [
            str(SHIPYARD),
            "serve",
            "--env",
            "staging",
            "--max-models",
            "2",
            "--pin",
            "a",
            "--pin",
            "b",
        ],
        env=project.env(),
        cwd=project.path,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert b"pin fewer models than --max-models" in done.stderr


def test_serve_registers_the_prediction_log_compaction_job(
    project: Project, serve: Any, fleet: list[str]
) -> None:
    serve(SHIPYARD_SERVE_COMPACT_S="0.5")
    jobs = project.services.jobs
    deadline = time.monotonic() + 30
    found = None
    while time.monotonic() < deadline:
        found = next((j for j in jobs.jobs().items if j.lease.name == "predlog-compact"), None)
        if found is not None and found.last_run is not None and found.last_run.finished:
            break
        time.sleep(0.2)
    assert found is not None and found.last_run is not None
    assert found.last_run.status.value == "ok", found.last_run.error


def test_figures_of_a_rollout_flush_at_once_the_others_with_stats_s(
    project: Project, serve: Any, fleet: list[str]
) -> None:
    from shipyard.core.clock import now_ms

    since = now_ms() - 1000
    model = LogisticRegression(max_iter=3000).fit(project.frame, project.labels)
    v2 = project.log(model, fleet[0])
    project.services.deployments.deploy(
        fleet[0], v2.version, "staging", project.admin, strategy="canary", percent=50
    )
    server = serve(SHIPYARD_SERVE_STATS_S="600")
    for _ in range(4):
        _infer(server, project, fleet[0])  # in a canary: judged, so flushed every flush_s
        _infer(server, project, fleet[1])  # live only: written every stats_s (or at stop)
    figures = project.services.figures
    deadline = time.monotonic() + 20
    while not figures.rows("staging", fleet[0], since):
        assert time.monotonic() < deadline, "the canary's figures were not flushed"
        time.sleep(0.1)
    time.sleep(1.0)  # five more flushes
    assert figures.rows("staging", fleet[1], since) == []
    server.process.terminate()
    server.process.wait(timeout=30)
    rows = figures.rows("staging", fleet[1], since)
    assert sum(r["requests"] for r in rows) == 4  # the last flush writes everything
