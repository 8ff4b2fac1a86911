"""``shipyard serve --auth token --rate-limit N/s`` as a real process: prediction and
metadata need a valid project token, probes stay open; a client over its limit gets 429
with Retry-After; refusals are counted apart and never as a version's requests or errors.
The default (no options) stays open, as before."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from shipyard.core.clock import now_ms
from shipyard.core.entities import Role
from shipyard.services.access import AccessService
from tests.serving.conftest import SHIPYARD, Project, Server

DAY = 86_400_000


@pytest.fixture
def deployed(project: Project) -> dict[str, Any]:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(project.frame, project.labels)
    v = project.log(model)
    project.services.deployments.deploy("bc", v.version, "staging", project.admin)
    project.services.access.add_user("vera", Role.VIEWER)
    return {"rows": project.frame.head(2).to_dict(orient="split")}


def _mlflow_body(deployed: dict[str, Any]) -> dict[str, Any]:
    split = deployed["rows"]
    return {"dataframe_split": {"columns": split["columns"], "data": split["data"]}}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _metrics(server: Server, token: str | None = None) -> dict[str, float]:
    headers = _bearer(token) if token else {}
    text = httpx.get(server.url + "/metrics", headers=headers, timeout=10).text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if not s.name.endswith(("_bucket", "_sum", "_count", "_created")):
                found[s.name] = found.get(s.name, 0.0) + s.value
    return found


def _figures(project: Project) -> tuple[int, int]:
    """Requests and errors of the deployed version as the rollback rule reads them."""
    time.sleep(0.6)  # the replica flushes every 0.2 s in tests
    figures = project.services.figures.by_version("staging", "bc", now_ms() - 600_000)
    return sum(f["requests"] for f in figures.values()), sum(f["errors"] for f in figures.values())


def test_token_auth_guards_everything_but_health(
    project: Project, serve: Any, deployed: dict[str, Any]
) -> None:
    server = serve("--auth", "token")
    good = project.services.access.issue_token("vera")
    revoked = project.services.access.issue_token("vera", name="old")
    old = project.services.access.list_tokens("vera", by=project.admin)[0]
    project.services.access.revoke_token(old.token_id, by=project.admin)
    expired = AccessService(project.services.db, clock=lambda: now_ms() - 2 * DAY).issue_token(
        "vera", ttl_days=1
    )
    body = _mlflow_body(deployed)
    for path in ("/v2/health/live", "/v2/health/ready", "/ping", "/health"):
        assert httpx.get(server.url + path, timeout=10).status_code == 200, path

    refused = 0
    for token in (None, "sy_not-a-token", revoked, expired):
        headers = _bearer(token) if token else {}
        for method, path in (
            ("POST", "/invocations?model=bc"),
            ("POST", "/v2/models/bc/infer"),
            ("GET", "/v2/models/bc"),
            ("GET", "/v2"),
            ("GET", "/metrics"),
        ):
            r = httpx.request(method, server.url + path, json=body, headers=headers, timeout=10)
            assert r.status_code == 401, (token, path, r.text)
            assert r.headers["www-authenticate"].startswith("Bearer")
            refused += 1
    assert "revoked or expired" in r.json()["message"]

    ok = httpx.post(server.url + "/invocations?model=bc", json=body, headers=_bearer(good))
    assert ok.status_code == 200 and len(ok.json()["predictions"]) == 2, ok.text
    meta = httpx.get(server.url + "/v2/models/bc", headers=_bearer(good), timeout=10)
    assert meta.status_code == 200 and meta.json()["name"] == "bc"
    figures = _metrics(server, good)
    assert figures["shipyard_unauthorized_total"] == refused
    assert figures["shipyard_requests_total"] == 1 and figures["shipyard_request_errors_total"] == 0
    assert figures["shipyard_client_errors_total"] == 0
    assert _figures(project) == (1, 0)


def test_a_revoked_token_is_refused_within_the_cache_time(
    project: Project, serve: Any, deployed: dict[str, Any]
) -> None:
    from shipyard.interfaces.serving.guard import CACHE_S

    server = serve("--auth", "token")
    token = project.services.access.issue_token("vera")
    assert httpx.get(server.url + "/v2", headers=_bearer(token), timeout=10).status_code == 200
    (record,) = project.services.access.list_tokens("vera", by=project.admin)
    project.services.access.revoke_token(record.token_id, by=project.admin)
    time.sleep(CACHE_S + 0.5)
    assert httpx.get(server.url + "/v2", headers=_bearer(token), timeout=10).status_code == 401


def test_rate_limit_per_token_with_retry_after(
    project: Project, serve: Any, deployed: dict[str, Any]
) -> None:
    server = serve("--auth", "token", "--rate-limit", "5/min")
    vera = project.services.access.issue_token("vera")
    other = project.services.access.issue_token("vera", name="other")
    body = _mlflow_body(deployed)

    def post(token: str) -> httpx.Response:
        return httpx.post(
            server.url + "/invocations?model=bc", json=body, headers=_bearer(token), timeout=10
        )

    assert [post(vera).status_code for _ in range(5)] == [200] * 5
    over = post(vera)
    assert over.status_code == 429 and over.json()["error_code"] == "RATE_LIMITED"
    assert 1 <= int(over.headers["retry-after"]) <= 12 and "5/min" in over.json()["message"]
    assert post(other).status_code == 200  # another token has its own bucket
    for _ in range(20):  # probes are never limited
        assert httpx.get(server.url + "/v2/health/ready", timeout=10).status_code == 200
    # callers without a valid token pay from their address's bucket, before any lookup
    strangers = [
        httpx.post(server.url + "/invocations", json=body, headers=_bearer(f"sy_x{i}")).status_code
        for i in range(7)
    ]
    assert strangers == [401] * 5 + [429] * 2
    figures = _metrics(server, other)
    assert figures["shipyard_rate_limited_total"] == 3
    assert figures["shipyard_unauthorized_total"] == 5
    assert figures["shipyard_requests_total"] == 6 and figures["shipyard_request_errors_total"] == 0
    assert _figures(project) == (6, 0)


def test_rate_limit_without_auth_is_per_address_and_default_stays_open(
    project: Project, serve: Any, deployed: dict[str, Any]
) -> None:
    limited = serve("--rate-limit", "3/min")
    statuses = [
        httpx.post(limited.url + "/invocations?model=bc", json=_mlflow_body(deployed)).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    default = serve()
    r = httpx.post(default.url + "/invocations?model=bc", json=_mlflow_body(deployed))
    assert r.status_code == 200  # no token needed on loopback by default, as before
    assert httpx.get(default.url + "/metrics").status_code == 200


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--auth", "basic"), "--auth"),
        (("--rate-limit", "0/s"), "--rate-limit"),
        (("--rate-limit", "ten/s"), "--rate-limit"),
        (("--rate-limit", "5/day"), "--rate-limit"),
    ],
)
def test_bad_options_are_exit_2_naming_them(
    project: Project, args: tuple[str, ...], says: str
) -> None:
    r = subprocess.run(
        [str(SHIPYARD), "serve", "--env", "staging", "--port", "1", *args],
        env=project.env(),
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 2, r.stderr
    assert says in r.stderr and "Traceback" not in r.stderr
