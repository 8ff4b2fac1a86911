"""Monitoring benchmarks, one section per function (``drift`` today).

Drift: the same 1M rows x 25 columns (20 numeric, 5 categorical, 5 of them shifted) for
Shipyard's ``drift``, Evidently 0.7.23's default ``DataDriftPreset`` (in its own venv,
``.bench-venvs/evidently``, created on first use) and plain scipy per-column tests
(``ks_2samp`` and ``chi2_contingency`` in a loop). Each system runs in its own process,
which generates the data from the same seed, then times only the drift computation and
reports its peak memory (``ru_maxrss``) and the verdict of every column.

    python bench/monitoring.py            # full sizes (Evidently alone takes minutes)
    python bench/monitoring.py --quick    # 100,000 rows
    python bench/monitoring.py --json     # the same, as JSON
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EVIDENTLY_VERSION = "0.7.23"
EVIDENTLY_VENV = REPO / ".bench-venvs" / "evidently"
NUMERIC, CATEGORICAL = 20, 5
SHIFTED = ("n0", "n1", "n2", "n3", "c0")
SEED = 7


# ------------------------------------------------------------------------------ data
def make_frames(rows: int, seed: int = SEED) -> tuple[Any, Any]:
    """Reference and current frames: the same distributions except ``SHIFTED``."""
    import numpy as np
    import pandas as pd

    def frame(rng: Any, current: bool) -> Any:
        cols: dict[str, Any] = {}
        for i in range(NUMERIC):
            kind = i % 4
            if kind == 0:
                x = rng.normal(50, 10, rows)
            elif kind == 1:
                x = rng.lognormal(3, 0.6, rows)
            elif kind == 2:
                x = rng.poisson(4, rows).astype(np.float64)
            else:
                x = rng.uniform(0, 100, rows)
            cols[f"n{i}"] = _shift(i, x) if current and f"n{i}" in SHIFTED else x
        for j in range(CATEGORICAL):
            k = (4, 8, 12, 30, 3)[j]
            names = np.array([f"cat{j}_{v}" for v in range(k)], dtype=object)
            p = np.linspace(2, 1, k)
            if current and f"c{j}" in SHIFTED:
                p = p[::-1].copy()
            cols[f"c{j}"] = rng.choice(names, rows, p=p / p.sum())
        return pd.DataFrame(cols)

    return frame(np.random.default_rng(seed), False), frame(np.random.default_rng(seed + 1), True)


def _shift(i: int, x: Any) -> Any:
    """Moves of 0.3, 0.5 and 0.2 standard deviations, and a spread 1.5 times as wide."""
    if i == 0:
        return x + 3.0  # normal(50, 10)
    if i == 1:
        return x + 0.5 * x.std()  # lognormal
    if i == 2:
        return x + 0.4  # poisson(4): sd 2
    return 50 + (x - 50) * 1.5  # uniform(0, 100)


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _data_ready() -> float:
    """The resident size with the data loaded; the peak is reset here, so that the peak
    reported is that of the computation (data included), not of generating the data."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _status_mb("VmRSS")


def _peak_mb() -> float:
    return _status_mb("VmHWM")


# ------------------------------------------------------------------------------ children
def child_shipyard(rows: int) -> dict[str, Any]:
    import scipy.stats  # noqa: F401  (imported before timing, as in the other children)

    from shipyard.services.monitoring.drift import drift

    ref, cur = make_frames(rows)
    base = _data_ready()
    t0 = time.perf_counter()
    result = drift(ref, cur)
    elapsed = time.perf_counter() - t0
    t1 = time.perf_counter()
    drift(result.profile, cur)  # what `monitor run` does: the profile was stored earlier
    stored = time.perf_counter() - t1
    verdicts = {v.verdict.column: v.verdict.drifted for v in result.verdicts}
    return {
        "seconds": elapsed,
        "stored_profile_seconds": stored,
        "data_mb": base,
        "peak_mb": _peak_mb(),
        "verdicts": verdicts,
    }


def child_scipy(rows: int) -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    from scipy import stats

    ref, cur = make_frames(rows)
    base = _data_ready()
    t0 = time.perf_counter()
    verdicts = {}
    for name in ref.columns:
        if name.startswith("n"):
            p = stats.ks_2samp(ref[name].to_numpy(), cur[name].to_numpy()).pvalue
        else:
            table = pd.concat([ref[name].value_counts(), cur[name].value_counts()], axis=1)
            p = stats.chi2_contingency(np.nan_to_num(table.to_numpy().T))[1]
        verdicts[name] = bool(p < 0.05)
    elapsed = time.perf_counter() - t0
    return {"seconds": elapsed, "data_mb": base, "peak_mb": _peak_mb(), "verdicts": verdicts}


def child_evidently(rows: int) -> dict[str, Any]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref, cur = make_frames(rows)
    base = _data_ready()
    numeric = [c for c in ref.columns if c.startswith("n")]
    categorical = [c for c in ref.columns if c.startswith("c")]
    t0 = time.perf_counter()
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )
    body = snapshot.dict()
    elapsed = time.perf_counter() - t0
    verdicts, methods = {}, set()
    for metric in body["metrics"]:
        config = metric["config"]
        if not config["type"].endswith("ValueDrift"):
            continue
        is_test = "p_value" in config["method"]
        value, limit = metric["value"], config["threshold"]
        verdicts[config["column"]] = bool(value < limit if is_test else value >= limit)
        methods.add(config["method"])
    return {
        "seconds": elapsed,
        "data_mb": base,
        "peak_mb": _peak_mb(),
        "verdicts": verdicts,
        "methods": sorted(methods),
    }


CHILDREN = {"shipyard": child_shipyard, "scipy": child_scipy, "evidently": child_evidently}


# ------------------------------------------------------------------------------ Evidently venv
def ensure_evidently(quiet: bool) -> tuple[str | None, str]:
    """The Python of Evidently's venv (created and installed on first use), or why not."""
    python = EVIDENTLY_VENV / "bin" / "python"
    probe = [str(python), "-c", "import evidently; print(evidently.__version__)"]
    if python.exists():
        done = subprocess.run(probe, capture_output=True, text=True)
        if done.stdout.strip() == EVIDENTLY_VERSION:
            return str(python), ""
    base = shutil.which("python3.11") or sys.executable
    if not quiet:
        print(f"creating {EVIDENTLY_VENV} and installing evidently=={EVIDENTLY_VERSION} …")
    try:
        if not python.exists():
            subprocess.run([base, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
        # evidently 0.7.23 imports a pandas function that pandas 3 removed
        pip = [str(python), "-m", "pip", "install", "-q", f"evidently=={EVIDENTLY_VERSION}"]
        subprocess.run([*pip, "pandas<3"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        return None, f"could not install evidently=={EVIDENTLY_VERSION}: {e}"
    done = subprocess.run(probe, capture_output=True, text=True)
    if done.stdout.strip() != EVIDENTLY_VERSION:
        return None, f"evidently in {EVIDENTLY_VENV} does not import: {done.stderr[-300:]}"
    return str(python), ""


def run_child(python: str, system: str, rows: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    cmd = [python, __file__, "--child", system, "--rows", str(rows)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ sections
def drift_section(rows: int, quiet: bool) -> dict[str, Any]:
    """Shipyard vs Evidently's default DataDriftPreset vs plain scipy, same data."""
    results: dict[str, Any] = {}
    for system in ("shipyard", "scipy"):
        if not quiet:
            print(f"drift: {system} on {rows:,} rows …", flush=True)
        results[system] = run_child(sys.executable, system, rows)
    python, why = ensure_evidently(quiet)
    if python is None:
        results["evidently"] = {"error": [why]}
    else:
        if not quiet:
            print(f"drift: evidently {EVIDENTLY_VERSION} on {rows:,} rows …", flush=True)
        results["evidently"] = run_child(python, "evidently", rows)
    return {
        "rows": rows,
        "columns": NUMERIC + CATEGORICAL,
        "shifted": list(SHIFTED),
        "systems": results,
        "ratios": _ratios(results),
    }


def _ratios(results: dict[str, Any]) -> dict[str, float]:
    ours = results["shipyard"]
    out = {}
    for other in ("evidently", "scipy"):
        theirs = results.get(other, {})
        if "seconds" in theirs and "seconds" in ours:
            out[f"{other}_time_x"] = theirs["seconds"] / ours["seconds"]
            out[f"{other}_peak_memory_x"] = theirs["peak_mb"] / ours["peak_mb"]
            above = max(ours["peak_mb"] - ours["data_mb"], 1.0)
            out[f"{other}_memory_above_data_x"] = (theirs["peak_mb"] - theirs["data_mb"]) / above
    return out


def print_drift(report: dict[str, Any]) -> None:
    systems = report["systems"]
    print(
        f"\nDrift, {report['rows']:,} rows x {report['columns']} columns "
        f"(shifted: {', '.join(report['shifted'])})"
    )
    head = f"{'system':<12}{'seconds':>10}{'peak MB':>10}{'data MB':>10}{'above data':>12}"
    print(f"{head}  verdicts as expected")
    columns = [f"n{i}" for i in range(NUMERIC)] + [f"c{j}" for j in range(CATEGORICAL)]
    for name, r in systems.items():
        if "error" in r:
            print(f"{name:<12}failed: {r['error']}")
            continue
        wrong = [c for c in columns if r["verdicts"].get(c) != (c in report["shifted"])]
        verdict = "all 25" if not wrong else f"wrong on {', '.join(wrong)}"
        print(
            f"{name:<12}{r['seconds']:>10.2f}{r['peak_mb']:>10.0f}{r['data_mb']:>10.0f}"
            f"{r['peak_mb'] - r['data_mb']:>12.0f}  {verdict}"
        )
    if "stored_profile_seconds" in systems.get("shipyard", {}):
        stored = systems["shipyard"]["stored_profile_seconds"]
        print(f"shipyard against a stored profile: {stored:.2f} s")
    for key, value in report["ratios"].items():
        print(f"{key}: {value:.1f}")
    print("targets: evidently_time_x >= 30, scipy_time_x >= 3, evidently_peak_memory_x >= 3")


SECTIONS = {"drift": (drift_section, print_drift)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows instead of 1M")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--section", choices=sorted(SECTIONS), action="append")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=None, help="rows (overrides --quick)")
    args = parser.parse_args()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    if args.child:
        print(json.dumps(CHILDREN[args.child](rows)))
        return
    reports = {}
    for name in args.section or sorted(SECTIONS):
        run, show = SECTIONS[name]
        reports[name] = run(rows, args.json)
        if not args.json:
            show(reports[name])
    if args.json:
        print(json.dumps(reports, indent=2))


if __name__ == "__main__":
    main()
