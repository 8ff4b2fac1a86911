"""A small real project for gc and backup tests: runs with artifacts, a dataset, a model
with an approved version deployed and an archived one, prediction-log files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from shipyard.core.entities import Role
from shipyard.core.states import LifecycleStage
from shipyard.interfaces.bootstrap import build_services
from shipyard.settings import load_settings

SIGNATURE = {"inputs": [["age", "int64"], ["income", "float64"]], "output": "int64"}
OLD_DAY = "2020-01-01"


@dataclass
class Seeded:
    kept_run: str
    deleted_run: str
    deleted_digest: str  # only the deleted run links it
    shared_digest: str  # both runs link it
    old_log: str
    new_log: str


def open_project(folder: Path, db_url: str, toml: str = "") -> Any:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shipyard.toml").write_text(toml)
    env = {"SHIPYARD_PROJECT_DIR": str(folder), "SHIPYARD_DB_URL": db_url}
    return build_services(load_settings(env=env))


def seed(svc: Any, tmp: Path) -> Seeded:
    """Fill ``svc``'s project; the second run is deleted, v2 of the model archived."""
    exp = svc.tracking.create_experiment("exp")
    runs = []
    for i in range(2):
        run = svc.tracking.create_run(exp, run_name=f"r{i}", user="ada")
        run_id = run.info.run_id
        svc.tracking.log_batch(run_id, params={"i": i})
        svc.tracking.log_artifact_bytes(run_id, b"shared bytes", "shared.txt")
        svc.tracking.log_artifact_bytes(run_id, os.urandom(4096), "own.bin")
        svc.tracking.update_run(run_id, status="FINISHED")
        runs.append(run_id)
    with svc.db.read() as conn:
        from shipyard.stores.sql import tables as t

        rows = conn.execute(
            t.run_artifacts.select().where(t.run_artifacts.c.run_id == runs[1])
        ).all()
    digests = {r.path: r.digest for r in rows}
    svc.tracking.set_run_lifecycle(runs[1], LifecycleStage.DELETED, actor="ada")
    frame = pd.DataFrame({"age": np.arange(50), "income": np.linspace(10.0, 90.0, 50)})
    svc.catalog.register("loans", frame, description="loans table")
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"age": rng.integers(20, 70, 40), "income": rng.normal(50, 10, 40)})
    y = (x["income"] > 50).to_numpy(dtype=int)
    for c in (1.0, 0.5):  # two different models: v2's objects are its own
        model = LogisticRegression(C=c).fit(x, y)
        version = svc.registry.log_model(model, "scorer", user="ada", signature=SIGNATURE)
        svc.registry.set_status(version.ref, "gate_passed", user="ci")
        svc.registry.set_status(version.ref, "approved", user="carol")
    svc.registry.archive("scorer@v2", user="carol", reason="superseded")
    deployer = svc.access.add_user("dora", Role.DEPLOYER)
    svc.deployments.deploy("scorer", 1, "production", deployer)
    logs = {}
    for day in (OLD_DAY, "2999-01-01"):
        local = tmp / f"log-{day}.parquet"
        local.write_bytes(os.urandom(1000))
        key = f"predictions/model=scorer/date={day}/env=production/v1-r1-000001.parquet"
        svc.blobs.backend.put_file(local, key)
        logs[day] = key
    return Seeded(
        runs[0], runs[1], digests["own.bin"], digests["shared.txt"], logs[OLD_DAY],
        logs["2999-01-01"],
    )  # fmt: skip
