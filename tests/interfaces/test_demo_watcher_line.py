"""The demo's line for what the watcher did to the challenger before the loop deployed the
retrained version, on real deployments (SQLite): promoted, rolled back, or neither."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.core.entities import Role
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.interfaces.cli.demo_retrain import _watcher_acted
from shipyard.settings import Settings

MODEL = "diabetes-progression"
RELEASE = {MODEL: {"deploy": {"strategy": "canary", "steps": [20, 100]}}}


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Services]:
    services = build_services(
        Settings(
            project_dir=tmp_path,
            db_url=f"sqlite:///{tmp_path / 'meta.db'}",
            artifacts_url=str(tmp_path / "objects"),
            release=RELEASE,
        )
    )
    x = pd.DataFrame({"age": np.arange(40.0), "bmi": np.arange(40.0) % 7})
    model = LogisticRegression().fit(x, (x["age"] > 19).to_numpy(dtype=int))
    signature = {"inputs": [["age", "float64"], ["bmi", "float64"]], "output": "int64"}
    for _ in range(3):
        version = services.registry.log_model(model, MODEL, user="ada", signature=signature)
        services.registry.set_status(version.ref, "gate_passed", user="ci")
        services.registry.set_status(version.ref, "approved", user="carol")
    services.access.add_user("dora", Role.DEPLOYER)
    yield services
    services.close()


def _roll_out_v2(svc: Services) -> None:
    dora = svc.access.get_user("dora")
    svc.deployments.deploy(MODEL, 1, "production", dora)
    svc.deployments.deploy(MODEL, 2, "production", dora)  # a canary at 20 %


def test_the_watcher_rolled_the_challenger_back(svc: Services) -> None:
    _roll_out_v2(svc)
    watcher = svc.access.get_user("dora")
    svc.deployments.rollback(
        "production", watcher, model=MODEL, reason="automatic rollback: p99_ms > 250",
        automatic=True,
    )  # fmt: skip
    svc.deployments.deploy(MODEL, 3, "production", svc.access.get_user("dora"))
    assert _watcher_acted(svc, MODEL, 3) == (
        "the watcher had rolled the challenger v2 back (automatic rollback: p99_ms > 250)"
    )


def test_the_watcher_promoted_the_challenger(svc: Services) -> None:
    _roll_out_v2(svc)
    dora = svc.access.get_user("dora")
    svc.deployments.promote("production", dora, model=MODEL, automatic=True)
    svc.deployments.deploy(MODEL, 3, "production", dora)
    assert _watcher_acted(svc, MODEL, 3) == "the watcher had promoted the challenger v2 to live"


def test_neither_is_said_plainly(svc: Services) -> None:
    _roll_out_v2(svc)
    dora = svc.access.get_user("dora")
    svc.deployments.rollback("production", dora, model=MODEL, reason="by hand")
    svc.deployments.deploy(MODEL, 3, "production", dora)
    assert _watcher_acted(svc, MODEL, 3) == "the challenger's canary had ended"
    assert _watcher_acted(svc, MODEL, 9) == "the challenger's canary had ended"
