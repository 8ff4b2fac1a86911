"""The stock mlflow client logs to a Shipyard server; Shipyard's SDK reads the same run back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap


def test_mlflow_client_round_trip(live_server) -> None:
    code = textwrap.dedent(
        """
        import json, mlflow
        mlflow.set_experiment("mlflow-compat")
        with mlflow.start_run(run_name="from-mlflow") as run:
            mlflow.log_param("alpha", 0.5)
            mlflow.log_params({"model": "ridge", "fit_intercept": True})
            mlflow.log_metric("rmse", 1.5, step=0)
            mlflow.log_metric("rmse", 1.25, step=1)
            mlflow.log_metrics({"r2": 0.8, "mae": 0.9})
            mlflow.set_tag("team", "risk")
            mlflow.set_tags({"stage": "dev"})
        client = mlflow.MlflowClient()
        hist = [m.value for m in client.get_metric_history(run.info.run_id, "rmse")]
        found = mlflow.search_runs(experiment_names=["mlflow-compat"],
                                   filter_string="metrics.r2 > 0.5",
                                   output_format="list")
        print(json.dumps({"run_id": run.info.run_id, "hist": hist, "found": len(found),
                          "status": client.get_run(run.info.run_id).info.status}))
        """
    )
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": live_server.url,
        "MLFLOW_TRACKING_TOKEN": live_server.admin_token,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["hist"] == [1.5, 1.25] and got["found"] == 1 and got["status"] == "FINISHED"
    run = live_server.services.tracking.get_run(got["run_id"])
    assert run.params == {"alpha": "0.5", "model": "ridge", "fit_intercept": "True"}
    assert run.metric_values == {"rmse": 1.25, "r2": 0.8, "mae": 0.9}
    assert run.tags["team"] == "risk" and run.tags["stage"] == "dev"
    assert run.info.run_name == "from-mlflow"


def test_mlflow_error_shape_for_unknown_run(live_server) -> None:
    import httpx

    r = httpx.get(
        live_server.url + "/api/2.0/mlflow/runs/get",
        params={"run_id": "f" * 32},
        headers={"Authorization": f"Bearer {live_server.admin_token}"},
    )
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_a_run_belongs_to_the_authenticated_user_whatever_user_id_claims(live_server) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {live_server.admin_token}"}
    resp = httpx.post(
        f"{live_server.url}/api/2.0/mlflow/runs/create",
        json={"user_id": "someone_else", "start_time": 1},
        headers=headers,
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    run = resp.json()["run"]
    assert run["info"]["user_id"] == "admin"
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert tags["mlflow.user"] == "someone_else"
    entry = live_server.services.audit.log(f"run:{run['info']['run_id']}")[0]
    assert entry.actor == "admin" and entry.time > 1  # the server's clock, not the client's
