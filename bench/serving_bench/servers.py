"""One server under test: what to start (``ServerSpec``) and the running server (``Server``)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .common import STARTUP_TIMEOUT_S, free_port
from .models import ModelCase, body_split, predictions, same
from .procs import group_alive, start_group, stop_group, tree_memory


@dataclass
class Endpoint:
    key: str  # invocations | oip | predict
    label: str
    path: str
    body: Callable[[ModelCase, int], bytes]


MLFLOW_ENDPOINT = Endpoint("invocations", "/invocations", "/invocations", body_split)


@dataclass
class ServerSpec:
    key: str  # unique within a model: mlflow, bentoml, bentoml-batched, fastapi-1, shipyard-2 …
    system: str
    label: str
    workers: int
    cmd: list[str]  # "{port}" is replaced
    env: dict[str, str]
    cwd: Path
    endpoints: list[Endpoint]  # the first is the judged one (startup, fixed rate, ratios)
    project: Path | None = None  # Shipyard
    canary: bool = False
    native: bool = False  # Shipyard with --no-onnx: must not predict through ONNX
    notes: list[str] = field(default_factory=list)


class Server:
    """One server under test: its process group, port and log file."""

    def __init__(self, spec: ServerSpec, case: ModelCase, logs: Path) -> None:
        self.spec, self.case = spec, case
        self.port = free_port()
        self.log_path = logs / f"{case.key}-{spec.key}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.paused = False
        self.answered = [0, 0]  # requests, rows answered with 200 (warm-ups and checks too)

    def start(self) -> None:
        cmd = [c.replace("{port}", str(self.port)) for c in self.spec.cmd]
        with self.log_path.open("wb") as log:
            self.started = time.perf_counter()
            self.proc = start_group(cmd, self.spec.cwd, self.spec.env, log)

    def url(self, endpoint: Endpoint) -> str:
        return f"http://127.0.0.1:{self.port}{endpoint.path}"

    def post(self, endpoint: Endpoint, body: bytes, timeout: float = 5.0) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("POST", endpoint.path, body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def get(self, path: str, timeout: float) -> bytes:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            return conn.getresponse().read()
        finally:
            conn.close()

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT_S) -> float:
        """Seconds from process start to the first 200 on a single-row predict call."""
        assert self.proc is not None
        endpoint = self.spec.endpoints[0]
        body = endpoint.body(self.case, 1)
        deadline = self.started + timeout
        last = "no answer"
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                status, text = self.post(endpoint, body, timeout=2.0)
                if status == 200:
                    self.count(1, 1)
                    return time.perf_counter() - self.started
                last = f"HTTP {status}: {text[:300]!r}"
            except OSError as e:
                last = f"{type(e).__name__}: {e}"
            time.sleep(0.02)
        raise RuntimeError(f"no 200 within {timeout:.0f} s (last: {last}):\n{self.log_tail()}")

    def check(self, endpoint: Endpoint, rows: int) -> str | None:
        """None if the server predicts what the model does on the first ``rows`` rows."""
        status, text = self.post(endpoint, endpoint.body(self.case, rows), timeout=30.0)
        if status != 200:
            return f"HTTP {status}: {text[:300]!r}"
        self.count(1, rows)
        try:
            got = predictions(json.loads(text))
        except ValueError:
            got = None
        if not same(got, self.case.expected[rows]):
            return f"predictions differ from the model's: {text[:300]!r}"
        return None

    def count(self, requests: int, rows: int) -> None:
        self.answered[0] += requests
        self.answered[1] += requests * rows

    def pause(self) -> None:
        """SIGSTOP the whole group: an idle server takes no CPU from the one measured."""
        if self.proc is not None and not self.paused and group_alive(self.proc.pid):
            os.killpg(self.proc.pid, signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        if self.proc is not None and self.paused:
            if group_alive(self.proc.pid):
                os.killpg(self.proc.pid, signal.SIGCONT)
            self.paused = False

    def memory(self) -> dict[str, float]:
        assert self.proc is not None
        return tree_memory(self.proc.pid)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)
