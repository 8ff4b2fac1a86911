"""The sample project's training pipeline (what `make run` runs after logging its runs).

``diabetes@training`` → ``prepare`` (drop the contact columns, label fast progression, split)
→ a sweep of ``objective`` over ``C`` (cross-validated AUC on the training rows, one child run
per trial) → ``train_final`` with the best ``C`` → ``evaluate`` on the held-out rows.

The steps live in this importable module so that ``process``, Dask and Ray workers import
them by reference; scikit-learn's version enters every fingerprint (``deps``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

import shipyard as sy

__all__ = ["FEATURES", "PII_COLUMNS", "PIPELINE", "SWEEP_NODE", "TARGET", "make_model", "training"]

PIPELINE = "diabetes-training"
SWEEP_NODE = "sweep_objective"
PII_COLUMNS = ("patient_email", "phone")
FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")
TARGET = "fast_progression"
SPLIT_SEED = 7


def make_model(c: float) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))


@sy.step(outputs=2, deps=["scikit-learn"])
def prepare(df: pd.DataFrame, test_size: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop the contact columns, label fast progression (above the median), split 80/20."""
    from sklearn.model_selection import train_test_split

    table = df.drop(columns=[c for c in PII_COLUMNS if c in df.columns])
    label = (table["target"] > table["target"].median()).astype("int64")
    frame = table[list(FEATURES)].assign(**{TARGET: label})
    train, test = train_test_split(
        frame, test_size=test_size, random_state=SPLIT_SEED, stratify=frame[TARGET]
    )
    print(f"{len(train)} training rows, {len(test)} held out; PII columns dropped")
    return train.reset_index(drop=True), test.reset_index(drop=True)


@sy.step(deps=["scikit-learn"])
def objective(train: pd.DataFrame, C: float = 1.0) -> float:
    """Five-fold cross-validated ROC AUC of the model on the training rows."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SPLIT_SEED)
    scores = cross_val_score(
        make_model(C), train[list(FEATURES)], train[TARGET], cv=folds, scoring="roc_auc"
    )
    value = float(scores.mean())
    sy.log_metric("cv_auc", value)
    return value


@sy.step(deps=["scikit-learn"])
def train_final(train: pd.DataFrame, best: dict) -> Any:
    """Fit the model on all the training rows with the sweep's best ``C``."""
    c = float(best["best_params"]["C"])
    sy.log_param("C", c)
    print(f"best C={c:.4g} (cross-validated AUC {best['best_value']:.3f})")
    return make_model(c).fit(train[list(FEATURES)], train[TARGET])


@sy.step(deps=["scikit-learn"])
def evaluate(model: Any, test: pd.DataFrame) -> dict:
    """Accuracy and ROC AUC on the held-out rows."""
    from sklearn.metrics import accuracy_score, roc_auc_score

    x, y = test[list(FEATURES)], test[TARGET]
    scores = {
        "accuracy": float(accuracy_score(y, model.predict(x))),
        "auc": float(roc_auc_score(y, model.predict_proba(x)[:, 1])),
    }
    sy.log_metrics(scores)
    return scores


@sy.pipeline(name=PIPELINE)
def training(test_size: float = 0.2, n_trials: int = 6):
    """Train the fast-progression classifier on ``diabetes@training``, tuning ``C``."""
    train, test = prepare(sy.dataset("diabetes@training"), test_size=test_size)
    space = {"C": sy.loguniform(0.01, 10.0)}
    best = sy.sweep(
        objective, space, n_trials=n_trials, direction="maximize", parallel=2, train=train
    )
    model = train_final(train, best)
    evaluate(model, test)
