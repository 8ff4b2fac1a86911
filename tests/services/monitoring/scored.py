"""Scored rows of the monitored world's classifier (``loans@v1``: age, income → income > 50),
logged the way serving logs them: inputs, answers and positive class probabilities."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from shipyard.services.serving.predlog import LogRecord, PredictionLog
from shipyard.services.serving.stats import ServingStats
from tests.services.monitoring.conftest import HOUR, World

__all__ = ["log_scored", "rows", "scored"]


def rows(seed: int, n: int, income_sd: float = 10.0, income_mean: float = 50.0) -> pd.DataFrame:
    """Features and a noisy label ``label`` (income above 50)."""
    rng = np.random.default_rng(seed)
    income = rng.normal(income_mean, income_sd, n)
    label = (income + rng.normal(0, 4, n) > 50).astype(int)
    return pd.DataFrame({"age": rng.normal(40, 10, n), "income": income, "label": label})


def scored(w: World, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the model's probability ``p`` and answer ``d``."""
    model = w.svc.registry.load("loans@v1", user="test")
    x = frame[["age", "income"]]
    return frame.assign(p=model.predict_proba(x)[:, 1], d=model.predict(x))


def log_scored(w: World, hour: int, frame: pd.DataFrame, *, proba: bool = True) -> None:
    """Log scored rows one minute into window ``hour`` (without ``_proba`` when not
    ``proba``, as files written before it was logged)."""
    log = PredictionLog(w.svc.blobs.backend, f"r{uuid.uuid4().hex[:8]}", ServingStats(), 1000,
                        env="staging")  # fmt: skip
    record = LogRecord(
        f"req-{hour}", w.start + hour * HOUR + 60_000, "loans", 1, "live", 1.0,
        ("age", "income"), frame[["age", "income"]], frame["d"].to_numpy(),
        frame["p"].to_numpy() if proba else None,
    )  # fmt: skip
    log.add(record)
    assert log.drain() == len(frame)
