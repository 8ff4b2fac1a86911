"""``shipyard deploy|rollback|deployments`` as an operator runs them: the real entry point in a
subprocess, so exit codes and the one-line errors are what CI sees."""

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

POLICY = """
[release.loans]
deploy = { strategy = "canary", steps = [10, 50, 100], rollback_if = "error_rate > 0.05" }
"""
SIGNATURE = {"inputs": [["age", "int64"], ["income", "float64"]], "output": "int64"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """loans v1, v2 approved and v3 a candidate; promote v1 (a model named like the
    subcommand); dora a deployer, cody a contributor."""
    (tmp_path / "shipyard.toml").write_text(POLICY)
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    try:
        rng = np.random.default_rng(0)
        x = pd.DataFrame({"age": rng.integers(20, 70, 40), "income": rng.normal(50, 10, 40)})
        model = LogisticRegression().fit(x, (x["income"] > 50).to_numpy(dtype=int))
        for name, approved in (("loans", True), ("loans", True), ("loans", False), ("promote", 0)):
            version = svc.registry.log_model(model, name, user="ada", signature=SIGNATURE)
            if approved:
                svc.registry.set_status(version.ref, "gate_passed", user="ci")
                svc.registry.set_status(version.ref, "approved", user="carol")
        svc.access.add_user("dora", Role.DEPLOYER)
        svc.access.add_user("cody", Role.CONTRIBUTOR)
    finally:
        svc.close()
    return tmp_path


def _cli(project: Path, *args: str, user: str = "dora") -> subprocess.CompletedProcess[str]:
    return run_cli(project, *args, user=user)


def _json(project: Path, *args: str) -> object:
    out = _cli(project, *args, "--json")
    assert out.returncode == 0, (args, out.stdout, out.stderr)
    return json.loads(out.stdout)


def test_deploy_promote_rollback_and_read_them_back(project: Path) -> None:
    first = _json(project, "deploy", "loans", "1", "--env", "production", "-r", "first")
    assert (first["live_version"], first["state"], first["updated_by"]) == (1, "live", "dora")
    canary = _cli(project, "deploy", "loans", "v2", "--env", "production")
    assert canary.returncode == 0, canary.stderr
    assert "v2 canary" in canary.stdout and "10% of requests" in canary.stdout
    assert "shipyard deploy promote --env production" in canary.stdout
    assert _json(project, "deploy", "promote", "--env", "production")["traffic"] == 50
    live = _json(project, "deploy", "promote", "-e", "production", "-m", "loans", "-p", "100")
    assert (live["live_version"], live["candidate_version"], live["previous_version"]) == (
        2,
        None,
        1,
    )

    listed = _json(project, "deployments", "ls")
    assert [(d["environment"], d["model"], d["live_version"], d["state"]) for d in listed] == [
        ("production", "loans", 2, "live")
    ]
    table = _cli(project, "deployments", "ls", "--env", "production").stdout
    assert "production" in table and "v2" in table and "100% live" in table and "dora" in table

    back = _json(project, "rollback", "--env", "production", "--reason", "latency")
    assert (back["live_version"], back["previous_version"]) == (1, None)
    events = _json(project, "deployments", "history", "--env", "production", "--limit", "10")
    assert [(e["action"], e["from_version"], e["to_version"], e["traffic"]) for e in events] == [
        ("rollback", 2, 1, 100),
        ("promote", 1, 2, 100),
        ("promote", 1, 2, 50),
        ("deploy", 1, 2, 10),
        ("deploy", None, 1, 100),
    ]
    assert events[0]["reason"] == "latency" and events[-1]["reason"] == "first"
    shown = _cli(project, "deployments", "history", "-m", "loans").stdout
    assert "rollback" in shown and "latency" in shown
    trail = _json(project, "audit", "log", "-o", "deployment:production/loans")
    assert [e["action"] for e in trail][:2] == ["deployment.rollback", "deployment.promote"]
    assert all(e["actor"] == "dora" for e in trail)


def test_refusals_are_one_line_and_exit_2(project: Path) -> None:
    for args, user, message in [
        (["deploy", "loans", "3", "--env", "production"], "dora", "production is a protected"),
        (["deploy", "loans", "9", "--env", "staging"], "dora", "has no version 9"),
        (["deploy", "nope", "1", "--env", "staging"], "dora", "no registered model named"),
        (["deploy", "loans", "1", "--env", "Prod"], "dora", "environment 'Prod' must be"),
        (["deploy", "loans", "1", "--env", "staging", "-s", "blue"], "dora", "strategy must be"),
        (["deploy", "loans", "1", "--env", "staging"], "cody", "need deployer or higher"),
        (["deploy", "loans", "1", "--env", "staging"], "eve", "'eve' is not a Shipyard user"),
        (["rollback", "--env", "staging"], "dora", "nothing is deployed to staging"),
    ]:
        out = _cli(project, *args, user=user)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert out.stderr.startswith("error: ") and message in out.stderr, (args, out.stderr)
        assert out.stderr.count("\n") == 1, out.stderr

    assert _cli(project, "deploy", "loans", "3", "--env", "staging").returncode == 0
    first = _cli(project, "rollback", "--env", "staging")
    assert first.returncode == 2 and "no previous version of loans" in first.stderr
    idle = _cli(project, "deploy", "promote", "--env", "staging")
    assert idle.returncode == 2 and "nothing to promote in staging" in idle.stderr
    assert _json(project, "deployments", "ls", "--env", "production") == []


def test_help_and_a_model_named_like_the_subcommand(project: Path) -> None:
    usage = _cli(project, "deploy", "--help")
    assert usage.returncode == 0
    assert "shipyard deploy MODEL VERSION --env ENV" in usage.stdout
    assert "shipyard deploy promote" in usage.stdout and "--strategy" in usage.stdout
    promote_help = _cli(project, "deploy", "promote", "--help").stdout
    assert "--percent" in promote_help and "next canary step" in promote_help
    named = _json(project, "deploy", "promote", "1", "--env", "staging")
    assert (named["model"], named["live_version"]) == ("promote", 1)
