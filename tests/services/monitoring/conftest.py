"""A monitored world on a real metadata store: a registered model deployed to staging,
prediction logs written by the real serving log writer, and a real webhook receiver on
loopback that checks the signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.core.entities import Role, User
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.services.serving.predlog import LogRecord, PredictionLog
from shipyard.services.serving.stats import ServingStats
from shipyard.settings import Settings

HOUR = 3_600_000
SECRET = "s3cret-hook-key"
SIGNATURE = {"inputs": [["age", "float64"], ["email", "str"]], "output": "int64"}


# ---------------------------------------------------------------- webhook receiver
@dataclass
class Receiver:
    """Answers each POST by the next mode: ``ok`` (204 after checking the signature),
    ``500``, or ``slow`` (sleeps past the sender's timeout); then ``ok``."""

    url: str = ""
    modes: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                mode = receiver.modes.pop(0) if receiver.modes else "ok"
            if mode == "slow":
                time.sleep(1.5)
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(self.headers.get("X-Shipyard-Signature", ""), expected):
                with receiver.lock:
                    receiver.bad_signatures += 1
                self._answer(401)
                return
            if mode == "500":
                self._answer(500)
                return
            with receiver.lock:
                receiver.received.append(
                    {"body": json.loads(body), "event": self.headers.get("X-Shipyard-Event")}
                )
            self._answer(204)

        def _answer(self, code: int) -> None:
            try:
                self.send_response(code)
                self.end_headers()
            except OSError:  # the sender gave up (timed out) already
                pass

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    out = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(out))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    out.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield out
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- the monitored world
def policy(url: str | None = None, **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "window": "1h",
        "min_rows": 5,
        "delay": "0s",
        "rules": ["mean.age > 50", "missing.email > 0.2", "estimated.roc_auc < 0.75"],
        "alerts": {"cooldown": "3h", "timeout": "1s", "max_attempts": 3},
    }
    if url is not None:
        spec["alerts"] |= {"webhook": url, "secret_env": "HOOK_SECRET"}
    spec.update(overrides)
    return {"loans": spec}


def open_services(tmp_path: Path, db_url: str, monitor: dict[str, Any]) -> Services:
    return build_services(
        Settings(
            project_dir=tmp_path,
            db_url=db_url,
            artifacts_url=str(tmp_path / "objects"),
            monitor=monitor,
            monitor_secrets={"HOOK_SECRET": SECRET},
        )
    )


@dataclass
class World:
    svc: Services
    dora: User
    start: int  # the first window's start (the hour the deployment went live)

    def log(
        self,
        hour: int,
        ages: list[float],
        emails: list[str | None],
        env: str = "staging",
        offset_ms: int = 60_000,
    ) -> None:
        """Log one request of ``len(ages)`` rows ``offset_ms`` into window ``hour``."""
        replica = f"r{uuid.uuid4().hex[:8]}"  # one file per call (a replica's keys count up)
        log = PredictionLog(self.svc.blobs.backend, replica, ServingStats(), 1000, env=env)
        frame = pd.DataFrame(
            {"age": np.asarray(ages, dtype="float64"), "email": pd.Series(emails, dtype=object)}
        )
        t = self.start + hour * HOUR + offset_ms
        rid = f"{env}-{hour}-{len(ages)}-{ages[0]}"
        log.add(LogRecord(rid, t, "loans", 1, "live", 1.0, ("age", "email"), frame,
                          np.zeros(len(ages), dtype="int64")))  # fmt: skip
        assert log.drain() == len(ages)

    def at(self, hours: int) -> int:
        """The time when ``hours`` windows have ended."""
        return self.start + hours * HOUR


def make_world(svc: Services) -> World:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"age": rng.normal(40, 10, 40), "income": rng.normal(50, 10, 40)})
    model = LogisticRegression().fit(x, (x["income"] > 50).to_numpy(dtype=int))
    signature = {"inputs": [["age", "float64"], ["income", "float64"]], "output": "int64"}
    version = svc.registry.log_model(model, "loans", user="ada", signature=signature)
    svc.access.add_user("dora", Role.DEPLOYER)
    dora = svc.access.get_user("dora")
    deployed = svc.deployments.deploy("loans", version.version, "staging", dora)
    return World(svc, dora, deployed.update_time // HOUR * HOUR)


@pytest.fixture
def world_factory(tmp_path: Path, db_url: str) -> Iterator[Callable[[dict[str, Any]], World]]:
    opened: list[Services] = []

    def make(monitor: dict[str, Any]) -> World:
        svc = open_services(tmp_path, db_url, monitor)
        opened.append(svc)
        return make_world(svc)

    yield make
    for svc in opened:
        svc.close()
