"""``shipyard runs``: readable tables (experiment and parent columns, short ids, lower-case
statuses, six significant digits), one-line errors, and a hint when a filter names a metric
no run has."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.cli import run_cli


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(project, *args, user="ada")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    script = root / "log.py"
    script.write_text(
        textwrap.dedent(
            """
            import shipyard as sy
            with sy.start_run(experiment="churn", run_name="parent"):
                sy.log_param("C", 0.44312345678901234)
                sy.log_metric("auc", 0.8765432123456789)
                with sy.start_run(run_name="child", nested=True):
                    sy.log_metric("auc", 0.5)
            with sy.start_run(experiment="fraud", run_name="other"):
                sy.log_metric("recall", 0.25)
            """
        )
    )
    env = {"SHIPYARD_PROJECT_DIR": str(root), "HOME": str(root), "SHIPYARD_USER": "ada"}
    done = subprocess.run(
        [sys.executable, str(script)], env={"PATH": "/usr/bin:/bin", **env}, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    return root


def test_ls_across_experiments_names_each_runs_experiment_and_parent(project: Path) -> None:
    r = _cli(project, "runs", "ls")
    assert r.returncode == 0, r.stderr
    lines = {line.split("│")[2].strip(): line for line in r.stdout.splitlines() if "│" in line}
    assert "churn" in lines["parent"] and "fraud" in lines["other"]
    parent_id = json.loads(_cli(project, "runs", "ls", "--json").stdout)
    ids = {run["info"]["run_name"]: run["info"]["run_id"] for run in parent_id}
    assert ids["parent"][:12] in lines["child"]  # the child names its parent
    assert "finished" in lines["parent"] and "FINISHED" not in r.stdout
    assert "0.876543" in lines["parent"] and "0.8765432123" not in r.stdout


def test_show_formats_numbers_and_errors_are_one_line(project: Path) -> None:
    runs = json.loads(_cli(project, "runs", "ls", "--json").stdout)
    parent = next(x["info"]["run_id"] for x in runs if x["info"]["run_name"] == "parent")
    shown = _cli(project, "runs", "show", parent[:8])
    assert shown.returncode == 0, shown.stderr
    assert "0.443123" in shown.stdout and "0.44312345" not in shown.stdout
    assert "churn" in shown.stdout and "finished" in shown.stdout

    missing = _cli(project, "runs", "show")
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: runs show needs a run id"), missing.stderr
    assert "Usage" not in missing.stderr
    unknown = _cli(project, "runs", "show", "ffffffff")
    assert unknown.returncode == 2
    assert "no run id starts with 'ffffffff'" in unknown.stderr, unknown.stderr
    junk = _cli(project, "runs", "show", "not-an-id")
    assert junk.returncode == 2 and "is not a run id" in junk.stderr


def test_a_filter_on_a_metric_no_run_has_says_which_exist(project: Path) -> None:
    r = _cli(project, "runs", "ls", "-f", "metrics.acc > 0.7")
    assert r.returncode == 0
    assert "no run has the metric 'acc'; metrics logged: auc, recall" in r.stderr, r.stderr
    known = _cli(project, "runs", "ls", "-f", "metrics.auc > 0.99")  # exists, just no match
    assert known.returncode == 0 and "note:" not in known.stderr
