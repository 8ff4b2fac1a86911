"""``shipyard monitor run`` over a fleet: 1,000 deployed models, one due window each.

Setup, through the services the CLI uses: 1,000 small scikit-learn models (a
LogisticRegression over 3 numeric and 1 categorical input) registered as ``m0000`` …, a
reference profile attached to each (2,000 reference rows), all deployed to ``prod`` an hour
back (the setup's clock is moved back for the deployments only), one ``[monitor.<model>]``
table each (``window = "1h"``, two rules), and an hour of prediction logs per model written by
the serving runtime's log writer (``--requests`` requests of ``--rows-per-request`` rows,
``drain`` every ``--flush-s`` seconds of simulated time, one replica serving every model, so
each flush leaves one file per model that had traffic). A tenth of the models drift.

Measured, each in a fresh process, ``--runs`` times (the database is restored between runs,
because ``monitor run`` never computes a window twice):

* ``cli``: ``shipyard monitor run --once --json`` — wall time (start-up included) and peak
  RSS (``os.wait4``);
* ``timed``: the same pass through the same composition root, each window's evaluation
  timed (drift against the stored profile, realized metrics, log statistics).

    python bench/monitoring_fleet.py                  # 1,000 models (setup takes minutes)
    python bench/monitoring_fleet.py --quick          # 50 models
    python bench/monitoring_fleet.py --models 200 --runs 1 --json
    python bench/monitoring_fleet.py --data-dir DIR   # keep the project in DIR and reuse it
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
    project_env,
    restore,
    snapshot,
    timed_run,
    write_toml,
)

ENV = "prod"
NUMERIC = ("x0", "x1", "x2")
FEATURES = (*NUMERIC, "kind")
KINDS = ("a", "b", "c", "d")
POLICY = {
    "window": "1h",
    "delay": "0s",
    "min_rows": 100,
    "rules": ["drift_share > 0.3", "drift.x0 > 0.3"],
}
SEED = 5


def name(i: int) -> str:
    return f"m{i:04d}"


def inputs(rng: Any, n: int, shifted: bool) -> Any:
    import numpy as np
    import pandas as pd

    p = np.array([0.4, 0.3, 0.2, 0.1])
    frame = pd.DataFrame({c: rng.normal(0, 1, n) for c in NUMERIC})
    if shifted:
        frame["x0"] += 0.8
        p = p[::-1].copy()
    frame["kind"] = rng.choice(np.array(KINDS, dtype=object), n, p=p)
    return frame


def register_all(svc: Any, models: int, start_ms: int, now_ms: int, quiet: bool) -> None:
    """Every model: logged, profiled, deployed at ``start_ms``."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(SEED)
    user = deployer(svc)
    signature = {
        "inputs": [[c, "float64"] for c in NUMERIC] + [["kind", "str"]],
        "output": "int64",
    }
    for i in range(models):
        reference = inputs(rng, 2_000, False)
        x = reference[list(NUMERIC)].to_numpy()
        model = LogisticRegression().fit(x, (x[:, 0] + x[:, 1] > 0).astype(int))
        version = svc.registry.log_model(model, name(i), user="bench", signature=signature)
        svc.profiles.attach(f"{name(i)}@{version.version}", reference)
        with backdated(now_ms - start_ms):
            svc.deployments.deploy(name(i), version.version, ENV, user)
        if not quiet and (i + 1) % 100 == 0:
            print(f"  {i + 1} models registered", flush=True)


def write_logs(svc: Any, models: int, start_ms: int, args: argparse.Namespace) -> int:
    """An hour of every model's traffic through one replica's log writer; files written."""
    import numpy as np

    from shipyard.services.formats.predictions import prediction_id
    from shipyard.services.serving.predlog import LogRecord, PredictionLog
    from shipyard.services.serving.stats import ServingStats

    rng = np.random.default_rng(SEED + 1)
    log = PredictionLog(svc.blobs.backend, "bench-0", ServingStats(), 10**9, env=ENV)
    k, per = args.requests, args.rows_per_request
    requests = []
    for i in range(models):
        frame = inputs(rng, k * per, shifted=i % 10 == 0)
        y = (frame["x0"].to_numpy() > 0).astype(np.int64)
        times = rng.integers(0, HOUR_MS, k) + start_ms
        for j, t in enumerate(times.tolist()):
            sl = slice(j * per, (j + 1) * per)
            requests.append((t, name(i), frame.iloc[sl], y[sl]))
    requests.sort(key=lambda r: r[0])
    flush_ms = int(args.flush_s * 1000)
    next_flush = start_ms + flush_ms
    for n, (t, model, frame, y) in enumerate(requests):
        while t >= next_flush:
            log.drain()
            next_flush += flush_ms
        pid = prediction_id("bench0", t, n + 1)
        log.add(LogRecord(pid, t, model, 1, "live", 1.0, FEATURES, frame, y))
    log.drain()
    return log.seq


def setup(project: Path, args: argparse.Namespace, quiet: bool) -> dict[str, Any]:
    """Build the project (or reuse one built before with the same sizes)."""
    marker = project / "bench-setup.json"
    wanted = {
        "models": args.models,
        "requests": args.requests,
        "rows_per_request": args.rows_per_request,
        "flush_s": args.flush_s,
    }
    if marker.exists():
        done = json.loads(marker.read_text())
        if all(done.get(k) == v for k, v in wanted.items()):
            return dict(done, reused=True)
        shutil.rmtree(project)
    project.mkdir(parents=True, exist_ok=True)
    write_toml(project, {name(i): POLICY for i in range(args.models)})
    now = int(time.time() * 1000)
    start = now // HOUR_MS * HOUR_MS - HOUR_MS  # the last full hour is the due window
    if not quiet:
        print(f"setup: {args.models:,} models …", flush=True)
    t0 = time.perf_counter()
    svc = open_services(project)
    try:
        register_all(svc, args.models, start, now, quiet)
        t1 = time.perf_counter()
        files = write_logs(svc, args.models, start, args)
        written = time.perf_counter() - t1
    finally:
        svc.close()
    snapshot(project)
    done = dict(wanted, start_ms=start, files=files, write_seconds=written)
    done["register_seconds"] = t1 - t0
    marker.write_text(json.dumps(done))
    return dict(done, reused=False)


def run_child(project: Path, which: str) -> dict[str, Any]:
    env = project_env(project)
    if which == "cli":
        cmd = [*CLI, "monitor", "run", "--once", "--json"]
    else:
        cmd = [sys.executable, __file__, "--child", "timed", "--project", str(project)]
    got = measure(cmd, env, project)
    if got.returncode != 0:
        return {"error": got.stderr.strip().splitlines()[-3:], "seconds": got.seconds}
    body = last_json(got.stdout)
    windows = body["windows"]
    out = {
        "windows": len(windows),
        "computed": sum(1 for w in windows if w["status"] == "computed"),
        "rows": sum(w["rows"] for w in windows),
        "drifted": sum(1 for w in windows if (w.get("drift_share") or 0) > 0.3),
        "errors": body["errors"][:5],
        "seconds": got.seconds,
        "cpu_seconds": got.cpu_seconds,
        "peak_rss_mb": got.peak_mb,
    }
    if which == "timed":
        out |= {"evaluate": body["evaluate"], "run_seconds": body["run_seconds"]}
    else:
        out["drifted"] = sum(1 for w in windows if (w["figures"].get("drift_share") or 0) > 0.3)
    return out


def bench(project: Path, args: argparse.Namespace) -> dict[str, Any]:
    data = setup(project, args, args.json)
    runs = []
    for i in range(args.runs):
        for which in ("cli", "timed"):
            if not args.json:
                print(f"run {i + 1}/{args.runs}: {which} …", flush=True)
            restore(project)
            runs.append(dict(run_child(project, which), system=which, run=i + 1))
    return {"data": data, "runs": runs, "machine_note": "2 cores shared with other jobs"}


def show(report: dict[str, Any]) -> None:
    d = report["data"]
    rows = d["requests"] * d["rows_per_request"]
    print(
        f"\nmonitor run over {d['models']:,} deployed models, one 1h window each of {rows:,} "
        f"logged rows ({d['files']:,} log files), a stored reference profile each"
    )
    if not d.get("reused"):
        print(
            f"setup: registering {d['register_seconds']:.0f} s, "
            f"writing the logs {d['write_seconds']:.0f} s"
        )
    head = f"{'run':<4}{'system':<8}{'total s':>9}{'s/model':>9}{'windows':>9}{'drifted':>9}"
    print(f"{head}{'cpu s':>8}{'eval p50':>10}{'eval p95':>10}{'peak MB':>9}")
    for r in report["runs"]:
        if "error" in r:
            print(f"{r['run']:<4}{r['system']:<8}failed: {r['error']}")
            continue
        ev = r.get("evaluate", {})
        per = r["seconds"] / max(1, r["windows"])
        evals = f"{ev['median']:>10.3f}{ev['p95']:>10.3f}" if ev.get("count") else f"{'-':>20}"
        print(
            f"{r['run']:<4}{r['system']:<8}{r['seconds']:>9.1f}{per:>9.3f}{r['windows']:>9}"
            f"{r['drifted']:>9}{r['cpu_seconds']:>8.1f}{evals}{r['peak_rss_mb']:>9.0f}"
        )
    print(f"target: < 60 s in all for {d['models']:,} models (the cli row, start-up included);")
    print("the machine's 2 cores were shared with other jobs while this ran")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 models instead of 1,000")
    parser.add_argument("--models", type=int, help="deployed models (overrides --quick)")
    parser.add_argument("--requests", type=int, default=20, help="requests per model")
    parser.add_argument("--rows-per-request", type=int, default=25)
    parser.add_argument("--flush-s", type=float, default=2.0, help="the writer's flush period")
    parser.add_argument("--runs", type=int, default=2, help="measured runs of each system")
    parser.add_argument("--data-dir", type=Path, help="keep the project here (reused if built)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--child", choices=["timed"], help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(timed_run(args.project)))
        return
    args.models = args.models or (50 if args.quick else 1_000)
    if args.models < 1 or args.requests < 1 or args.rows_per_request < 1:
        parser.error("--models, --requests and --rows-per-request must be at least 1")
    if args.data_dir is not None:
        report = bench(args.data_dir.resolve(), args)
    else:
        with tempfile.TemporaryDirectory(prefix="shipyard-bench-fleet-") as tmp:
            report = bench(Path(tmp), args)
    print(json.dumps(report, indent=2)) if args.json else show(report)


if __name__ == "__main__":
    main()
