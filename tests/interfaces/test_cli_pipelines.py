"""``shipyard pipeline run|show|ls|resume`` and ``shipyard reproduce``, as a user runs them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli import run_cli

FLOW = """
import os
import random

import shipyard as sy


@sy.step
def start(n: int = 3) -> list:
    return list(range(n))


@sy.step
def total(values: list) -> int:
    return sum(values)


@sy.step
def noisy(value: int) -> float:
    # SystemRandom: noise the per-step seed cannot make repeatable.
    return value + random.SystemRandom().random() * float(os.environ.get("FLOW_NOISE", "0"))


@sy.step
def check(value: float, flag: str = "") -> float:
    if flag and not os.path.exists(flag):
        raise RuntimeError("flag missing")
    return value * 2


@sy.pipeline
def chain(n: int = 3, flag: str = ""):
    check(noisy(total(start(n))), flag)
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A project in its own git repository, with one committed pipeline module."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "userflow.py").write_text(FLOW)
    (repo / ".gitignore").write_text(".shipyard/\n__pycache__/\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "flow")
    return repo


def _cli(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(repo, *args, user="tester", columns=None, timeout=300, env=env, cwd=repo)


def test_run_show_ls_and_a_cached_rerun(repo: Path) -> None:
    shown = _cli(repo, "pipeline", "show", "userflow:chain", "--json")
    assert shown.returncode == 0, shown.stderr
    assert [n["id"] for n in json.loads(shown.stdout)["nodes"]] == [
        "start",
        "total",
        "noisy",
        "check",
    ]
    tree = _cli(repo, "pipeline", "show", "userflow:chain")
    assert "needs: total" in tree.stdout

    first = _cli(repo, "pipeline", "run", "userflow:chain", "-p", "n=4", "--json")
    assert first.returncode == 0, first.stderr
    body = json.loads(first.stdout)
    assert body["status"] == "FINISHED" and set(body["steps"].values()) == {"finished"}

    again = _cli(repo, "pipeline", "run", "userflow:chain", "-p", "n=4")
    assert again.returncode == 0, again.stderr
    assert "cached" in again.stdout and "finished" in again.stdout

    listed = _cli(repo, "pipeline", "ls", "--json")
    runs = json.loads(listed.stdout)
    assert len(runs) == 2 and runs[0]["params"] == {"n": 4, "flag": ""}
    steps = _cli(repo, "pipeline", "show", runs[0]["run_id"])
    assert steps.returncode == 0 and "cached" in steps.stdout


def test_a_failed_run_exits_1_and_resume_completes_it(repo: Path) -> None:
    flag = repo / "flag"
    failed = _cli(repo, "pipeline", "run", "userflow:chain", "-p", f"flag={flag}")
    assert failed.returncode == 1
    assert "step 'check' failed: RuntimeError: flag missing" in failed.stderr
    assert "shipyard pipeline resume" in failed.stderr
    run_id = failed.stderr.split("pipeline run ")[1].split()[0]
    flag.write_text("ok")
    resumed = _cli(repo, "pipeline", "resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["steps"] == {
        "start": "cached",
        "total": "cached",
        "noisy": "cached",
        "check": "finished",
    }


def test_bad_targets_and_params_are_clear_errors(repo: Path) -> None:
    for args, message in [
        (["pipeline", "run", "userflow"], "module:function"),
        (["pipeline", "run", "nosuchmodule:chain"], "cannot import 'nosuchmodule'"),
        (["pipeline", "run", "userflow:start"], "is not a pipeline"),
        (["pipeline", "run", "userflow:chain", "-p", "nope"], "KEY=VALUE"),
        (["pipeline", "run", "userflow:chain", "-p", "m=1"], "unexpected keyword argument 'm'"),
        (["pipeline", "run", "userflow:chain", "-e", "gpu"], "unknown executor 'gpu'"),
        (["pipeline", "show", "0" * 32], "not found"),
        (["pipeline", "resume", "f" * 32], "not found"),
    ]:
        out = _cli(repo, *args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert message in out.stderr, (args, out.stderr)


def test_reproduce_from_the_recorded_commit_reports_identical(repo: Path) -> None:
    first = json.loads(_cli(repo, "pipeline", "run", "userflow:chain", "--json").stdout)
    # The working copy moves on after the run; reproduce uses the recorded commit.
    (repo / "userflow.py").write_text(FLOW.replace("return value * 2", "return value * 5"))
    _git(repo, "commit", "-qam", "later change")
    out = _cli(repo, "reproduce", first["run_id"], "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] and {o["verdict"] for o in report["outputs"]} == {"identical"}
    assert len(report["outputs"]) == 4
    assert not (repo.parent / "tree").exists()
    worktrees = subprocess.run(
        ["git", "worktree", "list"], cwd=repo, capture_output=True, text=True
    ).stdout
    assert len(worktrees.strip().splitlines()) == 1  # the temporary worktree is gone


def test_reproduce_applies_a_dirty_run_patch_and_judges_tolerance(repo: Path) -> None:
    (repo / "userflow.py").write_text(FLOW.replace("return value * 2", "return value * 7"))
    first = json.loads(
        _cli(repo, "pipeline", "run", "userflow:chain", "--json", FLOW_NOISE="1e-12").stdout
    )
    assert first["status"] == "FINISHED"
    out = _cli(repo, "reproduce", first["run_id"], "--json", FLOW_NOISE="1e-12")
    report = json.loads(out.stdout)
    verdicts = {o["node"]: o["verdict"] for o in report["outputs"]}
    assert verdicts["total"] == "identical"
    assert verdicts["noisy"] == "within tolerance"
    assert verdicts["check"] == "within tolerance"  # * 7: the recorded patch was applied
    assert out.returncode == 0
    noisy = _cli(repo, "reproduce", first["run_id"], "--json", FLOW_NOISE="0.5")
    assert noisy.returncode == 1
    assert {o["node"]: o["verdict"] for o in json.loads(noisy.stdout)["outputs"]}[
        "noisy"
    ] == "different"


def test_an_error_with_brackets_is_printed_as_text_not_markup(repo: Path) -> None:
    (repo / "markupflow.py").write_text(
        "import shipyard as sy\n\n\n@sy.step\ndef gone() -> int:\n"
        "    raise FileNotFoundError('[/data/x.csv] is gone [bold]')\n\n\n"
        "@sy.pipeline\ndef flow():\n    gone()\n"
    )
    out = _cli(repo, "pipeline", "run", "markupflow:flow")
    assert out.returncode == 1
    assert "FileNotFoundError: [/data/x.csv] is gone [bold]" in out.stderr
    assert "Traceback" not in out.stderr


def test_reproduce_refuses_a_tampered_commit_or_import_root(repo: Path) -> None:
    from shipyard.interfaces.bootstrap import build_services
    from shipyard.settings import load_settings

    run_id = json.loads(_cli(repo, "pipeline", "run", "userflow:chain", "--json").stdout)["run_id"]
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(repo)}))
    try:
        for tags, message in [
            ({"shipyard.git.commit": "--lock"}, "not a full git commit id"),
            ({"shipyard.git.import_root": "../../elsewhere"}, "not a folder inside"),
        ]:
            original = svc.tracking.get_run(run_id).tags
            svc.tracking.log_batch(run_id, tags=tags)
            out = _cli(repo, "reproduce", run_id)
            assert out.returncode == 2, out.stderr
            assert message in out.stderr
            svc.tracking.log_batch(run_id, tags={k: original[k] for k in tags if k in original})
    finally:
        svc.close()
