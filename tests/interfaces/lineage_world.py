"""A project whose data has trained models: ``loans@v1`` read by a pipeline (its step's model
registered) and by a plain run (its own model), ``loans@v2`` read by nothing. Shared by the
dataset page, the lineage API and ``shipyard data lineage`` tests (the ``lineage_world``
fixture of this folder's conftest)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import shipyard as sy
from tests.interfaces.conftest import LiveServer

ROWS = 2001


def loans() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    bonus = rng.exponential(2.0, size=ROWS)
    bonus[rng.choice(ROWS, size=40, replace=False)] = np.nan  # 40 missing
    return pd.DataFrame(
        {
            "income": rng.lognormal(mean=3.0, sigma=0.6, size=ROWS),
            "age": rng.integers(18, 80, size=ROWS),
            "segment": rng.choice(["retail", "sme", "corporate"], size=ROWS, p=[0.6, 0.3, 0.1]),
            "defaulted": rng.integers(0, 2, size=ROWS),
            "bonus": bonus,
        }
    )


@sy.step(deps=["scikit-learn"])
def fit_default(df: pd.DataFrame):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=200).fit(df[["income", "age"]], df["defaulted"])


@sy.pipeline
def train_on_loans(ref: str = "loans@v1"):
    fit_default(sy.dataset(ref))


@dataclass
class World:
    server: LiveServer
    pipeline_run: str
    step_run: str
    direct_run: str


def seed(server: LiveServer) -> World:
    """Register the data, run the pipeline and a notebook-style run, register their models."""
    svc: Any = server.services
    frame = loans()
    svc.catalog.register("loans", frame, user="alice")
    svc.catalog.register("loans", frame.head(500), user="alice")

    result = svc.pipelines.run(train_on_loans, {}, actor="alice")
    assert result.ok, result.error
    step = svc.pipelines.latest_executions(result.run_id)[("fit_default", None)]
    example = frame[["income", "age"]].head()
    svc.registry.log_model(
        result.output("fit_default"), "default-risk", user="alice", run_id=step.run_id,
        input_example=example,
    )  # fmt: skip
    eid = svc.tracking.create_experiment("by-hand")
    direct = svc.tracking.create_run(eid, run_name="notebook").run_id
    svc.catalog.record_input(direct, "loans@v1", "training")
    model = fit_default(frame)  # outside a pipeline a step is its function
    svc.registry.log_model(model, "notebook-model", user="alice", run_id=direct,
                           input_example=example)  # fmt: skip
    return World(server, result.run_id, step.run_id, direct)
