"""Tracking through HTTP servers: `shipyard server` vs `mlflow server`, both on SQLite, loopback.

Each system gets its own fresh server and folder; the client is each system's own SDK
(Shipyard: SHIPYARD_TRACKING_URI; MLflow: MLFLOW_TRACKING_URI). Prints seconds and ratios.

    python bench/tracking_http.py [--loop 1000] [--runs 200]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BIN = Path(sys.executable).parent

SHIPYARD_CLIENT = """
import json, sys, time, shipyard as sy
loop, runs = int(sys.argv[1]), int(sys.argv[2])
with sy.start_run(experiment="warm", log_environment=False):
    sy.log_metric("w", 1.0)
t = time.perf_counter()
with sy.start_run(experiment="loop", log_environment=False) as r:
    for i in range(loop):
        sy.log_metric("m", i * 0.1, step=i)
t_loop = time.perf_counter() - t
t = time.perf_counter()
for k in range(runs):
    with sy.start_run(experiment="runs", log_environment=False):
        sy.log_params({f"p{j}": "a" for j in range(5)})
        sy.log_metrics({f"m{j}": (k + j) * 0.1 for j in range(5)})
t_runs = time.perf_counter() - t
print(json.dumps({"loop": t_loop, "runs": t_runs}))
"""

MLFLOW_CLIENT = """
import json, sys, time, mlflow
loop, runs = int(sys.argv[1]), int(sys.argv[2])
mlflow.set_experiment("warm")
with mlflow.start_run():
    mlflow.log_metric("w", 1.0)
mlflow.set_experiment("loop")
t = time.perf_counter()
with mlflow.start_run():
    for i in range(loop):
        mlflow.log_metric("m", i * 0.1, step=i)
t_loop = time.perf_counter() - t
mlflow.set_experiment("runs")
t = time.perf_counter()
for k in range(runs):
    with mlflow.start_run():
        mlflow.log_params({f"p{j}": "a" for j in range(5)})
        mlflow.log_metrics({f"m{j}": (k + j) * 0.1 for j in range(5)})
t_runs = time.perf_counter() - t
print(json.dumps({"loop": t_loop, "runs": t_runs}))
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not start")


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPYARD_", "MLFLOW_"))}
    env.update({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", **extra})
    return env


def bench(system: str, loop: int, runs: int) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{system}-"))
    port = _port()
    url = f"http://127.0.0.1:{port}"
    if system == "shipyard":
        cmd = [str(BIN / "shipyard"), "server", "--port", str(port)]
        server_env = _env({"SHIPYARD_PROJECT_DIR": str(tmp / "server")})
        client_env = _env({"SHIPYARD_TRACKING_URI": url, "SHIPYARD_PROJECT_DIR": str(tmp / "c")})
        code = SHIPYARD_CLIENT
    else:
        cmd = [
            str(BIN / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{tmp / 'mlflow.db'}",
            "--default-artifact-root",
            str(tmp / "artifacts"),
        ]
        server_env = _env({})
        client_env = _env({"MLFLOW_TRACKING_URI": url})
        code = MLFLOW_CLIENT
    (tmp / "server").mkdir()
    server = subprocess.Popen(
        cmd,
        env=server_env,
        cwd=tmp / "server",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(url + "/health")
        out = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code), str(loop), str(runs)],
            env=client_env,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loop", type=int, default=1000, help="log_metric calls in one run")
    ap.add_argument("--runs", type=int, default=200, help="runs with 5 params + 5 metrics")
    args = ap.parse_args()
    sy = bench("shipyard", args.loop, args.runs)
    ml = bench("mlflow", args.loop, args.runs)
    print(f"{'workload (HTTP, SQLite)':<40}{'Shipyard':>12}{'MLflow':>12}{'ratio':>10}")
    for key, label in (
        ("loop", f"{args.loop:,} log_metric calls"),
        ("runs", f"{args.runs:,} runs x 5 params + 5 metrics"),
    ):
        print(f"{label:<40}{sy[key]:>11.3f}s{ml[key]:>11.3f}s{ml[key] / sy[key]:>9.1f}x")
    print("targets: >=100x on the log_metric loop, >=10x on runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
