"""Tracking speed: Shipyard (embedded, SQLite) next to MLflow (SQLite), side by side.

Workloads (every one in a fresh subprocess with its own temporary folder; timings are taken
with ``time.perf_counter`` inside the child and sent back as JSON):

1. ``loop``   one run, N ``log_metric`` calls in a loop, then the full series read back
              (write = start_run + loop + end_run; read = metric history, timed separately)
2. ``batch``  the same N values through the batch API (Shipyard: one ``log_batch``;
              MLflow: ``MlflowClient.log_batch`` in chunks of 1,000, its limit)
3. ``runs``   R runs with 5 params and 5 metrics each, through the fluent APIs
4. ``search`` ``metrics.m0 > 0.5 and params.p0 = 'a'`` ordered by ``metrics.m0 DESC``, max 100,
              over the runs of (3), median of 20; then Shipyard alone over S runs created as a
              bulk-inserted fixture (median and p95 of 20)
5. ``import`` cold ``python -c "import shipyard"`` / ``"import mlflow"`` wall time, median of 5

Shipyard has no HTTP server yet, so only the local (SQLite) comparison is made. Run with::

    python bench/tracking.py            # full sizes (MLflow's 10,000-call loop takes ~40 s)
    python bench/tracking.py --quick    # CI smoke sizes
    python bench/tracking.py --json     # machine-readable output
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

EXPERIMENT = "bench"
RESULT_MARKER = "BENCH_RESULT "
N_PARAMS = 5
N_METRICS = 5
SEARCH_FILTER = "metrics.m0 > 0.5 and params.p0 = 'a'"
SEARCH_ORDER = ["metrics.m0 DESC"]
SEARCH_MAX = 100
SEARCH_REPEATS = 20
IMPORT_REPEATS = 5
MLFLOW_BATCH_LIMIT = 1_000
CHILD_TIMEOUT_S = 1_800

FULL = {"loop": 10_000, "batch": 10_000, "runs": 1_000, "search_runs": 100_000}
QUICK = {"loop": 1_000, "batch": 10_000, "runs": 100, "search_runs": 10_000}

TARGET_LOOP_RATIO = 100.0
TARGET_RUNS_RATIO = 10.0
TARGET_SEARCH_S = 0.100
TARGET_IMPORT_S = 0.300


# ---------------------------------------------------------------------------- data
def _series(n: int) -> list[float]:
    """A deterministic, loss-like series."""
    rng = random.Random(1)
    return [1.0 / (i + 1) + rng.random() * 1e-3 for i in range(n)]


def _run_data(n_runs: int, seed: int = 7) -> list[tuple[dict[str, str], dict[str, float]]]:
    """Params p0..p4 (p0 in a..e) and metrics m0..m4 in [0, 1) for each run."""
    rng = random.Random(seed)
    out = []
    for _ in range(n_runs):
        params = {"p0": rng.choice("abcde")}
        params.update({f"p{j}": str(rng.randint(0, 99)) for j in range(1, N_PARAMS)})
        metrics = {f"m{j}": rng.random() for j in range(N_METRICS)}
        out.append((params, metrics))
    return out


def _timed(fn: Callable[[], object], repeats: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# ---------------------------------------------------------------------------- Shipyard child
def _sy_warm() -> Any:
    """Open the store, create the schema and the experiment outside the timed region."""
    import shipyard as sy

    with sy.start_run(experiment=EXPERIMENT, run_name="warmup", log_environment=False):
        pass
    return sy


def sy_loop(n: int, tmp: Path) -> dict[str, Any]:
    sy = _sy_warm()
    values = _series(n)
    start = time.perf_counter()
    with sy.start_run(experiment=EXPERIMENT, run_name="loop", log_environment=False) as run:
        for i, v in enumerate(values):
            sy.log_metric("loss", v, step=i)
    write = time.perf_counter() - start
    start = time.perf_counter()
    history = sy.get_metric_history(run.run_id, "loss")
    read = time.perf_counter() - start
    assert len(history) == n, (len(history), n)
    assert history[-1].value == values[-1]
    return {"write_s": write, "read_s": read, "points": len(history)}


def sy_batch(n: int, tmp: Path) -> dict[str, Any]:
    from shipyard.core.entities import Metric
    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings

    svc = build_services(load_settings())
    exp = svc.tracking.get_or_create_experiment(EXPERIMENT)
    warm = svc.tracking.create_run(exp.experiment_id, run_name="warmup")
    svc.tracking.update_run(warm.run_id, status="FINISHED")
    values = _series(n)
    start = time.perf_counter()
    run = svc.tracking.create_run(exp.experiment_id, run_name="batch")
    ts = int(time.time() * 1000)
    svc.tracking.log_batch(run.run_id, [Metric("loss", v, ts, i) for i, v in enumerate(values)])
    svc.tracking.update_run(run.run_id, status="FINISHED")
    write = time.perf_counter() - start
    assert len(svc.tracking.metric_history(run.run_id, "loss")) == n
    return {"write_s": write}


def _sy_search(sy: Any) -> Callable[[], list[float]]:
    def search() -> list[float]:
        found = sy.search_runs(
            EXPERIMENT, filter=SEARCH_FILTER, order_by=SEARCH_ORDER, max_results=SEARCH_MAX
        )
        return [r.metrics["m0"].value for r in found]

    return search


def sy_runs(n: int, tmp: Path) -> dict[str, Any]:
    sy = _sy_warm()
    data = _run_data(n)
    start = time.perf_counter()
    for i, (params, metrics) in enumerate(data):
        with sy.start_run(experiment=EXPERIMENT, run_name=f"r{i}", log_environment=False):
            sy.log_params(params)
            sy.log_metrics(metrics)
    write = time.perf_counter() - start
    times, found = _timed(_sy_search(sy), SEARCH_REPEATS)
    return {"write_s": write, "search_s": times, "found": found}


def sy_search_large(n: int, tmp: Path) -> dict[str, Any]:
    """Bulk-insert ``n`` finished runs (a fixture, not a logging benchmark), then search."""
    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings
    from shipyard.stores.sql import tables as t

    sy = _sy_warm()
    svc = build_services(load_settings())
    exp_id = int(svc.tracking.get_experiment_by_name(EXPERIMENT).experiment_id)
    rng = random.Random(11)
    data = _run_data(n)
    base = int(time.time() * 1000) - n
    start = time.perf_counter()
    chunk = 10_000
    for lo in range(0, n, chunk):
        runs, params, latest, points, tags = [], [], [], [], []
        for i in range(lo, min(n, lo + chunk)):
            run_id = uuid.UUID(int=rng.getrandbits(128)).hex
            ts = base + i
            runs.append(
                {
                    "id": run_id,
                    "experiment_id": exp_id,
                    "name": f"r{i}",
                    "user_name": "bench",
                    "status": "FINISHED",
                    "start_time": ts,
                    "end_time": ts + 1,
                    "lifecycle_stage": "active",
                    "parent_run_id": None,
                    "error": None,
                }
            )
            tags.append({"run_id": run_id, "key": "mlflow.runName", "value": f"r{i}"})
            run_params, run_metrics = data[i]
            params += [{"run_id": run_id, "key": k, "value": v} for k, v in run_params.items()]
            for k, v in run_metrics.items():
                row = {"run_id": run_id, "key": k, "value": v, "step": 0, "timestamp": ts}
                points.append({**row, "is_nan": False})
                latest.append({**row, "experiment_id": exp_id, "is_nan": False})
        with svc.db.write() as conn:
            conn.execute(t.runs.insert(), runs)
            conn.execute(t.tags.insert(), tags)
            conn.execute(t.params.insert(), params)
            conn.execute(t.metrics.insert(), points)
            conn.execute(t.latest_metrics.insert(), latest)
    fixture = time.perf_counter() - start
    times, found = _timed(_sy_search(sy), SEARCH_REPEATS)
    return {"fixture_s": fixture, "search_s": times, "found": found}


# ---------------------------------------------------------------------------- MLflow child
def _mlflow_warm(tmp: Path) -> tuple[Any, Any, str]:
    """Create the store (runs MLflow's migrations), the experiment and one run, untimed."""
    import mlflow
    from mlflow import MlflowClient

    exp_id = mlflow.create_experiment(EXPERIMENT, artifact_location=(tmp / "artifacts").as_uri())
    mlflow.set_experiment(experiment_id=exp_id)
    with mlflow.start_run(run_name="warmup"):
        pass
    return mlflow, MlflowClient(), exp_id


def mlflow_loop(n: int, tmp: Path) -> dict[str, Any]:
    mlflow, client, _ = _mlflow_warm(tmp)
    values = _series(n)
    start = time.perf_counter()
    with mlflow.start_run(run_name="loop") as run:
        for i, v in enumerate(values):
            mlflow.log_metric("loss", v, step=i)
    write = time.perf_counter() - start
    start = time.perf_counter()
    history = client.get_metric_history(run.info.run_id, "loss")
    read = time.perf_counter() - start
    assert len(history) == n, (len(history), n)
    return {"write_s": write, "read_s": read, "points": len(history)}


def mlflow_batch(n: int, tmp: Path) -> dict[str, Any]:
    from mlflow.entities import Metric

    _, client, exp_id = _mlflow_warm(tmp)
    values = _series(n)
    start = time.perf_counter()
    run = client.create_run(exp_id, run_name="batch")
    run_id = run.info.run_id
    ts = int(time.time() * 1000)
    for lo in range(0, n, MLFLOW_BATCH_LIMIT):
        chunk = values[lo : lo + MLFLOW_BATCH_LIMIT]
        client.log_batch(
            run_id, metrics=[Metric("loss", v, ts, lo + j) for j, v in enumerate(chunk)]
        )
    client.set_terminated(run_id)
    write = time.perf_counter() - start
    assert len(client.get_metric_history(run_id, "loss")) == n
    return {"write_s": write}


def mlflow_runs(n: int, tmp: Path) -> dict[str, Any]:
    mlflow, client, exp_id = _mlflow_warm(tmp)
    data = _run_data(n)
    start = time.perf_counter()
    for i, (params, metrics) in enumerate(data):
        mlflow.start_run(run_name=f"r{i}")
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.end_run()
    write = time.perf_counter() - start

    def search() -> list[float]:
        found = client.search_runs(
            [exp_id], SEARCH_FILTER, order_by=SEARCH_ORDER, max_results=SEARCH_MAX
        )
        return [r.data.metrics["m0"] for r in found]

    times, found = _timed(search, SEARCH_REPEATS)
    return {"write_s": write, "search_s": times, "found": found}


CHILDREN: dict[str, Callable[[int, Path], dict[str, Any]]] = {
    "shipyard:loop": sy_loop,
    "shipyard:batch": sy_batch,
    "shipyard:runs": sy_runs,
    "shipyard:search_large": sy_search_large,
    "mlflow:loop": mlflow_loop,
    "mlflow:batch": mlflow_batch,
    "mlflow:runs": mlflow_runs,
}


# ---------------------------------------------------------------------------- parent
def _clean_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SHIPYARD_", "MLFLOW_", "_MLFLOW_", "DATABRICKS_"))
        and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        {
            "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
            "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "false",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
        }
    )
    return env


def _child_env(system: str, tmp: Path) -> dict[str, str]:
    env = _clean_env()
    if system == "shipyard":
        env["SHIPYARD_PROJECT_DIR"] = str(tmp)
    else:
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
    return env


def run_child(name: str, n: int) -> dict[str, Any]:
    """Run one workload in a fresh interpreter with a fresh temporary folder."""
    system = name.split(":")[0]
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{name.replace(':', '-')}-"))
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", name, "--n", str(n), "--tmp", str(tmp)],
            env=_child_env(system, tmp),
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    raise RuntimeError(
        f"workload {name} (n={n}) failed with exit code {proc.returncode}:\n{proc.stderr[-4000:]}"
    )


def _import_time(code: str) -> list[float]:
    """Wall seconds of ``python -c code`` in fresh interpreters (one unrecorded warm-up)."""
    env = _clean_env()
    cmd = [sys.executable, "-c", code]
    subprocess.run(cmd, env=env, check=True, capture_output=True)  # .pyc files exist after this
    times = []
    for _ in range(IMPORT_REPEATS):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def _progress(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def collect(quick: bool, quiet: bool) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    raw: dict[str, Any] = {}
    for name, size_key in [
        ("shipyard:loop", "loop"),
        ("mlflow:loop", "loop"),
        ("shipyard:batch", "batch"),
        ("mlflow:batch", "batch"),
        ("shipyard:runs", "runs"),
        ("mlflow:runs", "runs"),
        ("shipyard:search_large", "search_runs"),
    ]:
        _progress(f"  {name} (n={sizes[size_key]:,}) …", quiet)
        raw[name] = run_child(name, sizes[size_key])
    _progress("  import times …", quiet)
    raw["import"] = {
        "python -c pass": _import_time("pass"),
        "import shipyard": _import_time("import shipyard"),
        "import mlflow": _import_time("import mlflow"),
        "import shipyard + SDK": _import_time("import shipyard; shipyard.log_metric"),
    }
    return {"quick": quick, "sizes": sizes, "raw": raw, "env": _environment()}


def _environment() -> dict[str, str]:
    import importlib.metadata as md

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": str(os.cpu_count()),
        "sqlite": sqlite3.sqlite_version,
        "shipyard": md.version("shipyard"),
        "mlflow": md.version("mlflow"),
    }


def _row(
    workload: str,
    shipyard: float | None,
    mlflow: float | None,
    target: str = "",
    passed: bool | None = None,
) -> dict[str, Any]:
    ratio = mlflow / shipyard if shipyard and mlflow is not None else None
    return {
        "workload": workload,
        "shipyard_s": shipyard,
        "mlflow_s": mlflow,
        "ratio": ratio,
        "target": target,
        "status": None if passed is None else ("PASS" if passed else "MISS"),
    }


def summarize(report: dict[str, Any]) -> list[dict[str, Any]]:
    raw, sizes = report["raw"], report["sizes"]
    med = statistics.median
    rows = []

    sy, ml = raw["shipyard:loop"], raw["mlflow:loop"]
    n = sizes["loop"]
    ratio = ml["write_s"] / sy["write_s"]
    rows.append(
        _row(
            f"1. log_metric loop, {n:,} calls + end_run",
            sy["write_s"],
            ml["write_s"],
            f"≥{TARGET_LOOP_RATIO:.0f}x",
            ratio >= TARGET_LOOP_RATIO,
        )
    )
    rows.append(_row(f"1. read back {n:,} points", sy["read_s"], ml["read_s"]))

    n = sizes["batch"]
    rows.append(
        _row(
            f"2. batch log {n:,} points (MLflow: {MLFLOW_BATCH_LIMIT:,}/call)",
            raw["shipyard:batch"]["write_s"],
            raw["mlflow:batch"]["write_s"],
        )
    )

    sy, ml = raw["shipyard:runs"], raw["mlflow:runs"]
    n = sizes["runs"]
    ratio = ml["write_s"] / sy["write_s"]
    rows.append(
        _row(
            f"3. {n:,} runs x {N_PARAMS} params + {N_METRICS} metrics",
            sy["write_s"],
            ml["write_s"],
            f"≥{TARGET_RUNS_RATIO:.0f}x",
            ratio >= TARGET_RUNS_RATIO,
        )
    )
    rows.append(
        _row(
            f"4. search over {n:,} runs (median of {SEARCH_REPEATS})",
            med(sy["search_s"]),
            med(ml["search_s"]),
        )
    )

    big = raw["shipyard:search_large"]
    n = sizes["search_runs"]
    median = med(big["search_s"])
    rows.append(
        _row(
            f"4. search over {n:,} runs, median (Shipyard only)",
            median,
            None,
            f"<{TARGET_SEARCH_S * 1000:.0f} ms",
            median < TARGET_SEARCH_S,
        )
    )
    rows.append(_row(f"4. search over {n:,} runs, p95", _p95(big["search_s"]), None))
    rows.append(_row("4. same, first call of the process", big["search_s"][0], None))

    imp = raw["import"]
    median = med(imp["import shipyard"])
    rows.append(
        _row(
            f"5. cold import (median of {IMPORT_REPEATS})",
            median,
            med(imp["import mlflow"]),
            f"<{TARGET_IMPORT_S:.1f} s",
            median < TARGET_IMPORT_S,
        )
    )
    rows.append(
        _row(
            "5. cold import + load SDK facade",
            med(imp["import shipyard + SDK"]),
            med(imp["import mlflow"]),
        )
    )
    rows.append(_row("5. (interpreter start: python -c pass)", med(imp["python -c pass"]), None))
    return rows


def checks(report: dict[str, Any]) -> list[str]:
    """Anomalies worth a look: results that differ between the two systems."""
    raw, notes = report["raw"], []
    sy, ml = raw["shipyard:runs"]["found"], raw["mlflow:runs"]["found"]
    if sy != ml:
        notes.append(
            f"search results differ: Shipyard {len(sy)} runs {sy[:3]}…, "
            f"MLflow {len(ml)} runs {ml[:3]}…"
        )
    big = raw["shipyard:search_large"]["found"]
    if len(big) != SEARCH_MAX or big != sorted(big, reverse=True) or min(big) <= 0.5:
        notes.append("large search did not return 100 runs with m0 > 0.5 in descending order")
    return notes


def _fmt_s(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def _fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}x"


def render(report: dict[str, Any], rows: list[dict[str, Any]], notes: list[str]) -> None:
    env = report["env"]
    title = (
        f"Tracking, local SQLite — Shipyard {env['shipyard']} vs MLflow {env['mlflow']} "
        f"(Python {env['python']}, SQLite {env['sqlite']}, {env['cpu_count']} CPUs)"
        + (" [--quick]" if report["quick"] else "")
    )
    headers = [
        "Workload",
        "Shipyard",
        "MLflow",
        "MLflow/Shipyard",
        "Target",
        "Result",
        "Shipyard HTTP",
    ]
    cells = [
        [
            r["workload"],
            _fmt_s(r["shipyard_s"]),
            _fmt_s(r["mlflow_s"]),
            _fmt_ratio(r["ratio"]),
            r["target"] or "—",
            r["status"] or "—",
            "not yet available",
        ]
        for r in rows
    ]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
        print(title)
        print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        for c in cells:
            print("  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True)))
    else:
        table = Table(title=title)
        for i, h in enumerate(headers):
            table.add_column(h, justify="left" if i in (0, 4, 6) else "right")
        for c in cells:
            style = {"PASS": "green", "MISS": "red"}.get(c[5], "")
            table.add_row(*c[:5], f"[{style}]{c[5]}[/]" if style else c[5], c[6])
        # Piped output (CI logs, files) would otherwise be squeezed to 80 columns.
        Console(width=None if sys.stdout.isatty() else 150).print(table)
    print("HTTP: not yet available (Shipyard has no tracking server yet; local only).")
    if report["quick"]:
        print(
            f"--quick: loop uses {report['sizes']['loop']:,} log_metric calls for both systems "
            f"(full: {FULL['loop']:,}); runs {report['sizes']['runs']:,}; "
            f"large search over {report['sizes']['search_runs']:,} runs."
        )
    big = report["raw"]["shipyard:search_large"]
    print(f"Large-search fixture: bulk insert took {big['fixture_s']:.1f} s (not a result).")
    for note in notes:
        print(f"ANOMALY: {note}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a CI smoke run")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        result = CHILDREN[args.child](args.n, args.tmp)
        print(RESULT_MARKER + json.dumps(result), flush=True)
        return 0

    report = collect(args.quick, quiet=args.json)
    rows = summarize(report)
    notes = checks(report)
    if args.json:
        json.dump({**report, "rows": rows, "anomalies": notes}, sys.stdout, indent=2)
        print()
    else:
        render(report, rows, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
