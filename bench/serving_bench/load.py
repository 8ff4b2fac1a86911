"""The load generators: ``wrk`` (closed loop) and an aiohttp client at a fixed rate (open loop).

The open-loop client runs in a fresh interpreter (``bench/serving.py --child-open-loop``),
which imports this module alone: keep its imports to the standard library (aiohttp and
uvloop are imported inside the child).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import REQUEST_TIMEOUT_S, RESULT_MARKER, SCRIPT, quantile

CHILD_FLAG = "--child-open-loop"
JSON_HEADERS = {"Content-Type": "application/json"}
WRK_LUA = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {{\\"requests\\": %d, \\"duration_us\\": %d, \\"connect\\": %d, \\"read\\": %d, " ..
    "\\"write\\": %d, \\"status\\": %d, \\"timeout\\": %d, \\"p50_us\\": %.0f, " ..
    "\\"p90_us\\": %.0f, \\"p99_us\\": %.0f, \\"max_us\\": %.0f, \\"mean_us\\": %.1f}}\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
"""


# ---------------------------------------------------------------------------- closed loop
def wrk_available() -> str | None:
    """``wrk``'s version line, or None."""
    if shutil.which("wrk") is None:
        return None
    proc = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    lines = (proc.stdout + proc.stderr).splitlines()
    return " ".join(lines[0].split()[:2]) if lines else "wrk"


def wrk_script(folder: Path, body: bytes) -> Path:
    """A Lua script that POSTs ``body`` and prints wrk's summary as one JSON line."""
    text = body.decode()
    if "]==]" in text:
        raise ValueError("request body contains the Lua long-string terminator ]==]")
    path = folder / f"wrk-{hashlib.sha256(body).hexdigest()[:16]}.lua"
    if not path.exists():
        path.write_text(WRK_LUA.format(body=text))
    return path


def run_wrk(url: str, script: Path, seconds: int, opts: argparse.Namespace) -> dict[str, Any]:
    """One closed-loop wrk run; requests/s, latency percentiles (s) and error counts."""
    threads = max(1, min(opts.threads, opts.connections))
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{opts.connections}",
        f"-d{seconds}s",  # wrk takes whole seconds
        "--timeout",
        f"{int(REQUEST_TIMEOUT_S)}s",
        "-s",
        str(script),
        url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(
            f"wrk exited {proc.returncode}: {proc.stdout[-500:]}{proc.stderr[-500:]}"
        )
    raw = json.loads(line[len("WRK_JSON ") :])
    secs = raw["duration_us"] / 1e6
    errors = {k: raw[k] for k in ("connect", "read", "write", "status", "timeout") if raw[k]}
    return {
        "requests": raw["requests"],
        "seconds": secs,
        "rps": (raw["requests"] - raw["status"]) / secs if secs else 0.0,  # answered 2xx/3xx
        "p50_s": raw["p50_us"] / 1e6,
        "p90_s": raw["p90_us"] / 1e6,
        "p99_s": raw["p99_us"] / 1e6,
        "max_s": raw["max_us"] / 1e6,
        "errors": errors,
    }


# ---------------------------------------------------------------------------- open loop
@dataclass
class _Tally:
    """What the open-loop requests got: per request latency from the scheduled time and
    from the actual send (None: failed), failures by kind, and how late each send was."""

    latencies: list[float | None]
    from_send: list[float | None]
    errors: tuple[type[BaseException], ...]  # what counts as a failed request
    failures: dict[str, int] = field(default_factory=dict)
    lag: list[float] = field(default_factory=list)

    def fail(self, kind: str) -> None:
        self.failures[kind] = self.failures.get(kind, 0) + 1


async def _one(session: Any, url: str, body: bytes, i: int, at: float, tally: _Tally) -> None:
    """Request ``i``, scheduled for ``at`` (perf_counter), recorded in ``tally``."""
    sent = time.perf_counter()
    try:
        async with session.post(url, data=body, headers=JSON_HEADERS) as response:
            await response.read()
            if response.status == 200:
                now = time.perf_counter()
                tally.latencies[i] = now - at
                tally.from_send[i] = now - sent
            else:
                tally.fail(f"HTTP {response.status}")
    except tally.errors as e:
        tally.fail(type(e).__name__)


async def _open_loop(url: str, body: bytes, rate: float, seconds: float) -> dict[str, Any]:
    import aiohttp

    # time.perf_counter, not loop.time(): uvloop's clock ticks in whole milliseconds
    n = max(1, int(rate * seconds))
    tally = _Tally([None] * n, [None] * n, (aiohttp.ClientError, TimeoutError))
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for _ in range(3):  # open a connection before the clock starts
            await _one(session, url, body, 0, time.perf_counter(), tally)
        tally.latencies[0] = tally.from_send[0] = None
        tally.failures.clear()
        tasks = []
        start = time.perf_counter() + 0.05
        for i in range(n):
            at = start + i / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tally.lag.append(max(0.0, time.perf_counter() - at))
            tasks.append(asyncio.create_task(_one(session, url, body, i, at, tally)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return _open_loop_summary(tally, rate, n, elapsed)


def _open_loop_summary(tally: _Tally, rate: float, n: int, elapsed: float) -> dict[str, Any]:
    ok = [x for x in tally.latencies if x is not None]
    sent_ok = [x for x in tally.from_send if x is not None]
    return {
        "offered_rps": rate,
        "sent": n,
        "ok": len(ok),
        "achieved_rps": len(ok) / elapsed if elapsed else 0.0,
        "p50_s": quantile(ok, 0.50),
        "p99_s": quantile(ok, 0.99),
        "max_s": max(ok) if ok else None,
        "p99_from_send_s": quantile(sent_ok, 0.99),
        "send_lag_p99_s": quantile(tally.lag, 0.99),
        "errors": tally.failures,
    }


def run_open_loop(url: str, body: bytes, rate: float, seconds: float, tmp: Path) -> dict[str, Any]:
    """Requests at a fixed rate, each timed from its scheduled send time (no coordinated
    omission: a slow answer does not delay the next request). Runs in a fresh interpreter
    (only aiohttp loaded, the garbage collector off), so this process's heap cannot pause it."""
    path = tmp / f"open-loop-{hashlib.sha256(body).hexdigest()[:16]}.json"
    path.write_bytes(body)
    cmd = [sys.executable, str(SCRIPT), CHILD_FLAG, url, str(path), str(rate), str(seconds)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    raise RuntimeError(f"open-loop client exited {proc.returncode}: {proc.stderr[-1500:]}")


def child_open_loop(url: str, body_path: str, rate: str, seconds: str) -> int:
    """The open-loop client's process: one run, its result as one marked JSON line."""
    import gc

    body = Path(body_path).read_bytes()
    gc.disable()
    coro = _open_loop(url, body, float(rate), float(seconds))
    try:
        import uvloop

        result = uvloop.run(coro)
    except ImportError:
        result = asyncio.run(coro)
    print(RESULT_MARKER + json.dumps(result))
    return 0
