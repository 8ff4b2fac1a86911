"""Paths, sizes, targets and the small helpers every part of the serving benchmark uses."""

from __future__ import annotations

import importlib.metadata as md
import math
import os
import socket
import statistics
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
REPO = BENCH.parent
SCRIPT = BENCH / "serving.py"  # the entry point (the open-loop child runs it too)
APPS = BENCH / "serving_apps"
VENV_BIN = Path(sys.executable).parent
SHIPYARD = VENV_BIN / "shipyard"
BENTOML_VERSION = "1.4.40"
BENTOML_VENV = REPO / ".bench-venvs" / "bentoml"
BENTOML = BENTOML_VENV / "bin" / "bentoml"
SYSTEMS = ("shipyard", "mlflow", "bentoml", "fastapi")
MODEL_KEYS = ("lr", "rf")
MODEL_NAMES = {"lr": "bench-lr", "rf": "bench-rf"}
MODEL_LABELS = {"lr": "LogisticRegression", "rf": "RandomForest (100 trees)"}
ENV = "staging"  # not protected: no approval needed to deploy

TARGET_X_MLFLOW = 5.0  # Shipyard req/s over MLflow's, single-row LR
TARGET_X_BENTOML = 3.0  # over BentoML's (no batching), single-row LR
TARGET_OF_FASTAPI = 0.8  # of the bare FastAPI app with as many workers, single-row LR
TARGET_P99_S = 0.010  # at TARGET_RATE requests/s, open loop
TARGET_RATE = 500
TARGET_CANARY = 0.10  # req/s lost to a 50 % canary, single-row LR

FULL = {"duration": 5, "warmup": 1, "repeats": 3, "rate_duration": 10.0}
QUICK = {"duration": 2, "warmup": 1, "repeats": 1, "rate_duration": 3.0}
STARTUP_TIMEOUT_S = 180.0
STOP_GRACE_S = 15.0
REQUEST_TIMEOUT_S = 10.0
RESULT_MARKER = "BENCH_RESULT "
IDLE_WINDOW_S = 3.0  # idle CPU of each server, measured once all are up
IDLE_CPU_WARN_PCT = 2.0
RATE_HEADROOM = 1.2  # the open-loop run needs closed-loop capacity >= 1.2 x the rate
CLIENT_LAG_WARN_S = 0.002  # open-loop sends later than this at p99: the figures include it


def progress(msg: str, quiet: bool = False) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pkg_version(pkg: str) -> str:
    try:
        return md.version(pkg)
    except md.PackageNotFoundError:
        return "?"


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The caller's environment without Shipyard/MLflow/BentoML settings, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SHIPYARD_", "MLFLOW_", "_MLFLOW_", "BENTOML_", "DATABRICKS_"))
        and k not in {"VIRTUAL_ENV", "PYTHONPATH"}
    }
    env.update(
        {
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "BENTOML_DO_NOT_TRACK": "True",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env
