"""The HTTP API over real HTTP: auth, roles, bad input as 4xx, artifacts."""

from __future__ import annotations

import httpx

from shipyard.core.entities import Role


def _client(server, token=None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token or server.admin_token}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def test_token_auth_and_roles(live_server) -> None:
    assert httpx.get(live_server.url + "/api/v1/experiments").status_code == 401
    bad = httpx.get(
        live_server.url + "/api/v1/experiments", headers={"Authorization": "Bearer sy_nope"}
    )
    assert bad.status_code == 401 and "invalid" in bad.json()["message"]
    access = live_server.services.access
    access.add_user("vera", Role.VIEWER)
    viewer = _client(live_server, access.issue_token("vera", ttl_days=1))
    assert viewer.get("/api/v1/experiments").status_code == 200
    denied = viewer.post("/api/v1/experiments", json={"name": "x"})
    assert denied.status_code == 403 and "contributor" in denied.json()["message"]
    # an expired token is refused
    live_server.services.access.clock = lambda: 10**15
    assert viewer.get("/api/v1/experiments").status_code == 401


def test_tracking_round_trip_and_bad_input(live_server) -> None:
    c = _client(live_server)
    exp = c.post("/api/v1/experiments", json={"name": "api"}).json()["experiment"]
    run = c.post(
        "/api/v1/runs", json={"experiment_id": exp["experiment_id"], "run_name": "a"}
    ).json()["run"]
    rid = run["info"]["run_id"]
    ok = c.post(
        f"/api/v1/runs/{rid}/batch",
        json={
            "metrics": [{"key": "auc", "value": 0.9, "timestamp": 1, "step": 0}],
            "params": {"m": "rf"},
        },
    )
    assert ok.status_code == 200
    found = c.post(
        "/api/v1/runs/search",
        json={
            "experiment_ids": [exp["experiment_id"]],
            "filter": "metrics.auc > 0.5 and params.m = 'rf'",
        },
    ).json()["runs"]
    assert [r["info"]["run_id"] for r in found] == [rid]
    conflict = c.post(f"/api/v1/runs/{rid}/batch", json={"params": {"m": "gbm"}})
    assert conflict.status_code == 409 and conflict.json()["field"] == "params.m"
    wrong_type = c.post(
        f"/api/v1/runs/{rid}/batch",
        json={"metrics": [{"key": "auc", "value": "high", "timestamp": 1}]},
    )
    assert wrong_type.status_code == 400 and "metrics.auc" in wrong_type.json()["message"]
    missing = c.post("/api/v1/runs", json={"run_name": "no experiment"})
    assert missing.status_code == 400 and missing.json()["field"] == "experiment_id"
    assert c.get(f"/api/v1/runs/{'0' * 32}").status_code == 404
    syntax = c.post("/api/v1/runs/search", json={"filter": "metrics.auc >> 1"})
    assert syntax.status_code == 400 and "position" in syntax.json()["message"]
    assert c.patch(f"/api/v1/runs/{rid}", json={"status": "DONE"}).status_code == 400
    not_json = c.post(
        f"/api/v1/runs/{rid}/batch", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400


def test_artifact_upload_download_and_traversal(live_server) -> None:
    c = _client(live_server)
    exp = c.post("/api/v1/experiments", json={"name": "art"}).json()["experiment"]
    rid = c.post("/api/v1/runs", json={"experiment_id": exp["experiment_id"]}).json()["run"][
        "info"
    ]["run_id"]
    assert c.put(f"/api/v1/runs/{rid}/artifacts/model/w.bin", content=b"abc").status_code == 200
    listing = c.get(f"/api/v1/runs/{rid}/artifacts").json()["files"]
    assert listing == [{"path": "model", "is_dir": True}]
    got = c.get(f"/api/v1/runs/{rid}/artifacts/download", params={"path": "model/w.bin"})
    assert got.status_code == 200 and got.content == b"abc"
    evil = c.get(f"/api/v1/runs/{rid}/artifacts/download", params={"path": "../../etc/passwd"})
    assert evil.status_code == 400 and ".." in evil.json()["message"]
    up_evil = c.put(f"/api/v1/runs/{rid}/artifacts/%2E%2E/%2E%2E/etc/passwd", content=b"x")
    assert up_evil.status_code in (400, 404)


def test_local_mode_lets_loopback_in_without_token(local_server) -> None:
    assert httpx.get(local_server.url + "/api/v1/experiments").status_code == 200


def test_sdk_through_the_server_behaves_like_local(live_server, tmp_path) -> None:
    import json
    import os
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import json, shipyard as sy
        from shipyard.core.errors import ConflictError
        with sy.start_run(experiment="remote", run_name="r1") as run:
            sy.log_params({"model": "rf"})
            for i in range(300):
                sy.log_metric("loss", 1 / (i + 1), step=i)
            sy.log_dict({"a": 1}, "cfg/a.json")
            try:
                sy.log_param("model", "gbm")
            except ConflictError as e:
                conflict = e.field
        try:
            with sy.start_run(experiment="remote", run_name="r2"):
                sy.log_metric("loss", 5.0)
                raise ValueError("bad data")
        except ValueError:
            pass
        runs = sy.search_runs("remote", filter="metrics.loss < 1", order_by=["metrics.loss"])
        print(json.dumps({"id": run.run_id, "conflict": conflict,
                          "hist": len(sy.get_metric_history(run.run_id, "loss")),
                          "found": [r.info.run_name for r in runs]}))
        """
    )
    env = {
        **os.environ,
        "SHIPYARD_TRACKING_URI": live_server.url,
        "SHIPYARD_TOKEN": live_server.admin_token,
        "SHIPYARD_PROJECT_DIR": str(tmp_path / "client"),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout)
    assert got["conflict"] == "params.model" and got["hist"] == 300 and got["found"] == ["r1"]
    runs = live_server.services.tracking.search_runs([], "attributes.status = 'FAILED'").runs
    assert [r.info.run_name for r in runs] == ["r2"]
    assert runs[0].metric_values == {"loss": 5.0}  # sent with the status change, not lost
    assert live_server.services.tracking.list_artifacts(got["id"], "cfg")[0].path == "cfg/a.json"
    assert not (tmp_path / "client" / ".shipyard").exists()  # nothing was written locally
