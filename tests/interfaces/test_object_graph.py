"""The object graph builds each service on first use, once, and closes what it built."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.settings import load_settings


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Services]:
    graph = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    yield graph
    graph.close()


def test_a_service_is_built_on_first_use_and_only_once(svc: Services) -> None:
    assert "registry" not in vars(svc) and "monitor_runner" not in vars(svc)
    registry = svc.registry
    assert svc.registry is registry
    assert svc.deployments.registry is registry  # collaborators share the one instance
    assert "monitor_runner" not in vars(svc)  # nothing asked for it


def test_threads_asking_at_once_get_one_service(svc: Services) -> None:
    got: list[object] = []
    start = threading.Barrier(4)

    def ask() -> None:
        start.wait()
        got.append(svc.retraining)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(g is got[0] for g in got)


def test_build_all_builds_every_service(svc: Services) -> None:
    svc.build_all()
    for name in ("tracking", "catalog", "registry", "monitor_runner", "retraining", "profiler"):
        assert name in vars(svc)
    assert svc.retraining.parts.registry is svc.registry


def test_close_stops_only_what_was_built(tmp_path: Path) -> None:
    graph = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    assert graph.registry.page_models(None).total == 0
    graph.close()
    assert "jobs" not in vars(graph) and "profiler" not in vars(graph)
