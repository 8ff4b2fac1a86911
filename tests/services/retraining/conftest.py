"""A model in production and staging on a real metadata store, with a retraining policy:
champion v1 trained by the real pipeline, gated and approved by a person; alerts opened by
the real alert service (as the monitor does)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.core.alerts import Alert, MonitorWindow, WindowStatus
from shipyard.core.entities import Role, User
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.settings import Settings
from tests.services.retraining.flows import FEATURES, frame

MODEL = "loans"
PIPELINE = "tests.services.retraining.flows:training"
RULE = "drift_share > 0.3"
DORA = User(0, "dora", Role.DEPLOYER, 0)


def release() -> dict[str, Any]:
    return {
        MODEL: {
            "holdout": "loans-holdout@latest",
            "target": "y",
            "gates": [
                {"metric": "roc_auc", "min": 0.7},
                {"vs_champion": "roc_auc", "max_drop": 0.05},
            ],
            "deploy": {"strategy": "canary", "steps": [10, 50, 100]},
        }
    }


def retrain_policy(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "on": f"alert:{RULE} or alert:estimated.roc_auc < 0.75",
        "pipeline": PIPELINE,
        "data": "loans@latest",
        "holdout": "loans-holdout@latest",
        "cooldown": "1h",
        "auto_approve_if": "environment != 'production'",
        "deploy": "canary",
        "environment": "staging",
    }
    spec.update(overrides)
    return {MODEL: spec}


@dataclass
class World:
    svc: Services
    carol: User

    def alert(self, env: str = "staging", rule: str = RULE) -> Alert:
        now = int(time.time() * 1000)
        window = MonitorWindow(
            0, MODEL, env, 1, now - 3_600_000, now, WindowStatus.COMPUTED, 200,
            {"drift_share": 0.5}, now,
        )  # fmt: skip
        with self.svc.db.write() as conn:
            return self.svc.alerts.fire(conn, window, rule, {"drift_share": 0.5}, 0, now).alert

    def new_data(self, seed: int = 11) -> str:
        return self.svc.catalog.register("loans", frame(400, seed, shift=1.0), user="dana").ref

    def actions(self, run_id: int) -> list[str]:
        entries = self.svc.audit.log(f"retraining:{run_id}", limit=1000)
        return [e.action for e in sorted(entries, key=lambda e: e.seq)]


def settings(tmp_path: Path, db_url: str, **retrain: Any) -> Settings:
    return Settings(
        project_dir=tmp_path,
        db_url=db_url,
        artifacts_url=str(tmp_path / "objects"),
        user="dana",
        release=release(),
        retrain=retrain_policy(**retrain),
        protected_environments=("production",),
    )


def open_world(tmp_path: Path, db_url: str, **retrain: Any) -> World:
    return seed(build_services(settings(tmp_path, db_url, **retrain)))


TOML = f"""
[release.{MODEL}]
holdout = "loans-holdout@latest"
target = "y"
gates = [{{ metric = "roc_auc", min = 0.7 }}, {{ vs_champion = "roc_auc", max_drop = 0.05 }}]
deploy = {{ strategy = "canary", steps = [10, 50, 100] }}

[retrain.{MODEL}]
on = "alert:{RULE}"
pipeline = "{PIPELINE}"
data = "loans@latest"
holdout = "loans-holdout@latest"
cooldown = "1h"
auto_approve_if = "environment != 'production'"
deploy = "canary"
environment = "staging"
"""


def seed(svc: Services) -> World:
    """Data, and champion v1 live in staging and production."""
    svc.catalog.register("loans", frame(400, 1), user="dana")
    svc.catalog.register("loans-holdout", frame(300, 2), user="dana")
    outcome = svc.pipelines.run_training(
        PIPELINE, {}, data="loans@v1", model_step=None, actor="dana"
    )
    assert outcome.ok, outcome.error
    v1 = svc.registry.log_model(
        outcome.model, MODEL, user="dana", run_id=outcome.model_run_id,
        input_example=frame(5, 0)[FEATURES],
    )  # fmt: skip
    assert svc.registry.run_gates(v1.ref, svc.settings.release, user="dana")["passed"]
    carol = svc.access.add_user("carol", Role.APPROVER, actor="test")
    svc.registry.decide(v1.ref, carol, approve=True, reason="first version")
    svc.registry.set_alias(v1.ref, "champion", user="carol")
    for env in ("staging", "production"):
        svc.deployments.deploy(MODEL, 1, env, DORA)
    return World(svc, carol)
