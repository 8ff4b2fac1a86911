"""Monitoring from prediction logs: a day of one model's logs, hourly windows, ``monitor run``.

The logs are written by the serving runtime's own log writer (``PredictionLog.add`` per
request, ``drain`` every ``--flush-s`` seconds of simulated time, as ``shipyard serve`` does
every ``flush_s``), so the day is the files a replica leaves: one Parquet file per flush,
under ``predictions/model=churn/date=…/env=prod/``. The model (a scikit-learn pipeline over
8 numeric and 2 categorical inputs) is registered, its reference profile attached from 200,000
reference rows, and it is deployed to ``prod`` 24 hours back (the setup's clock is moved back
for the deployment only), with ``[monitor.churn]`` ``window = "1h"``. From hour 12 ``f0`` moves
by half a standard deviation, from hour 18 ``c0``'s mix is reversed.

Measured, each in a fresh process, ``--runs`` times (the database is restored between runs,
because ``monitor run`` never computes a window twice):

* ``cli``: ``shipyard monitor run --once --json`` — wall time and peak RSS (``os.wait4``);
* ``timed``: the same pass through the same composition root in a child that times each
  window's evaluation (the evaluator chain of ``interfaces/bootstrap.py``);
* ``pandas``: ``pandas.read_parquet`` of the whole day, then ``drift`` per hour on slices of
  it (what the streamed reader avoids).

    python bench/monitoring_logs.py                    # 10M rows (setup takes minutes)
    python bench/monitoring_logs.py --quick            # 500,000 rows
    python bench/monitoring_logs.py --rows 2000000 --runs 1 --json
    python bench/monitoring_logs.py --data-dir DIR     # keep the project in DIR and reuse it
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from monitoring_scale.common import (
    CLI,
    HOUR_MS,
    backdated,
    deployer,
    last_json,
    measure,
    open_services,
    peak_mb,
    project_env,
    restore,
    snapshot,
    stats,
    timed_run,
    write_toml,
)

MODEL, ENV = "churn", "prod"
NUMERIC = [f"f{i}" for i in range(8)]
CATEGORICAL = {"c0": 5, "c1": 20}
FEATURES = [*NUMERIC, *CATEGORICAL]
POLICY = {
    "window": "1h",
    "delay": "0s",
    "min_rows": 1000,
    "rules": ["drift_share > 0.3", "drift.f0 > 0.3"],
}
SEED = 11


# ------------------------------------------------------------------------------ data
def features(rng: Any, n: int, hour: int | None) -> Any:
    """``n`` rows of inputs; ``hour`` None is the reference, else that hour's traffic."""
    import numpy as np
    import pandas as pd

    cols: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC):
        x = rng.normal(50, 10, n) if i % 2 == 0 else rng.lognormal(3, 0.5, n)
        if name == "f0" and hour is not None and hour >= 12:
            x = x + 5.0
        cols[name] = x
    for name, k in CATEGORICAL.items():
        p = np.linspace(3, 1, k)
        if name == "c0" and hour is not None and hour >= 18:
            p = p[::-1].copy()
        values = np.array([f"{name}_{v}" for v in range(k)], dtype=object)
        cols[name] = rng.choice(values, n, p=p / p.sum())
    return pd.DataFrame(cols)


def answers(frame: Any) -> tuple[Any, Any]:
    """Predicted labels and positive-class probabilities (a fixed logistic score)."""
    import numpy as np

    z = 0.08 * (frame["f0"].to_numpy() - 50) - 0.05 * (frame["f1"].to_numpy() - 20)
    proba = 1 / (1 + np.exp(-z))
    return (proba > 0.5).astype(np.int64), proba


def register(svc: Any, start_ms: int, now_ms: int) -> None:
    """The model, its reference profile, and a deployment made at ``start_ms``."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    reference = features(np.random.default_rng(SEED), 200_000, None)
    train = reference.head(20_000)
    encode = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL))],
        remainder="passthrough",
    )
    model = make_pipeline(encode, LogisticRegression(max_iter=500))
    model.fit(train, answers(train)[0])
    inputs = [[c, "float64"] for c in NUMERIC] + [[c, "str"] for c in CATEGORICAL]
    signature = {"inputs": inputs, "output": "int64"}
    version = svc.registry.log_model(model, MODEL, user="bench", signature=signature)
    svc.profiles.attach(f"{MODEL}@{version.version}", reference)
    with backdated(now_ms - start_ms):
        svc.deployments.deploy(MODEL, version.version, ENV, deployer(svc))


def write_logs(svc: Any, rows: int, start_ms: int, per_request: int, flush_s: float) -> int:
    """A day of traffic from ``start_ms`` through the serving log writer; the files written."""
    import numpy as np

    from shipyard.services.formats.predictions import prediction_id
    from shipyard.services.serving.predlog import LogRecord, PredictionLog
    from shipyard.services.serving.stats import ServingStats

    log = PredictionLog(svc.blobs.backend, "bench-0", ServingStats(), 10**9, env=ENV)
    rng = np.random.default_rng(SEED + 1)
    flush_ms, counter = int(flush_s * 1000), 0
    next_flush = start_ms + flush_ms
    for hour in range(24):
        n = rows // 24 + (rows % 24 if hour == 23 else 0)
        frame = features(rng, n, hour)
        y, proba = answers(frame)
        starts = range(0, n, per_request)
        times = np.sort(rng.integers(0, HOUR_MS, len(starts))) + start_ms + hour * HOUR_MS
        for at, t in zip(starts, times.tolist(), strict=True):
            while t >= next_flush:
                log.drain()
                next_flush += flush_ms
            counter += 1
            sl = slice(at, at + per_request)
            pid = prediction_id("bench0", t, counter)
            log.add(LogRecord(pid, t, MODEL, 1, "live", 2.0, tuple(FEATURES),
                              frame.iloc[sl], y[sl], proba[sl]))  # fmt: skip
    log.drain()
    return log.seq


def setup(project: Path, rows: int, per_request: int, flush_s: float, quiet: bool) -> dict:
    """Build the project (or reuse one built before with the same sizes)."""
    marker = project / "bench-setup.json"
    wanted = {"rows": rows, "per_request": per_request, "flush_s": flush_s}
    if marker.exists():
        done = json.loads(marker.read_text())
        if all(done.get(k) == v for k, v in wanted.items()):
            return dict(done, reused=True)
        shutil.rmtree(project)
    project.mkdir(parents=True, exist_ok=True)
    write_toml(project, {MODEL: POLICY})
    now = int(time.time() * 1000)
    start = now // HOUR_MS * HOUR_MS - 24 * HOUR_MS
    if not quiet:
        print(f"setup: registering {MODEL}, writing {rows:,} logged rows …", flush=True)
    t0 = time.perf_counter()
    svc = open_services(project)
    try:
        register(svc, start, now)
        t1 = time.perf_counter()
        files = write_logs(svc, rows, start, per_request, flush_s)
        written = time.perf_counter() - t1
    finally:
        svc.close()
    logs = project / ".shipyard" / "objects" / "predictions"
    size = sum(p.stat().st_size for p in logs.rglob("*.parquet"))
    snapshot(project)
    done = dict(wanted, start_ms=start, files=files, bytes=size, write_seconds=written)
    done["setup_seconds"] = time.perf_counter() - t0
    marker.write_text(json.dumps(done))
    return dict(done, reused=False)


# ------------------------------------------------------------------------------ children
def child_timed(project: Path) -> dict[str, Any]:
    return timed_run(project)


def child_pandas(project: Path) -> dict[str, Any]:
    """The whole day through ``pandas.read_parquet``, then ``drift`` per hour on slices."""
    import pandas as pd

    from shipyard.services.monitoring.drift import drift

    svc = open_services(project)
    profile = svc.profiles.for_model(f"{MODEL}@1")
    folder = project / ".shipyard" / "objects" / "predictions" / f"model={MODEL}"
    svc.close()
    t0 = time.perf_counter()
    day = pd.read_parquet(folder, columns=[*FEATURES, "_time"])
    read_s = time.perf_counter() - t0
    times = day["_time"].dt.floor("h")
    seconds, shares = [], []
    for _, window in day.groupby(times, sort=True):
        t1 = time.perf_counter()
        shares.append(drift(profile, window[FEATURES], columns=FEATURES).drift_share)
        seconds.append(time.perf_counter() - t1)
    return {
        "seconds": time.perf_counter() - t0,
        "read_seconds": read_s,
        "rows": len(day),
        "evaluate": stats(seconds),
        "drift_shares": shares,
        "peak_mb": peak_mb(),
    }


CHILDREN = {"timed": child_timed, "pandas": child_pandas}


def run_child(project: Path, which: str) -> dict[str, Any]:
    env = project_env(project)
    if which == "cli":
        cmd = [*CLI, "monitor", "run", "--once", "--json"]
    else:
        cmd = [sys.executable, __file__, "--child", which, "--project", str(project)]
    got = measure(cmd, env, project)
    if got.returncode != 0:
        return {"error": got.stderr.strip().splitlines()[-3:], "seconds": got.seconds}
    body = last_json(got.stdout)
    if which == "cli":
        windows = body["windows"]
        body = {
            "windows": len(windows),
            "rows": sum(w["rows"] for w in windows),
            "errors": body["errors"],
        }
    return dict(body, seconds=got.seconds, cpu_seconds=got.cpu_seconds, peak_rss_mb=got.peak_mb)


def bench(project: Path, args: argparse.Namespace) -> dict[str, Any]:
    quiet = args.json
    data = setup(project, args.rows, args.rows_per_request, args.flush_s, quiet)
    runs: list[dict[str, Any]] = []
    for i in range(args.runs):
        for which in ("cli", "timed", "pandas"):
            if which == "pandas" and args.no_pandas:
                continue
            if not quiet:
                print(f"run {i + 1}/{args.runs}: {which} …", flush=True)
            restore(project)
            runs.append(dict(run_child(project, which), system=which, run=i + 1))
    return {"data": data, "runs": runs, "machine_note": "2 cores shared with other jobs"}


# ------------------------------------------------------------------------------ report
def show(report: dict[str, Any]) -> None:
    d = report["data"]
    print(
        f"\nPrediction logs of one model: {d['rows']:,} rows over 24 h, {d['files']:,} files "
        f"({d['bytes'] / 1e6:.0f} MB), flush every {d['flush_s']} s, "
        f"{d['per_request']} rows a request"
    )
    if not d.get("reused"):
        print(f"setup {d['setup_seconds']:.0f} s (writing the logs {d['write_seconds']:.0f} s)")
    head = f"{'run':<4}{'system':<8}{'total s':>9}{'windows':>9}{'rows':>12}"
    print(f"{head}{'cpu s':>8}{'mean s/win':>11}{'max s/win':>10}{'peak MB':>9}")
    for r in report["runs"]:
        if "error" in r:
            print(f"{r['run']:<4}{r['system']:<8}failed: {r['error']}")
            continue
        ev = r.get("evaluate", {})
        windows = r.get("windows")
        count = len(windows) if isinstance(windows, list) else windows
        count = ev.get("count", count) if r["system"] == "pandas" else count
        rows = r.get("rows") or sum(w["rows"] for w in r.get("windows", []) or [])
        dash = f"{'-':>11}{'-':>10}"
        mean = f"{ev['mean']:>11.2f}{ev['max']:>10.2f}" if ev.get("count") else dash
        print(
            f"{r['run']:<4}{r['system']:<8}{r['seconds']:>9.1f}{count:>9}{rows:>12,}"
            f"{r['cpu_seconds']:>8.1f}{mean}{r['peak_rss_mb']:>9.0f}"
        )
    timed = next((r for r in report["runs"] if r["system"] == "timed" and "error" not in r), None)
    if timed:
        print("\nwindows of the first timed run (hour from the deployment, rows, drift_share, s)")
        for i, w in enumerate(timed["windows"]):
            share = "-" if w["drift_share"] is None else f"{w['drift_share']:.2f}"
            sec = "-" if w["seconds"] is None else f"{w['seconds']:.2f}"
            print(f"  {i:>2}  {w['status']:<16}{w['rows']:>10,}  {share:>5}  {sec:>6}")
    print("target: peak memory < 1 GB (peak MB above is ru_maxrss of the child);")
    print("the machine's 2 cores were shared with other jobs while this ran")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500,000 rows instead of 10M")
    parser.add_argument("--rows", type=int, help="logged rows over the day (overrides --quick)")
    parser.add_argument("--rows-per-request", type=int, default=10)
    parser.add_argument("--flush-s", type=float, default=2.0, help="the writer's flush period")
    parser.add_argument("--runs", type=int, default=2, help="measured runs of each system")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas comparison")
    parser.add_argument("--data-dir", type=Path, help="keep the project here (reused if built)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.project)))
        return
    args.rows = args.rows or (500_000 if args.quick else 10_000_000)
    if args.rows < 24 * args.rows_per_request:
        parser.error("--rows must cover at least one request an hour")
    if args.data_dir is not None:
        report = bench(args.data_dir.resolve(), args)
    else:
        with tempfile.TemporaryDirectory(prefix="shipyard-bench-logs-") as tmp:
            report = bench(Path(tmp), args)
    print(json.dumps(report, indent=2)) if args.json else show(report)


if __name__ == "__main__":
    main()
