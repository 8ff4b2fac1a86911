"""`shipyard demo`: a sample project with tracked runs (grows toward the whole CD4ML loop)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["seed_demo"]


def _train(lr: float, epochs: int, seed: int) -> list[tuple[float, float]]:
    """Logistic regression by gradient descent on a synthetic credit-default problem."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2000, 5))
    w_true = np.array([1.5, -2.0, 0.7, 0.0, 0.3])
    y = (x @ w_true + rng.normal(scale=0.8, size=2000) > 0).astype(float)
    w = np.zeros(5)
    curve = []
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(x @ w)))
        w -= lr * x.T @ (p - y) / len(y)
        loss = float(-np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9)))
        acc = float(np.mean((p > 0.5) == y))
        curve.append((loss, acc))
    return curve


def seed_demo(path: Path) -> int:
    """Initialise ``path`` and log a small learning-rate sweep; returns the number of runs."""
    os.environ["SHIPYARD_PROJECT_DIR"] = str(path.resolve())
    path.mkdir(parents=True, exist_ok=True)
    (path / ".shipyard").mkdir(exist_ok=True)
    from rich.progress import track

    import shipyard as sy

    grid = [(lr, epochs) for lr in (0.01, 0.05, 0.2, 1.0) for epochs in (20, 60)]
    for lr, epochs in track(grid, description="training sample runs"):
        with sy.start_run(experiment="loan-default", run_name=f"logreg-lr{lr}-e{epochs}"):
            sy.log_params({"model": "logreg", "lr": lr, "epochs": epochs})
            curve = _train(lr, epochs, seed=7)
            for step, (loss, acc) in enumerate(curve):
                sy.log_metrics({"loss": loss, "accuracy": acc}, step=step)
            sy.set_tag("dataset", "synthetic-loans")
            sy.log_dict({"features": ["income", "debt", "age", "tenure", "region"]}, "schema.json")
    sy.flush()
    return len(grid)
