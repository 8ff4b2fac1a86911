"""Performance estimation without labels: Shipyard next to NannyML 0.13.1 CBPE, same data.

The data (made here, seeded): five standard normal features, the true probability
``sigmoid(1.6·x1 - x2 + 0.7·x3·x4 + 0.4·x5 - 0.3)``, labels drawn from it; the model is a
scikit-learn ``HistGradientBoostingClassifier`` trained on separate rows. The reference is
scored rows of the training distribution with their labels. The current data is ``chunks``
chunks of ``chunk`` rows: the first quarter unshifted, then ``x1`` (the strongest feature)
drifts towards the decision boundary, ``x1 ~ N(0.2·t, 1 - 0.8·t)`` with ``t`` rising to 1 —
a covariate shift into a region where the model is less certain, so roc_auc and accuracy
drop. The labels never change given the features, as CBPE assumes.

Both systems read the same Parquet files (the current data without its labels) in a fresh
child process: Shipyard with this interpreter, NannyML from its own venv,
``<repo>/.bench-venvs/nannyml`` (created on first use: ``python3.11 -m venv``,
``pip install nannyml==0.13.1``, and statsmodels, which NannyML imports without declaring
it). Timed: fit on the reference + estimate of every chunk (roc_auc and accuracy, the same
``y_pred`` column), median of ``repeats``; imports and reading the files are not timed
(shown apart). Accuracy: mean absolute error of the estimate against the realized metric of
each chunk (scikit-learn's ``roc_auc_score`` / ``accuracy_score`` on the held-back labels),
over all chunks of all seeds.

    python bench/monitoring_estimation.py            # 50k reference, 40 x 5,000 rows, 3 seeds
    python bench/monitoring_estimation.py --quick    # 10k reference, 12 x 1,000 rows, 1 seed
    python bench/monitoring_estimation.py --json     # the same, as JSON (per chunk, raw timings)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NANNYML_VERSION = "0.13.1"
NML_VENV = REPO / ".bench-venvs" / "nannyml"
NML_PYTHON = NML_VENV / "bin" / "python"
METRICS = ("roc_auc", "accuracy")
RESULT_MARKER = "BENCH_RESULT "
SIZES = {
    "full": {"reference": 50_000, "train": 20_000, "chunks": 40, "chunk": 5_000, "seeds": 3},
    "quick": {"reference": 10_000, "train": 5_000, "chunks": 12, "chunk": 1_000, "seeds": 1},
}


def _progress(text: str, quiet: bool) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- data
def _features(rng: Any, n: int, t: float = 0.0) -> Any:
    import numpy as np

    x = rng.normal(0.0, 1.0, (n, 5))
    x[:, 0] = rng.normal(0.2 * t, 1.0 - 0.8 * t, n)
    return np.asarray(x)


def _truth(x: Any) -> Any:
    import numpy as np

    logit = 1.6 * x[:, 0] - x[:, 1] + 0.7 * x[:, 2] * x[:, 3] + 0.4 * x[:, 4] - 0.3
    return 1.0 / (1.0 + np.exp(-logit))


def _scored(model: Any, x: Any, y: Any) -> Any:
    import pandas as pd

    proba = model.predict_proba(x)[:, 1]
    frame = pd.DataFrame(x, columns=[f"x{i + 1}" for i in range(x.shape[1])])
    frame["y_pred_proba"] = proba
    frame["y_pred"] = (proba >= 0.5).astype(int)
    frame["y_true"] = y
    return frame


def make_data(seed: int, size: dict[str, int], folder: Path) -> dict[str, list[float]]:
    """Write reference.parquet and current.parquet (no labels) into ``folder``; return the
    realized metrics per chunk."""
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import accuracy_score, roc_auc_score

    rng = np.random.default_rng(seed)

    def labeled(n: int, t: float = 0.0) -> tuple[Any, Any]:
        x = _features(rng, n, t)
        return x, (rng.random(n) < _truth(x)).astype(int)

    model = HistGradientBoostingClassifier(max_iter=60, random_state=seed)
    model.fit(*labeled(size["train"]))
    _scored(model, *labeled(size["reference"])).to_parquet(folder / "reference.parquet")
    steady = size["chunks"] // 4
    parts, realized = [], {m: [] for m in METRICS}  # type: dict[str, list[float]]
    for k in range(size["chunks"]):
        t = 0.0 if k < steady else (k - steady + 1) / (size["chunks"] - steady)
        part = _scored(model, *labeled(size["chunk"], t))
        realized["roc_auc"].append(float(roc_auc_score(part["y_true"], part["y_pred_proba"])))
        realized["accuracy"].append(float(accuracy_score(part["y_true"], part["y_pred"])))
        parts.append(part.drop(columns="y_true"))
    pd.concat(parts, ignore_index=True).to_parquet(folder / "current.parquet")
    return realized


# ---------------------------------------------------------------------------- children
def child_shipyard(folder: Path, chunk: int, repeats: int) -> dict[str, Any]:
    started = time.perf_counter()
    import pandas as pd
    import sklearn.isotonic  # noqa: F401  (imported before timing, as NannyML's imports are)

    from shipyard.interfaces.sdk.monitor_estimate import estimate_performance

    imported = time.perf_counter() - started
    reference = pd.read_parquet(folder / "reference.parquet")
    current = pd.read_parquet(folder / "current.parquet")
    times, frame = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = estimate_performance(
            reference, current, y_true="y_true", y_pred_proba="y_pred_proba", y_pred="y_pred",
            metrics=METRICS, chunk_size=chunk,
        )  # fmt: skip
        times.append(time.perf_counter() - t0)
        frame = result.to_frame()
    assert frame is not None
    out: dict[str, Any] = {"version": _shipyard_version(), "import_s": imported, "times": times}
    for metric in METRICS:
        rows = frame[frame["metric"] == metric].sort_values("chunk")
        out[metric] = rows["estimate"].tolist()
        out[f"{metric}_alert"] = rows["alert"].astype(bool).tolist()
    return out


def _shipyard_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("shipyard")
    except PackageNotFoundError:
        return "dev"


def child_nannyml(folder: Path, chunk: int, repeats: int) -> dict[str, Any]:
    os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"
    started = time.perf_counter()
    import warnings

    import nannyml as nml
    import pandas as pd

    warnings.filterwarnings("ignore")
    imported = time.perf_counter() - started
    reference = pd.read_parquet(folder / "reference.parquet")
    current = pd.read_parquet(folder / "current.parquet")
    times, frame = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        estimator = nml.CBPE(
            y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
            problem_type="classification_binary", metrics=list(METRICS), chunk_size=chunk,
        )  # fmt: skip
        estimator.fit(reference)
        result = estimator.estimate(current)
        times.append(time.perf_counter() - t0)
        frame = result.filter(period="analysis").to_df()
    assert frame is not None
    out: dict[str, Any] = {"version": nml.__version__, "import_s": imported, "times": times}
    for metric in METRICS:
        out[metric] = [float(v) for v in frame[(metric, "value")]]
        out[f"{metric}_alert"] = [bool(v) for v in frame[(metric, "alert")]]
    return out


CHILDREN = {"shipyard": child_shipyard, "nannyml": child_nannyml}


def run_child(system: str, folder: Path, chunk: int, repeats: int) -> dict[str, Any]:
    python = str(NML_PYTHON) if system == "nannyml" else sys.executable
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "NML_DISABLE_USAGE_LOGGING": "1"}
    args = ["--child", system, "--folder", str(folder), "--chunk", str(chunk)]
    proc = subprocess.run(
        [python, str(Path(__file__).resolve()), *args, "--repeats", str(repeats)],
        capture_output=True, text=True, env=env, timeout=1800, check=False,
    )  # fmt: skip
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            return dict(json.loads(line[len(RESULT_MARKER) :]))
    raise RuntimeError(f"{system} child failed ({proc.returncode}): {proc.stderr[-2000:]}")


def ensure_nannyml(quiet: bool) -> str:
    """The NannyML venv, created (or repaired) on first use; returns NannyML's version."""
    probe = [str(NML_PYTHON), "-c", "import statsmodels, nannyml; print(nannyml.__version__)"]
    env = {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1"}
    if NML_PYTHON.exists():
        proc = subprocess.run(probe, capture_output=True, text=True, env=env, check=False)
        if proc.returncode == 0 and proc.stdout.strip() == NANNYML_VERSION:
            return NANNYML_VERSION
    if not NML_PYTHON.exists():
        base = shutil.which("python3.11") or sys.executable
        _progress(f"  creating {NML_VENV} with {base} …", quiet)
        subprocess.run([base, "-m", "venv", str(NML_VENV)], check=True)
    _progress(f"  pip install nannyml=={NANNYML_VERSION} statsmodels into {NML_VENV} …", quiet)
    subprocess.run(
        [str(NML_PYTHON), "-m", "pip", "install", "-q", f"nannyml=={NANNYML_VERSION}",
         "statsmodels", "pyarrow"],
        check=True, stdout=subprocess.DEVNULL if quiet else None,
    )  # fmt: skip
    proc = subprocess.run(probe, capture_output=True, text=True, env=env, check=True)
    return proc.stdout.strip()


# ---------------------------------------------------------------------------- report
def summarize(runs: list[dict[str, Any]], steady: int) -> dict[str, Any]:
    """Per system: MAE per metric over all chunks of all seeds, median time, alerts."""
    out: dict[str, Any] = {}
    for system in CHILDREN:
        errors: dict[str, list[float]] = {m: [] for m in METRICS}
        alerts = {"steady": 0, "shifted": 0, "steady_rows": 0, "shifted_rows": 0}
        times, imports, version = [], [], ""
        for run in runs:
            found = run[system]
            version = found["version"]
            times += found["times"]
            imports.append(found["import_s"])
            for metric in METRICS:
                pairs = zip(found[metric], run["realized"][metric], strict=True)
                errors[metric] += [abs(e - r) for e, r in pairs]
                for k, flag in enumerate(found[f"{metric}_alert"]):
                    part = "steady" if k < steady else "shifted"
                    alerts[part] += int(flag)
                    alerts[f"{part}_rows"] += 1
        out[system] = {
            "version": version,
            "mae": {m: statistics.fmean(v) for m, v in errors.items()},
            "time_s": statistics.median(times),
            "import_s": statistics.median(imports),
            "alerts": alerts,
        }
    return out


def print_report(summary: dict[str, Any], runs: list[dict[str, Any]], size: dict[str, int]) -> None:
    s, n = summary["shipyard"], summary["nannyml"]
    print(
        f"\nPerformance estimation: reference {size['reference']:,} rows, current "
        f"{size['chunks']} chunks x {size['chunk']:,} rows, {size['seeds']} seed(s)\n"
    )
    head = f"{'system':<18}{'MAE roc_auc':>13}{'MAE accuracy':>14}{'fit+estimate':>14}"
    print(head + f"{'import':>10}{'alerts steady':>15}{'alerts shifted':>16}")
    for name, r in (("Shipyard", s), (f"NannyML {n['version']}", n)):
        a = r["alerts"]
        print(
            f"{name:<18}{r['mae']['roc_auc']:>13.5f}{r['mae']['accuracy']:>14.5f}"
            f"{r['time_s']:>12.3f} s{r['import_s']:>8.2f} s"
            f"{a['steady']:>9}/{a['steady_rows']:<5}{a['shifted']:>10}/{a['shifted_rows']:<5}"
        )
    print(
        f"\nratios (NannyML / Shipyard): time {n['time_s'] / s['time_s']:.1f}x faster; "
        + "; ".join(
            f"MAE {m} {n['mae'][m] / s['mae'][m]:.2f}x" if s["mae"][m] else f"MAE {m} -"
            for m in METRICS
        )
        + " (> 1: Shipyard more accurate)"
    )
    first = runs[0]
    for metric in METRICS:
        realized = first["realized"][metric]
        print(
            f"{metric}: realized {realized[0]:.3f} (first chunk) → {realized[-1]:.3f} (last); "
            f"estimated Shipyard {first['shipyard'][metric][-1]:.3f}, "
            f"NannyML {first['nannyml'][metric][-1]:.3f} (last chunk, seed 0)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--repeats", type=int, help="timed repeats per system (default 3/2)")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--chunk", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 3)
    if args.child:
        found = CHILDREN[args.child](Path(args.folder), args.chunk, repeats)
        print(RESULT_MARKER + json.dumps(found))
        return 0
    size = SIZES["quick" if args.quick else "full"]
    ensure_nannyml(args.json)
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-estimation-") as tmp:
        for seed in range(size["seeds"]):
            folder = Path(tmp) / f"seed-{seed}"
            folder.mkdir()
            _progress(f"seed {seed}: making data …", args.json)
            run: dict[str, Any] = {"seed": seed, "realized": make_data(seed, size, folder)}
            for system in CHILDREN:
                _progress(f"seed {seed}: {system} …", args.json)
                run[system] = run_child(system, folder, size["chunk"], repeats)
            runs.append(run)
    summary = summarize(runs, size["chunks"] // 4)
    if args.json:
        print(json.dumps({"size": size, "summary": summary, "runs": runs}, indent=2))
    else:
        print_report(summary, runs, size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
