"""``shipyard ci init github|gitlab``: the generated workflow parsed as YAML, and its steps'
commands RUN in a real temporary project (subprocesses, as the CI runner runs them): a good
model goes pipeline → register → gates → staging with exit code 0 at every step; a failing
gate exits non-zero and nothing is deployed; a crashing pipeline exits 1 and its run cannot
be registered. Also the refusals of ``ci init`` (overwrite without --force, no policy, …)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from shipyard.interfaces.bootstrap import build_services
from shipyard.settings import load_settings

BIN = Path(sys.executable).parent
PIPELINE = """
import os

import pandas as pd

import shipyard as sy


@sy.step(deps=["scikit-learn"])
def fit(df: pd.DataFrame):
    from sklearn.linear_model import LogisticRegression

    if os.environ.get("CRASH_TRAINING"):
        raise RuntimeError("the training step crashed")
    return LogisticRegression().fit(df[["a", "b"]], df["y"])


@sy.step
def rows(df: pd.DataFrame) -> int:
    return len(df)


@sy.pipeline(name="bc-training")
def pipeline():
    data = sy.dataset("bc-train@latest")
    fit(data)
    rows(data)
"""


def _frame(n: int, seed: int, noise: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = (x[:, 0] + x[:, 1] + rng.normal(scale=noise, size=n) > 0).astype("int64")
    return pd.DataFrame(x, columns=["a", "b"]).assign(y=y)


def _project(root: Path, min_auc: float) -> Path:
    """A project with its training data and holdout registered (the team's shared state)."""
    root.mkdir(parents=True)
    (root / "shipyard.toml").write_text(
        '[release.bc]\nholdout = "bc-holdout@latest"\ntarget = "y"\n'
        f'gates = [{{ metric = "roc_auc", min = {min_auc} }}]\n'
    )
    (root / "training.py").write_text(PIPELINE)
    (root / "requirements.txt").write_text("# the project's dependencies (installed already)\n")
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(root)}))
    try:
        svc.catalog.register("bc-train", _frame(300, 1, 0.5), user="ada")
        svc.catalog.register("bc-holdout", _frame(200, 2, 0.5), user="ada")
    finally:
        svc.close()
    return root


def _env(project: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A CI runner's environment: the tools on PATH, no SHIPYARD_PROJECT_DIR (the checkout
    is the working directory), the workflow's variables."""
    return {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(project),
        "COLUMNS": "200",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        **(extra or {}),
    }


def _shipyard(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "shipyard"), *args],
        cwd=project,
        env=_env(project, env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _run_steps(project: Path, steps: list[str], env: dict[str, str]) -> list[tuple[str, int, str]]:
    """Each command as the runner runs it (bash -e -o pipefail), stopping at the first
    failure as CI does; (command, exit code, output) of each one run."""
    ran = []
    for command in steps:
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", command],
            cwd=project,
            env=_env(project, env),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        ran.append((command, done.returncode, done.stdout + done.stderr))
        if done.returncode:
            break
    return ran


def _github_steps(project: Path, *, default_branch: bool) -> tuple[list[str], dict[str, str]]:
    workflow = yaml.safe_load((project / ".github/workflows/shipyard.yml").read_text())
    assert set(workflow["on"]) == {"push", "workflow_dispatch"}
    job = workflow["jobs"]["train-gate-deploy"]
    env = {k: "" if "${{" in str(v) else str(v) for k, v in job["env"].items()}  # no secrets
    commands = []
    for step in job["steps"]:
        if "uses" in step:
            assert step["uses"].startswith(("actions/checkout@", "actions/setup-python@"))
            continue
        if "if" in step:
            assert step["if"] == "github.ref_name == github.event.repository.default_branch"
            if not default_branch:
                continue
        commands.append(step["run"])
    return commands, env


def _deployed(project: Path) -> list[dict[str, Any]]:
    done = _shipyard(project, "deployments", "ls", "--env", "staging", "--json")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_github_workflow_trains_gates_registers_and_deploys(tmp_path: Path) -> None:
    project = _project(tmp_path / "good", min_auc=0.7)
    init = _shipyard(project, "ci", "init", "github", "--pipeline", "training:pipeline", "--json")
    assert init.returncode == 0, init.stderr
    assert json.loads(init.stdout)["path"] == ".github/workflows/shipyard.yml"
    commands, env = _github_steps(project, default_branch=True)
    assert commands[0] == "pip install -r requirements.txt" and len(commands) == 6
    ran = _run_steps(project, commands, env)
    assert [code for _, code, _ in ran] == [0] * 6, ran[-1]
    assert "registered bc@v1" in ran[3][2] and "all gates passed" in ran[4][2]
    (live,) = _deployed(project)
    assert (live["model"], live["live_version"]) == ("bc", 1)
    branch, _ = _github_steps(project, default_branch=False)
    assert branch == commands[:-1]  # another branch: the same steps but the deployment
    shown = _shipyard(project, "models", "show", "bc@1", "--json")
    assert json.loads(shown.stdout)["status"] == "gate_passed"
    refusals = [
        (("--step", "rows"), "not a model"),
        (("--step", "nope"), "nodes with outputs: fit, rows"),
        (("--run", "0" * 32), "0" * 32),
        (("--example", "bc-train@v9"), "bc-train"),
    ]
    for args, words in refusals:
        failed = _shipyard(project, "models", "register", "bc", *args)
        assert failed.returncode == 2 and words in failed.stderr, (args, failed.stderr)
    assert _shipyard(project, "models", "show", "bc@2").returncode == 2  # nothing registered


def test_a_failing_gate_fails_the_job_and_deploys_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path / "weak", min_auc=0.999)
    assert (
        _shipyard(project, "ci", "init", "github", "--pipeline", "training:pipeline").returncode
        == 0
    )
    commands, env = _github_steps(project, default_branch=True)
    ran = _run_steps(project, commands, env)
    assert [code for _, code, _ in ran] == [0, 0, 0, 0, 1]  # the gates; deploy never ran
    assert ran[-1][0] == "shipyard gate bc latest" and "gates failed" in ran[-1][2]
    assert _deployed(project) == []
    alone = _shipyard(
        project, "deploy", "bc", "latest", "--env", "production", SHIPYARD_USER="shipyard-ci"
    )
    assert alone.returncode == 2 and "protected" in alone.stderr  # and never to production


def test_a_crashing_pipeline_exits_1_and_its_run_cannot_be_registered(tmp_path: Path) -> None:
    project = _project(tmp_path / "crash", min_auc=0.7)
    assert (
        _shipyard(project, "ci", "init", "github", "--pipeline", "training:pipeline").returncode
        == 0
    )
    commands, env = _github_steps(project, default_branch=True)
    ran = _run_steps(project, commands, {**env, "CRASH_TRAINING": "1"})
    assert [code for _, code, _ in ran] == [0, 0, 1]
    assert "the training step crashed" in ran[-1][2]
    registered = _shipyard(project, "models", "register", "bc", "--run", "latest")
    assert registered.returncode == 2 and "FAILED, not FINISHED" in registered.stderr
    assert _deployed(project) == []


def test_gitlab_workflow_deploys_from_the_default_branch_only(tmp_path: Path) -> None:
    project = _project(tmp_path / "lab", min_auc=0.7)
    init = _shipyard(project, "ci", "init", "gitlab", "--pipeline", "training:pipeline")
    assert init.returncode == 0, init.stderr
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert pipeline["stages"] == ["train", "deploy"]
    base = pipeline[".shipyard"]
    branch, main = pipeline["train"], pipeline["train-and-deploy-staging"]
    assert branch["rules"] == [{"if": "$CI_COMMIT_BRANCH != $CI_DEFAULT_BRANCH"}]
    assert main["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]
    assert not any("deploy" in c for c in branch["script"])
    assert branch["extends"] == main["extends"] == ".shipyard"
    ran = _run_steps(project, [*base["before_script"], *main["script"]], pipeline["variables"])
    assert [code for _, code, _ in ran] == [0] * 6, ran[-1]
    (live,) = _deployed(project)
    assert live["live_version"] == 1


def test_ci_init_refusals(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", min_auc=0.7)
    ok = _shipyard(project, "ci", "init", "github", "--pipeline", "training:pipeline")
    assert ok.returncode == 0, ok.stderr
    path = project / ".github/workflows/shipyard.yml"
    path.write_text("# mine\n")
    cases = [
        (("github", "--pipeline", "training:pipeline"), "exists; pass --force"),
        (("jenkins", "--pipeline", "training:pipeline"), "not one of: github, gitlab"),
        (("gitlab", "--model", "other", "--pipeline", "t:p"), "no [release.other]"),
        (("gitlab", "--env", "production", "--pipeline", "t:p"), "protected environment"),
        (("gitlab",), "--pipeline module:function"),
        (("gitlab", "--pipeline", "training"), "--pipeline module:function"),
    ]
    for args, words in cases:
        failed = _shipyard(project, "ci", "init", *args)
        assert failed.returncode == 2, (args, failed.stdout, failed.stderr)
        lines = failed.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    assert path.read_text() == "# mine\n" and not (project / ".gitlab-ci.yml").exists()
    forced = _shipyard(
        project, "ci", "init", "github", "--pipeline", "training:pipeline", "--force"
    )
    assert forced.returncode == 0 and "shipyard gate bc latest" in path.read_text()
    with (project / "shipyard.toml").open("a") as toml:
        toml.write('[retrain.bc]\npipeline = "training:retrain"\n')
    from_policy = _shipyard(project, "ci", "init", "gitlab")  # the retraining pipeline
    assert from_policy.returncode == 0, from_policy.stderr
    assert "shipyard pipeline run training:retrain" in (project / ".gitlab-ci.yml").read_text()
    helped = _shipyard(project, "ci", "init", "--help")
    assert helped.returncode == 0 and "--force" in helped.stdout


@pytest.mark.parametrize("toml", ["", "[release.a]\ngates = []\n[release.b]\ngates = []\n"])
def test_ci_init_needs_the_model_named_when_the_policies_do_not(tmp_path: Path, toml: str) -> None:
    (tmp_path / "shipyard.toml").write_text(toml)
    failed = _shipyard(tmp_path, "ci", "init", "github", "--pipeline", "t:p")
    assert failed.returncode == 2 and "name the model with --model" in failed.stderr
