"""How the CLI finds its project: like git, from the current folder upwards
(``SHIPYARD_PROJECT_DIR`` overrides); outside any project it says so and creates nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli import run_cli


def _cli(cwd: Path, *args: str, project: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(project, *args, user="owner", home=cwd, cwd=cwd)


def test_outside_any_project_read_commands_say_so_and_create_nothing(tmp_path: Path) -> None:
    for args in (("runs", "ls"), ("models", "ls"), ("serve", "--env", "production")):
        r = _cli(tmp_path, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "no Shipyard project" in r.stderr and "shipyard init" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []  # no .shipyard/ quietly made


def test_a_subfolder_finds_the_project_above_it(tmp_path: Path) -> None:
    assert _cli(tmp_path, "init", str(tmp_path)).returncode == 0
    assert _cli(tmp_path, "users", "add", "ann", "--role", "viewer").returncode == 0
    nested = tmp_path / "notebooks" / "eda"
    nested.mkdir(parents=True)
    r = _cli(nested, "users", "ls", "--json")
    assert r.returncode == 0, r.stderr
    assert "ann" in {u["name"] for u in json.loads(r.stdout)}
    assert not (nested / ".shipyard").exists()


def test_the_environment_variable_names_the_project_wherever_one_stands(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "p", tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert _cli(tmp_path, "init", str(project)).returncode == 0
    r = _cli(elsewhere, "runs", "ls", "--json", project=project)
    assert r.returncode == 0 and json.loads(r.stdout) == [], r.stderr
    assert list(elsewhere.iterdir()) == []
