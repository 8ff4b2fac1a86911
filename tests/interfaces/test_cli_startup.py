"""What a CLI command loads (#17): ``shipyard models ls`` opens the registry and the stores
it reads, not the data, serving and web libraries nor the services it does not use; most of
a short command's time is its start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import shipyard

HEAVY = (
    "alembic",
    "fastapi",
    "fsspec",
    "httpx",
    "jinja2",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "sklearn",
    "starlette",
    "uvicorn",
)
UNUSED = (
    "shipyard.interfaces.server",
    "shipyard.interfaces.web",
    "shipyard.services.deployments",
    "shipyard.services.doctor",
    "shipyard.services.monitoring",
    "shipyard.services.pipelines",
    "shipyard.services.retraining",
)
# Runs the CLI in a fresh interpreter, then names every module it has loaded.
RUN_AND_LIST = """
import contextlib, io, json, sys
from shipyard.interfaces.cli.main import app
out = io.StringIO()
with contextlib.redirect_stdout(out):
    app(sys.argv[1:], standalone_mode=False)
print(json.dumps({"stdout": out.getvalue(), "modules": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with one registered, tagged model."""
    import pandas as pd
    from sklearn.dummy import DummyClassifier

    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings

    root = tmp_path_factory.mktemp("startup")
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(root)}))
    try:
        x = pd.DataFrame({"tenure": [0.0, 1.0]})
        model = DummyClassifier().fit(x, [0, 1])
        svc.registry.log_model(model, "churn", user="ada", input_example=x)
        svc.registry.set_model_tag("churn", "team", "growth", user="ada")
    finally:
        svc.close()
    return root


def _run(project: Path, *args: str) -> tuple[str, set[str]]:
    """The command's output and the modules loaded once it ran (this checkout's code)."""
    env = {
        "SHIPYARD_PROJECT_DIR": str(project),
        "SHIPYARD_USER": "ada",
        "PATH": "/usr/bin:/bin",
        "HOME": str(project),
        "COLUMNS": "200",
        "PYTHONPATH": str(Path(shipyard.__file__).parents[1]),
    }
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(done.stdout.splitlines()[-1])
    return found["stdout"], set(found["modules"])


def _loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The modules of ``packages`` among ``modules``."""
    return sorted(m for m in modules for p in packages if m == p or m.startswith(p + "."))


def test_models_ls_loads_no_heavy_library(project: Path) -> None:
    out, modules = _run(project, "models", "ls")
    assert "churn" in out and "team=growth" in out  # the command did its work
    assert _loaded(modules, HEAVY) == []


def test_models_ls_builds_only_the_services_it_uses(project: Path) -> None:
    _, modules = _run(project, "models", "ls", "--json")
    assert "shipyard.services.registry" in modules
    assert _loaded(modules, UNUSED) == []


def test_help_opens_no_database(project: Path) -> None:
    out, modules = _run(project, "--help")
    assert "models" in out
    assert _loaded(modules, ("sqlalchemy", "shipyard.stores", *HEAVY)) == []


def test_models_ls_imports_only_its_command_module(project: Path) -> None:
    _, modules = _run(project, "models", "ls")
    commands = {m for m in modules if m.endswith("_cmds")}
    assert commands == {"shipyard.interfaces.cli.models_cmds"}


def test_help_lists_every_command_and_a_typo_gets_a_suggestion() -> None:
    from typer.testing import CliRunner

    from shipyard.interfaces.cli.main import COMMANDS, app

    runner = CliRunner()
    shown = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    rows = [line.split() for line in shown.output.splitlines() if line.startswith("│ ")]
    listed = [row[1] for row in rows if len(row) > 1 and row[1] in COMMANDS]
    assert listed == list(COMMANDS)  # every command, in the order the table gives
    typo = runner.invoke(app, ["modles", "ls"])
    assert typo.exit_code == 2 and "Did you mean 'models'?" in typo.output
    assert runner.invoke(app, ["models", "--help"]).output.count("ls ") >= 1
