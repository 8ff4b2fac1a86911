"""The stock mlflow client logs, registers, aliases and loads models on a Shipyard server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import httpx


def _client(live_server, code: str) -> dict:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": live_server.url,
        "MLFLOW_TRACKING_TOKEN": live_server.admin_token,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


_LOG_AND_LOAD = """
    import json
    import mlflow, mlflow.sklearn
    import numpy as np, pandas as pd
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"income": rng.normal(50, 10, 200), "debt": rng.normal(10, 3, 200)})
    y = (X["income"] - 3 * X["debt"] > 20).astype(int)
    model = LogisticRegression().fit(X, y)

    mlflow.set_experiment("loans-exp")
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name="loans", input_example=X.head(5)
        )
        mlflow.log_text("hello", "notes/readme.txt")  # a run artifact, through the proxy
    readme = open(mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="notes/readme.txt")).read()
    v2 = mlflow.register_model(f"runs:/{run.info.run_id}/model", "loans")
    copy = mlflow.register_model(f"models:/{info.model_id}", "loans-copy")
    by_model_id = len(mlflow.pyfunc.load_model(f"models:/{info.model_id}").predict(X))
    client = MlflowClient()
    client.set_registered_model_alias("loans", "champion", 1)
    loaded = mlflow.sklearn.load_model("models:/loans@champion")
    same = bool((loaded.predict(X) == model.predict(X)).all())
    by_version = mlflow.pyfunc.load_model("models:/loans/1").predict(X)

    rm = client.get_registered_model("loans")
    mv = client.get_model_version("loans", "1")
    by_alias = client.get_model_version_by_alias("loans", "champion")
    found_models = [m.name for m in client.search_registered_models(filter_string="name='loans'")]
    like_models = [m.name for m in client.search_registered_models(filter_string="name LIKE 'lo%'")]
    found_versions = [v.version for v in client.search_model_versions("name='loans'")]
    lm = client.get_logged_model(info.model_id)
    lms = [m.model_id for m in mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id], output_format="list")]
    uri = client.get_model_version_download_uri("loans", "1")

    errors = {}
    for label, call in {
        "get_unknown": lambda: client.get_registered_model("nope"),
        "alias_unknown": lambda: client.get_model_version_by_alias("loans", "nobody"),
        "version_unknown": lambda: client.get_model_version("loans", "9"),
        "create_twice": lambda: client.create_registered_model("loans"),
    }.items():
        try:
            call()
            errors[label] = None
        except MlflowException as e:
            errors[label] = e.error_code

    client.create_registered_model("scratch", description="tmp")
    client.update_registered_model("scratch", description="changed")
    scratch_description = client.get_registered_model("scratch").description
    client.delete_registered_model("scratch")
    client.set_registered_model_alias("loans", "challenger", 1)
    client.delete_registered_model_alias("loans", "challenger")

    print(json.dumps({
        "same": same,
        "readme": readme,
        "v2": v2.version,
        "copy": [copy.name, copy.version],
        "by_model_id": by_model_id,
        "by_version": len(by_version),
        "model_id": info.model_id,
        "registered_version": info.registered_model_version,
        "run_id": run.info.run_id,
        "rm_aliases": rm.aliases,
        "rm_latest": [v.version for v in rm.latest_versions],
        "mv": [mv.status, mv.source, mv.run_id],
        "by_alias": by_alias.version,
        "found_models": found_models,
        "like_models": like_models,
        "found_versions": found_versions,
        "lm": [lm.status.name, lm.source_run_id, lm.name, lm.artifact_location],
        "lms": lms,
        "uri": uri,
        "errors": errors,
        "scratch_description": scratch_description,
        "aliases_after": client.get_registered_model("loans").aliases,
    }))
"""


def test_log_register_alias_load_with_the_mlflow_client(live_server) -> None:
    got = _client(live_server, _LOG_AND_LOAD)
    services = live_server.services

    assert got["same"] is True and got["by_version"] == 200 and got["by_model_id"] == 200
    assert got["registered_version"] == 1 or got["registered_version"] == "1"
    assert got["readme"] == "hello"
    assert [a.path for a in services.tracking.all_artifacts(got["run_id"])] == ["notes/readme.txt"]
    assert str(got["v2"]) == "2" and got["copy"] == ["loans-copy", "1"]
    version, second = services.registry.versions("loans")
    assert second.content_id == version.content_id and second.run_id == got["run_id"]
    assert version.version == 1 and version.flavor == "mlflow"
    assert version.status.value == "candidate" and version.run_id == got["run_id"]
    assert version.aliases == ("champion",)
    assert [c for c, _ in version.signature.inputs] == ["income", "debt"]
    paths = {f["path"] for f in version.package["files"]}
    assert {"MLmodel", "model.skops", "requirements.txt", "input_example.json"} <= paths
    # every file is in the content store, and the content id names the file list
    for f in version.package["files"]:
        assert services.registry.blobs.exists(f["digest"])
    assert version.content_id == version.package["file"]["digest"]

    assert got["rm_aliases"] == {"champion": "1"} and got["rm_latest"] == ["2"]
    assert got["mv"] == ["READY", f"models:/{got['model_id']}", got["run_id"]]
    raw = httpx.get(
        live_server.url + "/api/2.0/mlflow/model-versions/get",
        params={"name": "loans", "version": "1"},
        headers={"Authorization": f"Bearer {live_server.admin_token}"},
    ).json()["model_version"]
    assert raw["model_id"] == got["model_id"]  # the 3.x client does not read it back yet
    assert {"key": "shipyard.status", "value": "candidate"} in raw["tags"]
    assert got["by_alias"] == "1"
    assert got["found_models"] == ["loans"] and got["like_models"] == ["loans", "loans-copy"]
    assert got["found_versions"] == ["2", "1"]
    assert got["lm"][:3] == ["READY", got["run_id"], "model"]
    assert got["lm"][3] == f"mlflow-artifacts:/models/{got['model_id']}/artifacts"
    assert got["lms"] == [got["model_id"]]
    assert got["uri"] == "mlflow-artifacts:/registry/loans/1"
    assert got["errors"] == {
        "get_unknown": "RESOURCE_DOES_NOT_EXIST",
        "alias_unknown": "RESOURCE_DOES_NOT_EXIST",
        "version_unknown": "RESOURCE_DOES_NOT_EXIST",
        "create_twice": "RESOURCE_ALREADY_EXISTS",
    }
    assert got["scratch_description"] == "changed"
    assert got["aliases_after"] == {"champion": "1"}

    # the alias moves are audited, with who made them
    entries = services.audit.log("model:loans")
    moves = [json.loads(e.payload) for e in entries if e.action == "model.alias"]
    assert {"alias": "champion", "from": None, "to": 1} in moves
    assert {"alias": "challenger", "from": 1, "to": None} in moves
    actions = [e.action for e in entries]
    assert "model.version.create" in actions and "model.create" in actions
    assert all(e.actor == "admin" for e in entries)


def test_bad_input_is_refused_in_mlflow_error_shape(live_server) -> None:
    headers = {"Authorization": f"Bearer {live_server.admin_token}"}
    api = live_server.url + "/api/2.0/mlflow"
    r = httpx.get(api + "/registered-models/get", params={"name": "nope"}, headers=headers)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    r = httpx.post(
        api + "/model-versions/create",
        json={"name": "nope", "source": "models:/m-" + "0" * 32},
        headers=headers,
    )
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    r = httpx.get(api + "/logged-models/m-" + "a" * 32, headers=headers)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    arts = live_server.url + "/api/2.0/mlflow-artifacts/artifacts"
    model = httpx.post(
        api + "/logged-models", json={"experiment_id": "0", "name": "m"}, headers=headers
    ).json()["model"]["info"]
    base = f"{arts}/models/{model['model_id']}/artifacts"
    ok = httpx.put(base + "/dir/a.txt", content=b"hello", headers=headers)
    assert ok.status_code == 200, ok.text
    assert httpx.get(base + "/dir/a.txt", headers=headers).content == b"hello"
    listed = httpx.get(
        arts, params={"path": f"models/{model['model_id']}/artifacts"}, headers=headers
    ).json()
    assert listed == {"files": [{"path": "dir", "is_dir": True}]}

    for bad in (f"{base}/%2E%2E/%2E%2E/x.txt", f"{base}/dir/..%2F..%2Fx.txt"):
        r = httpx.put(bad, content=b"x", headers=headers)
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", bad
    r = httpx.get(arts, params={"path": f"models/{model['model_id']}/../x"}, headers=headers)
    assert r.status_code == 400
    r = httpx.put(f"{arts}/elsewhere/x.txt", content=b"x", headers=headers)
    assert r.status_code == 400
    r = httpx.put(f"{arts}/registry/loans/1/MLmodel", content=b"x", headers=headers)
    assert r.status_code in (400, 404)

    # no token, no upload
    r = httpx.put(base + "/b.txt", content=b"x")
    assert r.status_code == 401

    # a deleted logged model is gone unless asked for
    url = f"{api}/logged-models/{model['model_id']}"
    assert httpx.delete(url, headers=headers).status_code == 200
    assert httpx.get(url, headers=headers).status_code == 404
    r = httpx.get(url, params={"allow_deleted": "true"}, headers=headers)
    assert r.status_code == 200 and r.json()["model"]["info"]["model_id"] == model["model_id"]


def test_model_rename_and_tags_through_the_registry_service(live_server) -> None:
    headers = {"Authorization": f"Bearer {live_server.admin_token}"}
    api = live_server.url + "/api/2.0/mlflow/registered-models"

    def call(method: str, path: str, body: dict) -> httpx.Response:
        return httpx.request(method, api + path, json=body, headers=headers)

    assert call("POST", "/create", {"name": "draft"}).status_code == 200
    r = call("POST", "/rename", {"name": "draft", "new_name": "fraud"})
    assert r.status_code == 200 and r.json()["registered_model"]["name"] == "fraud"
    assert call("POST", "/set-tag", {"name": "fraud", "key": "team", "value": "risk"}).json() == {}
    got = httpx.get(api + "/get", params={"name": "fraud"}, headers=headers).json()
    assert got["registered_model"]["tags"] == [{"key": "team", "value": "risk"}]
    assert call("DELETE", "/delete-tag", {"name": "fraud", "key": "team"}).json() == {}
    r = call("DELETE", "/delete-tag", {"name": "fraud", "key": "team"})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    r = call("POST", "/rename", {"name": "fraud", "new_name": "bad name"})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = call("POST", "/rename", {"name": "nope", "new_name": "other"})
    assert r.status_code == 404

    actions = [e.action for e in live_server.services.audit.log("model:fraud")]
    assert actions == ["model.tag.delete", "model.tag.set", "model.rename"]
    assert live_server.services.audit.verify().ok
