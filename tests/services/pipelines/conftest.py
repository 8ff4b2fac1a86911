"""A Shipyard project in a temporary folder, and a Dask cluster shared by the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.settings import Settings


def make_services(tmp_path: Path, db_url: str | None = None, **extra: object) -> Services:
    tmp_path.mkdir(parents=True, exist_ok=True)
    values: dict[str, object] = {
        "project_dir": tmp_path,
        "db_url": db_url or f"sqlite:///{tmp_path / 'shipyard.db'}",
        "artifacts_url": str(tmp_path / "objects"),
        "user": "tester",
        **extra,
    }
    settings = Settings(**values)  # type: ignore[arg-type]
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

    # Workers get their S3 credentials from their own environment, as on a real cluster
    # (moto accepts any).
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        env={
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()
