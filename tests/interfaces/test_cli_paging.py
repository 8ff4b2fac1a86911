"""``models ls``, ``data ls|search``, ``deployments ls`` and ``pipeline ls`` page the same
way: ``--limit``, ``--page`` or ``--cursor``, a "showing N of M" line, the figures and the
next cursor on stderr with ``--json``, and bad paging input exits 2 naming the option in
one line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.core.entities import Role
from shipyard.interfaces.bootstrap import build_services
from shipyard.settings import load_settings
from tests.cli import run_cli

SIGNATURE = {"inputs": [["x", "float64"]], "output": "int64"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five models (two tagged), three of them deployed to "fleet", three datasets, three
    pipeline runs."""
    from tests.services.pipelines import flows

    root = tmp_path_factory.mktemp("paging")
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(root)}))
    try:
        x = pd.DataFrame({"x": np.arange(20, dtype=float)})
        model = LogisticRegression().fit(x, (x["x"] > 9).to_numpy(dtype=int))
        svc.access.add_user("dora", Role.DEPLOYER)
        dora = svc.access.get_user("dora")
        for i, name in enumerate(("m-a", "m-b", "m-c", "m-d", "m-e")):
            svc.registry.log_model(model, name, user="ada", signature=SIGNATURE)
            if i < 3:
                svc.deployments.deploy(name, 1, "fleet", dora)
        svc.registry.set_model_tag("m-d", "region", "emea", user="ada")
        svc.registry.set_model_tag("m-e", "region", "apac", user="ada")
        for name in ("d-one", "d-two", "d-three"):
            svc.catalog.register(name, pd.DataFrame({"a": [1, 2]}), user="ada")
        for alpha in (0.1, 0.2, 0.3):  # three pipeline runs of "training", newest last
            assert svc.pipelines.run(flows.training, {"alpha": alpha}, actor="ada").ok
    finally:
        svc.close()
    return root


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(project, *args, user="dora")


def test_models_ls_pages_and_searches_tags(project: Path) -> None:
    first = _cli(project, "models", "ls", "--limit", "2")
    assert first.returncode == 0, first.stderr
    assert "showing 2 of 5 models (1-2); next page: --page 2 --limit 2" in first.stdout
    third = _cli(project, "models", "ls", "--limit", "2", "--page", "3", "--json")
    assert [m["name"] for m in json.loads(third.stdout)] == ["m-e"]
    figures = json.loads(third.stderr)
    assert figures == {"showing": 1, "total": 5, "page": 3, "limit": 2, "next_cursor": None}
    page_two = json.loads(_cli(project, "models", "ls", "--limit", "2", "--json").stderr)
    by_cursor = _cli(project, "models", "ls", "--limit", "2", "--cursor", page_two["next_cursor"])
    assert "m-c" in by_cursor.stdout and "m-a" not in by_cursor.stdout
    tagged = json.loads(_cli(project, "models", "ls", "-s", "EMEA", "--json").stdout)
    assert [m["name"] for m in tagged] == ["m-d"]
    exact = json.loads(_cli(project, "models", "ls", "-s", "region=apac", "--json").stdout)
    assert [m["name"] for m in exact] == ["m-e"]


def test_data_ls_and_search_page(project: Path) -> None:
    listed = _cli(project, "data", "ls", "--limit", "2")
    assert "showing 2 of 3 datasets (1-2); next page: --page 2" in listed.stdout
    found = _cli(project, "data", "search", "d-t", "--json")
    assert sorted(d["name"] for d in json.loads(found.stdout)) == ["d-three", "d-two"]
    assert json.loads(found.stderr)["total"] == 2


def test_deployments_ls_pages(project: Path) -> None:
    listed = _cli(project, "deployments", "ls", "--env", "fleet", "--limit", "2", "--json")
    assert [d["model"] for d in json.loads(listed.stdout)] == ["m-a", "m-b"]
    cursor = json.loads(listed.stderr)["next_cursor"]
    rest = _cli(project, "deployments", "ls", "--env", "fleet", "--limit", "2", "--cursor", cursor)
    assert "m-c" in rest.stdout and "showing 1 of 3 deployments" in rest.stdout
    only = json.loads(_cli(project, "deployments", "ls", "-s", "M-B", "--json").stdout)
    assert [d["model"] for d in only] == ["m-b"]


def test_pipeline_ls_pages(project: Path) -> None:
    first = _cli(project, "pipeline", "ls", "--limit", "2", "--json")
    assert first.returncode == 0, first.stderr
    newest = [r["params"]["alpha"] for r in json.loads(first.stdout)]
    assert newest == [0.3, 0.2]
    figures = json.loads(first.stderr)
    assert (figures["showing"], figures["total"], figures["page"]) == (2, 3, 1)
    by_cursor = _cli(
        project, "pipeline", "ls", "--limit", "2", "--cursor", figures["next_cursor"], "--json"
    )
    assert [r["params"]["alpha"] for r in json.loads(by_cursor.stdout)] == [0.1]
    assert json.loads(by_cursor.stderr)["next_cursor"] is None
    by_page = _cli(project, "pipeline", "ls", "--limit", "2", "--page", "2", "--json")
    assert by_page.stdout == by_cursor.stdout
    shown = _cli(project, "pipeline", "ls", "--pipeline", "training", "--limit", "2")
    assert "showing 2 of 3 pipeline runs (1-2); next page: --page 2 --limit 2" in shown.stdout
    assert "alpha=0.3" in shown.stdout and "alpha=0.1" not in shown.stdout
    none = _cli(project, "pipeline", "ls", "--pipeline", "no_such_flow")
    assert none.returncode == 0 and "showing 0 of 0 pipeline runs" in none.stdout


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("pipeline", "ls", "--cursor", "nope"), "cursor 'nope' is not valid"),
        (("pipeline", "ls", "--cursor", "eyJhZnRlciI6ICJ4In0="), "is not valid"),  # models'
        (("pipeline", "ls", "--limit", "2", "--page", "3"), "--page 3 is past the end: 3"),
        (("pipeline", "ls", "--limit", "1001"), "limit must be 1..1000"),
        (("models", "ls", "--page", "0"), "--page must be 1 or more"),
        (("models", "ls", "--limit", "2", "--page", "4"), "--page 4 is past the end: 5 models"),
        (("models", "ls", "--cursor", "nope"), "cursor 'nope' is not valid"),
        (("models", "ls", "--limit", "0"), "limit must be 1..10000"),
        (("data", "ls", "--cursor", "eyJhZnRlciI6IDF9"), "is not valid"),  # another key type
        (("deployments", "ls", "--cursor", "eyJhZnRlciI6IFsxXX0="), "is not valid"),
        (("deployments", "ls", "--page", "2", "--cursor", "x"), "not both"),
    ],
)
def test_bad_paging_exits_2_naming_the_option(project: Path, args: tuple, text: str) -> None:
    r = _cli(project, *args)
    assert r.returncode == 2 and text in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr  # one line, no traceback
