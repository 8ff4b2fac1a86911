"""The model versions trained on a dataset version, in the lineage API and in ``shipyard data
lineage`` (table and ``--json``): the same walk the dataset page uses, over a real pipeline
that read the data and a plain run, both with registered models."""

from __future__ import annotations

import json
from typing import Any

import httpx
from typer.testing import CliRunner

from shipyard.interfaces.cli.main import app
from shipyard.interfaces.presenters.lineage import models_trained_by
from tests.interfaces.lineage_world import World


def _lineage(world: World, obj: str) -> dict[str, Any]:
    r = httpx.get(f"{world.server.url}/api/v1/lineage/{obj}", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _cli(world: World, *args: str) -> Any:
    services: Any = world.server.services
    env = {"SHIPYARD_PROJECT_DIR": str(services.settings.project_dir), "COLUMNS": "250"}
    return CliRunner().invoke(app, ["data", "lineage", *args], env=env)


def test_the_api_lists_the_models_trained_on_a_dataset_version(lineage_world: World) -> None:
    w = lineage_world
    graph = _lineage(w, "dataset:loans@v1")
    assert {e["target"] for e in graph["edges"]} == {f"run:{w.pipeline_run}", f"run:{w.direct_run}"}
    found = [(m["ref"], m["run_id"], m["via"]) for m in graph["models"]]
    assert found == [
        ("default-risk@v1", w.step_run, f"run:{w.pipeline_run}"),  # a step of the reader
        ("notebook-model@v1", w.direct_run, f"run:{w.direct_run}"),
    ]
    assert {m["via"] for m in graph["models"]} <= {n["id"] for n in graph["nodes"]}
    step_model = graph["models"][0]
    assert step_model["id"] == "model:default-risk@v1" and step_model["run_name"] == "fit_default"
    assert (step_model["name"], step_model["version"]) == ("default-risk", 1)
    services: Any = w.server.services
    walked = models_trained_by(services, {w.pipeline_run: "", w.direct_run: ""})
    version = walked[0].version
    assert step_model["status"] == version.status.value
    assert step_model["creation_time"] == version.creation_time
    assert _lineage(w, "dataset:loans@v2")["models"] == []  # read by nothing


def test_a_runs_lineage_lists_the_models_registered_from_it_or_its_steps(
    lineage_world: World,
) -> None:
    w = lineage_world
    refs = {
        run: [(m["ref"], m["via"]) for m in _lineage(w, f"run:{run}")["models"]]
        for run in (w.pipeline_run, w.step_run, w.direct_run)
    }
    assert refs[w.pipeline_run] == [("default-risk@v1", f"run:{w.pipeline_run}")]
    assert refs[w.step_run] == [("default-risk@v1", f"run:{w.step_run}")]
    assert refs[w.direct_run] == [("notebook-model@v1", f"run:{w.direct_run}")]


def test_the_openapi_document_describes_the_models(lineage_world: World) -> None:
    doc = httpx.get(lineage_world.server.url + "/openapi.json", timeout=30).json()
    ok = doc["paths"]["/api/v1/lineage/{obj}"]["get"]["responses"]["200"]
    ref = ok["content"]["application/json"]["schema"]["$ref"]
    graph = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"root", "nodes", "edges", "models"} <= set(graph["required"])
    model = doc["components"]["schemas"][graph["properties"]["models"]["items"]["$ref"][21:]]
    body = _lineage(lineage_world, "loans@v1")
    assert set(model["properties"]) == set(body["models"][0])
    assert set(model["required"]) == set(body["models"][0])


def test_cli_json_is_the_apis_graph(lineage_world: World) -> None:
    out = _cli(lineage_world, "loans@v1", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == _lineage(lineage_world, "dataset:loans@v1")


def test_cli_table_has_a_models_section(lineage_world: World) -> None:
    w = lineage_world
    out = _cli(w, "loans@v1")
    assert out.exit_code == 0, out.output
    head, sep, models = out.output.partition("Model versions trained downstream of")
    assert sep and f"run:{w.direct_run}" in head and "default-risk" not in head
    rows = [line for line in models.splitlines() if line.startswith("│") and "@v1" in line]
    assert len(rows) == 2
    step_row = next(r for r in rows if "default-risk@v1" in r)
    assert f"fit_default ({w.step_run})" in step_row and f"run:{w.pipeline_run}" in step_row
    direct_row = next(r for r in rows if "notebook-model@v1" in r)
    assert f"notebook ({w.direct_run})" in direct_row and "run:" not in direct_row

    empty = _cli(w, "loans@v2")
    assert empty.exit_code == 0, empty.output
    assert "No model version was registered from these runs." in empty.output
