"""`shipyard demo`: a sample project (grows toward the whole CD4ML loop).

Today: a real dataset (scikit-learn's diabetes study, shipped inside the package: no
download) registered in two versions with PII policies and checks, then a learning-rate
sweep of tracked training runs that read it, so lineage links data to runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["seed_demo"]

CHECKS = """
[data.diabetes.pii]
patient_email = "tokenize"
phone = "mask"

[data.diabetes.checks]
row_count = { min = 400 }
[data.diabetes.checks.columns.age]
type = "float"
min = 18
max = 100
nullable = false
[data.diabetes.checks.columns.sex]
allowed = [1.0, 2.0]
[data.diabetes.checks.columns.bmi]
min = 10
max = 60
"""


def _patients() -> Any:
    """The diabetes study (442 patients), plus contact columns that are made up here so the
    demo shows PII handling; the clinical columns are the real published data."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame.insert(0, "patient_email", [f"patient{i:03d}@clinic.example" for i in range(len(frame))])
    frame.insert(1, "phone", [f"+44 20 7946 {i:04d}" for i in range(len(frame))])
    return frame


def _train(x: Any, y: Any, lr: float, epochs: int) -> list[tuple[float, float]]:
    """Logistic regression by gradient descent: does the disease progress fast?"""
    import numpy as np

    w = np.zeros(x.shape[1])
    curve = []
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(x @ w)))
        w -= lr * x.T @ (p - y) / len(y)
        loss = float(-np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9)))
        acc = float(np.mean((p > 0.5) == y))
        curve.append((loss, acc))
    return curve


def _register_data(sy: Any) -> None:
    frame = _patients()
    desc = "Diabetes study: 10 baseline variables and disease progression one year later"
    sy.data.register("diabetes", frame.iloc[:400], description=desc, tags={"domain": "health"})
    v2 = sy.data.register("diabetes", frame, description=desc, tags={"domain": "health"})
    sy.data.alias(v2.ref, "training")
    sy.data.validate(v2.ref)


def seed_demo(path: Path) -> int:
    """Initialise ``path``, register the data and log a sweep; returns the number of runs."""
    os.environ["SHIPYARD_PROJECT_DIR"] = str(path.resolve())
    path.mkdir(parents=True, exist_ok=True)
    (path / ".shipyard").mkdir(exist_ok=True)
    toml = path / "shipyard.toml"
    if not toml.exists():
        toml.write_text("[core]\n" + CHECKS)
    import numpy as np
    from rich.progress import track

    import shipyard as sy

    _register_data(sy)
    grid = [(lr, epochs) for lr in (0.01, 0.05, 0.2, 1.0) for epochs in (20, 60)]
    for lr, epochs in track(grid, description="training sample runs"):
        with sy.start_run(experiment="diabetes-progression", run_name=f"logreg-lr{lr}-e{epochs}"):
            df = sy.data.get("diabetes@training")  # recorded as the run's input
            features = df[["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]]
            x = ((features - features.mean()) / features.std()).to_numpy()
            y = (df["target"] > df["target"].median()).to_numpy(dtype=float)
            sy.log_params({"model": "logreg", "lr": lr, "epochs": epochs})
            for step, (loss, acc) in enumerate(_train(x, y, lr, epochs)):
                sy.log_metrics({"loss": loss, "accuracy": acc}, step=step)
            sy.log_dict(
                {"features": list(features.columns), "seed": int(np.int64(7))}, "schema.json"
            )
    sy.flush()
    return len(grid)
