"""Monitoring alerts over real HTTP: the server schedules a job per monitored model, viewers
list alerts and windows (filtered, paged), deployers acknowledge and resolve, a viewer or a
contributor may not, an unknown alert is a 404, an illegal change a 409, bad input a 400."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.core.entities import Role
from tests.interfaces.conftest import LiveServer, _serve
from tests.services.monitoring.conftest import make_world

POLICY = """
[monitor.loans]
window = "1h"
schedule = "1w"
min_rows = 2
delay = "0s"
rules = ["mean.age > 50", "missing.email > 0.2"]
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    (tmp_path / "shipyard.toml").write_text(POLICY)
    yield from _serve(tmp_path, "token")


def _call(server: LiveServer, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.request(method, server.url + path, headers=headers, timeout=10, **kw)


def test_alerts_over_http(server: LiveServer) -> None:
    svc: Any = server.services
    assert "monitor:loans" in [s.name for s in svc.jobs.scheduler.specs()]
    w = make_world(svc)
    w.log(0, [60.0, 70.0, 80.0], ["a@x", None, None])
    report = svc.monitor_runner.run(now=w.at(1))
    age, email = sorted(e.alert_id for e in report.events)
    tokens = {}
    for name, role in (("vera", Role.VIEWER), ("cody", Role.CONTRIBUTOR)):
        svc.access.add_user(name, role, actor="admin")
        tokens[name] = svc.access.issue_token(name, actor="admin")
    tokens["dora"] = svc.access.issue_token("dora", actor="admin")

    listed = _call(server, "GET", "/api/v1/monitoring/alerts", tokens["vera"], params={"limit": 1})
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["total"], [a["id"] for a in body["alerts"]]) == (2, [email])
    rest = _call(server, "GET", "/api/v1/monitoring/alerts", tokens["vera"],
                 params={"limit": 1, "cursor": body["next_cursor"]}).json()  # fmt: skip
    assert [a["id"] for a in rest["alerts"]] == [age] and rest["next_cursor"] is None
    one = _call(server, "GET", f"/api/v1/monitoring/alerts/{age}", tokens["vera"]).json()
    assert one["alert"]["rule"] == "mean.age > 50" and one["deliveries"] == []
    assert one["alert"]["figures"] == {"mean.age": 70.0}

    path = f"/api/v1/monitoring/alerts/{age}/ack"
    assert _call(server, "POST", path, tokens["vera"]).status_code == 403  # a viewer
    refused = _call(server, "POST", path, tokens["cody"], json={"reason": "mine"})
    assert refused.status_code == 403 and "deployer or higher" in refused.json()["message"]
    acked = _call(server, "POST", path, tokens["dora"], json={"reason": "on it"})
    assert acked.status_code == 200, acked.text
    assert (acked.json()["alert"]["status"], acked.json()["alert"]["acknowledged_by"]) == (
        "acknowledged", "dora",
    )  # fmt: skip
    again = _call(server, "POST", path, tokens["dora"])
    assert again.status_code == 409 and again.json()["error_code"] == "INVALID_STATE"
    done = _call(server, "POST", f"/api/v1/monitoring/alerts/{age}/resolve", tokens["dora"])
    assert done.json()["alert"]["status"] == "resolved"
    filtered = _call(server, "GET", "/api/v1/monitoring/alerts", tokens["vera"],
                     params={"status": "resolved", "model": "loans"}).json()  # fmt: skip
    assert [a["id"] for a in filtered["alerts"]] == [age]

    windows = _call(server, "GET", "/api/v1/monitoring/windows", tokens["vera"],
                    params={"model": "loans", "env": "staging"}).json()  # fmt: skip
    assert windows["total"] == 1 and windows["windows"][0]["rows"] == 3
    assert windows["windows"][0]["verdicts"] == {"mean.age > 50": True, "missing.email > 0.2": True}


def test_bad_requests(server: LiveServer) -> None:
    token = server.admin_token
    missing = _call(server, "GET", "/api/v1/monitoring/alerts/999", token)
    assert missing.status_code == 404 and missing.json()["field"] == "id"
    assert _call(server, "POST", "/api/v1/monitoring/alerts/999/ack", token).status_code == 404
    for path, params in (
        ("/api/v1/monitoring/alerts/abc", {}),
        ("/api/v1/monitoring/alerts", {"status": "closed"}),
        ("/api/v1/monitoring/alerts", {"cursor": "zzz"}),
        ("/api/v1/monitoring/windows", {"limit": 0}),
        ("/api/v1/monitoring/windows", {"env": "Prod!"}),
    ):
        answer = _call(server, "GET", path, token, params=params)
        assert answer.status_code == 400, (path, params, answer.text)
    extra = _call(server, "POST", "/api/v1/monitoring/alerts/1/ack", token, json={"why": "x"})
    assert extra.status_code == 400
