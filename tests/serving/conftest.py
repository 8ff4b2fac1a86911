"""A project with deployed models and a real `shipyard serve` process on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
SHIPYARD = Path(sys.executable).with_name("shipyard")


@dataclass
class Project:
    path: Path
    services: Any
    admin: Any
    frame: Any  # the breast-cancer inputs (named columns)
    labels: Any

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "SHIPYARD_PROJECT_DIR": str(self.path),
            # the caller's PYTHONPATH first: replicas run the code under test
            "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(REPO)])),
            "SHIPYARD_SERVE_POLL_S": "0.1",
            "SHIPYARD_SERVE_FLUSH_S": "0.2",
            "SHIPYARD_SERVE_LOG_AGE_S": "0.2",  # prediction logs written at once
            "SHIPYARD_SERVE_STATS_S": "0.2",  # figures of every model at every flush
            **extra,
        }

    def log(self, model: Any, name: str = "bc") -> Any:
        return self.services.registry.log_model(
            model,
            name,
            user=self.admin.name,
            input_example=self.frame.head(5),
            reference_data=self.frame,
            allow_pickle=not hasattr(model, "get_params"),
        )


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    from sklearn.datasets import load_breast_cancer

    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    x.columns = [c.replace(" ", "_") for c in x.columns]
    services = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    admin = services.access.ensure_local_admin()
    yield Project(tmp_path, services, admin, x, y)
    services.close()


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]

    def post(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return httpx.post(self.url + path, json=body, timeout=30, **kw)


@pytest.fixture
def serve(project: Project) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(*args: str, env: str = "staging", **extra_env: str) -> Server:
        port = free_port()
        process = subprocess.Popen(
            [str(SHIPYARD), "serve", "--env", env, "--port", str(port), *args],
            env=project.env(**extra_env),
            cwd=project.path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        server = Server(f"http://127.0.0.1:{port}", process)
        started.append(server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode())  # type: ignore[union-attr]
            try:
                if httpx.get(server.url + "/v2/health/ready", timeout=2).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("shipyard serve did not become ready in 60 s")

    yield start
    for server in started:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
