"""The listing commands at 80 and 200 columns, in-process: identifiers never broken over
lines, a bounded number of lines per row, the reason whole, ``--json`` unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from shipyard.core.entities import Role
from shipyard.interfaces.bootstrap import build_services
from shipyard.settings import load_settings

MODEL = "diabetes-progression"
USER = "release-manager"
POLICY = f"""
[release.{MODEL}]
deploy = {{ strategy = "canary", steps = [20, 50, 100], rollback_if = "error_rate > 0.05" }}
"""
SIGNATURE = {"inputs": [["age", "int64"], ["bmi", "float64"]], "output": "int64"}
REASONS = [
    "first release after the quarterly model review signed off by the risk committee",
    "challenger trained on this year's patients, older and heavier than last year's",
    "halfway: error rate and latency held at 20% of traffic for the whole afternoon",
    "all traffic: the canary held its rule at 50% of traffic for a full day",
    "latency above the service level objective on the new hardware; back to v1 for now",
]
IDS = [MODEL, USER, "production", "promote", "rollback", "canary"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Two approved versions of MODEL deployed, promoted twice and rolled back (five
    history rows with long reasons), by a deployer with a long name."""
    (tmp_path / "shipyard.toml").write_text(POLICY)
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    try:
        rng = np.random.default_rng(0)
        x = pd.DataFrame({"age": rng.integers(20, 70, 40), "bmi": rng.normal(25, 4, 40)})
        model = LogisticRegression().fit(x, (x["bmi"] > 25).to_numpy(dtype=int))
        for _ in range(2):
            version = svc.registry.log_model(model, MODEL, user="ada", signature=SIGNATURE)
            svc.registry.set_status(version.ref, "gate_passed", user="ci")
            svc.registry.set_status(version.ref, "approved", user="carol")
        svc.access.add_user(USER, Role.DEPLOYER)
    finally:
        svc.close()
    steps = [
        ["deploy", MODEL, "1", "--env", "production", "-r", REASONS[0]],
        ["deploy", MODEL, "2", "--env", "production", "-r", REASONS[1]],
        ["deploy", "promote", "--env", "production", "-r", REASONS[2]],
        ["deploy", "promote", "--env", "production", "-p", "100", "-r", REASONS[3]],
        ["rollback", "--env", "production", "--reason", REASONS[4]],
    ]
    for args in steps:
        done = _run(tmp_path, 200, *args)
        assert done.exit_code == 0, (args, done.output)
    return tmp_path


def _run(project: Path, columns: int, *args: str) -> object:
    from shipyard.interfaces.cli.main import app

    env = {
        "SHIPYARD_PROJECT_DIR": str(project),
        "SHIPYARD_USER": USER,
        "COLUMNS": str(columns),
    }
    return CliRunner().invoke(app, list(args), env=env)


def _out(project: Path, columns: int, *args: str) -> list[str]:
    done = _run(project, columns, *args)
    assert done.exit_code == 0, (args, done.output)  # type: ignore[attr-defined]
    lines: list[str] = done.output.splitlines()  # type: ignore[attr-defined]
    assert max(len(line) for line in lines) <= columns, "\n".join(lines)
    return lines


def _broken(lines: list[str], words: list[str]) -> list[str]:
    """Tokens of the table's rows (not the free text under them) that are the start or the
    end of one of ``words`` (a word broken over lines), or a word cut to fewer than 8
    characters and ``…``."""
    tokens = " ".join(line for line in lines if not line.startswith("    ")).split()
    broken = [
        t
        for t in tokens
        for w in words
        if t != w and len(t) > 2 and (w.startswith(t) or w.endswith(t))
    ]
    stubs = [t for t in tokens for w in words if t.endswith("…") and w.startswith(t[:-1])]
    return broken + [t for t in stubs if len(t) < 9]


def _body(lines: list[str]) -> list[str]:
    rule = next(i for i, line in enumerate(lines) if "───" in line or "━━━" in line)
    return lines[rule + 1 :]


def test_history_at_80_columns_reads_one_row_per_change(project: Path) -> None:
    lines = _out(project, 80, "deployments", "history", "-e", "production")
    assert "(env production)" in lines[0]
    body = _body(lines)
    assert len(body) <= 5 * 3, "\n".join(lines)
    assert not _broken(body, IDS), "\n".join(lines)
    assert "production" not in "\n".join(body)  # -e fixes it: no env column
    flat = " ".join(" ".join(body).split())
    assert all(reason in flat for reason in REASONS)
    rows = [line for line in body if line[:1].isdigit()]
    assert len(rows) == 5 and all(line[:11].count(":") == 1 for line in rows)  # MM-DD HH:MM


def test_history_at_200_columns_cuts_nothing(project: Path) -> None:
    lines = _out(project, 200, "deployments", "history", "-m", MODEL)
    text = "\n".join(lines)
    assert "…" not in text and f"({'model'} {MODEL})" in lines[0]
    rows = [line for line in lines if line.startswith("│ 20")]
    assert len(rows) == 5 and all(USER in row and "production" in row for row in rows)
    assert all(row.split("│")[1].strip().count(":") == 2 for row in rows)  # with seconds


def test_json_does_not_depend_on_the_width(project: Path) -> None:
    for args in (["deployments", "history"], ["deployments", "ls"], ["models", "ls"]):
        narrow = _run(project, 80, *args, "--json")
        wide = _run(project, 200, *args, "--json")
        assert json.loads(narrow.stdout) == json.loads(wide.stdout)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "args",
    [
        ["deployments", "ls"],
        ["models", "ls"],
        ["audit", "log", "-n", "6"],
    ],
)
def test_listings_fit_80_columns_without_breaking_identifiers(
    project: Path, args: list[str]
) -> None:
    lines = _out(project, 80, *args)
    assert not _broken(lines, IDS), "\n".join(lines)
