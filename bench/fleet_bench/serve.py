"""Serving a fleet: N deployed models in one environment, one ``shipyard serve`` with a cap.

Phases, against one real server process (``--max-models CAP``):

1. log and deploy N small models (a LogisticRegression each, 8 features, own seed) in-process;
2. start the server (it warms up to the cap) and read its RSS; a second server with a cap of
   1 gives the base: base = RSS(cap 1) - per-model, per-model = (RSS(cap) - RSS(cap 1)) / (cap - 1);
3. random traffic: R requests, uniform over all N models, K client threads; RSS sampled every
   0.2 s (its maximum is compared with base + cap x per-model); every request must answer 200;
4. cold misses: S sequential requests, each to a model not requested in the last 4 x CAP
   requests (so evicted); the server's load counter must rise by S;
5. a warm hot set of 20 models (at most CAP): H requests over them, K threads (the issue's
   target: p99 < 50 ms);
6. ``/metrics`` size, then SIGTERM (final flush): prediction-log files and ``serving_stats``
   rows written, against the requests answered.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HOT_SET = 20
FEATURES = [f"f{i}" for i in range(8)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def make_fleet(project: Path, models: int) -> dict[str, Any]:
    """Log and deploy ``models`` models to ``fleet``; the time per model."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings

    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(project)}))
    admin = svc.access.ensure_local_admin()
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(200, len(FEATURES))), columns=FEATURES)
    started = time.perf_counter()
    for i in range(models):
        y = (x[FEATURES[i % len(FEATURES)]] + rng.normal(size=len(x)) > 0).astype(int)
        v = svc.registry.log_model(
            LogisticRegression().fit(x, y), f"m-{i:04d}", user=admin.name, input_example=x.head(5)
        )
        svc.deployments.deploy(v.name, v.version, "fleet", admin)
    seconds = time.perf_counter() - started
    svc.close()
    return {"models": models, "log_and_deploy_s": seconds, "per_model_ms": seconds / models * 1000}


class Serve:
    """One ``shipyard serve`` process in a session of its own (stopped by its group id)."""

    def __init__(self, project: Path, cap: int, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "SHIPYARD_PROJECT_DIR": str(project)}
        cmd = [sys.executable, "-m", "shipyard", "serve", "--env", "fleet"]
        cmd += ["--port", str(self.port), "--max-models", str(cap)]
        self.log = log.open("wb")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=project, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.startup_s = self._wait_ready() - started

    def _wait_ready(self) -> float:
        import httpx

        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"shipyard serve exited: see {self.log.name}")
            try:
                if httpx.get(self.url + "/v2/health/ready", timeout=2).status_code == 200:
                    return time.perf_counter()
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("shipyard serve did not become ready in 600 s")

    @property
    def rss_mb(self) -> float:
        return _rss_mb(self.proc.pid)

    def figures(self) -> tuple[dict[str, float], int]:
        """/metrics summed by sample name, and its size in bytes."""
        import httpx
        from prometheus_client.parser import text_string_to_metric_families

        text = httpx.get(self.url + "/metrics", timeout=30).text
        found: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                found[s.name] = found.get(s.name, 0.0) + s.value
        return found, len(text.encode())

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


def _body() -> bytes:
    import orjson

    inputs = [{"name": c, "shape": [1], "datatype": "FP64", "data": [0.5]} for c in FEATURES]
    return orjson.dumps({"inputs": inputs})


def _traffic(url: str, names: list[str], threads: int) -> tuple[list[float], int, list[str]]:
    """POST one request per name (in order, ``threads`` at a time): latencies (ms), failures,
    and the names in the order they completed."""
    import httpx

    body, local = _body(), threading.local()
    done: list[str] = []

    def one(name: str) -> float | None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=60)
        started = time.perf_counter()
        try:
            ok = client.post(f"{url}/v2/models/{name}/infer", content=body).status_code == 200
        except httpx.HTTPError:
            ok = False
        done.append(name)
        return (time.perf_counter() - started) * 1000 if ok else None

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, names))
    latencies = [r for r in results if r is not None]
    return latencies, len(results) - len(latencies), done


def _sampled_rss(server: Serve, stop: threading.Event, peak: list[float]) -> None:
    while not stop.wait(0.2):
        peak.append(server.rss_mb)


def run(project: Path, *, models: int, cap: int, requests: int, cold: int, hot: int,
        threads: int) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {"cap": cap, "threads": threads}
    out["fleet"] = make_fleet(project, models)
    names = [f"m-{i:04d}" for i in range(models)]
    base_server = Serve(project, 1, project / "serve-cap1.log")
    time.sleep(1.0)
    rss_one = base_server.rss_mb
    base_server.stop()
    server = Serve(project, cap, project / "serve.log")
    try:
        time.sleep(1.0)
        rss_full = server.rss_mb
        per_model = (rss_full - rss_one) / max(1, cap - 1)
        out["memory"] = {
            "rss_cap1_mb": rss_one,
            "rss_warm_mb": rss_full,
            "per_model_mb": per_model,
            "base_mb": rss_one - per_model,
            "budget_mb": rss_one - per_model + cap * per_model,
            "startup_s": server.startup_s,
        }
        out.update(_phases(server, names, requests, cold, hot, threads, cap))
        memory = out["memory"]
        memory["all_loaded_mb"] = memory["base_mb"] + models * per_model  # without the cap
        # the budget leaves 20 % for what is not a model: the prediction-log buffers (up to
        # log_age_s of requests), figures per model, the allocator's slack
        memory["within_budget"] = out["random"]["rss_max_mb"] <= 1.2 * memory["budget_mb"]
    finally:
        server.stop()
    out["logs"] = _written(project, out)
    return out


def _phases(server: Serve, names: list[str], requests: int, cold: int, hot: int,
            threads: int, cap: int) -> dict[str, Any]:  # fmt: skip
    rng = random.Random(7)
    out: dict[str, Any] = {}
    before, _ = server.figures()
    peak: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_sampled_rss, args=(server, stop, peak), daemon=True)
    sampler.start()
    wanted = [rng.choice(names) for _ in range(requests)]
    started = time.perf_counter()
    half = len(wanted) // 2
    latencies, failed, order = _traffic(server.url, wanted[:half], threads)
    rss_half = server.rss_mb
    more, failed_more, order_more = _traffic(server.url, wanted[half:], threads)
    latencies, failed, order = latencies + more, failed + failed_more, order + order_more
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    after, _ = server.figures()
    out["random"] = {
        "requests": requests, "failed": failed, "req_s": requests / seconds,
        "p50_ms": _pct(latencies, 50), "p99_ms": _pct(latencies, 99),
        "loads": after["shipyard_model_loads_total"] - before["shipyard_model_loads_total"],
        "evictions": after["shipyard_model_evictions_total"],
        "loaded_after": after["shipyard_models_loaded"], "rss_max_mb": max(peak, default=0.0),
        "rss_half_mb": rss_half, "rss_end_mb": server.rss_mb,
    }  # fmt: skip
    recent = set(order[-4 * cap :])
    fresh = [n for n in names if n not in recent]
    rng.shuffle(fresh)
    picked = fresh[:cold]
    latencies, failed, _ = _traffic(server.url, picked, 1)
    later, _ = server.figures()
    out["cold"] = {
        "requests": len(picked), "failed": failed,
        "p50_ms": _pct(latencies, 50), "p99_ms": _pct(latencies, 99),
        "max_ms": max(latencies, default=float("nan")),
        "loads": later["shipyard_model_loads_total"] - after["shipyard_model_loads_total"],
        "load_mean_ms": 1000 * later["shipyard_model_load_seconds_sum"]
        / max(1.0, later["shipyard_model_load_seconds_count"]),
    }  # fmt: skip
    hot_set = names[: min(HOT_SET, cap)]
    _traffic(server.url, hot_set, 1)  # warm
    warm, _ = server.figures()
    latencies, failed, _ = _traffic(server.url, [rng.choice(hot_set) for _ in range(hot)], threads)
    end, size = server.figures()
    out["hot"] = {
        "models": len(hot_set), "requests": hot, "failed": failed,
        "p50_ms": _pct(latencies, 50), "p99_ms": _pct(latencies, 99),
        "loads": end["shipyard_model_loads_total"] - warm["shipyard_model_loads_total"],
    }  # fmt: skip
    out["metrics"] = {"bytes": size, "requests_total": end["shipyard_requests_total"]}
    return out


def _written(project: Path, out: dict[str, Any]) -> dict[str, Any]:
    """Prediction-log files and serving_stats rows the server wrote (after its final flush)."""
    files = list((project / ".shipyard" / "objects" / "predictions").rglob("*.parquet"))
    with sqlite3.connect(project / ".shipyard" / "shipyard.db") as db:
        (rows,) = db.execute("SELECT count(*) FROM serving_stats").fetchone()
    answered = out["metrics"]["requests_total"]
    return {
        "files": len(files),
        "bytes_per_file": sum(f.stat().st_size for f in files) / max(1, len(files)),
        "serving_stats_rows": rows,
        "requests": answered,
    }
