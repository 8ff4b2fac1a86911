"""Rollouts under load: deploy → promote → rollback without a failed request; auto-rollback."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import httpx
from sklearn.linear_model import LogisticRegression

from tests.serving.conftest import Project, Server
from tests.serving.models import Exploding


def _body(project: Project) -> dict[str, Any]:
    return {"dataframe_split": {"columns": list(project.frame.columns),
                                "data": project.frame.head(1).values.tolist()}}  # fmt: skip


class Load:
    """Clients posting in a loop, recording (status, version) of every answer."""

    def __init__(self, server: Server, project: Project, clients: int = 4) -> None:
        self.url = server.url + "/v2/models/bc/infer"
        first = project.frame.head(1)
        self.body = {
            "inputs": [
                {"name": c, "shape": [1], "datatype": "FP64", "data": first[c].tolist()}
                for c in first.columns
            ]
        }
        self.results: list[tuple[float, int, str]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run) for _ in range(clients)]

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                try:
                    r = client.post(self.url, json=self.body)
                    version = r.json().get("model_version", "?") if r.is_success else r.text
                    self.results.append((time.monotonic(), r.status_code, version))
                except httpx.HTTPError as e:
                    self.results.append((time.monotonic(), 0, repr(e)))

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def versions_since(self, since: float) -> Counter[str]:
        return Counter(v for t, s, v in self.results if t >= since and s == 200)


def _wait_for(load: Load, since: float, want: set[str], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = load.versions_since(since)
        if set(seen) == want and sum(seen.values()) >= 20:
            return
        time.sleep(0.05)
    raise AssertionError(f"expected versions {want}, saw {load.versions_since(since)}")


def test_deploy_promote_rollback_under_load_drops_nothing(project: Project, serve: Any) -> None:
    deployments, admin = project.services.deployments, project.admin
    v1 = project.log(LogisticRegression(max_iter=3000).fit(project.frame, project.labels))
    v2 = project.log(LogisticRegression(max_iter=3000, C=0.01).fit(project.frame, project.labels))
    deployments.deploy("bc", v1.version, "staging", admin)
    server = serve("--workers", "2")  # two stateless replicas behind one port
    with Load(server, project) as load:
        time.sleep(0.5)
        _wait_for(load, time.monotonic() - 0.5, {"1"})
        deployments.deploy("bc", v2.version, "staging", admin, strategy="canary", percent=50)
        changed = time.monotonic() + 1.0  # picked up within a second
        time.sleep(1.0)
        _wait_for(load, changed, {"1", "2"})
        deployments.promote("staging", admin, percent=100)
        time.sleep(1.0)
        _wait_for(load, time.monotonic(), {"2"})
        deployments.rollback("staging", admin, reason="test")
        time.sleep(1.0)
        _wait_for(load, time.monotonic(), {"1"})
    statuses = Counter(s for _, s, _ in load.results)
    assert set(statuses) == {200}, statuses
    assert set(v for _, _, v in load.results) <= {"1", "2"}
    assert len(load.results) > 200


def test_a_failing_canary_is_rolled_back_automatically_with_its_figures(
    project: Project, serve: Any
) -> None:
    (project.path / "shipyard.toml").write_text(
        "[release.bc]\ngates = []\n"
        'deploy = { strategy = "canary", steps = [50, 100], '
        'rollback_if = "error_rate > 0.2", min_requests = 5 }\n'
    )
    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings

    services = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(project.path)}))
    admin = project.admin
    good = project.log(LogisticRegression(max_iter=3000).fit(project.frame, project.labels))
    signature = {"inputs": [[c, "float64"] for c in project.frame.columns], "output": "int64"}
    bad = services.registry.log_model(  # with a signature: it could not predict an example
        Exploding(always=True), "bc", user=admin.name, signature=signature, allow_pickle=True
    )
    services.deployments.deploy("bc", good.version, "staging", admin)
    services.deployments.deploy("bc", bad.version, "staging", admin)  # the policy: canary 50 %
    assert services.deployments.get("staging").candidate_version == bad.version
    server = serve("--allow-pickle")
    statuses = Counter()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        statuses[server.post("/invocations", _body(project)).status_code] += 1
        if services.deployments.get("staging").candidate_version is None:
            break
        time.sleep(0.01)
    current = services.deployments.get("staging")
    assert current.candidate_version is None and current.live_version == good.version
    assert statuses[500] >= 1
    event = services.deployments.history("staging", limit=1)[0]
    assert event.action == "auto_rollback" and event.actor == "shipyard-watcher"
    assert event.evidence["rule"] == "error_rate > 0.2"
    assert event.evidence["candidate"]["error_rate"] > 0.2
    entry = services.audit.log("deployment:staging/bc", limit=1)[0]
    assert entry.action == "deployment.auto_rollback"
    assert services.audit.verify().ok
    time.sleep(0.5)  # the replica polls every 0.1 s here
    after = time.monotonic()
    while time.monotonic() < after + 1:  # the live version answers everything again
        assert server.post("/invocations", _body(project)).status_code == 200
    services.close()
