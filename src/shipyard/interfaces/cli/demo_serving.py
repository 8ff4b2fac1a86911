"""The sample project's rollout: v1 live in production, an approved challenger as a canary,
served by a local ``shipyard serve`` process that gets a short run of simulated traffic."""

from __future__ import annotations

import atexit
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["DEPLOYER", "SERVE_PORT", "rollout", "serve_url"]

DEPLOYER = "dave"
SERVE_PORT = 8081


def rollout(services: Any, model: str, champion: Any, challenger: Any, holdout: Any) -> list[str]:
    """Deploy, start serving, send traffic; lines to print. Leaves the server running."""
    from shipyard.core.entities import Role
    from shipyard.core.errors import NotFoundError

    try:
        deployer = services.access.get_user(DEPLOYER)
    except NotFoundError:
        deployer = services.access.add_user(DEPLOYER, Role.DEPLOYER, actor="demo")
    deployments = services.deployments
    deployments.deploy(model, champion.version, "production", deployer, reason="first release")
    lines = [f"{champion.ref} deployed to [bold]production[/] by {DEPLOYER}"]
    if challenger is not None:
        canary = deployments.deploy(
            model, challenger.version, "production", deployer, reason="challenger"
        )
        lines.append(
            f"{challenger.ref} rolling out as a {canary.strategy.value} "
            f"({canary.traffic}% of traffic, auto-rollback on the policy's rule)"
        )
    url = _start_server(services.settings.project_dir)
    counts = _traffic(url, model, holdout)
    time.sleep(2.5)  # the server flushes its figures every 2 s
    split = ", ".join(f"v{v} {n}" for v, n in sorted(counts.items()))
    lines.append(
        f"`shipyard serve --env production` on {url}: {sum(counts.values())} simulated "
        f"requests answered ({split}); live figures: /ui/environments/production"
    )
    return lines


def serve_url() -> str:
    """Where the demo's ``shipyard serve`` listens (``SHIPYARD_DEMO_SERVE_PORT`` or 8081)."""
    return f"http://127.0.0.1:{int(os.environ.get('SHIPYARD_DEMO_SERVE_PORT', SERVE_PORT))}"


def _start_server(project: Path) -> str:
    import httpx

    url = serve_url()
    port = int(url.rsplit(":", 1)[1])
    exe = Path(sys.executable).with_name("shipyard")
    process = subprocess.Popen(
        [str(exe), "serve", "--env", "production", "--port", str(port)],
        env={**os.environ, "SHIPYARD_PROJECT_DIR": str(project)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(_stop, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"shipyard serve exited early (is port {port} taken?)")
        try:
            if httpx.get(url + "/v2/health/ready", timeout=1).status_code == 200:
                return url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("shipyard serve did not become ready within 60 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def _traffic(url: str, model: str, holdout: Any, requests: int = 300) -> dict[str, int]:
    """Single-row requests from simulated patients (sticky: the patient id is the key)."""
    import httpx

    from shipyard.interfaces.cli.demo_pipeline import FEATURES

    rows = holdout[list(FEATURES)].to_dict(orient="records")
    rng = random.Random(7)
    counts: dict[str, int] = {}
    with httpx.Client(timeout=10) as client:
        for i in range(requests):
            patient = rng.randrange(len(rows))
            r = client.post(
                f"{url}/models/{model}/invocations",
                json={"dataframe_records": [rows[patient]]},
                headers={"x-shipyard-key": f"patient-{patient}"},
            )
            r.raise_for_status()
            version = r.headers.get("x-shipyard-version", "?")
            counts[version] = counts.get(version, 0) + 1
            if i % 50 == 49:
                time.sleep(0.3)  # spread over a few seconds for the charts
    return counts
