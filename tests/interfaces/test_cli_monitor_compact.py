"""``shipyard monitor compact``: the prediction logs of a project compacted on demand, files
before → after, a second run skipping what did not change, scopes, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.interfaces.bootstrap import build_services
from shipyard.settings import load_settings
from tests.cli import run_cli
from tests.services.formats.test_prediction_compactor import DAY, HOUR, T0, _ids, _small_files


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Small files of a closed day: four of churn, two of fraud (all in prod)."""
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    try:
        backend = svc.blobs.backend
        _small_files(backend, [T0 + h * HOUR for h in (1, 2, 3, 4)])
        _small_files(backend, [T0 + DAY - HOUR, T0 + 2 * HOUR], model="fraud")
    finally:
        svc.close()
    return tmp_path


def _rows(project: Path, model: str) -> list[tuple[str, int]]:
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(project)}))
    try:
        return _ids(svc.blobs.backend, model)
    finally:
        svc.close()


def test_compact_then_nothing_to_do(project: Path) -> None:
    before = _rows(project, "churn")
    done = run_cli(project, "monitor", "compact", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["files_before"], report["files_after"]) == (6, 2)
    assert report["partitions"] == 2 and report["merged"] == 2 and report["skipped"] == 0
    assert report["rows"] == 12 and report["failed"] == 0
    assert _rows(project, "churn") == before
    again = json.loads(run_cli(project, "monitor", "compact", "--json").stdout)
    assert again["skipped"] == 2 and again["merged"] == 0
    assert (again["files_before"], again["files_after"]) == (2, 2)


def test_the_text_line_and_scopes(project: Path) -> None:
    done = run_cli(project, "monitor", "compact", "--model", "fraud", "--env", "prod")
    assert done.returncode == 0, done.stderr
    line = " ".join(done.stdout.split())
    assert "compacted 1 partition(s) (model fraud, env prod): 2 → 1 files" in line
    assert "1 written, 2 removed, 4 rows rewritten; 0 unchanged, skipped) in" in line
    other = json.loads(run_cli(project, "monitor", "compact", "--env", "staging", "--json").stdout)
    assert other["partitions"] == 0 and other["files_before"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "../etc"], "model name"),
        (["--env", "Bad Env"], "environment 'Bad Env' must be"),
    ],
)
def test_bad_scopes_are_one_clear_line(project: Path, args: list[str], message: str) -> None:
    done = run_cli(project, "monitor", "compact", *args)
    assert done.returncode != 0 and message in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
