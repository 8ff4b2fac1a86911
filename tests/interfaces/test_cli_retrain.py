"""``shipyard retrain``: dry run, a run, history, and the clear errors (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shipyard.core.entities import Role
from shipyard.interfaces.bootstrap import build_services
from shipyard.settings import load_settings
from tests.cli import run_cli
from tests.services.retraining.conftest import MODEL, TOML, seed

ROOT = Path(__file__).resolve().parents[2]  # the tests' pipeline module is imported from here


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(project, *args, user="dora", timeout=300, cwd=ROOT, pythonpath=[ROOT])


def test_retrain_dry_run_run_and_history(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text(TOML, encoding="utf-8")
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    try:
        seed(svc)
        svc.catalog.register("loans", svc.catalog.load_frame("loans@v1").head(350), user="dana")
        svc.access.add_user("dora", Role.DEPLOYER)
        svc.access.add_user("vic", Role.VIEWER)
    finally:
        svc.close()

    dry = _cli(tmp_path, "retrain", MODEL, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["would_run"] is True and plan["blockers"] == []
    steps = {s["step"]: s for s in plan["steps"]}
    assert steps["train"]["data"] == "loans@v2" and steps["gates"]["holdout"] == "loans-holdout@v1"
    assert steps["approval"]["by"].startswith("automatic")
    assert steps["deploy"] == {"step": "deploy", "mode": "canary", "environment": "staging"}
    text = _cli(tmp_path, "retrain", MODEL, "--dry-run")
    assert "would run" in text.stdout and "nothing changed" in text.stdout
    assert json.loads(_cli(tmp_path, "retrain", "history", MODEL, "--json").stdout)["total"] == 0

    done = _cli(tmp_path, "retrain", MODEL, "--json")
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)["run"]
    assert run["state"] == "deployed" and run["trigger"] == {"kind": "manual", "user": "dora"}
    assert run["deployment"]["candidate_version"] == 2

    again = _cli(tmp_path, "retrain", MODEL)
    assert again.returncode == 0 and "skipped" in again.stdout and "cooldown" in again.stdout
    history = _cli(tmp_path, "retrain", "history", MODEL)
    assert history.returncode == 0 and "showing 2 of 2" in history.stdout

    viewer = _cli(tmp_path, "retrain", MODEL, "--dry-run")
    assert viewer.returncode == 0
    denied = subprocess.run(
        [str(Path(sys.executable).parent / "shipyard"), "retrain", MODEL],
        env={**os.environ, "SHIPYARD_PROJECT_DIR": str(tmp_path), "SHIPYARD_USER": "vic"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert denied.returncode == 2 and "needs deployer" in denied.stderr


def test_retrain_bad_input_exits_2_naming_the_problem(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text(TOML, encoding="utf-8")
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    svc.access.add_user("dora", Role.DEPLOYER)
    svc.close()
    unknown = _cli(tmp_path, "retrain", "nope")
    assert unknown.returncode == 2 and "no [retrain.nope] policy" in unknown.stderr
    history = _cli(tmp_path, "retrain", "history", "nope")
    assert history.returncode == 2 and "no [retrain.nope] policy" in history.stderr

    (tmp_path / "shipyard.toml").write_text(TOML + 'colldown = "1h"\n', encoding="utf-8")
    bad_key = _cli(tmp_path, "retrain", MODEL, "--dry-run")
    assert bad_key.returncode == 2 and "retrain.loans.colldown: unknown key" in bad_key.stderr

    broken = TOML.replace('deploy = "canary"\nenvironment', 'deploy = "blue"\nenvironment')
    (tmp_path / "shipyard.toml").write_text(broken, encoding="utf-8")
    bad_deploy = _cli(tmp_path, "retrain", MODEL)
    assert bad_deploy.returncode == 2 and "retrain.loans.deploy" in bad_deploy.stderr

    missing = TOML.replace("tests.services.retraining.flows:training", "no_such_module:training")
    (tmp_path / "shipyard.toml").write_text(missing, encoding="utf-8")
    bad_pipeline = _cli(tmp_path, "retrain", MODEL, "--dry-run")
    assert bad_pipeline.returncode == 2 and "cannot import 'no_such_module'" in bad_pipeline.stderr

    rule = TOML.replace("environment != 'production'", "__import__('os')")
    (tmp_path / "shipyard.toml").write_text(rule, encoding="utf-8")
    bad_rule = _cli(tmp_path, "retrain", MODEL, "--dry-run")
    assert bad_rule.returncode == 2 and "retrain.loans.auto_approve_if" in bad_rule.stderr


def test_a_runner_killed_mid_run_is_taken_over_after_its_lease(tmp_path: Path) -> None:
    from shipyard.core.clock import now_ms
    from shipyard.core.errors import ConflictError
    from shipyard.services.retraining import RetrainingService
    from shipyard.stores.sql.audit_repo import AuditRepo
    from shipyard.stores.sql.retraining_repo import RetrainingRepo

    marker = tmp_path / "kill-the-runner"
    marker.touch()
    toml = TOML + f'params = {{ die_if = "{marker}" }}\n'
    (tmp_path / "shipyard.toml").write_text(toml, encoding="utf-8")
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(tmp_path)}))
    try:
        seed(svc)
        svc.catalog.register("loans", svc.catalog.load_frame("loans@v1").head(350), user="dana")
        svc.access.add_user("dora", Role.DEPLOYER)
        died = _cli(tmp_path, "retrain", MODEL)
        assert died.returncode == 17, died.stderr  # the process ended inside `fit`
        run = svc.retraining.get(1)
        assert run.state.value == "running" and run.holder is not None
        assert run.pipeline_run_id is not None and run.lease_until > now_ms()
        try:
            svc.retraining.resume(MODEL, user="dora")
            raise AssertionError("a held lease must refuse the resume")
        except ConflictError as e:
            assert "holds it" in e.message
        marker.unlink()
        later = RetrainingService(
            svc.db,
            policies=svc.settings.retrain,
            parts=svc.retraining.parts,
            repo=RetrainingRepo(),
            audit=AuditRepo(),
            clock=lambda: now_ms() + 3_600_000,  # an hour on: the dead runner's lease ended
        )
        done = later.tick(MODEL)[0]
        assert done.run_id == run.run_id and done.state.value == "deployed", done.reason
        latest = svc.pipelines.latest_executions(run.pipeline_run_id)
        assert latest[("prepare", None)].status == "CACHED"  # the finished step was kept
        assert svc.retraining.runs(MODEL).total == 1
    finally:
        svc.close()
