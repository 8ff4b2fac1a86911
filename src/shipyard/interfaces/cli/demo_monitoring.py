"""The sample project's monitoring scene: after the canary, patients with a drifted age/BMI
mix arrive, part of their outcomes come back as labels, ``monitor run`` computes the windows
and a signed alert reaches a local webhook receiver; the monitoring page shows it all."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "HOOK_PORT",
    "MONITOR_POLICY",
    "SECRET_ENV",
    "hook_receiver",
    "patient_requests",
    "shifted",
    "wait_for_window_end",
    "wait_until_logged",
    "watch",
]

HOOK_PORT = int(os.environ.get("SHIPYARD_DEMO_HOOK_PORT", "8082"))
SECRET_ENV = "SHIPYARD_DEMO_HOOK_SECRET"
WINDOW_S = 10


def monitor_policy(model: str) -> str:
    """``[monitor.<model>]`` of the demo: short windows so the scene fits in a minute."""
    return f"""
[monitor.{model}]
window = "{WINDOW_S}s"
delay = "1s"
min_rows = 40
thresholds = {{ wasserstein = 0.25 }}   # windows of ~100 rows: above their sampling noise
rules = ["drift_share > 0.15", "realized.accuracy < 0.6"]
alerts = {{ webhook = "http://127.0.0.1:{HOOK_PORT}/hook", secret_env = "{SECRET_ENV}", cooldown = "1h" }}
"""  # noqa: E501


MONITOR_POLICY = monitor_policy("diabetes-progression")


@contextmanager
def hook_receiver() -> Iterator[list[dict[str, Any]] | None]:
    """The demo's webhook receiver on 127.0.0.1:``HOOK_PORT`` while the block runs: the
    requests it received ({"signed", "body"}), or None when the port is taken. It lives
    through the monitoring and the retraining scenes, so the alert and the loop's
    ``retraining.awaiting_approval`` notice both reach it."""
    received: list[dict[str, Any]] = []
    try:
        hook = _receiver(received)
    except OSError:  # the port is taken: the deliveries wait in their queue
        yield None
        return
    try:
        yield received
    finally:
        hook.shutdown()
        hook.server_close()


def watch(
    services: Any,
    model: str,
    versions: list[Any],
    data: tuple[Any, Any],
    url: str,
    received: list[dict[str, Any]] | None,
) -> list[str]:
    """Profiles, drifted traffic, delayed labels, one monitor run; lines to print.
    ``data`` is (training rows, held-out rows); ``received`` the webhook receiver's list."""
    from shipyard.interfaces.cli.demo_pipeline import FEATURES, TARGET

    if model not in services.settings.monitor:
        return [f"no [monitor.{model}] in shipyard.toml: the monitoring scene is skipped"]
    if received is None:
        return [f"webhook receiver cannot listen on 127.0.0.1:{HOOK_PORT}; scene skipped"]
    train, holdout = data
    for v in versions:  # with the labels: the release policy's target fits the estimator
        services.profiles.attach(v.ref, train[[*FEATURES, TARGET]])
    wait_for_window_end(settle=0.2)  # the drifted patients get a window of their own
    start_ms = int(time.time() * 1000)
    # 400: when the watcher promotes the canary mid-scene, the version that ends up live still
    # gets the 100 rows a drift test needs (the retired one's window is not computed)
    answered = patient_requests(url, model, shifted(holdout, holdout), 400, seed=11)
    wait_for_window_end(settle=1.5)  # the policy's delay passed
    # a computed window is never computed again: under load, wait for the server's flush
    wait_until_logged(services.feedback.reader, model, start_ms, len(answered))
    labels = {pid: label for pid, label in answered[: len(answered) // 2]}
    receipt = services.feedback.record(model, labels, user=services.settings.actor)
    report = services.monitor_runner.run(model=model)
    time.sleep(0.5)  # the receiver thread answers the webhook
    return _lines(model, report, receipt, received)


def wait_until_logged(
    reader: Any, model: str, start_ms: int, rows: int, timeout_s: float = 30.0
) -> None:
    """Until the prediction logs hold ``rows`` rows of ``model`` from ``start_ms`` on (the
    serving process writes them every ``log_age_s``), or ``timeout_s`` has passed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batches = reader.batches(model, start_ms=start_ms, columns=["_id"])
        if sum(b.num_rows for b in batches) >= rows:
            return
        time.sleep(0.5)


SHIFTS = (("age", 2.0), ("bmi", 1.5))  # in standard deviations: the drifted patient mix


def shifted(frame: Any, reference: Any) -> Any:
    """``frame`` with older, heavier patients (the shifts in ``reference``'s deviations)."""
    out = frame.copy()
    for column, shift in SHIFTS:
        out[column] = out[column] + shift * float(reference[column].std())
    out["age"] = out["age"].clip(upper=99.0)  # the data checks allow ages up to 100
    return out


def patient_requests(
    url: str, model: str, patients: Any, requests: int, *, seed: int
) -> list[tuple[str, int]]:
    """Single-row requests of random ``patients`` (sticky: the patient is the key):
    (prediction id, true outcome) of each."""
    import httpx

    from shipyard.interfaces.cli.demo_pipeline import FEATURES, TARGET

    rows = patients[list(FEATURES)].to_dict(orient="records")
    outcomes = patients[TARGET].astype(int).tolist()
    rng = random.Random(seed)
    out = []
    with httpx.Client(timeout=30) as client:
        for _ in range(requests):
            i = rng.randrange(len(rows))
            r = client.post(
                f"{url}/models/{model}/invocations",
                json={"dataframe_records": [rows[i]]},
                headers={"x-shipyard-key": f"patient-{i}"},
            )
            r.raise_for_status()
            out.append((r.json()["prediction_id"], outcomes[i]))
    return out


def wait_for_window_end(settle: float) -> None:
    """Until the current window has ended, and ``settle`` seconds more."""
    now = time.time()
    end = (int(now) // WINDOW_S + 1) * WINDOW_S
    time.sleep(max(end - now, 0) + settle)


def _receiver(received: list[dict[str, Any]]) -> ThreadingHTTPServer:
    secret = os.environ.get(SECRET_ENV, "").encode()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            signed = hmac.compare_digest(self.headers.get("X-Shipyard-Signature", ""), want)
            received.append({"signed": signed, "body": json.loads(body or b"{}")})
            self.send_response(204 if signed else 401)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", HOOK_PORT), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _lines(model: str, report: Any, receipt: Any, received: list[dict[str, Any]]) -> list[str]:
    computed = [w for w in report.windows if w.status.value == "computed"]
    lines = [f"monitor run: {len(report.windows)} windows ({len(computed)} with enough rows)"]
    drifted = computed[-1] if computed else None  # the newest: the drifted patients
    if drifted is not None and "drift_share" in drifted.figures:
        worst = sorted(
            (k for k in drifted.figures if k.startswith("drift.")),
            key=lambda k: -drifted.figures[k],
        )[:2]
        shown = ", ".join(f"{k[6:]} {drifted.figures[k]:.2f}" for k in worst)
        lines.append(
            f"drift share {drifted.figures['drift_share']:.2f} in the newest window (most drifted: "
            f"{shown}, in reference standard deviations)"
        )
        if "estimated.roc_auc" in drifted.figures:  # from the logged probabilities, no labels
            output = drifted.figures.get("output_drift")
            lines.append(
                f"estimated AUC {drifted.figures['estimated.roc_auc']:.3f} without labels"
                + ("" if output is None else f"; the model's output drifted {output:.2f}")
            )
    accuracy = [
        w.figures["realized.accuracy"] for w in computed if "realized.accuracy" in w.figures
    ]
    if accuracy:
        lines.append(
            f"{receipt.received} delayed labels recorded: realized accuracy {accuracy[-1]:.3f}"
        )
    opened = sorted({e.rule for e in report.events if e.event == "opened"})
    signed = sum(1 for r in received if r["signed"])
    lines.append(
        f"alerts opened: {', '.join(opened) or 'none'}; {signed} signed webhook(s) received "
        f"on 127.0.0.1:{HOOK_PORT}; see /ui/monitoring/production/{model}"
    )
    return lines
