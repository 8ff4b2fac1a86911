"""`shipyard demo`: a sample project (grows toward the whole CD4ML loop).

Today: a real dataset (scikit-learn's diabetes study, shipped inside the package: no
download) registered in two versions with PII policies and checks, then a learning-rate
sweep of tracked training runs that read it, so lineage links data to runs; then the model
is trained through a pipeline (``demo_pipeline``: prepare → a sweep over ``C`` → fit →
evaluate) on two worker processes, and run again to show that everything comes from the
cache.
"""

from __future__ import annotations

import logging
import os
import time
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


def _describe(label: str, result: Any, seconds: float) -> str:
    """One line: run id, status, where the steps came from, the best C and the scores."""
    from collections import Counter

    from shipyard.interfaces.cli.demo_pipeline import SWEEP_NODE

    counts = Counter(result.node_status.values())
    steps = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    best, scores = result.output(SWEEP_NODE), result.output("evaluate")
    return (
        f"[green]pipeline {label}[/] {result.run_id} {result.status.lower()} in {seconds:.2f}s "
        f"(steps: {steps}; {len(best['trials'])} trials): best C={best['best_params']['C']:.3g} "
        f"(CV AUC {best['best_value']:.3f}), test accuracy {scores['accuracy']:.3f}, "
        f"AUC {scores['auc']:.3f}"
    )


def _train_with_pipeline() -> list[Any]:
    """Run the sample pipeline on 2 worker processes, then again: all of it from the cache."""
    from rich.console import Console

    from shipyard.interfaces.cli.demo_pipeline import training

    console, results = Console(soft_wrap=True), []
    for label in ("run", "re-run"):
        with console.status(f"pipeline {training.name}: {label} (process executor, 2 workers)"):
            start = time.perf_counter()
            result = training.run(executor="process", workers=2)
            seconds = time.perf_counter() - start
        console.print(_describe(label, result, seconds))
        results.append(result)
    console.print("Pipeline runs, their steps and sweep trials: [bold]/ui/pipelines[/]")
    return results


def seed_demo(path: Path) -> int:
    """Initialise ``path``, register the data, log a sweep of runs and train through a
    pipeline (twice: the second run is served from the cache), then the release scenes;
    prints each line as it happens; returns the number of runs."""
    os.environ["SHIPYARD_PROJECT_DIR"] = str(path.resolve())
    path.mkdir(parents=True, exist_ok=True)
    (path / ".shipyard").mkdir(exist_ok=True)
    toml = path / "shipyard.toml"
    from shipyard.interfaces.cli.demo_monitoring import MONITOR_POLICY, SECRET_ENV

    os.environ.setdefault(SECRET_ENV, "demo-hook-secret")  # signs the alerts' webhooks
    if not toml.exists():
        from shipyard.interfaces.cli.demo_release import POLICY
        from shipyard.interfaces.cli.demo_retrain import RETRAIN_POLICY

        serving = "\n[serving]\nlog_age_s = 0.5   # the scenes' 10 s windows see every row\n"
        toml.write_text("[core]\n" + CHECKS + POLICY + MONITOR_POLICY + RETRAIN_POLICY + serving)
    from rich.console import Console

    import shipyard as sy

    console = Console(soft_wrap=True)
    services = sy._get_session().services
    services.access.ensure_first_admin(services.settings.actor)  # as `shipyard init` does
    _register_data(sy)
    console.print("[green]diabetes@v1, @v2[/] registered (PII tokenized/masked, validated)")
    runs = _log_sweep(sy)
    console.print(f"[green]{runs} runs[/] logged in {path.resolve()}")
    results = _train_with_pipeline()
    # The story says which alert opened; the service's log line would repeat it out of turn.
    # Quiet for the demo only: the server it starts afterwards logs alerts as usual.
    alerts_log = logging.getLogger("shipyard.monitoring.alerts")
    level = alerts_log.level
    alerts_log.setLevel(logging.ERROR)
    try:
        _release(sy, results[0])
    finally:
        alerts_log.setLevel(level)
    return runs


def _log_sweep(sy: Any) -> int:
    """Tracked runs over a grid of learning rates and epochs, each reading
    ``diabetes@training``; returns how many."""
    import numpy as np
    from rich.progress import track

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


def _release(sy: Any, result: Any) -> None:
    """The pipeline's model through the registry, the gates and a second user's approval."""
    from rich.console import Console

    from shipyard.interfaces.cli.demo_release import release

    console = Console(soft_wrap=True)
    with console.status("the release: registry, gates, serving, monitoring, retraining"):
        release(sy._get_session().services, result, console.print)
