"""The retrainable pipeline of the tests: read ``loans``, fit a logistic regression.

``shuffle`` trains on shuffled labels (a model no gate passes); ``crash_if`` names a file
whose presence makes ``fit`` fail, and ``die_if`` one that ends the whole process
(a runner killed mid-run).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

import shipyard as sy

FEATURES = ["x1", "x2"]


@sy.step
def prepare(df: pd.DataFrame) -> pd.DataFrame:
    return df[[*FEATURES, "y"]].dropna().reset_index(drop=True)


@sy.step(deps=["scikit-learn"])
def fit(train: pd.DataFrame, shuffle: bool = False, crash_if: str = "", die_if: str = ""):
    from sklearn.linear_model import LogisticRegression

    if crash_if and os.path.exists(crash_if):
        raise RuntimeError("the training cluster went away")
    if die_if and os.path.exists(die_if):
        os._exit(17)  # the runner's process dies mid-run
    labels = train["y"].to_numpy()
    if shuffle:
        labels = np.random.default_rng(3).permutation(labels)
    return LogisticRegression().fit(train[FEATURES], labels)


@sy.step
def evaluate(model, train: pd.DataFrame) -> float:
    return float(model.score(train[FEATURES], train["y"]))


@sy.pipeline(name="loans-training")
def training(shuffle: bool = False, crash_if: str = "", die_if: str = ""):
    train = prepare(sy.dataset("loans@latest"))
    model = fit(train, shuffle=shuffle, crash_if=crash_if, die_if=die_if)
    evaluate(model, train)


def frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Rows where y depends on x1 and x2 (``shift`` moves x1: drifted traffic)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(loc=shift, size=rows)
    x2 = rng.normal(size=rows)
    y = (x1 - shift + 0.5 * x2 + rng.normal(scale=0.5, size=rows) > 0).astype("int64")
    return pd.DataFrame({"x1": x1, "x2": x2, "y": y})
