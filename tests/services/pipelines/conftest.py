"""A Shipyard project in a temporary folder, and a Dask cluster shared by the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.settings import Settings


def make_services(tmp_path: Path, db_url: str | None = None, **extra: object) -> Services:
    settings = Settings(
        project_dir=tmp_path,
        db_url=db_url or f"sqlite:///{tmp_path / 'shipyard.db'}",
        artifacts_url=str(tmp_path / "objects"),
        user="tester",
        **extra,  # type: ignore[arg-type]
    )
    return build_services(settings)


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Services]:
    services = make_services(tmp_path)
    yield services
    services.close()


@pytest.fixture(scope="session")
def dask_address() -> Iterator[str]:
    """A real Dask LocalCluster (two worker processes), as DASK_SCHEDULER_ADDRESS would name."""
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()
