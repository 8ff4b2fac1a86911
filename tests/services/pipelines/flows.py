"""Pipelines used by the tests; importable, so process, Dask and Ray workers can load them."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd

import shipyard as sy


@sy.step
def make_frame(rows: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    x = rng.normal(size=rows)
    return pd.DataFrame({"x": x, "y": 3 * x + rng.normal(scale=0.1, size=rows)})


@sy.step(outputs=2, deps=["scikit-learn"])
def split(df: pd.DataFrame, fraction: float = 0.75):
    cut = int(len(df) * fraction)
    return df.iloc[:cut].reset_index(drop=True), df.iloc[cut:].reset_index(drop=True)


@sy.step(deps=["scikit-learn"])
def fit(train: pd.DataFrame, alpha: float = 1.0):
    from sklearn.linear_model import Ridge

    print(f"fitting on {len(train)} rows")
    return Ridge(alpha=alpha).fit(train[["x"]], train["y"])


@sy.step
def score(model, test: pd.DataFrame) -> float:
    value = float(model.score(test[["x"]], test["y"]))
    sy.log_metric("r2", value)
    return value


@sy.step
def summarise(r2: float, coef: np.ndarray) -> dict:
    return {"r2": round(r2, 6), "coef_norm": float(np.linalg.norm(coef))}


@sy.step
def coefficients(model) -> np.ndarray:
    return np.asarray(model.coef_, dtype="float64")


@sy.pipeline
def training(alpha: float = 1.0, rows: int = 40):
    df = make_frame(rows)
    train, test = split(df)
    model = fit(train, alpha=alpha)
    r2 = score(model, test)
    summarise(r2, coefficients(model))


# ---------------------------------------------------------------- fan-out and sweep
@sy.step
def segments(n: int = 4) -> list:
    return [f"s{i}" for i in range(n)]


@sy.step
def train_segment(segment: str, df: pd.DataFrame) -> float:
    from sklearn.linear_model import LinearRegression

    offset = int(segment[1:])
    part = df.iloc[offset::2]
    return float(LinearRegression().fit(part[["x"]], part["y"]).coef_[0])


@sy.step
def objective(train: pd.DataFrame, test: pd.DataFrame, alpha: float = 1.0) -> float:
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=alpha).fit(train[["x"]], train["y"])
    return float(model.score(test[["x"]], test["y"]))


@sy.pipeline
def fanout(n: int = 4):
    df = make_frame(60)
    coefs = train_segment.map(segments(n), df=df)
    train, test = split(df)
    best = sy.sweep(
        objective, {"alpha": sy.loguniform(0.01, 100.0)}, 4, parallel=2, train=train, test=test
    )
    summarise_fanout(coefs, best)


@sy.step
def summarise_fanout(coefs: list, best: dict) -> dict:
    return {"n": len(coefs), "best_alpha": best["best_params"]["alpha"]}


# ---------------------------------------------------------------- failures
@sy.step
def fragile(value: int, flag_file: str) -> int:
    if not Path(flag_file).exists():
        raise RuntimeError("the flag file is missing")
    return value * 2


@sy.step
def crash_once(value: int, marker: str) -> int:
    if not Path(marker).exists():
        Path(marker).write_text("crashed")
        os.kill(os.getpid(), signal.SIGKILL)
    return value + 1


@sy.step
def plus_one(value: int) -> int:
    return value + 1


@sy.pipeline
def failing(flag_file: str = "flag"):
    plus_one(fragile(plus_one(1), flag_file))


@sy.pipeline
def crashing(marker: str = "marker"):
    plus_one(crash_once(plus_one(1), marker))


@sy.step
def generator_step() -> object:
    return (i for i in range(3))


@sy.pipeline
def unserializable():
    plus_one(1)
    generator_step()


@sy.step
def rows_of(df: pd.DataFrame) -> int:
    return len(df)


@sy.pipeline
def reads_dataset(ref: str = "numbers@v1"):
    rows_of(sy.dataset(ref))


@sy.step
def bad_objective(x: float = 0.0) -> str:
    return "not a number"


@sy.pipeline
def bad_sweep():
    sy.sweep(bad_objective, {"x": (0.0, 1.0)}, 2)


@sy.step
def mutate_and_read(key: int, df: pd.DataFrame) -> float:
    value = float(df["x"].iloc[0])
    df["x"] = df["x"] + 1000.0  # edits its input in place: no other item may see it
    return value


@sy.pipeline
def mutating():
    mutate_and_read.map([0, 1, 2], df=make_frame(10))


@sy.step
def relogs(alpha: float = 1.0) -> float:
    sy.log_param("alpha", alpha * 2)  # conflicts with the recorded argument
    return alpha


@sy.step
def bad_metric() -> int:
    sy.log_metric("../escape", 1.0)
    return 1


@sy.step
def fine() -> int:
    return 7


@sy.pipeline
def bad_logging():
    relogs(0.5)
    bad_metric()
    fine()


@sy.step
def bracket_error() -> int:
    raise FileNotFoundError("[/data/x.csv] is gone [bold]")


@sy.pipeline
def markup_error():
    bracket_error()


@sy.step
def kind_of(value: object) -> str:
    return type(value).__name__


@sy.pipeline
def kinds(value: object = None):
    kind_of(value)


@sy.pipeline
def seeded(seed: int = 1):
    plus_one(seed)
