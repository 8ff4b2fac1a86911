"""Pipeline speed: Shipyard (``@sy.step`` / ``@sy.pipeline``) next to DVC, plain Python and Dask.

Benchmarks (everything in one temporary folder, deleted afterwards: the Shipyard projects and
their pipelines modules ``sybench_chain.py`` and ``sybench_fanout.py`` are written there, and
``SHIPYARD_PROJECT_DIR`` points at them, so the repository's own ``.shipyard`` is never
touched):

1. overhead  a chain of 10 trivial steps (each returns a small dict): the first run (10 steps
             executed) and the fully cached re-run, in-process through the SDK
             (``chain.run()``, median of ``--repeats``) and as a whole CLI command
             (``shipyard pipeline run sybench_chain:chain``, wall time, interpreter start and
             imports included). Target: the SDK's cached re-run under 100 ms. Done twice: in a
             plain folder and in a clean git repository (runs record the git commit, so every
             run calls git there).
2. fan-out   ``--models`` small scikit-learn models, one per segment of a dataset shipped with
             scikit-learn (breast_cancer, 569 x 30; segment i = bootstrap sample seeded with i;
             StandardScaler + LogisticRegression, scored on its out-of-bag rows). Shipyard:
             ``fit_segment.map(segment_keys(n), frame=load_frame())`` with ``cache=False`` on
             the ``local``, ``process`` and ``dask`` executors; next to a plain Python loop
             (sequential) and raw Dask (``client.map`` of the same function over the same keys,
             the frame scattered once) on the same LocalCluster (2 worker processes, 1 thread
             each, started once; Shipyard finds it through ``DASK_SCHEDULER_ADDRESS``).
3. DVC       the cached re-run of (1) next to the no-op ``dvc repro`` of the equivalent
             ``dvc.yaml`` (10 stages, each a ``python -c`` writing a small JSON file that the
             next stage depends on; ``dvc init --no-scm``).

DVC 3.67.1 runs from its own venv, ``<repo>/.bench-venvs/dvc`` (created on first use, as
``bench/data.py`` does: its pins clash with the project's).

    python bench/pipelines.py                    # default sizes, ~3 min on 2 vCPUs
    python bench/pipelines.py --quick            # CI smoke sizes
    python bench/pipelines.py --models 200 --repeats 5 --section fanout
    python bench/pipelines.py --profile          # also print cProfile tops of the cached re-run
    python bench/pipelines.py --json             # machine-readable output (raw timings)
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SHIPYARD = BIN / "shipyard"
DVC_VERSION = "3.67.1"
DVC_VENV = REPO / ".bench-venvs" / "dvc"
DVC = DVC_VENV / "bin" / "dvc"

RESULT_MARKER = "BENCH_RESULT "
CHILD_TIMEOUT_S = 1_800
CHAIN_MODULE = "sybench_chain"  # the pipelines modules written into the temporary project
FANOUT_MODULE = "sybench_fanout"
CHAIN = f"{CHAIN_MODULE}:chain"
STEPS = 10
TARGET_CACHED_S = 0.100
PROFILE_TOP = 25
EXECUTORS = ("local", "process", "dask")
# One BLAS/OpenMP thread everywhere: the sequential baseline, the executors' workers and Dask's
# (which sets these itself) then do the same work per model; on 2 vCPUs, threaded BLAS on
# 569 x 30 problems is several times slower, not faster.
ONE_THREAD = {
    k: "1"
    for k in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
    )
}

FULL = {"models": 1_000, "repeats": 7, "cli_repeats": 5, "fanout_repeats": 2, "workers": 2}
QUICK = {"models": 100, "repeats": 3, "cli_repeats": 2, "fanout_repeats": 1, "workers": 2}

CHAIN_SOURCE = '''\
"""Benchmark 1 of bench/pipelines.py: a chain of trivial steps (no pandas, no NumPy)."""

import shipyard as sy


@sy.step
def step_00(n: int) -> dict:
    return {"step": 0, "value": n}


__CHAIN_STEPS__

@sy.pipeline
def chain(n: int = 1):
    x = step_00(n)
__CHAIN_BODY__


@sy.step
def warm(n: int) -> int:
    return n + 1


@sy.pipeline
def warmup(n: int = 0):
    """Opens the session, the database and the store before anything is timed."""
    warm(n)
'''

FANOUT_SOURCE = '''\
"""Benchmark 2 of bench/pipelines.py: one small model per segment, fanned out."""

import numpy as np
import pandas as pd

import shipyard as sy


def fit_one(segment: int, frame: pd.DataFrame) -> dict:
    """Segment ``segment``: a bootstrap sample seeded with it; scored on its out-of-bag rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = frame.drop(columns="target").to_numpy()
    y = frame["target"].to_numpy()
    rng = np.random.default_rng(segment)
    rows = rng.integers(0, len(x), len(x))
    oob = np.setdiff1d(np.arange(len(x)), rows)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x[rows], y[rows])
    return {"segment": segment, "oob_accuracy": float(model.score(x[oob], y[oob]))}


@sy.step
def load_frame() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


@sy.step
def segment_keys(n: int) -> list:
    return list(range(n))


@sy.step
def fit_segment(segment: int, frame: pd.DataFrame) -> dict:
    return fit_one(segment, frame)


@sy.pipeline
def fanout(models: int = 1000):
    fit_segment.map(segment_keys(models), frame=load_frame())
'''


def chain_source() -> str:
    steps = "\n\n".join(
        f"@sy.step\ndef step_{i:02d}(prev: dict) -> dict:\n"
        f'    return {{"step": {i}, "value": prev["value"] + {i}}}\n'
        for i in range(1, STEPS)
    )
    body = "".join(f"    x = step_{i:02d}(x)\n" for i in range(1, STEPS))
    return CHAIN_SOURCE.replace("__CHAIN_STEPS__\n", steps + "\n").replace("__CHAIN_BODY__\n", body)


def chain_value(n: int = 1) -> int:
    """What the chain's last step returns: n + 1 + 2 + … + 9."""
    return n + sum(range(STEPS))


# ---------------------------------------------------------------------------- helpers
def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _progress(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _clean_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SHIPYARD_", "DVC_", "GIT_", "VIRTUAL_ENV", "DASK_", "RAY_"))
        and k not in {"PYTHONDONTWRITEBYTECODE", "PYTHONPATH"}
    }
    env["DO_NOT_TRACK"] = "true"
    return env


def shipyard_env(project: Path, dask_address: str | None = None) -> dict[str, str]:
    """Shipyard pointed at ``project`` only; its pipelines module importable from there."""
    env = _clean_env()
    env.update(ONE_THREAD)
    env["SHIPYARD_PROJECT_DIR"] = str(project)
    env["SHIPYARD_USER"] = "bench"
    env["PYTHONPATH"] = str(project)
    if dask_address:
        env["DASK_SCHEDULER_ADDRESS"] = dask_address
    return env


def dvc_env(root: Path) -> dict[str, str]:
    env = _clean_env()
    env.update(
        {
            "DVC_NO_ANALYTICS": "1",
            # DVC's site cache (index, locks) and configs inside the temporary folder.
            "DVC_SITE_CACHE_DIR": str(root / "dvc-site-cache"),
            "DVC_GLOBAL_CONFIG_DIR": str(root / "dvc-global"),
            "DVC_SYSTEM_CONFIG_DIR": str(root / "dvc-system"),
        }
    )
    return env


def _run(
    cmd: Sequence[str | Path], cwd: Path, env: dict[str, str], what: str
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall seconds of a whole command; ``RuntimeError`` with the command and its output if it
    fails."""
    argv = [str(c) for c in cmd]
    start = time.perf_counter()
    proc = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        shown = {k: v for k, v in env.items() if k.startswith(("SHIPYARD_", "DVC_", "DASK_"))}
        raise RuntimeError(
            f"{what} failed with exit code {proc.returncode}\n"
            f"  command: {' '.join(argv)}\n  cwd: {cwd}\n  env: {shown}\n"
            f"  stdout: {proc.stdout[-2000:]}\n  stderr: {proc.stderr[-4000:]}"
        )
    return elapsed, proc


def run_child(name: str, params: dict[str, Any], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run one child in a fresh interpreter; its result is the last ``BENCH_RESULT`` line."""
    argv = [sys.executable, __file__, "--child", name, "--params", json.dumps(params)]
    proc = subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    shown = {k: v for k, v in env.items() if k.startswith(("SHIPYARD_", "DASK_"))}
    raise RuntimeError(
        f"child {name} failed with exit code {proc.returncode}\n"
        f"  command: {' '.join(argv)}\n  cwd: {cwd}\n  env: {shown}\n"
        f"  stderr: {proc.stderr[-4000:]}"
    )


def ensure_dvc(quiet: bool) -> str:
    """The DVC venv, created (or repaired) on first use; returns ``dvc --version``."""
    if DVC.exists():
        proc = subprocess.run([str(DVC), "--version"], capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip() == DVC_VERSION:
            return DVC_VERSION
    python = DVC_VENV / "bin" / "python"
    if not python.exists():
        base = shutil.which("python3.11") or getattr(sys, "_base_executable", sys.executable)
        _progress(f"  creating {DVC_VENV} with {base} …", quiet)
        subprocess.run([str(base), "-m", "venv", str(DVC_VENV)], check=True)
    _progress(f"  pip install dvc=={DVC_VERSION} into {DVC_VENV} …", quiet)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"dvc=={DVC_VERSION}"],
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )
    proc = subprocess.run([str(DVC), "--version"], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def _compile_shipyard() -> None:
    """Byte-compile Shipyard once, so no timed command pays for writing ``.pyc`` files (the
    package is being edited while benchmarks run)."""
    spec = importlib.util.find_spec("shipyard")
    for location in (spec.submodule_search_locations or []) if spec else []:
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", location],
            capture_output=True,
            check=False,
        )


def _profile_top(profile: Any, n: int = PROFILE_TOP) -> dict[str, list[list[Any]]]:
    """The top ``n`` functions of a cProfile by cumulative and by own time."""
    import pstats

    stats = pstats.Stats(profile)
    rows = []
    for (filename, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        short = re.sub(r"^.*?/(site-packages|src|lib/python3\.\d+)/", "", filename)
        rows.append([f"{short}:{line}({func})", ncalls, tottime, cumtime])
    by_cum = sorted(rows, key=lambda r: -r[3])[:n]
    by_own = sorted(rows, key=lambda r: -r[2])[:n]
    return {"cumulative": by_cum, "own": by_own}


# ---------------------------------------------------------------------------- children
def child_overhead(p: dict[str, Any]) -> dict[str, Any]:
    """Benchmark 1 in this fresh interpreter: session start, first run, cached re-runs."""
    start = time.perf_counter()
    import shipyard as sy  # noqa: F401

    flows = __import__(CHAIN_MODULE)
    import_s = time.perf_counter() - start

    start = time.perf_counter()
    warm = flows.warmup.run()
    warmup_s = time.perf_counter() - start
    assert warm.ok, warm.error

    start = time.perf_counter()
    first = flows.chain.run()
    first_s = time.perf_counter() - start
    first_status = sorted(set(first.node_status.values()))

    cached_s, statuses, values = [], set(), set()
    for _ in range(p["repeats"]):
        start = time.perf_counter()
        again = flows.chain.run()
        cached_s.append(time.perf_counter() - start)
        statuses.update(again.node_status.values())
        values.add(again.output(f"step_{STEPS - 1:02d}")["value"])

    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    profiled = flows.chain.run()
    profiler.disable()
    assert set(profiled.node_status.values()) == {"cached"}
    from shipyard.interfaces.sdk.pipelines import _session

    tags = _session().services.tracking.get_run(profiled.run_id).tags
    return {
        "git_tags": {k: v for k, v in tags.items() if k.startswith("shipyard.git.")},
        "import_s": import_s,
        "warmup_s": warmup_s,
        "first_s": first_s,
        "first_status": first_status,
        "first_ok": first.ok,
        "cached_s": cached_s,
        "cached_status": sorted(statuses),
        "values": sorted(values),
        "steps": len(first.node_status),
        "profile": _profile_top(profiler),
    }


def child_fanout(p: dict[str, Any]) -> dict[str, Any]:
    """Benchmark 2 in this fresh interpreter: sequential, raw Dask and the Shipyard executors,
    interleaved per repeat; every variant's mean out-of-bag accuracy is kept to compare."""
    import shipyard as sy  # noqa: F401

    flows = __import__(FANOUT_MODULE)
    n, workers = p["models"], p["workers"]
    keys = list(range(n))
    frame = flows.load_frame()  # outside a pipeline a step is a plain call

    def mean(results: list[dict[str, Any]]) -> float:
        return sum(r["oob_accuracy"] for r in results) / len(results)

    def sequential() -> float:
        return mean([flows.fit_one(k, frame) for k in keys])

    client = None
    if p["address"]:
        from distributed import Client

        client = Client(p["address"], timeout="30s")

    def raw_dask() -> float:
        assert client is not None
        shared = client.scatter(frame, broadcast=True)
        futures = client.map(flows.fit_one, keys, frame=shared, pure=False)
        return mean(client.gather(futures))

    def shipyard(executor: str) -> Callable[[], Any]:
        def run() -> Any:
            result = flows.fanout.run(executor=executor, workers=workers, cache=False, models=n)
            assert result.ok, result.error
            return result  # its outputs are decoded after the clock stops

        return run

    # Warm-ups, untimed: imports in this process and on both Dask workers, the Shipyard
    # session and database, and Shipyard's worker-side modules on the Dask workers.
    flows.fit_one(0, frame)
    __import__(CHAIN_MODULE).warmup.run()
    if client is not None:
        shared = client.scatter(frame, broadcast=True)
        client.gather(client.map(flows.fit_one, [0, 1], frame=shared, pure=False))
        if "dask" in p["executors"]:
            flows.fanout.run(executor="dask", workers=workers, cache=False, models=2 * workers)

    variants: dict[str, Callable[[], Any]] = {"sequential": sequential}
    if client is not None:
        variants["raw_dask"] = raw_dask
    for name in p["executors"]:
        if name == "dask" and client is None:
            continue
        variants[f"shipyard_{name}"] = shipyard(name)

    times: dict[str, list[float]] = {k: [] for k in variants}
    means: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(p["repeats"]):
        order = list(variants.items())
        if r % 2:
            order.reverse()  # alternate, so no variant always follows the same one
        for name, fn in order:
            start = time.perf_counter()
            got = fn()
            times[name].append(time.perf_counter() - start)
            if not isinstance(got, float):
                got = mean(got.output("fit_segment"))
            means[name].append(got)
    profiles = {}
    if p["profile"]:  # one more run of each Shipyard variant, untimed, under cProfile
        import cProfile

        for name, fn in variants.items():
            if name.startswith("shipyard_"):
                profiler = cProfile.Profile()
                profiler.enable()
                fn()
                profiler.disable()
                profiles[name] = _profile_top(profiler)
    if client is not None:
        client.close()
    return {
        "times": times,
        "means": means,
        "models": n,
        "workers": workers,
        "profiles": profiles,
    }


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "overhead": child_overhead,
    "fanout": child_fanout,
}


# ---------------------------------------------------------------------------- parent
def make_project(folder: Path, git: bool) -> Path:
    """A Shipyard project holding the pipelines module; committed to git when ``git``."""
    folder.mkdir(parents=True)
    (folder / f"{CHAIN_MODULE}.py").write_text(chain_source())
    (folder / f"{FANOUT_MODULE}.py").write_text(FANOUT_SOURCE)
    env = shipyard_env(folder)
    _run([SHIPYARD, "init", folder], folder, env, "shipyard init")
    if git:
        (folder / ".gitignore").write_text(".shipyard/\n__pycache__/\n")
        _run(["git", "init", "-q"], folder, env, "git init")
        _run(["git", "add", "-A"], folder, env, "git add")
        ident = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        _run(["git", *ident, "commit", "-q", "-m", "flows"], folder, env, "git commit")
    return folder


def cli_cached(project: Path, repeats: int, profile: bool) -> dict[str, Any]:
    """``shipyard pipeline run sybench_chain:chain --json`` (cached), one warm-up, wall times."""
    env = shipyard_env(project)
    cmd: list[str | Path] = [SHIPYARD, "pipeline", "run", CHAIN, "--json"]
    _run(cmd, project, env, "shipyard pipeline run (warm-up)")
    times, statuses = [], set()
    for _ in range(repeats):
        secs, proc = _run(cmd, project, env, "shipyard pipeline run")
        times.append(secs)
        body = json.loads(proc.stdout)
        statuses.update(body["steps"].values())
    out: dict[str, Any] = {"s": times, "status": sorted(statuses)}
    if profile:
        prof = project / "cli.prof"
        _run(
            [sys.executable, "-m", "cProfile", "-o", prof, SHIPYARD, *cmd[1:]],
            project,
            env,
            "cProfile of shipyard pipeline run",
        )
        out["profile"] = _profile_top(str(prof))
    return out


def cli_start(project: Path, repeats: int) -> list[float]:
    env = shipyard_env(project)
    _run([SHIPYARD, "--help"], project, env, "shipyard --help")
    return [_run([SHIPYARD, "--help"], project, env, "shipyard --help")[0] for _ in range(repeats)]


def collect_overhead(root: Path, sizes: dict[str, int], profile: bool, quiet: bool) -> Any:
    out: dict[str, Any] = {}
    for key, git in (("plain", False), ("git", True)):
        project = make_project(root / f"project-{key}", git)
        _progress(f"  overhead: SDK, {key} project …", quiet)
        sdk = run_child("overhead", {"repeats": sizes["repeats"]}, shipyard_env(project), project)
        _progress(f"  overhead: CLI, {key} project …", quiet)
        cli = cli_cached(project, sizes["cli_repeats"], profile)
        out[key] = {"sdk": sdk, "cli": cli}
        if key == "plain":
            out["cli_start"] = cli_start(project, sizes["cli_repeats"])
            first_cli = make_project(root / "project-cli-first", False)
            secs, proc = _run(
                [SHIPYARD, "pipeline", "run", CHAIN, "--json"],
                first_cli,
                shipyard_env(first_cli),
                "shipyard pipeline run (first)",
            )
            out["cli_first"] = {
                "s": secs,
                "status": sorted(set(json.loads(proc.stdout)["steps"].values())),
            }
    return out


def write_dvc_yaml(folder: Path) -> None:
    """10 stages: stage i reads stage i-1's JSON (stage 0 reads ``input.json``), writes its own."""
    lines = ["stages:"]
    for i in range(STEPS):
        src = "input.json" if i == 0 else f"out_{i - 1:02d}.json"
        dst = f"out_{i:02d}.json"
        code = (
            f"import json; v = json.load(open('{src}'))['value']; "
            f"json.dump({{'step': {i}, 'value': v + {i}}}, open('{dst}', 'w'))"
        )
        lines += [
            f"  step_{i:02d}:",
            f"    cmd: {json.dumps(f'{sys.executable} -c {json.dumps(code)}')}",
            "    deps:",
            f"      - {src}",
            "    outs:",
            f"      - {dst}",
        ]
    (folder / "dvc.yaml").write_text("\n".join(lines) + "\n")
    (folder / "input.json").write_text(json.dumps({"value": 1}))


def collect_dvc(root: Path, sizes: dict[str, int], quiet: bool) -> dict[str, Any]:
    folder = root / "dvc-project"
    folder.mkdir()
    env = dvc_env(root)
    _run([DVC, "init", "--no-scm", "-q"], folder, env, "dvc init")
    _run([DVC, "config", "core.analytics", "false"], folder, env, "dvc config")
    _run([DVC, "config", "core.check_update", "false"], folder, env, "dvc config")
    write_dvc_yaml(folder)
    _progress("  dvc repro (first, 10 stages) …", quiet)
    first_s, first = _run([DVC, "repro"], folder, env, "dvc repro")
    value = json.loads((folder / f"out_{STEPS - 1:02d}.json").read_text())["value"]
    ran = first.stdout.count("Running stage")
    _progress("  dvc repro (no-op) …", quiet)
    _run([DVC, "repro"], folder, env, "dvc repro (warm-up)")
    noop, up_to_date = [], True
    for _ in range(sizes["cli_repeats"]):
        secs, proc = _run([DVC, "repro"], folder, env, "dvc repro")
        noop.append(secs)
        up_to_date &= "Running stage" not in proc.stdout
    _run([DVC, "--version"], folder, env, "dvc --version")
    start = [_run([DVC, "--version"], folder, env, "dvc --version")[0] for _ in range(3)]
    return {
        "first_s": first_s,
        "stages_ran": ran,
        "value": value,
        "noop_s": noop,
        "noop_up_to_date": up_to_date,
        "start_s": start,
    }


def collect_fanout(
    root: Path, sizes: dict[str, int], executors: list[str], profile: bool, quiet: bool
) -> Any:
    project = make_project(root / "project-fanout", False)
    address, cluster = None, None
    if "dask" in executors:
        _progress(f"  starting a Dask LocalCluster ({sizes['workers']} x 1 thread) …", quiet)
        # The workers import the pipelines module by name, as they would in a real project.
        os.environ.update(ONE_THREAD)
        os.environ["PYTHONPATH"] = str(project)
        sys.path.insert(0, str(project))
        from distributed import LocalCluster

        cluster = LocalCluster(
            n_workers=sizes["workers"],
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=50,
        )
        address = cluster.scheduler_address
    try:
        _progress(
            f"  fan-out: {sizes['models']:,} models x {sizes['fanout_repeats']} repeat(s): "
            f"sequential, raw Dask, Shipyard {', '.join(executors)} …",
            quiet,
        )
        params = {
            "models": sizes["models"],
            "repeats": sizes["fanout_repeats"],
            "workers": sizes["workers"],
            "executors": executors,
            "address": address,
            "profile": profile,
        }
        return run_child("fanout", params, shipyard_env(project, address), project)
    finally:
        if cluster is not None:
            cluster.close()
            os.environ.pop("PYTHONPATH", None)


# ---------------------------------------------------------------------------- environment
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
        "shipyard": version("shipyard"),
        "scikit-learn": version("scikit-learn"),
        "distributed": version("distributed"),
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# ---------------------------------------------------------------------------- output
def _fmt_s(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def _fmt_spread(values: Sequence[float]) -> str:
    if len(values) < 2:
        return ""
    return f"{_fmt_s(min(values))} to {_fmt_s(max(values))}"


def _fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}x" if value >= 1 else f"{value:,.2f}x"


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "MISSED"


def _table(title: str, headers: list[str], cells: list[list[str]], left: set[int]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
        print(title)
        print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        for c in cells:
            print("  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True)))
        return
    table = Table(title=title)
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i in left else "right")
    for c in cells:
        table.add_row(
            *(x.replace("PASS", "[green]PASS[/]").replace("MISSED", "[red]MISSED[/]") for x in c)
        )
    # Piped output (CI logs, files) would otherwise be squeezed to 80 columns.
    Console(width=None if sys.stdout.isatty() else 190).print(table)


def _print_profile(title: str, top: dict[str, list[list[Any]]]) -> None:
    for kind in ("cumulative", "own"):
        print(f"{title}: top {len(top[kind])} by {kind} time")
        print(f"  {'cumulative':>10} {'own':>9} {'calls':>7}  function")
        for name, ncalls, tottime, cumtime in top[kind]:
            print(f"  {cumtime * 1000:8.1f}ms {tottime * 1000:7.1f}ms {ncalls:7d}  {name}")


def render_overhead(report: dict[str, Any]) -> list[str]:
    o, sizes, summary = report["overhead"], report["sizes"], []
    cells = []
    for key, label in (("plain", "plain folder"), ("git", "clean git repository")):
        sdk, cli = o[key]["sdk"], o[key]["cli"]
        med_sdk, med_cli = _median(sdk["cached_s"]), _median(cli["s"])
        assert med_sdk is not None and med_cli is not None
        if key == "plain":
            cells.append(
                [
                    f"first run ({sdk['steps']} steps executed)",
                    _fmt_s(sdk["first_s"]),
                    "",
                    _fmt_s(o["cli_first"]["s"]),
                    "—",
                    "—",
                ]
            )
        verdict = _verdict(med_sdk < TARGET_CACHED_S)
        cells.append(
            [
                f"cached re-run, {label} (median of {len(sdk['cached_s'])} / {len(cli['s'])})",
                _fmt_s(med_sdk),
                _fmt_spread(sdk["cached_s"]),
                _fmt_s(med_cli),
                f"SDK < {TARGET_CACHED_S * 1000:.0f} ms",
                f"SDK {verdict}",
            ]
        )
        summary.append(
            f"1. cached re-run of {sdk['steps']} steps, {label}: SDK {_fmt_s(med_sdk)} "
            f"(target < {TARGET_CACHED_S * 1000:.0f} ms: {verdict}); CLI {_fmt_s(med_cli)} "
            "wall, start-up and imports included"
        )
    sdk = o["plain"]["sdk"]
    cells.append(
        [
            "SDK: import shipyard + the pipelines module (info)",
            _fmt_s(sdk["import_s"]),
            "",
            "",
            "—",
            "—",
        ]
    )
    cells.append(
        [
            "SDK: first pipeline run of the process, 1 step (info)",
            _fmt_s(sdk["warmup_s"]),
            "",
            "",
            "—",
            "—",
        ]
    )
    start = o["cli_start"]
    cells.append(["CLI start: shipyard --help (info)", "", "", _fmt_s(_median(start)), "—", "—"])
    _table(
        f"1. Pipeline overhead — a chain of {STEPS} trivial steps (executor local)",
        ["Workload", "Shipyard SDK", "SDK spread", "Shipyard CLI", "Target", "Result"],
        cells,
        {0, 4, 5},
    )
    print(
        f"SDK = chain.run() in a warm interpreter (the session opened by one untimed 1-step "
        f"pipeline); median of {sizes['repeats']} cached re-runs. CLI = the whole `shipyard "
        f"pipeline run {CHAIN} --json` command, wall time, one untimed warm-up, median of "
        f"{sizes['cli_repeats']}. In the git repository every run also calls git (commit, "
        "dirty flag) for its provenance tags."
    )
    return summary


def render_fanout(report: dict[str, Any]) -> list[str]:
    f = report["fanout"]
    n, workers = f["models"], f["workers"]
    times = {k: _median(v) for k, v in f["times"].items() if v}
    seq = times.get("sequential")
    raw = times.get("raw_dask")
    labels = {
        "sequential": ("plain Python loop (no Shipyard)", 1),
        "raw_dask": ("raw Dask: client.map + gather, frame scattered once", workers),
        "shipyard_local": ("Shipyard, executor local (in-process)", 1),
        "shipyard_process": (f"Shipyard, executor process ({workers} workers)", workers),
        "shipyard_dask": (f"Shipyard, executor dask ({workers} workers)", workers),
    }
    cells, summary = [], []
    for key, (label, w) in labels.items():
        t = times.get(key)
        if t is None:
            continue
        overhead = (t - seq / w) / n if seq is not None and key != "sequential" else None
        vs_raw = t / raw if raw and key in ("shipyard_process", "shipyard_dask") else None
        cells.append(
            [
                label,
                _fmt_s(t),
                _fmt_spread(f["times"][key]),
                f"{n / t:,.0f}",
                _fmt_ratio(seq / t) if seq else "—",
                "—" if overhead is None else f"{overhead * 1000:,.1f} ms",
                _fmt_ratio(vs_raw),
            ]
        )
        if key.startswith("shipyard_"):
            summary.append(
                f"2. fan-out of {n:,} models, {label}: {n / t:,.0f} models/s, "
                f"{_fmt_ratio(seq / t) if seq else '—'} of sequential"
                + (f", {_fmt_ratio(vs_raw)} raw Dask's time" if vs_raw else "")
                + ("" if overhead is None else f", overhead {overhead * 1000:,.1f} ms per task")
            )
    _table(
        f"2. Fan-out — {n:,} scikit-learn models (StandardScaler + LogisticRegression, one per "
        "bootstrap segment of breast_cancer 569 x 30), cache off",
        [
            "Variant",
            "Wall (median)",
            "Spread",
            "Models/s",
            "Speed-up vs sequential",
            "Overhead / task",
            "Time ÷ raw Dask",
        ],
        cells,
        {0},
    )
    if seq is not None:
        print(
            f"Sequential compute: {seq / n * 1000:.1f} ms per model. Overhead per task = (wall - "
            "sequential ÷ workers) ÷ models. Shipyard runs include recording: a pipeline run, a "
            "child run per model (params, tags, output artifact) and the outputs in the content "
            "store; process starts a fresh pool every run. Medians of "
            f"{report['sizes']['fanout_repeats']} repeat(s), variants interleaved; one BLAS thread "
            "everywhere."
        )
    return summary


def render_dvc(report: dict[str, Any]) -> list[str]:
    d, o = report["dvc"], report.get("overhead")
    noop = _median(d["noop_s"])
    assert noop is not None
    sdk = _median(o["plain"]["sdk"]["cached_s"]) if o else None
    cli = _median(o["plain"]["cli"]["s"]) if o else None
    sdk_first = o["plain"]["sdk"]["first_s"] if o else None
    cli_first = o["cli_first"]["s"] if o else None
    cells = [
        [
            f"first run ({STEPS} steps / stages executed)",
            _fmt_s(sdk_first),
            _fmt_s(cli_first),
            _fmt_s(d["first_s"]),
            _fmt_ratio(d["first_s"] / cli_first) if cli_first else "—",
            _fmt_ratio(d["first_s"] / sdk_first) if sdk_first else "—",
        ],
        [
            f"cached re-run / no-op dvc repro (median of {len(d['noop_s'])})",
            _fmt_s(sdk),
            _fmt_s(cli),
            _fmt_s(noop),
            _fmt_ratio(noop / cli) if cli else "—",
            _fmt_ratio(noop / sdk) if sdk else "—",
        ],
        [
            "CLI start: shipyard --help / dvc --version (info)",
            "",
            _fmt_s(_median(o["cli_start"])) if o else "—",
            _fmt_s(_median(d["start_s"])),
            "—",
            "—",
        ],
    ]
    _table(
        f"3. Cached re-run vs DVC {report['dvc_version']} no-op `dvc repro` ({STEPS} steps, "
        "plain folder, no git)",
        [
            "Workload",
            "Shipyard SDK",
            "Shipyard CLI",
            f"DVC {report['dvc_version']}",
            "DVC ÷ CLI",
            "DVC ÷ SDK",
        ],
        cells,
        {0},
    )
    print(
        "DVC: `dvc init --no-scm`, each stage a `python -c` reading the previous stage's JSON "
        "and writing its own; whole commands, wall time, one untimed warm-up no-op. Ratios above "
        "1 mean Shipyard is faster."
    )
    if cli is None:
        return []
    word = "faster" if cli < noop else "slower"
    return [
        f"3. cached re-run vs no-op dvc repro: Shipyard CLI {_fmt_s(cli)} vs DVC {_fmt_s(noop)} "
        f"({_fmt_ratio(noop / cli)}, CLI {word}); SDK {_fmt_s(sdk)} "
        f"({_fmt_ratio(noop / sdk) if sdk else '—'})"
    ]


def checks(report: dict[str, Any]) -> list[str]:
    notes = []
    for key, err in report.get("errors", {}).items():
        notes.append(f"{key} failed: {err}")
    start, end = report["env"]["shipyard_source"], report["env"].get("shipyard_source_at_end")
    if end and end != start:
        notes.append(f"the Shipyard sources changed during the run ({start} → {end})")
    o = report.get("overhead")
    if o:
        for key in ("plain", "git"):
            sdk, cli = o[key]["sdk"], o[key]["cli"]
            if sdk["first_status"] != ["finished"] or not sdk["first_ok"]:
                notes.append(f"{key}: the first SDK run's steps were {sdk['first_status']}")
            if sdk["cached_status"] != ["cached"]:
                notes.append(f"{key}: SDK re-runs were not all cached: {sdk['cached_status']}")
            if sdk["values"] != [chain_value()]:
                notes.append(f"{key}: the chain returned {sdk['values']}, not {chain_value()}")
            dirty = sdk["git_tags"].get("shipyard.git.dirty")
            if dirty != ("false" if key == "git" else None):
                notes.append(f"{key}: the runs' git tags are {sdk['git_tags']}")
            if cli["status"] != ["cached"]:
                notes.append(f"{key}: CLI re-runs were not all cached: {cli['status']}")
        if o["cli_first"]["status"] != ["finished"]:
            notes.append(f"the first CLI run's steps were {o['cli_first']['status']}")
    d = report.get("dvc")
    if d:
        if d["stages_ran"] != STEPS or d["value"] != chain_value():
            notes.append(f"dvc repro ran {d['stages_ran']} stages, final value {d['value']}")
        if not d["noop_up_to_date"]:
            notes.append("a no-op dvc repro ran a stage")
    f = report.get("fanout")
    if f:
        expected = f["means"].get("sequential", [None])[0]
        for key, values in f["means"].items():
            for v in values:
                if expected is None or abs(v - expected) > 1e-9:
                    notes.append(f"fan-out {key}: mean OOB accuracy {v} ≠ sequential's {expected}")
                    break
    return notes


def render(report: dict[str, Any]) -> None:
    env, summary = report["env"], []
    print(
        f"Pipelines — Shipyard {env['shipyard']} (sources {env['shipyard_source']}), "
        f"Python {env['python']}, scikit-learn {env['scikit-learn']}, distributed "
        f"{env['distributed']}, {env['cpu_count']} CPUs{' [--quick]' if report['quick'] else ''}"
    )
    if "overhead" in report:
        summary += render_overhead(report)
    if "fanout" in report:
        summary += render_fanout(report)
    if "dvc" in report:
        summary += render_dvc(report)
    o = report.get("overhead")
    if o:
        medians = [_median(o[k]["sdk"]["cached_s"]) or 0.0 for k in ("plain", "git")]
        missed = any(m >= TARGET_CACHED_S for m in medians)
        if missed or report["profile"]:
            for key in ("plain", "git"):
                _print_profile(f"cProfile, one SDK cached re-run ({key})", o[key]["sdk"]["profile"])
        if report["profile"] and "profile" in o["plain"]["cli"]:
            _print_profile("cProfile, one CLI cached re-run (plain)", o["plain"]["cli"]["profile"])
    for name, top in (report.get("fanout") or {}).get("profiles", {}).items():
        _print_profile(f"cProfile of the driver, one fan-out run, {name}", top)
    print("Summary")
    for line in summary:
        print(f"  {line}")
    for note in report["anomalies"]:
        print(f"ANOMALY: {note}")
    print(
        f"Load average (1/5/15 min) at start {env['load_average_at_start']}, at end "
        f"{env['load_average_at_end']}; {os.cpu_count()} CPUs; whole run {env['wall_s']} s."
    )


# ---------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a CI smoke run")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument(
        "--section",
        choices=["all", "overhead", "dvc", "fanout"],
        default="all",
        help="run one benchmark only (dvc includes overhead, whose figures it compares)",
    )
    parser.add_argument("--models", type=int, help="models in the fan-out (default 1,000)")
    parser.add_argument("--repeats", type=int, help="cached SDK re-runs timed (default 7)")
    parser.add_argument(
        "--cli-repeats", type=int, help="CLI re-runs and no-op dvc repro timed (default 5)"
    )
    parser.add_argument(
        "--fanout-repeats", type=int, help="repeats of every fan-out variant (default 2)"
    )
    parser.add_argument("--workers", type=int, help="Dask workers / process pool size (default 2)")
    parser.add_argument(
        "--executors",
        default=",".join(EXECUTORS),
        help=f"Shipyard executors in the fan-out (default {','.join(EXECUTORS)})",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print cProfile tops of the cached re-run (SDK and CLI) and of the fan-out's driver "
        "(one extra run per executor); the SDK's is printed anyway when it misses its target",
    )
    parser.add_argument(
        "--tmpdir",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="where the temporary folder goes (default: the system temp dir)",
    )
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        result = CHILDREN[args.child](json.loads(args.params))
        print(RESULT_MARKER + json.dumps(result), flush=True)
        return 0

    sizes = dict(QUICK if args.quick else FULL)
    for key in ("models", "repeats", "cli_repeats", "fanout_repeats", "workers"):
        value = getattr(args, key)
        if value is not None:
            if value < 1:
                parser.error(f"--{key.replace('_', '-')} must be at least 1")
            sizes[key] = value
    executors = [e.strip() for e in args.executors.split(",") if e.strip()]
    unknown = sorted(set(executors) - set(EXECUTORS))
    if unknown:
        parser.error(f"--executors: unknown {unknown}; choose from {', '.join(EXECUTORS)}")
    quiet = args.json
    report: dict[str, Any] = {
        "quick": args.quick,
        "sizes": sizes,
        "profile": args.profile,
        "env": _environment(),
        "errors": {},
    }
    started = time.perf_counter()
    _compile_shipyard()
    root = Path(tempfile.mkdtemp(prefix="bench-pipelines-", dir=args.tmpdir.resolve()))
    try:
        if args.section in ("all", "overhead", "dvc"):
            try:
                report["overhead"] = collect_overhead(root, sizes, args.profile, quiet)
            except Exception as e:  # a failure is a result, not a crash
                report["errors"]["overhead"] = str(e)
                _progress(f"    FAILED: {e}", quiet)
        if args.section in ("all", "dvc"):
            try:
                report["dvc_version"] = ensure_dvc(quiet)
                report["dvc"] = collect_dvc(root, sizes, quiet)
            except Exception as e:
                report["errors"]["dvc"] = str(e)
                _progress(f"    FAILED: {e}", quiet)
        if args.section in ("all", "fanout"):
            try:
                report["fanout"] = collect_fanout(root, sizes, executors, args.profile, quiet)
            except Exception as e:
                report["errors"]["fanout"] = str(e)
                _progress(f"    FAILED: {e}", quiet)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report["env"]["shipyard_source_at_end"] = _source_fingerprint()
    report["env"]["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report["env"]["wall_s"] = f"{time.perf_counter() - started:.0f}"
    report["anomalies"] = checks(report)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        render(report)
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
