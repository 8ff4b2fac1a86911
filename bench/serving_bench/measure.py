"""One model's servers: started one at a time, measured in interleaved repeats (the others
paused), then stopped; what Shipyard's servers recorded is read back afterwards."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import IDLE_WINDOW_S, RATE_HEADROOM, median, progress
from .load import run_open_loop, run_wrk, wrk_script
from .models import ModelCase
from .procs import tree_cpu
from .servers import Endpoint, Server, ServerSpec
from .specs import Context, build_specs
from .systems import predict_path, scrape, shipyard_recorded


@dataclass
class Item:
    server: Server
    endpoint: Endpoint
    rows: int
    script: Path
    runs: list[dict[str, Any]] = field(default_factory=list)


def _entry(spec: ServerSpec) -> dict[str, Any]:
    return {
        "label": spec.label,
        "system": spec.system,
        "workers": spec.workers,
        "canary": spec.canary,
        "native": spec.native,
        "notes": list(spec.notes),
        "endpoints": {},
        "anomalies": [],
    }


def _check_predict_path(server: Server, case: ModelCase, entry: dict[str, Any]) -> None:
    """Note how a Shipyard server predicts; with --no-onnx, ONNX would be an anomaly."""
    path, note = predict_path(server, case.name)
    entry["notes"].append(note)
    if server.spec.native and path == "onnx":
        entry["anomalies"].append("started with --no-onnx, yet predicts through ONNX")


def _start_servers(
    specs: list[ServerSpec], case: ModelCase, ctx: Context, result: dict[str, Any]
) -> list[Server]:
    """Start the servers one at a time (startup measured alone), check their predictions."""
    servers = []
    for spec in specs:
        entry = result.setdefault(spec.key, _entry(spec))
        server = Server(spec, case, ctx.tmp / "logs")
        progress(f"  {case.key}: starting {spec.key} …", ctx.opts.json)
        try:
            server.start()
            entry["startup_s"] = server.wait_ready()
            for endpoint in spec.endpoints:
                for rows in ctx.opts.sizes:
                    problem = server.check(endpoint, rows)
                    if problem:
                        entry["anomalies"].append(f"{endpoint.label}, {rows} rows: {problem}")
            entry["memory_idle"] = server.memory()
            if spec.system == "shipyard":
                _check_predict_path(server, case, entry)
            servers.append(server)
        except (RuntimeError, OSError) as e:
            entry["error"] = str(e)
            server.stop()
    return servers


def _idle_cpu(servers: list[Server], result: dict[str, Any], seconds: float) -> None:
    """CPU share each server takes while idle: the servers of a model run side by side,
    so an idle one that polls or flushes a lot would slow the one being measured."""
    before = {s.spec.key: tree_cpu(s.proc.pid) for s in servers if s.proc}
    time.sleep(seconds)
    for s in servers:
        if s.proc and s.spec.key in before:
            used = tree_cpu(s.proc.pid) - before[s.spec.key]
            result[s.spec.key]["idle_cpu_pct"] = 100 * used / seconds


def _focus(servers: list[Server], active: Server, ctx: Context) -> None:
    """Resume ``active``, pause the others (unless --no-pause)."""
    active.resume()
    if not ctx.opts.no_pause:
        for server in servers:
            if server is not active:
                server.pause()


def _wrk_item(item: Item, ctx: Context) -> None:
    """One warm-up (unless --warmup 0) and one timed wrk run of ``item``."""
    opts, url = ctx.opts, item.server.url(item.endpoint)
    try:
        if opts.warmup > 0:
            warm = run_wrk(url, item.script, opts.warmup, opts)
            item.server.count(warm["requests"] - warm["errors"].get("status", 0), item.rows)
        run = run_wrk(url, item.script, opts.duration, opts)
        item.server.count(run["requests"] - run["errors"].get("status", 0), item.rows)
        item.runs.append(run)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        item.runs.append({"error": str(e)})


def _closed_loop(items: list[Item], servers: list[Server], ctx: Context, label: str) -> None:
    """Every item, ``--repeats`` times, the order rotated by one each repeat."""
    opts = ctx.opts
    total = opts.repeats * len(items)
    done = 0
    for r in range(opts.repeats):
        rotated = items[r % len(items) :] + items[: r % len(items)] if items else []
        for item in rotated:
            done += 1
            progress(
                f"  {label}: [{done}/{total}] {item.server.spec.key} {item.endpoint.key} "
                f"{item.rows} row(s)",
                opts.json,
            )
            _focus(servers, item.server, ctx)
            _wrk_item(item, ctx)


def _summarize(runs: list[dict[str, Any]], rows: int) -> dict[str, Any]:
    good = [r for r in runs if "error" not in r]
    out: dict[str, Any] = {"runs": runs}
    if not good:
        out["error"] = runs[-1].get("error") if runs else "no run"
        return out
    rps = median([r["rps"] for r in good])
    out.update(
        {
            "rps": rps,
            "rps_min": min(r["rps"] for r in good),
            "rps_max": max(r["rps"] for r in good),
            "rows_per_s": rps * rows if rps is not None else None,
            "p50_s": median([r["p50_s"] for r in good]),
            "p99_s": median([r["p99_s"] for r in good]),
            "errors": sum(sum(r["errors"].values()) for r in good),
            "requests": sum(r["requests"] for r in good),
        }
    )
    return out


def _record_closed_loop(items: list[Item], result: dict[str, Any]) -> None:
    for item in items:
        entry = result[item.server.spec.key]
        summary = _summarize(item.runs, item.rows)
        entry["endpoints"].setdefault(item.endpoint.key, {})[str(item.rows)] = summary
        entry["endpoints"][item.endpoint.key]["label"] = item.endpoint.label
        if summary.get("errors"):
            entry["anomalies"].append(
                f"{item.endpoint.label}, {item.rows} rows: {summary['errors']} failed "
                f"requests of {summary['requests']} (wrk: non-2xx, timeouts, socket errors)"
            )


def _fixed_rate(
    servers: list[Server], case: ModelCase, ctx: Context, result: dict[str, Any]
) -> None:
    """The open-loop run of each server whose closed-loop capacity allows the rate."""
    rate, seconds = ctx.opts.rate, ctx.opts.rate_duration
    for server in servers:
        endpoint = server.spec.endpoints[0]
        entry = result[server.spec.key]
        capacity = entry["endpoints"].get(endpoint.key, {}).get("1", {}).get("rps")
        if capacity is None or capacity < rate * RATE_HEADROOM:
            entry["fixed_rate"] = {
                "skipped": f"closed-loop capacity {capacity or 0:,.0f} req/s < "
                f"{RATE_HEADROOM} x {rate:,.0f}: the queue would only grow"
            }
            continue
        progress(
            f"  {case.key}: {server.spec.key} at {rate:,.0f} req/s for {seconds:.0f} s",
            ctx.opts.json,
        )
        _focus(servers, server, ctx)
        try:
            entry["fixed_rate"] = run_open_loop(
                server.url(endpoint), endpoint.body(case, 1), rate, seconds, ctx.tmp
            )
            server.count(entry["fixed_rate"]["ok"] + 3, 1)  # + the client's 3 warm-up calls
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            entry["fixed_rate"] = {"skipped": f"failed: {e}"}
            entry["anomalies"].append(f"open-loop run failed: {e}")


def _wind_down(servers: list[Server], result: dict[str, Any]) -> dict[str, str]:
    """Memory after the runs, requests answered, and Shipyard's /metrics (key -> text)."""
    metrics: dict[str, str] = {}
    for server in servers:
        result[server.spec.key]["memory"] = server.memory()
    for server in servers:
        server.resume()
        result[server.spec.key]["answered"] = {
            "requests": server.answered[0],
            "rows": server.answered[1],
        }
        if server.spec.project is not None:
            metrics[server.spec.key] = scrape(server)
    return metrics


def _measure(servers: list[Server], case: ModelCase, ctx: Context, result: dict[str, Any]) -> None:
    _idle_cpu(servers, result, IDLE_WINDOW_S)
    items = [
        Item(s, e, n, wrk_script(ctx.tmp, e.body(case, n)))
        for s in servers
        for e in s.spec.endpoints
        for n in ctx.opts.sizes
    ]
    _closed_loop(items, servers, ctx, case.key)
    _record_closed_loop(items, result)
    if case.key == "lr" and ctx.opts.rate > 0 and 1 in ctx.opts.sizes:
        _fixed_rate(servers, case, ctx, result)


def bench_model(case: ModelCase, ctx: Context) -> dict[str, Any]:
    """Server key -> its figures, notes and anomalies, for one model."""
    result: dict[str, Any] = {}
    specs, failed = build_specs(case, ctx)
    metrics: dict[str, str] = {}
    for key, error in failed.items():
        result[key] = {"label": key, "workers": 0, "endpoints": {}, "anomalies": [], "error": error}
    servers: list[Server] = []
    try:
        servers = _start_servers(specs, case, ctx, result)
        _measure(servers, case, ctx, result)
        metrics = _wind_down(servers, result)
    finally:
        for server in servers:
            server.stop()
    for server in servers:
        spec = server.spec
        if spec.project is not None:
            recorded = shipyard_recorded(spec.project, case.name, metrics.get(spec.key, ""))
            result[spec.key]["recorded"] = recorded
    return result
