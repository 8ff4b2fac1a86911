"""Registry and audit benchmarks (#5): registry at scale, gate run time, MLflow, audit verify.

    .venv/bin/python bench/registry.py                     # all four sections, ~4 min
    .venv/bin/python bench/registry.py --quick             # CI smoke sizes, ~1 min
    .venv/bin/python bench/registry.py --section scale     # scale | gates | mlflow | audit
    .venv/bin/python bench/registry.py --json              # the same, as JSON (raw timings)
    .venv/bin/python bench/registry.py --section audit --entries 100000
    .venv/bin/python bench/registry.py --section audit --db postgresql+psycopg://postgres@127.0.0.1/test

1. ``scale``  1,000 registered models x 10 versions, each with a ``champion`` alias; then
              ``list_models`` (first page, last page, a search), ``get_version`` through an
              alias and ``get_model``: median and p95 of 100 calls each, target p50 < 50 ms.
              The first models are logged through ``RegistryService.log_model`` (timed); the
              rest are written through ``ModelsRepo`` in batches (see ``_fill_repo``).
2. ``gates``  ``run_gates`` on a 100-tree RandomForest trained on ``load_breast_cancer``
              (a registered dataset version; the holdout is another), with metric,
              vs_champion, fairness, latency and data_checks gates: median of 3 fresh versions.
3. ``mlflow`` the same fitted model registered N = 50 times (with a run) and loaded back, by
              Shipyard and by MLflow (SQLite tracking store), each in a fresh interpreter.
4. ``audit``  ``audit verify`` over 1,000,000 hash-chained ledger entries, target < 10 s.

The ledger of (4) is filled through the same append path the services use (``AuditRepo.append``,
in batches of 10,000 entries per transaction), then ``AuditService.verify`` walks the whole
chain in sequence order, recomputing every hash. No competitor has a hash-chained audit
trail (MLflow keeps no history of changes: mlflow#2169), so (4) prints the target only.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import importlib.util
import io
import json
import math
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET_SECONDS = 10.0  # audit verify
TARGET_QUERY_S = 0.050  # registry reads, p50
BATCH = 10_000  # audit entries per transaction
FILL_MODELS_PER_TX = 100  # registry fill through the repo: models per transaction
RESULT_MARKER = "BENCH_RESULT "
CHILD_TIMEOUT_S = 1_800
USER = "bench"

FULL = {
    "models": 1_000,
    "versions": 10,
    "service_models": 10,  # of which logged through RegistryService.log_model
    "calls": 100,
    "gate_runs": 3,
    "trees": 100,
    "n": 50,
    "n_mlflow": 50,  # MLflow's default log_model takes 3-6 s a call here: ~3-5 min
    "n_pinned": 10,
    "entries": 1_000_000,
}
QUICK = {
    "models": 100,
    "versions": 10,
    "service_models": 3,
    "calls": 50,
    "gate_runs": 3,
    "trees": 100,
    "n": 5,
    "n_mlflow": 3,
    "n_pinned": 3,
    "entries": 100_000,
}
SECTIONS = ("scale", "gates", "mlflow", "audit")


# ---------------------------------------------------------------------------- helpers
def _progress(msg: str, quiet: bool = False) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _timed(fn: Callable[[int], Any], calls: int) -> tuple[list[float], float, Any]:
    """``calls`` timings of ``fn(i)`` after one untimed warm-up; (times, first, last result)."""
    start = time.perf_counter()
    result = fn(0)
    first = time.perf_counter() - start
    times = []
    for i in range(calls):
        start = time.perf_counter()
        result = fn(i)
        times.append(time.perf_counter() - start)
    return times, first, result


def _profile(fn: Callable[[int], Any], calls: int, top: int = 18) -> str:
    """cProfile of ``calls`` calls of ``fn(i)``: the top entries by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(calls):
        fn(i)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative").print_stats(top)
    text = out.getvalue()
    return (text[text.find("ncalls") :] if "ncalls" in text else text).rstrip()


def _tiny_model() -> tuple[Any, Any]:
    """A small fitted LogisticRegression and its input frame (the same bytes every time)."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    x = pd.DataFrame({"age": rng.integers(20, 70, 80), "income": rng.normal(50, 10, 80)})
    y = (x["income"] > 50).to_numpy(dtype=int)
    return LogisticRegression().fit(x, y), x


def _services(tmp: Path, db_url: str | None = None) -> Any:
    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import Settings

    return build_services(
        Settings(
            project_dir=tmp,
            db_url=db_url or f"sqlite:///{tmp / 'shipyard.db'}",
            artifacts_url=str(tmp / "objects"),
        )
    )


# ---------------------------------------------------------------------------- 1. scale
def _fill_repo(svc: Any, template: Any, names: list[str], versions: int, quiet: bool) -> None:
    """Register ``versions`` versions of each name with a ``champion`` alias, as the service
    would (same rows, same audit entries), in one transaction per FILL_MODELS_PER_TX models.

    Version rows come from ``template`` (a version logged through the service), so every
    version points at the same content-addressed model file, signature and package.
    """
    from shipyard.core.models import ModelRef
    from shipyard.stores.sql.audit_repo import NewEntry

    repo, audit = svc.registry.repo, svc.registry.audit
    values = {
        "status": "candidate",
        "status_reason": "",
        "flavor": template.flavor,
        "content_id": template.content_id,
        "signature_json": json.dumps(template.signature.to_dict()),
        "package_json": json.dumps(template.package, sort_keys=True),
        "run_id": None,
        "description": "",
        "created_by": USER,
    }
    inputs = [c for c, _ in template.signature.inputs]
    for lo in range(0, len(names), FILL_MODELS_PER_TX):
        now = svc.registry.clock()
        with svc.db.write() as conn:
            entries = []
            for name in names[lo : lo + FILL_MODELS_PER_TX]:
                model_id = repo.ensure_model(conn, name, "", USER, now, lock=True)
                for _ in range(versions):
                    number = repo.add_version(conn, model_id, {**values, "creation_time": now})
                    payload = {
                        "version": number,
                        "flavor": template.flavor,
                        "content_id": template.content_id,
                        "run_id": None,
                        "inputs": inputs,
                    }
                    entries.append(
                        NewEntry(USER, "model.version.create", "model", name, payload=payload)
                    )
                repo.touch(conn, model_id, now)
                champion = _champion(name, versions)
                before = repo.set_alias(
                    conn, ModelRef(name, version=champion), "champion", USER, now
                )
                payload = {"alias": "champion", "from": before, "to": champion}
                entries.append(NewEntry(USER, "model.alias", "model", name, "", payload))
            audit.append(conn, entries, now)
        if not quiet:
            done = min(lo + FILL_MODELS_PER_TX, len(names))
            print(f"\r  scale: filled {done:,} models", end="", file=sys.stderr, flush=True)
    _progress("", quiet)


def _champion(name: str, versions: int) -> int:
    return int(name[1:]) % versions + 1


def section_scale(sizes: dict[str, int], quiet: bool) -> dict[str, Any]:
    warnings.filterwarnings("ignore")
    n_models, n_versions, calls = sizes["models"], sizes["versions"], sizes["calls"]
    n_service = min(sizes["service_models"], n_models)
    names = [f"m{i:04d}" for i in range(n_models)]
    model, x = _tiny_model()
    example = x.head()
    anomalies: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sybench-registry-scale-") as tmp:
        svc = _services(Path(tmp))
        reg = svc.registry
        try:
            _progress(f"  scale: {n_service} models x {n_versions} through log_model …", quiet)
            log_times, alias_times = [], []
            template = None
            started = time.perf_counter()
            for name in names[:n_service]:
                for _ in range(n_versions):
                    t0 = time.perf_counter()
                    template = reg.log_model(model, name, user=USER, input_example=example)
                    log_times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                reg.set_alias(f"{name}@{_champion(name, n_versions)}", "champion", user=USER)
                alias_times.append(time.perf_counter() - t0)
            service_s = time.perf_counter() - started
            rest = names[n_service:]
            _progress(f"  scale: {len(rest)} models x {n_versions} through ModelsRepo …", quiet)
            started = time.perf_counter()
            if rest:
                _fill_repo(svc, template, rest, n_versions, quiet)
            repo_s = time.perf_counter() - started
            per_version = (sum(log_times) + sum(alias_times) / n_versions) / len(log_times)
            fill = {
                "service_models": n_service,
                "service_versions": len(log_times),
                "service_s": service_s,
                "log_model_s": log_times,
                "set_alias_s": alias_times,
                "repo_models": len(rest),
                "repo_versions": len(rest) * n_versions,
                "repo_s": repo_s,
                "service_estimate_all_s": per_version * n_models * n_versions,
            }

            _progress(f"  scale: queries, {calls} calls each …", quiet)
            terms = [f"m{j:02d}" for j in range(max(1, n_models // 100))]
            target_name = "m0537" if n_models > 537 else names[len(names) // 2]
            champion = _champion(target_name, n_versions)
            rotating = [names[(i * 37) % n_models] for i in range(calls + 1)]

            def expect(label: str, ok: bool) -> None:
                if not ok:
                    anomalies.append(f"{label}: unexpected result")

            ops: list[tuple[str, Callable[[int], Any], Callable[[Any], bool]]] = [
                (
                    "list_models(limit=100)",
                    lambda i: reg.list_models(limit=100),
                    lambda r: [m.name for m in r] == names[:100],
                ),
                (
                    f"list_models(limit=100, offset={max(0, n_models - 100):,})",
                    lambda i: reg.list_models(limit=100, offset=max(0, n_models - 100)),
                    lambda r: [m.name for m in r] == names[-100:],
                ),
                (
                    f"list_models(search='{terms[0]}'…'{terms[-1]}', limit=100)",
                    lambda i: reg.list_models(search=terms[i % len(terms)], limit=100),
                    lambda r: len(r) == min(100, n_models) and all(m.latest_version for m in r),
                ),
                (
                    f"list_models(search='{target_name}')",
                    lambda i: reg.list_models(search=target_name),
                    lambda r: [m.name for m in r] == [target_name],
                ),
                (
                    f'get_version("{target_name}@champion")',
                    lambda i: reg.get_version(f"{target_name}@champion"),
                    lambda r: r.version == champion and r.aliases == ("champion",),
                ),
                (
                    "get_model(name), 100 names in turn",
                    lambda i: reg.get_model(rotating[i]),
                    lambda r: (
                        r.aliases == {"champion": _champion(r.name, n_versions)}
                        and r.latest_version == n_versions
                    ),
                ),
            ]
            queries = []
            for label, fn, check in ops:
                times, first, last = _timed(fn, calls)
                expect(label, check(last))
                p50 = _median(times)
                queries.append(
                    {
                        "op": label,
                        "times_s": times,
                        "first_s": first,
                        "p50_s": p50,
                        "p95_s": _p95(times),
                        "target_s": TARGET_QUERY_S,
                        "result": "PASS" if p50 is not None and p50 < TARGET_QUERY_S else "MISSED",
                    }
                )
                if queries[-1]["result"] == "MISSED":
                    queries[-1]["profile"] = _profile(fn, 20)

            _progress("  scale: log_model into the full registry …", quiet)
            at_scale = []
            for _ in range(10):
                t0 = time.perf_counter()
                reg.log_model(model, target_name, user=USER, input_example=example)
                at_scale.append(time.perf_counter() - t0)
            load_times, _, loaded = _timed(
                lambda i: reg.load(f"{target_name}@champion", user=USER), 10
            )
            expect("load", bool((loaded.predict(x) == model.predict(x)).all()))
            counts = {}
            with svc.db.read() as conn:
                for table in (
                    "registered_models",
                    "model_versions",
                    "model_aliases",
                    "audit_ledger",
                ):
                    counts[table] = conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
        finally:
            svc.close()
    expected_versions = n_models * n_versions + 10
    if counts.get("model_versions") != expected_versions:
        anomalies.append(f"model_versions: {counts.get('model_versions')} != {expected_versions}")
    return {
        "sizes": {"models": n_models, "versions": n_versions, "calls": calls},
        "fill": fill,
        "queries": queries,
        "log_model_at_scale_s": at_scale,
        "load_at_scale_s": load_times,
        "rows": counts,
        "anomalies": anomalies,
    }


# ---------------------------------------------------------------------------- 2. gates
FEATURE_SPEC = {"columns": {"mean radius": {"min": 0}, "mean texture": {"min": 0}}}


def _cancer_frames() -> tuple[Any, Any, list[str]]:
    """breast_cancer (569 rows, 30 features) + a binary ``group`` column; a 70/30 split."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    features = [c for c in frame.columns if c != "target"]
    rng = np.random.default_rng(0)
    frame["group"] = np.where(rng.random(len(frame)) < 0.5, "a", "b")
    order = rng.permutation(len(frame))
    cut = int(len(frame) * 0.7)
    train = frame.iloc[order[:cut]].reset_index(drop=True)
    holdout = frame.iloc[order[cut:]].reset_index(drop=True)
    return train, holdout, features


def _policy(name: str, dataset: str) -> dict[str, Any]:
    gates = [
        {"metric": "roc_auc", "min": 0.95},
        {"metric": "accuracy", "min": 0.9},
        {"vs_champion": "roc_auc", "max_drop": 0.02},
        {"fairness": "demographic_parity_difference", "sensitive": "group", "max": 0.2},
        {"latency_p99_ms": 200},
        {"data_checks": dataset},
    ]
    return {name: {"holdout": f"{dataset}@holdout", "target": "target", "gates": gates}}


def section_gates(sizes: dict[str, int], quiet: bool) -> dict[str, Any]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    warnings.filterwarnings("ignore")
    train, holdout, features = _cancer_frames()
    name, dataset = "cancer-rf", "cancer"
    policy = _policy(name, dataset)
    anomalies: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sybench-registry-gates-") as tmp:
        svc = _services(Path(tmp))
        try:
            _progress("  gates: datasets, champion, RandomForest versions …", quiet)
            cat, reg = svc.catalog, svc.registry
            cat.register(dataset, train, user=USER)
            cat.validate(f"{dataset}@v1", FEATURE_SPEC, user=USER)
            cat.register(dataset, holdout, user=USER)
            cat.set_alias(f"{dataset}@v2", "holdout", user=USER)
            cat.validate(f"{dataset}@holdout", FEATURE_SPEC, user=USER)
            exp = svc.tracking.get_or_create_experiment("gates").experiment_id

            def trained(model: Any) -> int:
                run = svc.tracking.create_run(exp, user=USER)
                cat.record_input(run.run_id, f"{dataset}@v1")
                frame = cat.load_frame(f"{dataset}@v1")
                model.fit(frame[features], frame["target"])
                return reg.log_model(
                    model,
                    name,
                    user=USER,
                    run_id=run.run_id,
                    input_example=frame[features].head(),
                ).version

            started = time.perf_counter()
            champion = trained(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)))
            reg.set_alias(f"{name}@{champion}", "champion", user=USER)
            forest = RandomForestClassifier(n_estimators=sizes["trees"], random_state=0)
            fresh = [trained(forest) for _ in range(sizes["gate_runs"] + 1)]
            setup_s = time.perf_counter() - started

            _progress(f"  gates: {sizes['gate_runs']} run_gates calls …", quiet)
            times, reports = [], []
            for version in fresh[: sizes["gate_runs"]]:
                t0 = time.perf_counter()
                reports.append(reg.run_gates(f"{name}@{version}", policy, user=USER))
                times.append(time.perf_counter() - t0)
            for report in reports:
                if not report["passed"]:
                    failed = [g for g in report["gates"] if not g["passed"]]
                    anomalies.append(f"gates failed on v{report['version']}: {failed}")
            breakdown = _gate_breakdown(reg, name, fresh[-1], policy)
            status = reg.get_version(f"{name}@{fresh[0]}").status.value
            if status != "gate_passed":
                anomalies.append(f"{name}@{fresh[0]} is {status} after its gates")
        finally:
            svc.close()
    gate_values = {
        g["gate"]: {k: g[k] for k in ("value", "p50_ms", "batch_ms") if k in g}
        for g in reports[0]["gates"]
    }
    return {
        "model": f"RandomForestClassifier(n_estimators={sizes['trees']})",
        "holdout_rows": len(holdout),
        "train_rows": len(train),
        "features": len(features),
        "setup_s": setup_s,
        "run_gates_s": times,
        "median_s": _median(times),
        "breakdown_s": breakdown,
        "first_report": gate_values,
        "anomalies": anomalies,
    }


def _gate_breakdown(reg: Any, name: str, version: int, release: dict) -> dict[str, Any]:
    """Where a gate run's time goes, through ``GateRunner`` directly (nothing is recorded)."""
    try:
        from shipyard.core.models import ModelRef
        from shipyard.services.registry.gates import GateRunner
        from shipyard.services.registry.policy import parse_policy

        policy = parse_policy(name, release)
        out: dict[str, Any] = {}
        t0 = time.perf_counter()
        runner = GateRunner(reg, reg.catalog, policy, ModelRef(name, version=version), USER)
        out["get_version + load (verified)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        frame, x, y, _ = runner.holdout(None, None)
        out["holdout: get + load_frame"] = time.perf_counter() - t0
        for gate in policy.gates:
            t0 = time.perf_counter()
            runner.evaluate(gate, frame, x, y)
            out[f"gate {gate.label}"] = time.perf_counter() - t0
        return out
    except Exception as e:  # internals may move; the headline figure still stands
        return {"error": f"{type(e).__name__}: {e}"}


# ---------------------------------------------------------------------------- 3. MLflow
def _pinned_requirements() -> list[str]:
    import importlib.metadata as md

    return [f"{d}=={md.version(d)}" for d in ("mlflow", "scikit-learn", "numpy", "scipy")]


def child_shipyard(n: int, tmp: Path) -> dict[str, Any]:
    model, x = _tiny_model()
    example = x.head()
    svc = _services(tmp)
    try:
        reg, tracking = svc.registry, svc.tracking
        exp = tracking.get_or_create_experiment("bench").experiment_id
        warm = tracking.create_run(exp, user=USER)  # imports, caches: untimed
        reg.log_model(model, "warmup", user=USER, run_id=warm.run_id, input_example=example)
        reg.load("warmup@1", user=USER)
        log_s = []
        for _ in range(n):
            run = tracking.create_run(exp, user=USER)
            t0 = time.perf_counter()
            version = reg.log_model(
                model, "bench", user=USER, run_id=run.run_id, input_example=example
            )
            log_s.append(time.perf_counter() - t0)
            tracking.update_run(run.run_id, status="FINISHED", end_time=int(time.time() * 1000))
        load_s, same = [], True
        for v in range(1, n + 1):
            t0 = time.perf_counter()
            loaded = reg.load(f"bench@{v}", user=USER)
            load_s.append(time.perf_counter() - t0)
            same = same and bool((loaded.predict(x) == model.predict(x)).all())
        onnx = version.package.get("onnx")
        extras = sorted(k for k in ("onnx",) if isinstance(onnx, dict) and onnx.get("kept"))
        return {"log_s": log_s, "load_s": load_s, "same_predictions": same, "extras": extras}
    finally:
        svc.close()


def child_mlflow(n: int, tmp: Path, pinned: bool = False) -> dict[str, Any]:
    import mlflow
    import mlflow.sklearn

    warnings.filterwarnings("ignore")
    model, x = _tiny_model()
    example = x.head()
    extra = {"pip_requirements": _pinned_requirements()} if pinned else {}
    exp = mlflow.create_experiment("bench", artifact_location=(tmp / "artifacts").as_uri())
    mlflow.set_experiment(experiment_id=exp)
    with mlflow.start_run():  # migrations, imports: untimed
        mlflow.sklearn.log_model(
            model, name="model", registered_model_name="warmup", input_example=example, **extra
        )
    mlflow.sklearn.load_model("models:/warmup/1")
    log_s = []
    for _ in range(n):
        with mlflow.start_run():
            t0 = time.perf_counter()
            info = mlflow.sklearn.log_model(
                model, name="model", registered_model_name="bench", input_example=example, **extra
            )
            log_s.append(time.perf_counter() - t0)
    load_s, same = [], True
    for v in range(1, n + 1):
        t0 = time.perf_counter()
        loaded = mlflow.sklearn.load_model(f"models:/bench/{v}")
        load_s.append(time.perf_counter() - t0)
        same = same and bool((loaded.predict(x) == model.predict(x)).all())
    fmt = info.flavors.get("sklearn", {}).get("serialization_format")
    return {"log_s": log_s, "load_s": load_s, "same_predictions": same, "format": fmt}


CHILDREN: dict[str, Callable[[int, Path], dict[str, Any]]] = {
    "shipyard": child_shipyard,
    "mlflow": child_mlflow,
    "mlflow-pinned": lambda n, tmp: child_mlflow(n, tmp, pinned=True),
}


def _clean_env(system: str, tmp: Path) -> dict[str, str]:
    """As bench/tracking.py: no MLFLOW_* / SHIPYARD_* of the caller; MLflow quiet and local."""
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
    if system == "shipyard":
        env["SHIPYARD_PROJECT_DIR"] = str(tmp)
    else:
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
    return env


def run_child(name: str, n: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"sybench-registry-{name}-"))
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", name, "--n", str(n), "--tmp", str(tmp)],
            env=_clean_env(name.split("-")[0], tmp),
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
    raise RuntimeError(f"{name} (n={n}) exited {proc.returncode}:\n{proc.stderr[-4000:]}")


def section_mlflow(sizes: dict[str, int], quiet: bool) -> dict[str, Any]:
    raw = {}
    for name, n in (
        ("shipyard", sizes["n"]),
        ("mlflow", sizes["n_mlflow"]),
        ("mlflow-pinned", sizes["n_pinned"]),
    ):
        _progress(f"  mlflow: {name}, {n} x log_model + load …", quiet)
        started = time.perf_counter()
        raw[name] = run_child(name, n)
        raw[name]["wall_s"] = time.perf_counter() - started
    anomalies = [f"{k}: a loaded model predicts differently" for k, v in raw.items()]
    anomalies = [
        a for a, v in zip(anomalies, raw.values(), strict=True) if not v["same_predictions"]
    ]
    return {
        "n": sizes["n"],
        "n_mlflow": sizes["n_mlflow"],
        "n_pinned": sizes["n_pinned"],
        "raw": raw,
        "anomalies": anomalies,
    }


# ---------------------------------------------------------------------------- 4. audit
def _fill_audit(db: Any, entries: int, quiet: bool) -> float:
    from shipyard.stores.sql.audit_repo import AuditRepo, NewEntry

    repo = AuditRepo()
    started = time.perf_counter()
    for start in range(0, entries, BATCH):
        batch = [
            NewEntry(
                actor=f"user{i % 17}",
                action=("run.create", "run.status", "dataset.alias", "user.add")[i % 4],
                object_type="run",
                object_id=f"{i:032x}",
                payload={"from": "RUNNING", "to": "FINISHED", "n": i},
            )
            for i in range(start, min(start + BATCH, entries))
        ]
        with db.write() as conn:
            repo.append(conn, batch, 1_790_000_000_000 + start)
        if not quiet:
            print(
                f"\r  audit: filled {min(start + BATCH, entries):,} entries",
                end="",
                file=sys.stderr,
            )
    _progress("", quiet)
    return time.perf_counter() - started


def section_audit(entries: int, db_url: str | None, quiet: bool) -> dict[str, Any]:
    from shipyard.services.audit import AuditService
    from shipyard.stores.sql.engine import Database
    from shipyard.stores.sql.schema import ensure_schema

    with tempfile.TemporaryDirectory(prefix="sybench-registry-audit-") as tmp:
        db = Database(db_url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        ensure_schema(db)
        fill = _fill_audit(db, entries, quiet)
        started = time.perf_counter()
        report = AuditService(db).verify()
        seconds = time.perf_counter() - started
        profile = None
        if seconds >= TARGET_SECONDS:  # where the time goes (cProfile makes it ~2x slower)
            profile = _profile(lambda i: AuditService(db).verify(), 1)
        db.dispose()
    passed = report.ok and report.checked == entries and seconds < TARGET_SECONDS
    return {
        "entries": entries,
        "backend": (db_url or "sqlite").split(":")[0],
        "fill_seconds": round(fill, 2),
        "verify_seconds": round(seconds, 2),
        "entries_per_second": round(entries / seconds),
        "target_seconds": TARGET_SECONDS,
        "result": "PASS" if passed else "MISSED",
        "verified": report.checked,
        "chain_ok": report.ok,
        "anomalies": [] if report.ok else [f"audit chain broken: {report}"],
        **({"profile": profile} if profile else {}),
    }


# ---------------------------------------------------------------------------- output
def _source_fingerprint() -> str:
    """A short hash of the Shipyard sources measured (they change under a working tree)."""
    spec = importlib.util.find_spec("shipyard")
    h = hashlib.sha256()
    for location in (spec.submodule_search_locations or []) if spec else []:
        for path in sorted(Path(location).rglob("*.py")):
            h.update(path.relative_to(location).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def _environment() -> dict[str, str]:
    import importlib.metadata as md

    def version(pkg: str) -> str:
        try:
            return md.version(pkg)
        except md.PackageNotFoundError:
            return "?"

    return {
        "shipyard_source": _source_fingerprint(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": str(os.cpu_count()),
        "sqlite": sqlite3.sqlite_version,
        "mlflow": version("mlflow"),
        "scikit-learn": version("scikit-learn"),
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 10:
        return f"{value:.1f} s"
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1000:.1f} ms" if value < 0.1 else f"{value * 1000:.0f} ms"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}x"


def _table(title: str, headers: list[str], cells: list[list[str]], left: set[int]) -> None:
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if i in left else v.rjust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    print(f"\n{title}")
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print(line(c))


def render_scale(r: dict[str, Any]) -> None:
    s, f = r["sizes"], r["fill"]
    cells = []
    for q in r["queries"]:
        cells.append(
            [
                q["op"],
                _ms(q["p50_s"]),
                _ms(q["p95_s"]),
                _ms(q["first_s"]),
                f"< {q['target_s'] * 1000:.0f} ms",
                _ratio(q["target_s"] / q["p50_s"]),
                q["result"],
            ]
        )
    at_scale = r["log_model_at_scale_s"]
    cells.append(
        [
            f"info: log_model into the full registry ({len(at_scale)} calls)",
            _ms(_median(at_scale)),
            _ms(_p95(at_scale)),
            "",
            "",
            "",
            "",
        ]
    )
    cells.append(
        [
            f"info: load(champion) in the full registry ({len(r['load_at_scale_s'])} calls)",
            _ms(_median(r["load_at_scale_s"])),
            _ms(_p95(r["load_at_scale_s"])),
            "",
            "",
            "",
            "",
        ]
    )
    _table(
        f"1. Registry at scale: {s['models']:,} models x {s['versions']} versions, each with a "
        f"champion alias (SQLite); {s['calls']} calls per row after 1 warm-up",
        ["Operation", "p50", "p95", "warm-up call", "Target p50", "target/p50", "Result"],
        cells,
        {0},
    )
    print(
        f"  fill: {f['service_versions']:,} versions of {f['service_models']} models through "
        f"log_model + set_alias in {f['service_s']:.1f} s (log_model median "
        f"{_ms(_median(f['log_model_s']))}, set_alias {_ms(_median(f['set_alias_s']))}); "
        f"all {s['models'] * s['versions']:,} that way would take "
        f"~{f['service_estimate_all_s']:.0f} s"
    )
    if f["repo_models"]:
        print(
            f"        {f['repo_versions']:,} versions of {f['repo_models']:,} models through "
            f"ModelsRepo ({FILL_MODELS_PER_TX} models per transaction, same rows and audit "
            f"entries) in {f['repo_s']:.1f} s"
        )
    print(f"  rows: {', '.join(f'{k} {v:,}' for k, v in r['rows'].items())}")
    for q in r["queries"]:
        if "profile" in q:
            print(f"\n  cProfile, 20 x {q['op']} (MISSED):\n{q['profile']}")


def render_gates(r: dict[str, Any]) -> None:
    times = r["run_gates_s"]
    cells = [
        [
            f"run_gates, {r['model']}, 6 gates",
            _ms(r["median_s"]),
            _ms(min(times)),
            _ms(max(times)),
            str(len(times)),
        ]
    ]
    for label, value in r["breakdown_s"].items():
        if label == "error":
            cells.append([f"  breakdown unavailable: {value}", "", "", "", ""])
        else:
            cells.append([f"  {label}", _ms(value), "", "", "1"])
    if "error" not in r["breakdown_s"]:
        total = sum(r["breakdown_s"].values())
        cells.append(
            ["  sum of the above (no evidence stored, no status move)", _ms(total), "", "", ""]
        )
    _table(
        f"2. Gate run time: breast_cancer, {r['features']} features, {r['train_rows']} training "
        f"rows, holdout {r['holdout_rows']} rows (registered dataset versions)",
        ["Operation", "median", "min", "max", "calls"],
        cells,
        {0},
    )
    values = []
    for gate, v in r["first_report"].items():
        value = v.get("value")
        if isinstance(value, float):
            text = f"{value:.4g}"
            if "p50_ms" in v:
                text = f"p99 {value:.1f} ms, p50 {v['p50_ms']:.1f} ms"
        else:
            text = json.dumps(value)
        values.append(f"{gate} = {text}")
    print("  values (first run): " + "; ".join(values))
    print(
        "  Each call gates a fresh version (candidate -> gate_passed); the champion is a "
        "StandardScaler+LogisticRegression pipeline,"
    )
    print(
        "  so vs_champion loads and scores a second model. Breakdown: one extra "
        "GateRunner pass, nothing recorded."
    )


def render_mlflow(r: dict[str, Any]) -> None:
    sy, ml, pin = r["raw"]["shipyard"], r["raw"]["mlflow"], r["raw"]["mlflow-pinned"]
    cells = []
    for op, key in (("log_model, registered (with a run)", "log_s"), ("load", "load_s")):
        s, m = _median(sy[key]), _median(ml[key])
        cells.append(
            [
                op,
                f"{len(sy[key])}/{len(ml[key])}",
                _ms(s),
                _ms(_p95(sy[key])),
                _ms(m),
                _ms(_p95(ml[key])),
                _ratio(m / s if s else None),
            ]
        )
    p = _median(pin["log_s"])
    s = _median(sy["log_s"])
    cells.append(
        [
            "info: MLflow log_model with pip_requirements= given",
            f"-/{len(pin['log_s'])}",
            "",
            "",
            _ms(p),
            _ms(_p95(pin["log_s"])),
            _ratio(p / s if s else None),
        ]
    )
    _table(
        "3. Registration and load, Shipyard (SQLite) vs MLflow "
        f"{_environment_cache.get('mlflow', '?')} (SQLite); "
        "the same fitted LogisticRegression, fresh interpreter each",
        [
            "Operation",
            "N Shipyard/MLflow",
            "Shipyard p50",
            "p95",
            "MLflow p50",
            "p95",
            "MLflow/Shipyard",
        ],
        cells,
        {0},
    )
    extras = " + ".join(["skops", *sy.get("extras", [])])
    print(
        f"  Shipyard stores {extras} (twin checked on the example), MLflow "
        f"{ml.get('format')} + requirements inferred in a subprocess (the pinned row skips that)."
    )
    print("  Untimed: run creation/end, one warm-up log + load per system.")
    print(
        f"  Wall time of each child: Shipyard {sy['wall_s']:.0f} s, MLflow {ml['wall_s']:.0f} s, "
        f"MLflow pinned {pin['wall_s']:.0f} s."
    )


def render_audit(r: dict[str, Any]) -> None:
    _table(
        "4. Audit verify (hash chain recomputed)",
        ["Operation", "entries", "time", "entries/s", "Target", "target/time", "Result"],
        [
            [
                f"audit verify ({r['backend']})",
                f"{r['entries']:,}",
                _ms(r["verify_seconds"]),
                f"{r['entries_per_second']:,}",
                f"< {r['target_seconds']:.0f} s",
                _ratio(r["target_seconds"] / r["verify_seconds"]),
                r["result"],
            ]
        ],
        {0},
    )
    print(f"  filling the ledger took {r['fill_seconds']:.1f} s (untimed)")
    if "profile" in r:
        print(f"\n  cProfile of one more verify (MISSED):\n{r['profile']}")


_environment_cache: dict[str, str] = {}


def render(report: dict[str, Any]) -> None:
    env = report["env"]
    print(
        f"Shipyard registry benchmark ({'quick' if report['quick'] else 'full'} sizes) — "
        f"source {env['shipyard_source']}, Python {env['python']}, SQLite {env['sqlite']}, "
        f"{env['cpu_count']} CPUs, load average {env['load_average_at_start']}"
    )
    renderers = {
        "scale": render_scale,
        "gates": render_gates,
        "mlflow": render_mlflow,
        "audit": render_audit,
    }
    for name in SECTIONS:
        if name in report["sections"]:
            renderers[name](report["sections"][name])
    anomalies = [a for s in report["sections"].values() for a in s.get("anomalies", [])]
    print()
    for a in anomalies:
        print(f"ANOMALY: {a}")
    print(f"Total {report['total_s']:.0f} s; load average at the end {env['load_average_at_end']}.")


# ---------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=(*SECTIONS, "all"), default="all")
    parser.add_argument("--quick", action="store_true", help="CI smoke sizes")
    parser.add_argument("--entries", type=int, help="audit ledger size (default 1,000,000)")
    parser.add_argument("--models", type=int, help="registered models (default 1,000)")
    parser.add_argument("--n", type=int, help="Shipyard registrations + loads (default 50)")
    parser.add_argument(
        "--n-mlflow", type=int, help="MLflow registrations + loads, default path (default 50)"
    )
    parser.add_argument("--db", help="audit section: a database URL (default: SQLite in a tmp)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = CHILDREN[args.child](args.n, args.tmp)
        print(RESULT_MARKER + json.dumps(result))
        return 0

    sizes = dict(QUICK if args.quick else FULL)
    for key in ("entries", "models", "n", "n_mlflow"):
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    chosen = SECTIONS if args.section == "all" else (args.section,)
    env = _environment()
    _environment_cache.update(env)
    started = time.perf_counter()
    sections: dict[str, Any] = {}
    for name in chosen:
        if name == "scale":
            sections[name] = section_scale(sizes, args.json)
        elif name == "gates":
            sections[name] = section_gates(sizes, args.json)
        elif name == "mlflow":
            sections[name] = section_mlflow(sizes, args.json)
        else:
            sections[name] = section_audit(sizes["entries"], args.db, args.json)
    env["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report = {
        "quick": args.quick,
        "sizes": sizes,
        "sections": sections,
        "total_s": time.perf_counter() - started,
        "env": env,
    }
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        render(report)
    broken = any(s.get("anomalies") for s in sections.values())
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
