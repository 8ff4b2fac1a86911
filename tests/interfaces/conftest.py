"""A real Shipyard server over HTTP on a free loopback port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port


@dataclass
class LiveServer:
    url: str
    services: object
    admin_token: str


def _serve(tmp_path: Path, auth_mode: str, db_url: str | None = None) -> Iterator[LiveServer]:
    import uvicorn

    from shipyard.core.entities import Role
    from shipyard.interfaces.bootstrap import build_server_app, build_services
    from shipyard.settings import load_settings

    env = {"SHIPYARD_PROJECT_DIR": str(tmp_path)}
    if db_url is not None:
        env["SHIPYARD_DB_URL"] = db_url
    services = build_services(load_settings(env=env))
    services.access.add_user("admin", Role.ADMIN)
    token = services.access.issue_token("admin")
    port = free_port()
    config = uvicorn.Config(
        build_server_app(services, auth_mode=auth_mode),
        host="127.0.0.1",
        port=port,
        log_level="error",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        yield LiveServer(url, services, token)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        services.close()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """Token auth required for every API call."""
    yield from _serve(tmp_path, "token")


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[LiveServer]:
    """Embedded default: loopback callers without a token act as the local admin."""
    yield from _serve(tmp_path, "local")


@pytest.fixture(scope="module")
def lineage_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A local-auth server whose ``loans@v1`` trained two model versions, one through a
    pipeline's step (``tests/interfaces/lineage_world.py``); one per test module."""
    from tests.interfaces.lineage_world import seed

    for server in _serve(tmp_path_factory.mktemp("lineage-world"), "local"):
        yield seed(server)
