"""Prediction logs written the way a serving replica writes them, for feedback tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shipyard.services.formats.predictions import prediction_id
from shipyard.services.serving.predlog import LogRecord, PredictionLog
from shipyard.services.serving.stats import ServingStats

HOUR = 3_600_000
T0 = 1_718_000_000_000 // 86_400_000 * 86_400_000 + 10 * HOUR  # 2024-06-10 10:00 UTC
COLUMNS = ("a", "b")
SIG = {"inputs": [["a", "float64"], ["b", "float64"]], "output": "int64"}


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two features and a noisy binary label."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.8, size=n) > 0).astype(int)
    return x, y


def log_predictions(
    svc: Any,
    model: Any,
    name: str,
    x: np.ndarray,
    *,
    t0: int = T0,
    version: int = 1,
    rows_per_request: int = 1,
    proba: bool = True,
) -> list[str]:
    """Logs ``model``'s answers to ``x`` (one request a second from ``t0``); the ids."""
    log = PredictionLog(svc.blobs.backend, "r1", ServingStats(), 100_000, env="prod")
    ids = []
    for n, at in enumerate(range(0, len(x), rows_per_request)):
        rows = x[at : at + rows_per_request]
        time_ms = t0 + n * 1000
        pid = prediction_id("abcd1234", time_ms, n + 1)
        frame = pd.DataFrame(rows, columns=COLUMNS)
        y = np.asarray(model.predict(frame))
        p = model.predict_proba(frame)[:, 1] if proba else None
        log.add(LogRecord(pid, time_ms + 3, name, version, "live", 1.0, COLUMNS, rows, y, p))
        ids.append(pid)
    log.drain()
    return ids
