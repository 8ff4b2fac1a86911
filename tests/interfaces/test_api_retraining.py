"""REST of continuous training: POST /api/v1/retraining/{model} (deployer), the dry run,
GET the runs; bad input is a clear 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.core.entities import Role
from tests.interfaces.conftest import LiveServer, _serve
from tests.services.retraining.conftest import MODEL, TOML, seed


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # the tests' pipeline module
    (tmp_path / "shipyard.toml").write_text(TOML, encoding="utf-8")
    yield from _serve(tmp_path, "token")


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_retraining_over_rest(server: LiveServer) -> None:
    svc = server.services
    seed(svc)  # type: ignore[arg-type]
    svc.access.add_user("dora", Role.DEPLOYER, actor="admin")  # type: ignore[attr-defined]
    svc.access.add_user("vic", Role.VIEWER, actor="admin")  # type: ignore[attr-defined]
    dora = _auth(svc.access.issue_token("dora", actor="admin"))  # type: ignore[attr-defined]
    vic = _auth(svc.access.issue_token("vic", actor="admin"))  # type: ignore[attr-defined]
    url = f"{server.url}/api/v1/retraining"

    denied = httpx.post(f"{url}/{MODEL}", headers=vic, json={}, timeout=60)
    assert denied.status_code == 403
    plan = httpx.post(f"{url}/{MODEL}", headers=dora, json={"dry_run": True}, timeout=60)
    assert plan.status_code == 200, plan.text
    assert plan.json()["plan"]["would_run"] is True
    assert httpx.get(url, headers=vic, timeout=30).json()["total"] == 0

    done = httpx.post(f"{url}/{MODEL}", headers=dora, json={}, timeout=300)
    assert done.status_code == 200, done.text
    run = done.json()["run"]
    assert done.json()["event"] == "started" and run["state"] == "deployed"
    assert run["trigger"] == {"kind": "api", "user": "dora"} and run["version"] == 2
    assert (run["outcome"], run["follow_up"]) == (None, None)  # no alert triggered it

    listed = httpx.get(f"{url}/{MODEL}", headers=vic, timeout=30).json()
    assert listed["total"] == 1 and listed["runs"][0]["id"] == run["id"]

    nothing = httpx.post(f"{url}/{MODEL}", headers=dora, json={"resume": True}, timeout=60)
    assert nothing.status_code == 409 and "nothing of loans to resume" in nothing.text
    unknown = httpx.post(f"{url}/nope", headers=dora, json={}, timeout=60)
    assert unknown.status_code == 404 and "[retrain.nope]" in unknown.text
    assert httpx.get(f"{url}/nope", headers=vic, timeout=30).status_code == 404
    bad = httpx.post(f"{url}/{MODEL}", headers=dora, json={"dry_run": "yes"}, timeout=60)
    assert bad.status_code == 400 and "dry_run" in bad.text
    extra = httpx.post(f"{url}/{MODEL}", headers=dora, json={"force": True}, timeout=60)
    assert extra.status_code == 400 and "force" in extra.text
    paged = httpx.get(url, headers=vic, params={"limit": 0}, timeout=30)
    assert paged.status_code == 400 and "limit" in paged.text
