"""``sy.models`` from a script, then ``shipyard models …`` and ``shipyard gate`` on it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.cli import run_cli

POLICY = """
[release.loans]
holdout = "loans@holdout"
target = "default"
gates = [
  { metric = "accuracy", min = 0.7 },
  { vs_champion = "accuracy", max_drop = 0.02 },
  { data_checks = "loans" },
]
"""

SCRIPT = """
import numpy as np, pandas as pd, shipyard as sy
from sklearn.linear_model import LogisticRegression

def frame(seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"age": rng.integers(20, 70, 200), "income": rng.normal(50, 10, 200)})
    df["default"] = (df["income"] > 50).astype(int)
    return df

sy.data.register("loans", frame(1))
sy.data.validate("loans@v1")
sy.data.alias(sy.data.register("loans", frame(2)).ref, "holdout")
sy.data.validate("loans@holdout")
with sy.start_run(experiment="loans", inputs=["loans@v1"]):
    df = sy.data.get("loans@v1")
    model = LogisticRegression().fit(df[["age", "income"]], df["default"])
    version = sy.models.log(model, "loans", input_example=df[["age", "income"]].head())
print(version.version, (sy.models.load("loans@1").predict(df[["age", "income"]]) ==
                        model.predict(df[["age", "income"]])).all())
"""


def _env(project: Path) -> dict[str, str]:
    return {
        "SHIPYARD_PROJECT_DIR": str(project),
        "PATH": "/usr/bin:/bin",
        "HOME": str(project),
        "SHIPYARD_USER": "ada",
        "COLUMNS": "200",
    }


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(project, *args, user="ada", timeout=300)


def _as_owner(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = run_cli(project, *args, user="owner", timeout=300)
    done.check_returncode()
    return done


def test_log_gate_alias_archive_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text("[data.loans.checks.columns.age]\nmin = 0\n" + POLICY)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "True"]

    gated = _cli(tmp_path, "gate", "loans", "1")
    assert gated.returncode == 0, gated.stdout + gated.stderr
    assert "all gates passed" in gated.stdout and "gate_passed" in gated.stdout
    assert "no approved champion yet" in gated.stdout

    alias = _cli(tmp_path, "models", "alias", "loans@1", "champion", "-r", "first model")
    assert alias.returncode == 0, alias.stderr
    listed = json.loads(_cli(tmp_path, "models", "ls", "--json").stdout)
    assert listed[0]["name"] == "loans" and listed[0]["aliases"] == {"champion": 1}
    shown = json.loads(_cli(tmp_path, "models", "show", "loans@champion", "--json").stdout)
    assert shown["status"] == "gate_passed" and shown["signature"]["inputs"][0] == ["age", "int64"]
    versions = _cli(tmp_path, "models", "show", "loans")
    assert "gate_passed" in versions.stdout and "champion" in versions.stdout

    archived = _cli(tmp_path, "models", "archive", "loans@1", "-r", "retired")
    assert archived.returncode == 0 and "archived" in archived.stdout
    trail = json.loads(_cli(tmp_path, "audit", "log", "-o", "model:loans", "--json").stdout)
    assert [e["action"] for e in trail][:3] == ["model.status", "model.alias", "model.status"]
    assert trail[0]["reason"] == "retired" and trail[0]["actor"] == "ada"

    for args, message in [
        (["models", "show", "loans@7"], "has no version 7"),
        (["models", "show", "nope"], "no registered model named 'nope'"),
        (["models", "alias", "loans@1", "Champion"], "alias 'Champion'"),
        (["models", "alias", "loans@1", "champion"], "archived"),
        (["gate", "loans", "1"], "cannot become gate_passed"),
    ]:
        out = _cli(tmp_path, *args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert message in out.stderr, (args, out.stderr)


def test_approve_from_the_command_line_with_separation_of_duties(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text("[data.loans.checks.columns.age]\nmin = 0\n" + POLICY)
    subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)],
        env=_env(tmp_path),
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert _cli(tmp_path, "gate", "loans", "1").returncode == 0
    _as_owner(tmp_path, "init", str(tmp_path))  # the owner is the project's first admin
    assert _as_owner(tmp_path, "users", "add", "ada", "--role", "approver").returncode == 0
    own = _cli(tmp_path, "approve", "loans", "1", "-r", "mine")  # ada logged the model
    assert own.returncode == 2 and "separation of duties" in own.stderr
    stranger = run_cli(tmp_path, "approve", "loans", "1", "-r", "ok", user="eve", timeout=60)
    assert stranger.returncode == 2 and "'eve' is not a Shipyard user" in stranger.stderr
    assert _as_owner(tmp_path, "users", "add", "carol", "--role", "approver").returncode == 0
    ok = run_cli(
        tmp_path, "approve", "loans", "1", "-r", "gates ok", "--json", user="carol", timeout=60
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["status"] == "approved"
