"""The data catalog over real HTTP: search, inspect, download, diff, validate, aliases, lineage."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pandas as pd
import pytest

from shipyard.core.entities import Role

AGES = [25, 40, 61, 33]
CHECKS_PASS = {"columns": {"age": {"type": "int", "min": 18}}, "row_count": {"min": 1}}
CHECKS_FAIL = {"columns": {"age": {"type": "int", "min": 30}}, "row_count": {"min": 10}}


def _client(server, token=None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token or server.admin_token}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def _frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": AGES[:rows],
            "income": [52_000.0, 61_500.5, 48_250.0, 75_000.0][:rows],
            "region": ["north", "south", "east", "west"][:rows],
        }
    )


@pytest.fixture
def catalog_server(live_server, tmp_path: Path):
    """``loans`` (table, v1 and v2) and ``images`` (folder, v1 and v2), registered by alice."""
    catalog = live_server.services.catalog
    meta = {"description": "Consumer loan applications", "tags": {"domain": "credit"}}
    catalog.register("loans", _frame(3), pii={}, user="alice", **meta)
    catalog.register("loans", _frame(4), pii={}, user="alice")
    folder = tmp_path / "src-images"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha")
    (folder / "sub" / "b.bin").write_bytes(b"\x00\x01bravo")
    (folder / "sub" / "c.bin").write_bytes(b"charlie")
    catalog.register("images", folder, description="scanned forms", user="bob")
    (folder / "sub" / "c.bin").write_bytes(b"charlie, retaken")
    (folder / "d.txt").write_text("delta")
    catalog.register("images", folder, user="bob")
    return live_server


def _new_run(c: httpx.Client) -> str:
    exp = c.post("/api/v1/experiments", json={"name": "train"}).json()["experiment"]
    run = c.post("/api/v1/runs", json={"experiment_id": exp["experiment_id"]}).json()["run"]
    return run["info"]["run_id"]


def _names(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [d["name"] for d in resp.json()["datasets"]]


# ---------------------------------------------------------------------------- reading


def test_search_by_name_description_owner_tag_and_column(catalog_server) -> None:
    c = _client(catalog_server)
    assert _names(c.get("/api/v1/datasets")) == ["images", "loans"]
    assert _names(c.get("/api/v1/datasets", params={"q": "LOAN"})) == ["loans"]  # name
    assert _names(c.get("/api/v1/datasets", params={"q": "consumer"})) == ["loans"]  # description
    assert _names(c.get("/api/v1/datasets", params={"q": "bob"})) == ["images"]  # owner
    assert _names(c.get("/api/v1/datasets", params={"q": "credit"})) == ["loans"]  # tag value
    assert _names(c.get("/api/v1/datasets", params={"q": "income"})) == ["loans"]  # column
    assert _names(c.get("/api/v1/datasets", params={"q": "nothing-like-it"})) == []
    assert _names(c.get("/api/v1/datasets", params={"limit": 1})) == ["images"]
    assert _names(c.get("/api/v1/datasets", params={"limit": 1, "offset": 1})) == ["loans"]
    shown = c.get("/api/v1/datasets", params={"q": "loans"}).json()["datasets"][0]
    assert shown["latest_version"] == 2 and shown["tags"] == {"domain": "credit"}


def test_datasets_page_with_a_cursor_and_a_total(catalog_server) -> None:
    c = _client(catalog_server)
    first = c.get("/api/v1/datasets", params={"limit": 1}).json()
    assert [d["name"] for d in first["datasets"]] == ["images"] and first["total"] == 2
    rest = c.get("/api/v1/datasets", params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [d["name"] for d in rest["datasets"]] == ["loans"] and rest["next_cursor"] is None
    assert c.get("/api/v1/datasets", params={"q": "credit"}).json()["total"] == 1
    bad = c.get("/api/v1/datasets", params={"cursor": "garbage"})
    assert bad.status_code == 400 and bad.json()["field"] == "cursor"


def test_show_dataset_and_resolve_versions(catalog_server) -> None:
    c = _client(catalog_server)
    body = c.get("/api/v1/datasets/loans").json()
    assert body["dataset"]["name"] == "loans" and body["dataset"]["owner"] == "alice"
    assert [v["version"] for v in body["versions"]] == [2, 1]
    v2 = body["versions"][0]
    assert v2["kind"] == "table" and v2["row_count"] == 4 and v2["ref"] == "loans@v2"
    assert [col["name"] for col in v2["schema"]] == ["age", "income", "region"]

    def version(spec: str) -> int:
        resp = c.get(f"/api/v1/datasets/loans/versions/{spec}")
        assert resp.status_code == 200, resp.text
        return resp.json()["version"]["version"]

    assert version("v1") == 1 and version("1") == 1 and version("latest") == 2
    moved = c.put("/api/v1/datasets/loans/aliases/training", json={"version": "v1"})
    assert moved.status_code == 200 and moved.json()["version"]["aliases"] == ["training"]
    assert version("training") == 1


def test_alias_moves_between_versions(catalog_server) -> None:
    c = _client(catalog_server)
    assert c.put("/api/v1/datasets/loans/aliases/prod", json={"version": "1"}).status_code == 200
    moved = c.put("/api/v1/datasets/loans/aliases/prod", json={"version": "latest"})
    assert moved.status_code == 200 and moved.json()["version"]["version"] == 2
    assert c.get("/api/v1/datasets/loans").json()["dataset"]["aliases"] == {"prod": 2}
    v1 = c.get("/api/v1/datasets/loans/versions/v1").json()["version"]
    assert v1["aliases"] == []


def test_folder_files_full_and_partial(catalog_server) -> None:
    c = _client(catalog_server)
    files = c.get("/api/v1/datasets/images/versions/v2/files").json()["files"]
    assert [(f["path"], f["size"]) for f in files] == [
        ("a.txt", 5),
        ("d.txt", 5),
        ("sub/b.bin", 7),
        ("sub/c.bin", 16),
    ]
    assert all(f["digest"].startswith("blake3:") for f in files)
    sub = c.get("/api/v1/datasets/images/versions/1/files", params={"path": "sub/"}).json()
    assert [f["path"] for f in sub["files"]] == ["sub/b.bin", "sub/c.bin"]
    one = c.get("/api/v1/datasets/images/versions/v1/files", params={"path": "sub/c.bin"})
    assert [f["size"] for f in one.json()["files"]] == [7]


def test_download_folder_file_and_table_parquet(catalog_server) -> None:
    c = _client(catalog_server)
    got = c.get("/api/v1/datasets/images/versions/v2/download", params={"path": "sub/c.bin"})
    assert got.status_code == 200 and got.content == b"charlie, retaken"
    assert 'filename="c.bin"' in got.headers["content-disposition"]
    old = c.get("/api/v1/datasets/images/versions/v1/download", params={"path": "sub/c.bin"})
    assert old.content == b"charlie"

    table = c.get("/api/v1/datasets/loans/versions/latest/download")
    assert table.status_code == 200, table.text
    assert 'filename="loans-v2.parquet"' in table.headers["content-disposition"]
    frame = pd.read_parquet(io.BytesIO(table.content))
    pd.testing.assert_frame_equal(frame, _frame(4), check_dtype=False)
    version = c.get("/api/v1/datasets/loans/versions/v2").json()["version"]
    assert table.headers["etag"] == version["object_digest"]


def test_download_file_with_a_non_ascii_name(live_server, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / '数据 "q".csv').write_text("x,y\n1,2\n")
    live_server.services.catalog.register("docs", folder, user="alice")
    got = _client(live_server).get(
        "/api/v1/datasets/docs/versions/v1/download", params={"path": '数据 "q".csv'}
    )
    assert got.status_code == 200 and got.content == b"x,y\n1,2\n"
    assert got.headers["content-disposition"] == 'attachment; filename="__ _q_.csv"'


def test_diff_tables_and_folders(catalog_server) -> None:
    c = _client(catalog_server)
    tables = c.get("/api/v1/datasets/diff", params={"old": "loans@v1", "new": "loans@latest"})
    assert tables.status_code == 200, tables.text
    body = tables.json()
    assert body["old"] == "loans@v1" and body["new"] == "loans@v2" and not body["identical"]
    assert body == catalog_server.services.catalog.diff("loans@v1", "loans@v2")
    folders = c.get("/api/v1/datasets/diff", params={"old": "images@1", "new": "images@2"})
    assert folders.json()["counts"]["added"] == 1 and folders.json()["counts"]["changed"] == 1
    same = c.get("/api/v1/datasets/diff", params={"old": "loans@v2", "new": "loans"}).json()
    assert same["identical"] is True


def test_validate_pass_fail_and_project_checks(catalog_server) -> None:
    c = _client(catalog_server)
    url = "/api/v1/datasets/loans/versions/v2/validate"
    ok = c.post(url, json={"checks": CHECKS_PASS})
    assert ok.status_code == 200, ok.text
    assert ok.json()["passed"] is True and ok.json()["report"]["spec"] == CHECKS_PASS
    bad = c.post(url, json={"checks": CHECKS_FAIL})
    assert bad.status_code == 200 and bad.json()["passed"] is False
    assert bad.json()["report"]["failures"]
    evidence = c.get("/api/v1/datasets/loans/versions/v2").json()["version"]["validation"]
    assert evidence["passed"] is False and evidence["created_by"] == "admin"

    # no body: the project's [data.loans.checks]
    services = catalog_server.services
    services.settings = dataclasses.replace(
        services.settings, data={"loans": {"checks": CHECKS_PASS}}
    )
    default = c.post("/api/v1/datasets/loans/versions/training/validate")
    assert default.status_code == 404  # no such alias yet
    default = c.post("/api/v1/datasets/loans/versions/v1/validate")
    assert default.status_code == 200 and default.json()["passed"] is True


# ---------------------------------------------------------------------------- lineage


def test_run_inputs_and_lineage_both_ways(catalog_server) -> None:
    c = _client(catalog_server)
    rid = _new_run(c)
    c.put("/api/v1/datasets/loans/aliases/training", json={"version": "v2"})
    linked = c.post(
        f"/api/v1/runs/{rid}/inputs", json={"dataset": "loans@training", "context": "training"}
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["version"]["ref"] == "loans@v2"  # the alias is resolved now
    images = c.post(f"/api/v1/runs/{rid}/inputs", json={"dataset": "images@v1"})
    assert images.status_code == 200

    down = c.get("/api/v1/lineage/dataset:loans@v2").json()
    assert down["root"] == "dataset:loans@v2"
    assert down["edges"] == [
        {
            "source": "dataset:loans@v2",
            "target": f"run:{rid}",
            "relation": "training",
            "direction": "downstream",
        }
    ]
    assert c.get("/api/v1/lineage/loans@v2").json() == down  # the "dataset:" prefix is optional
    assert c.get("/api/v1/lineage/dataset:loans@v1").json()["edges"] == []

    up = c.get(f"/api/v1/lineage/run:{rid}").json()
    assert up["root"] == f"run:{rid}"
    assert {(e["source"], e["relation"], e["direction"]) for e in up["edges"]} == {
        ("dataset:images@v1", "input", "upstream"),
        ("dataset:loans@v2", "training", "upstream"),
    }
    assert {n["id"] for n in up["nodes"]} == {f"run:{rid}", "dataset:images@v1", "dataset:loans@v2"}
    assert c.get(f"/api/v1/lineage/{rid}").json() == up  # a bare run id is a run


def test_mlflow_log_inputs_records_catalog_datasets(catalog_server) -> None:
    c = _client(catalog_server)
    rid = _new_run(c)
    images_v1 = c.get("/api/v1/datasets/images/versions/v1").json()["version"]["content_id"]

    def log_inputs(*datasets: dict) -> httpx.Response:
        return c.post(
            "/api/2.0/mlflow/runs/log-inputs", json={"run_id": rid, "datasets": list(datasets)}
        )

    context = [{"key": "mlflow.data.context", "value": "eval"}]
    resp = log_inputs(
        {"dataset": {"name": "loans@v1", "digest": "abc123"}, "tags": context},
        {"dataset": {"name": "images", "digest": images_v1}},
        {"dataset": {"name": "loans", "digest": "abc123"}},  # a digest no version has
        {"dataset": {"name": "loans@v9", "digest": "x"}},  # no such version
        {"dataset": {"name": "s3://bucket/some file.csv", "digest": "d"}},  # not ours at all
        {"dataset": {"name": "unknown-set", "digest": "d"}},
        {"dataset": {"name": "bad@@ref"}},
        {"dataset": {"digest": "no name"}},
    )
    assert resp.status_code == 200 and resp.json() == {}
    inputs = catalog_server.services.catalog.inputs_of_run(rid)
    assert [(i.ref, i.context) for i in inputs] == [("images@v1", "input"), ("loans@v1", "eval")]
    assert log_inputs().status_code == 200
    missing_run = c.post(
        "/api/2.0/mlflow/runs/log-inputs", json={"run_id": "0" * 32, "datasets": []}
    )
    assert missing_run.status_code == 404


def test_stock_mlflow_client_log_input_links_the_version(catalog_server) -> None:
    code = textwrap.dedent(
        """
        import json, mlflow, pandas as pd
        mlflow.set_experiment("lineage")
        with mlflow.start_run() as run:
            df = pd.DataFrame({"age": [30]})
            mlflow.log_input(mlflow.data.from_pandas(df, name="loans@v2"), context="training")
            mlflow.log_input(mlflow.data.from_pandas(df, name="elsewhere"), context="eval")
        print(json.dumps({"run_id": run.info.run_id}))
        """
    )
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": catalog_server.url,
        "MLFLOW_TRACKING_TOKEN": catalog_server.admin_token,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr[-3000:]
    run_id = __import__("json").loads(out.stdout.strip().splitlines()[-1])["run_id"]
    inputs = catalog_server.services.catalog.inputs_of_run(run_id)
    assert [(i.ref, i.context) for i in inputs] == [("loans@v2", "training")]


# ---------------------------------------------------------------------------- auth


def test_token_required_and_viewer_cannot_write(catalog_server) -> None:
    url = catalog_server.url
    assert httpx.get(url + "/api/v1/datasets").status_code == 401
    assert httpx.get(url + "/api/v1/datasets/loans/versions/v1/download").status_code == 401
    assert httpx.get(url + "/api/v1/lineage/loans@v1").status_code == 401
    access = catalog_server.services.access
    access.add_user("vera", Role.VIEWER)
    viewer = _client(catalog_server, access.issue_token("vera", ttl_days=1))
    assert viewer.get("/api/v1/datasets/loans").status_code == 200
    assert viewer.get("/api/v1/datasets/loans/versions/v1/download").status_code == 200
    writes = [
        viewer.post("/api/v1/datasets/loans/versions/v1/validate", json={"checks": CHECKS_PASS}),
        viewer.put("/api/v1/datasets/loans/aliases/prod", json={"version": "v1"}),
        viewer.post(f"/api/v1/runs/{'0' * 32}/inputs", json={"dataset": "loans@v1"}),
    ]
    for denied in writes:
        assert denied.status_code == 403 and "contributor" in denied.json()["message"]
    assert catalog_server.services.catalog.get_version("loans@v1").validation is None


# ---------------------------------------------------------------------------- bad input

NO_RUN = "0" * 32
BAD_INPUT = [
    # unknown things: 404
    ("GET", "/api/v1/datasets/nope", None, None, 404, "dataset"),
    ("GET", "/api/v1/datasets/loans/versions/v9", None, None, 404, "dataset"),
    ("GET", "/api/v1/datasets/loans/versions/prod", None, None, 404, "dataset"),
    ("GET", "/api/v1/datasets/nope/versions/v1/files", None, None, 404, "dataset"),
    ("GET", "/api/v1/datasets/diff", {"old": "loans@v1", "new": "loans@v7"}, None, 404, "dataset"),
    ("PUT", "/api/v1/datasets/loans/aliases/prod", None, {"version": "v9"}, 404, "dataset"),
    ("POST", f"/api/v1/runs/{NO_RUN}/inputs", None, {"dataset": "loans@v1"}, 404, "run_id"),
    ("GET", f"/api/v1/lineage/run:{NO_RUN}", None, None, 404, "run_id"),
    ("GET", "/api/v1/lineage/dataset:nope@v1", None, None, 404, "dataset"),
    # malformed names and references: 400
    ("GET", "/api/v1/datasets/%2E%2E", None, None, 400, "name"),
    ("GET", "/api/v1/datasets/%2E%2E/versions/v1", None, None, 400, "name"),
    ("GET", "/api/v1/datasets/loans/versions/@x", None, None, 400, "version"),
    ("GET", "/api/v1/datasets/loans/versions/v0", None, None, 400, "version"),
    ("GET", "/api/v1/datasets/loans/versions/%2E%2E", None, None, 400, "version"),
    ("GET", "/api/v1/datasets/diff", {"old": "loans@@x", "new": "loans@v1"}, None, 400, "old"),
    ("GET", "/api/v1/datasets/diff", {"old": "loans@v1", "new": "../etc"}, None, 400, "new"),
    ("GET", "/api/v1/datasets/diff", {"old": "loans@v1"}, None, 400, "new"),
    ("GET", "/api/v1/lineage/dataset:loans@@x", None, None, 400, "dataset"),
    ("GET", "/api/v1/lineage/dataset:../etc", None, None, 400, "dataset"),
    ("GET", "/api/v1/lineage/model:m1", None, None, 400, "object"),
    ("GET", "/api/v1/lineage/run:not-a-run", None, None, 400, "run_id"),
    ("POST", f"/api/v1/runs/{NO_RUN}/inputs", None, {"dataset": "loans@@x"}, 400, "dataset"),
    ("POST", f"/api/v1/runs/{NO_RUN}/inputs", None, {"dataset": "../etc"}, 400, "dataset"),
    ("POST", f"/api/v1/runs/{NO_RUN}/inputs", None, {}, 400, "dataset"),
    ("POST", "/api/v1/runs/nope/inputs", None, {"dataset": "loans@v1"}, 400, "run_id"),
    ("PUT", "/api/v1/datasets/loans/aliases/v3", None, {"version": "v1"}, 400, "alias"),
    ("PUT", "/api/v1/datasets/loans/aliases/latest", None, {"version": "v1"}, 400, "alias"),
    ("PUT", "/api/v1/datasets/loans/aliases/prod", None, {"version": "@@"}, 400, "version"),
    ("PUT", "/api/v1/datasets/loans/aliases/prod", None, {}, 400, "version"),
    # paging
    ("GET", "/api/v1/datasets", {"limit": 0}, None, 400, "limit"),
    ("GET", "/api/v1/datasets", {"limit": 10_001}, None, 400, "limit"),
    ("GET", "/api/v1/datasets", {"limit": "ten"}, None, 400, "limit"),
    ("GET", "/api/v1/datasets", {"offset": -1}, None, 400, "offset"),
    # wrong kind of dataset, bad paths
    ("GET", "/api/v1/datasets/diff", {"old": "loans@v1", "new": "images@v1"}, None, 400, "dataset"),
    ("GET", "/api/v1/datasets/loans/versions/v1/files", None, None, 400, "dataset"),
    ("GET", "/api/v1/datasets/images/versions/v1/files", {"path": "../etc"}, None, 400, "path"),
    ("GET", "/api/v1/datasets/images/versions/v1/files", {"path": "zzz"}, None, 400, "path"),
    ("GET", "/api/v1/datasets/images/versions/v1/download", None, None, 400, "path"),
    ("GET", "/api/v1/datasets/images/versions/v1/download", {"path": "sub"}, None, 400, "path"),
    ("GET", "/api/v1/datasets/images/versions/v1/download", {"path": "/etc"}, None, 400, "path"),
    (
        "GET",
        "/api/v1/datasets/images/versions/v1/download",
        {"path": "sub/../../x"},
        None,
        400,
        "path",
    ),
    ("GET", "/api/v1/datasets/loans/versions/v1/download", {"path": "x"}, None, 400, "path"),
    # validation specs
    (
        "POST",
        "/api/v1/datasets/loans/versions/v1/validate",
        None,
        {"checks": {"columns": {"age": {"type": "integer"}}}},
        400,
        "checks.columns.age.type",
    ),
    (
        "POST",
        "/api/v1/datasets/loans/versions/v1/validate",
        None,
        {"checks": {"row_count": {"min": 5, "max": 1}}},
        400,
        "checks.row_count.min",
    ),
    (
        "POST",
        "/api/v1/datasets/loans/versions/v1/validate",
        None,
        {"checks": {"custom": ["subprocess:run"]}},
        400,
        "checks.custom",
    ),
    (
        "POST",
        "/api/v1/datasets/loans/versions/v1/validate",
        None,
        {"checks": {"columns": {"grade": {"regex": "^(a+)+$"}}}},
        400,
        "checks.columns.grade.regex",
    ),
    ("POST", "/api/v1/datasets/loans/versions/v1/validate", None, {"checks": 3}, 400, "checks"),
    ("POST", "/api/v1/datasets/loans/versions/v1/validate", None, None, 400, "checks"),
    ("POST", "/api/v1/datasets/loans/versions/v1/validate", None, {"checks": {}}, 400, "checks"),
    (
        "POST",
        "/api/v1/datasets/images/versions/v1/validate",
        None,
        {"checks": CHECKS_PASS},
        400,
        "dataset",
    ),
]


@pytest.mark.parametrize(("method", "url", "params", "body", "status", "field"), BAD_INPUT)
def test_bad_input_is_4xx_naming_the_field(
    catalog_server, method, url, params, body, status, field
) -> None:
    c = _client(catalog_server)
    resp = c.request(method, url, params=params, json=body)
    assert resp.status_code == status, resp.text
    error = resp.json()
    assert error["field"] == field, error
    assert error["message"] and error["error_code"]


def test_custom_checks_from_the_project_still_run(catalog_server) -> None:
    services = catalog_server.services
    spec = {**CHECKS_PASS, "custom": ["pandas.api.types:is_list_like"]}  # df -> True
    services.settings = dataclasses.replace(services.settings, data={"loans": {"checks": spec}})
    resp = _client(catalog_server).post("/api/v1/datasets/loans/versions/v1/validate")
    assert resp.status_code == 200, resp.text  # the project's own custom checks are trusted
    assert resp.json()["passed"] is True and resp.json()["report"]["spec"]["custom"]


def test_not_json_body_is_400(catalog_server) -> None:
    resp = _client(catalog_server).post(
        "/api/v1/datasets/loans/versions/v1/validate",
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 400


# ---------------------------------------------------------------------------- corruption


def _corrupt(server, digest: str, at: int | None = None) -> Path:
    algorithm, hexpart = digest.split(":")
    root = Path(server.services.settings.artifacts_url)
    assert root == Path(server.services.settings.project_dir) / ".shipyard" / "objects"
    path = root / "v1" / algorithm / hexpart[:2] / hexpart[2:]
    assert path.is_file()
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if at is None else at] ^= 0xFF  # same size, one byte flipped
    path.write_bytes(bytes(data))
    return path


def test_corrupted_objects_are_refused_with_409(catalog_server) -> None:
    c = _client(catalog_server)
    files = c.get("/api/v1/datasets/images/versions/v1/files", params={"path": "sub/b.bin"})
    entry = files.json()["files"][0]  # a small file: a blob inside a pack object
    assert entry["pack"] and entry["pack"] != entry["digest"]
    _corrupt(catalog_server, entry["pack"], at=entry["offset"] + entry["size"] // 2)
    got = c.get("/api/v1/datasets/images/versions/v1/download", params={"path": "sub/b.bin"})
    assert got.status_code == 409, got.text
    assert got.json()["error_code"] == "ARTIFACT_CORRUPTED" and "bravo" not in got.text
    fine = c.get("/api/v1/datasets/images/versions/v1/download", params={"path": "a.txt"})
    assert fine.status_code == 200 and fine.content == b"alpha"

    table = c.get("/api/v1/datasets/loans/versions/v1").json()["version"]
    _corrupt(catalog_server, table["object_digest"])
    parquet = c.get("/api/v1/datasets/loans/versions/v1/download")
    assert parquet.status_code == 409 and parquet.json()["error_code"] == "ARTIFACT_CORRUPTED"
    checked = c.post("/api/v1/datasets/loans/versions/v1/validate", json={"checks": CHECKS_PASS})
    assert checked.status_code == 409

    manifest = c.get("/api/v1/datasets/images/versions/v2").json()["version"]["object_digest"]
    _corrupt(catalog_server, manifest)
    listing = c.get("/api/v1/datasets/images/versions/v2/files")
    assert listing.status_code == 409 and listing.json()["error_code"] == "ARTIFACT_CORRUPTED"
