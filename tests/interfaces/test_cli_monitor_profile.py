"""``shipyard monitor profile`` as an operator runs it (the real entry point in a subprocess):
compute a version's reference profile from a table file with its label column, show it, and
clear exit-2 errors for what is missing or wrong."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from shipyard.interfaces.bootstrap import build_services
from shipyard.settings import load_settings
from tests.cli import run_cli
from tests.services.monitoring.conftest import make_world
from tests.services.monitoring.scored import rows


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """loans v1 (a binary classifier of age and income) and a labelled reference file."""
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    try:
        make_world(svc)
    finally:
        svc.close()
    rows(1, 500).to_csv(tmp_path / "reference.csv", index=False)
    return tmp_path


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(project, "monitor", "profile", *args, cwd=project)


def test_compute_then_show_a_profile_with_its_estimation(project: Path) -> None:
    out = _cli(project, "loans@v1", "--reference", "reference.csv", "--target", "label", "--json")
    assert out.returncode == 0, out.stderr
    made = json.loads(out.stdout)
    assert made["model"] == "loans@v1" and made["rows"] == 500
    assert made["columns"] == ["_proba", "age", "income"]
    assert made["estimation"]["target"] == "label" and made["estimation"]["rows"] == 500
    assert 0.5 < made["estimation"]["metrics"]["roc_auc"] <= 1.0
    shown = _cli(project, "loans@v1", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout) == made
    text = _cli(project, "loans@v1")
    assert "estimation on 'label' (500 rows)" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("loans@v1",), "no reference profile is recorded for loans@v1"),
        (("loans@v1", "-r", "reference.csv", "--target", "nope"), "target column 'nope'"),
        (("loans@v1", "-r", "missing.csv"), "reference file missing.csv does not exist"),
        (("loans@v9", "-r", "reference.csv"), "has no version 9"),
        (("loans@v1", "-r", "reference.csv", "--columns", "age,zip"), "zip"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(
    project: Path, args: tuple[str, ...], message: str
) -> None:
    out = _cli(project, *args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert message in " ".join(out.stderr.split())
    assert "Traceback" not in out.stderr


def test_help_explains_the_options(project: Path) -> None:
    out = _cli(project, "--help")
    assert out.returncode == 0
    for option in ("--reference", "--target", "--columns", "--json"):
        assert option in out.stdout
