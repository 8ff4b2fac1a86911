"""The continuous-training circle end to end, on SQLite and PostgreSQL, with a real
``shipyard serve`` process: drifted traffic over HTTP → ``monitor run`` (the real runner and
evaluator chain) opens the drift alert and tells the webhook → two replicas tick the retrain
job at once (one run) → pipeline on the new data → register → gates → approval (automatic in
staging, a person in production, who is notified through the webhook) → canary picked up by
the serving process → promote → a window of traffic after the promotion → the run records
``recovered`` with the figures before and after, and the alert is resolved with a note
naming the run.

Time is driven by the windows: the monitor's window is 2 s, traffic is sent at the start of a
window, and ``monitor run`` is called with ``now=`` the window's end once the serving
process has flushed its prediction log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.core.alerts import AlertStatus
from shipyard.core.retraining import RetrainState
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.services.formats.prediction_reader import PredictionLogReader
from shipyard.settings import load_settings
from tests.conftest import free_port
from tests.services.monitoring.conftest import SECRET, Receiver, receiver  # noqa: F401
from tests.services.retraining.conftest import DORA, MODEL, PIPELINE, seed
from tests.services.retraining.flows import FEATURES, frame

SETTLE_MS = 500  # past the serving log buffer's age and flush, which monitor run waits for
WINDOW_MS = 2000
ROWS = 600  # per window, in 3 requests (drift needs 100 values; the noise stays under 0.1)
REPO = Path(__file__).resolve().parents[3]
SHIPYARD = Path(sys.executable).with_name("shipyard")
RULE = "drift_share > 0.3"


def _toml(env: str, hook: str) -> str:
    return f"""
[release.{MODEL}]
holdout = "loans-holdout@latest"
target = "y"
gates = [{{ metric = "roc_auc", min = 0.7 }}, {{ vs_champion = "roc_auc", max_drop = 0.05 }}]
deploy = {{ strategy = "canary", steps = [10, 50, 100] }}

[monitor.{MODEL}]
window = "2s"
delay = "0s"
min_rows = 20
rules = ["{RULE}"]
alerts = {{ webhook = "{hook}", secret_env = "HOOK_SECRET", cooldown = "0s", timeout = "2s" }}

[retrain.{MODEL}]
on = "alert:{RULE}"
pipeline = "{PIPELINE}"
data = "loans@latest"
holdout = "loans-holdout@latest"
cooldown = "1h"
auto_approve_if = "environment != 'production'"
deploy = "canary"
environment = "{env}"
"""


class Circle:
    """The project, its services, a serving process of one environment, its traffic."""

    def __init__(self, path: Path, db_url: str, env: str) -> None:
        self.path, self.env = path, env
        self.vars = {
            **os.environ,
            "SHIPYARD_PROJECT_DIR": str(path),
            "SHIPYARD_DB_URL": db_url,
            "SHIPYARD_USER": "dana",
            "HOOK_SECRET": SECRET,
            "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(REPO)])),
            "SHIPYARD_SERVE_POLL_S": "0.1",
            "SHIPYARD_SERVE_FLUSH_S": "0.2",
            "SHIPYARD_SERVE_LOG_AGE_S": "0.1",  # logs written at once (monitor waits 0.3 s)
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.sent = 0

    def services(self) -> Services:
        return build_services(load_settings(env=self.vars))

    def serve(self) -> None:
        port = free_port()
        self.process = subprocess.Popen(
            [str(SHIPYARD), "serve", "--env", self.env, "--port", str(port)],
            env=self.vars, cwd=self.path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(self.process.stderr.read().decode())  # type: ignore[union-attr]
            try:
                if httpx.get(self.url + "/v2/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("shipyard serve did not become ready in 60 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def infer(self, rows: Any) -> str:
        """One request of ``rows`` over the Open Inference Protocol; the answering version."""
        body = {"inputs": [{"name": c, "shape": [len(rows)], "datatype": "FP64",
                            "data": rows[c].tolist()} for c in FEATURES]}  # fmt: skip
        answer = httpx.post(f"{self.url}/v2/models/{MODEL}/infer", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        self.sent += len(rows)
        return str(answer.json()["model_version"])

    def traffic_in_next_window(self, seed: int, after: int = 0) -> int:
        """Wait for the start of a window (not before ``after``), send ``ROWS`` rows of the
        new (shifted) distribution in it; the window's start."""
        now = int(time.time() * 1000)
        start = (max(now, after) // WINDOW_MS + 1) * WINDOW_MS
        time.sleep((start - now) / 1000 + 0.05)
        rows = frame(ROWS, seed, shift=1.0)[FEATURES]
        for part in range(3):
            self.infer(rows.iloc[part * 200 : (part + 1) * 200])
        assert int(time.time() * 1000) < start + WINDOW_MS, "traffic spilled over its window"
        return start

    def logged(self, svc: Services, start: int, rows: int = ROWS) -> None:
        """Wait until the serving process has written the window's rows to its log."""
        reader = PredictionLogReader(svc.blobs.backend)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = sum(b.num_rows for b in reader.batches(
                MODEL, env=self.env, start_ms=start, end_ms=start + WINDOW_MS, columns=["x1"]
            ))  # fmt: skip
            if found >= rows:
                return
            time.sleep(0.1)
        raise AssertionError(f"the window from {start} has {found} logged rows, not {rows}")


@pytest.fixture
def circle(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> Iterator[Circle]:
    out = Circle(tmp_path, db_url, request.param)
    yield out
    out.stop()


def _tick_twice_at_once(first: Services, second: Services) -> None:
    barrier, errors = threading.Barrier(2), []

    def tick(svc: Services) -> None:
        try:
            barrier.wait()
            svc.retraining.tick(MODEL)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=tick, args=(s,)) for s in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors


@pytest.mark.parametrize("circle", ["staging", "production"], indirect=True)
def test_drift_to_recovered_metric_through_a_real_serving_process(
    circle: Circle,
    receiver: Receiver,  # noqa: F811
) -> None:
    (circle.path / "shipyard.toml").write_text(_toml(circle.env, receiver.url))
    svc = circle.services()
    replica = circle.services()  # a second server replica on the same database
    try:
        world = seed(svc)
        svc.profiles.attach(f"{MODEL}@v1", f"{MODEL}@v1", columns=FEATURES)
        svc.catalog.register("loans", frame(2000, 11, shift=1.0), user="dana")  # the new world
        circle.serve()

        # drifted traffic → monitor run → the drift alert, told to the webhook
        start = circle.traffic_in_next_window(seed=100)
        circle.logged(svc, start)
        report = svc.monitor_runner.run(MODEL, now=start + WINDOW_MS + SETTLE_MS)
        (alert,) = svc.alerts.open_alerts(MODEL)
        assert (alert.env, alert.rule, alert.version) == (circle.env, RULE, 1)
        assert alert.figures["drift_share"] > 0.3 and report.deliveries.delivered == 1
        assert receiver.received[0]["event"] == "alert.opened"

        # two replicas tick the retrain job at once: one run
        _tick_twice_at_once(svc, replica)
        assert svc.retraining.runs(MODEL).total == 1
        run = svc.retraining.get(1)
        if circle.env == "production":
            assert run.state is RetrainState.AWAITING_APPROVAL, run.reason
            assert svc.monitor_runner.run(MODEL).deliveries.delivered == 0  # sent by the tick
            notices = [r for r in receiver.received if r["event"] == "retraining.awaiting_approval"]
            assert len(notices) == 1, receiver.received
            notice = notices[0]["body"]
            assert (notice["ref"], notice["link"]) == (f"{MODEL}@v2", "/ui/approvals")
            assert notice["retraining"]["id"] == run.run_id
            svc.registry.decide(f"{MODEL}@v2", world.carol, approve=True, reason="drift fixed")
            run = svc.retraining.tick(MODEL)[0]
        assert run.state is RetrainState.DEPLOYED and run.outcome == "pending", run.reason
        assert run.data_ref == "loans@v2" and run.gates is not None and run.gates["passed"]
        assert run.approval is not None
        assert run.approval["automatic"] is (circle.env == "staging")
        assert svc.deployments.get(circle.env, MODEL).candidate_version == 2

        # the serving process picks up the canary: requests reach the new version
        seen: set[str] = set()
        deadline = time.monotonic() + 20
        while "2" not in seen and time.monotonic() < deadline:
            seen.add(circle.infer(frame(1, len(seen) + circle.sent, shift=1.0)[FEATURES]))
        assert "2" in seen, seen
        while svc.deployments.get(circle.env, MODEL).candidate_version is not None:
            svc.deployments.promote(circle.env, DORA, reason="canary healthy")
        promoted = svc.deployments.get(circle.env, MODEL)
        assert promoted.live_version == 2
        assert svc.retraining.tick(MODEL) == []  # the open alert waits for the follow-up
        assert svc.retraining.get(run.run_id).outcome == "pending"

        # a window after the promotion: the metric recovered
        after = circle.traffic_in_next_window(seed=200, after=promoted.update_time)
        circle.logged(svc, after)
        svc.monitor_runner.run(MODEL, now=after + WINDOW_MS + SETTLE_MS)
        assert svc.retraining.tick(MODEL) == []
        done = svc.retraining.get(run.run_id)
        assert done.outcome == "recovered", done.follow_up
        follow = dict(done.follow_up or {})
        assert follow["alert_id"] == alert.alert_id and follow["after"]["window"] == after
        assert follow["before"]["figures"]["drift_share"] > 0.3
        assert follow["after"]["figures"]["drift_share"] <= 0.3
        assert follow["promoted_at"] == promoted.update_time
        closed = svc.alerts.get(alert.alert_id)
        assert closed.status is AlertStatus.RESOLVED
        assert f"retraining run {run.run_id}: recovered" in closed.note
        entries = svc.audit.log(f"retraining:{run.run_id}", limit=100)
        last = max(entries, key=lambda e: e.seq)
        assert last.action == "retrain.recovered"
        assert json.loads(last.payload)["follow_up"]["after"]["window"] == after
    finally:
        replica.close()
        svc.close()
