"""Pipeline runs over real HTTP: list and filter, one run with its DAG and aggregated steps
(finished, cached, failed with a step not run, fan-out and sweep items), errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.interfaces.conftest import LiveServer, _serve

HEX32 = re.compile(r"^[0-9a-f]{32}$")
TRAINING = ["make_frame", "split", "fit", "score", "coefficients", "summarise"]
QUALIFIED = "tests.services.pipelines.flows:training"


@dataclass
class Seeded:
    server: LiveServer
    first: str  # training, every step executed
    cached: str  # the same again: every step a cache hit
    failed: str  # failing: 'fragile' fails, 'plus_one_2' is not run
    fanout: str  # a map over 4 segments and a sweep of 4 trials


def seed_pipelines(server: LiveServer, tmp: Path) -> Seeded:
    """Run real pipelines (local executor) in the server's project."""
    from tests.services.pipelines import flows

    run = server.services.pipelines.run  # type: ignore[attr-defined]
    first = run(flows.training, {"alpha": 0.5}, actor="tester")
    cached = run(flows.training, {"alpha": 0.5}, actor="tester")
    failed = run(flows.failing, {"flag_file": str(tmp / "nope")}, actor="tester")
    fanout = run(flows.fanout, {}, actor="tester")
    assert first.ok and cached.ok and fanout.ok, (first.error, cached.error, fanout.error)
    assert not failed.ok
    return Seeded(server, first.run_id, cached.run_id, failed.run_id, fanout.run_id)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    tmp = tmp_path_factory.mktemp("pipelines-api")
    for server in _serve(tmp, "token"):
        yield seed_pipelines(server, tmp)


@pytest.fixture
def client(seeded: Seeded) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {seeded.server.admin_token}"}
    with httpx.Client(base_url=seeded.server.url, headers=headers, timeout=30) as c:
        yield c


def _show(client: httpx.Client, run_id: str) -> dict:
    resp = client.get(f"/api/v1/pipelines/runs/{run_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()


def _steps(body: dict) -> dict[str, dict]:
    return {s["node"]: s for s in body["steps"]}


def test_list_newest_first_filtered_and_limited(client, seeded) -> None:
    resp = client.get("/api/v1/pipelines/runs")
    assert resp.status_code == 200, resp.text
    runs = resp.json()["runs"]
    assert [r["run_id"] for r in runs] == [
        seeded.fanout,
        seeded.failed,
        seeded.cached,
        seeded.first,
    ]
    top = runs[-1]
    assert top["pipeline"] == QUALIFIED and top["name"] == "training"
    assert top["status"] == "FINISHED" and top["executor"] == "local" and top["seed"] == 0
    assert top["params"] == {"alpha": 0.5, "rows": 40}
    assert top["duration_ms"] == top["end_time"] - top["creation_time"] >= 0
    by_status = {r["run_id"]: r["status"] for r in runs}
    assert by_status[seeded.failed] == "FAILED"

    for name in ("training", QUALIFIED):
        found = client.get("/api/v1/pipelines/runs", params={"pipeline": name}).json()["runs"]
        assert [r["run_id"] for r in found] == [seeded.cached, seeded.first]
    none = client.get("/api/v1/pipelines/runs", params={"pipeline": "no_such_flow"})
    assert none.status_code == 200
    assert none.json() == {"runs": [], "next_cursor": None, "next": None, "total": 0}
    one = client.get("/api/v1/pipelines/runs", params={"limit": 1}).json()["runs"]
    assert [r["run_id"] for r in one] == [seeded.fanout]
    assert len(client.get("/api/v1/pipelines/runs", params={"limit": 1000}).json()["runs"]) == 4


def test_a_cursor_walk_reaches_every_run_once(client, seeded) -> None:
    newest_first = [seeded.fanout, seeded.failed, seeded.cached, seeded.first]
    for limit in (1, 3):
        body = client.get("/api/v1/pipelines/runs", params={"limit": limit}).json()
        seen, pages = [r["run_id"] for r in body["runs"]], 1
        assert body["total"] == 4
        while body["next"] is not None:
            by_link = client.get(body["next"]).json()
            by_cursor = client.get(
                "/api/v1/pipelines/runs", params={"limit": limit, "cursor": body["next_cursor"]}
            ).json()
            assert by_link == by_cursor and by_link["total"] == 4
            body, pages = by_link, pages + 1
            seen += [r["run_id"] for r in body["runs"]]
        assert seen == newest_first and pages == -(-4 // limit)
        assert body["next_cursor"] is None
    first = client.get("/api/v1/pipelines/runs", params={"pipeline": "training", "limit": 1})
    body = first.json()
    assert body["total"] == 2 and "pipeline=training" in body["next"]
    rest = client.get(body["next"]).json()
    assert [r["run_id"] for r in rest["runs"]] == [seeded.first] and rest["next"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "eyJhZnRlciI6ICJ4In0=",  # {"after": "x"}: another listing's cursor
        "eyJiZWZvcmUiOiBbMSwgMiwgM119",  # {"before": [1, 2, 3]}
        "eyJiZWZvcmUiOiBbMWUrMzAwLCAieCJdfQ==",  # {"before": [1e+300, "x"]}
        "eyJiZWZvcmUiOiBbOTk5OTk5OTk5OTk5OTk5OTk5OTk5LCAieCJdfQ==",  # beyond 64 bits
    ],
)
def test_a_bad_cursor_is_a_400_naming_it(client, cursor) -> None:
    resp = client.get("/api/v1/pipelines/runs", params={"cursor": cursor})
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["field"] == "cursor" and "next_cursor of the previous page" in body["message"]


def test_the_openapi_document_shows_the_page(client) -> None:
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/api/v1/pipelines/runs"]["get"]
    assert {p["name"] for p in op["parameters"]} == {"pipeline", "limit", "cursor"}
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["properties"]) == {"runs", "next_cursor", "next", "total"}
    assert schema["properties"]["total"]["type"] == "integer"


@pytest.mark.parametrize("limit", ["0", "1001", "-3", "many"])
def test_bad_limit_is_a_400(client, limit) -> None:
    resp = client.get("/api/v1/pipelines/runs", params={"limit": limit})
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE" and body["field"] == "limit"


def test_show_a_finished_run(client, seeded) -> None:
    body = _show(client, seeded.first)
    assert body["run"]["run_id"] == seeded.first and body["run"]["status"] == "FINISHED"
    assert [n["id"] for n in body["dag"]["nodes"]] == TRAINING
    assert body["dag"]["params"] == {"alpha": 0.5, "rows": 40}
    assert [s["node"] for s in body["steps"]] == TRAINING
    steps = _steps(body)
    assert steps["score"]["deps"] == ["fit", "split"]
    for node, step in steps.items():
        assert step["status"] == "finished", node
        assert (step["items"], step["cached"], step["kind"]) == (1, 0, "step")
        (x,) = step["executions"]
        assert HEX32.match(x["run_id"]) and x["run_id"] != seeded.first
        assert x["status"] == "finished" and x["cached_from"] is None and x["error"] is None
        assert step["duration_ms"] == x["duration_ms"] >= 0
        assert x["output"]["digest"] and x["worker"]
    assert steps["fit"]["executions"][0]["output"]["format"] == "skops"
    assert steps["make_frame"]["executions"][0]["output"]["summary"].startswith("DataFrame")
    child = client.get(f"/api/v1/runs/{steps['fit']['executions'][0]['run_id']}").json()["run"]
    tags = {t["key"]: t["value"] for t in child["data"]["tags"]}
    assert tags["shipyard.pipeline.run"] == seeded.first


def test_show_a_cached_run(client, seeded) -> None:
    source = {s["node"]: s["executions"][0]["run_id"] for s in _show(client, seeded.first)["steps"]}
    steps = _steps(_show(client, seeded.cached))
    assert set(steps) == set(TRAINING)
    for node, step in steps.items():
        assert (step["status"], step["items"], step["cached"]) == ("cached", 1, 1), node
        (x,) = step["executions"]
        assert x["status"] == "cached" and x["cached_from"] == source[node]
        assert x["run_id"] != source[node] and step["duration_ms"] == 0


def test_show_a_failed_run(client, seeded) -> None:
    body = _show(client, seeded.failed)
    assert body["run"]["status"] == "FAILED"
    steps = _steps(body)
    assert [s["node"] for s in body["steps"]] == ["plus_one", "fragile", "plus_one_2"]
    assert steps["plus_one"]["status"] == "finished"
    fragile = steps["fragile"]
    assert fragile["status"] == "failed" and fragile["items"] == 1
    (x,) = fragile["executions"]
    assert x["error"] == "RuntimeError: the flag file is missing"  # one line, not the traceback
    assert x["output"] is None
    skipped = steps["plus_one_2"]
    assert skipped["status"] == "not run" and skipped["step"] == "plus_one"
    assert (skipped["items"], skipped["cached"], skipped["executions"]) == (0, 0, [])
    assert skipped["duration_ms"] is None


def test_show_fanout_and_sweep_items(client, seeded) -> None:
    steps = _steps(_show(client, seeded.fanout))
    segments = steps["train_segment"]
    assert segments["map"] == "segment" and segments["kind"] == "step"
    assert segments["status"] == "finished" and segments["items"] == 4
    assert [x["map_index"] for x in segments["executions"]] == [0, 1, 2, 3]
    assert segments["duration_ms"] == sum(x["duration_ms"] for x in segments["executions"])
    sweep = steps["sweep_objective"]
    assert sweep["kind"] == "sweep" and sweep["step"] == "objective"
    assert sweep["items"] == 4 and sweep["status"] == "finished"
    assert len({x["run_id"] for x in sweep["executions"]}) == 4
    assert steps["summarise_fanout"]["deps"] == ["sweep_objective", "train_segment"]
    nodes = {n["id"]: n for n in _show(client, seeded.fanout)["dag"]["nodes"]}
    assert (nodes["sweep_objective"]["direction"], nodes["sweep_objective"]["space"]) == (
        "maximize",
        ["alpha"],
    )  # what the run page needs to mark the best trial
    assert "direction" not in nodes["train_segment"]


def test_unknown_and_malformed_run_ids(client, seeded) -> None:
    unknown = "0" * 32
    resp = client.get(f"/api/v1/pipelines/runs/{unknown}")
    assert resp.status_code == 404
    assert resp.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert unknown in resp.json()["message"]
    # a tracking run that is a step, not a pipeline run
    step_run = _show(client, seeded.first)["steps"][0]["executions"][0]["run_id"]
    resp = client.get(f"/api/v1/pipelines/runs/{step_run}")
    assert resp.status_code == 404 and step_run in resp.json()["message"]
    for bad in ("not-a-run", "ABCDEF" + "0" * 26, "0" * 31):
        resp = client.get(f"/api/v1/pipelines/runs/{bad}")
        assert resp.status_code == 400, (bad, resp.text)
        assert resp.json()["field"] == "run_id" and "32 lowercase hex" in resp.json()["message"]


def test_pipeline_api_needs_a_token(seeded) -> None:
    with httpx.Client(base_url=seeded.server.url, timeout=30) as anonymous:
        assert anonymous.get("/api/v1/pipelines/runs").status_code == 401
        assert anonymous.get(f"/api/v1/pipelines/runs/{seeded.first}").status_code == 401
