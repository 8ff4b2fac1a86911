"""`shipyard demo` (what `make run` shows): real data with PII policies, checks, lineage, and
the model trained through a pipeline with a sweep, then re-run from the cache."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipyard.interfaces.bootstrap import build_services
from shipyard.interfaces.cli.demo_pipeline import SWEEP_NODE, training
from shipyard.settings import load_settings
from tests.cli import run_cli
from tests.conftest import free_port
from tests.interfaces.test_sdk_data import _everything_stored

STEPS = {"prepare", SWEEP_NODE, "train_final", "evaluate"}
N_TRIALS = 6
RAW_PII = (b"patient000@clinic.example", b"+44 20 7946 0000")


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    ports = {
        "SHIPYARD_DEMO_SERVE_PORT": str(free_port()),
        "SHIPYARD_DEMO_HOOK_PORT": str(free_port()),
    }
    done = run_cli(project, *args, columns=None, timeout=300, env=ports)
    done.check_returncode()
    return done


def _cli(project: Path, *args: str) -> str:
    return _run(project, *args).stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The sample project, made once for this module; and what the demo printed (its
    standard output, then its standard error: the whole terminal)."""
    root = tmp_path_factory.mktemp("demo")
    project = root / "demo"
    done = _run(root, "demo", "--path", str(project), "--no-serve")
    return project, done.stdout + done.stderr


def _line_of(output: str, text: str) -> int:
    """The number of the first line of ``output`` that has ``text``."""
    found = [i for i, line in enumerate(output.splitlines()) if text in line]
    assert found, f"{text!r} not in the demo's output"
    return found[0]


def test_the_demo_tells_its_story_in_the_order_things_happen(demo: tuple[Path, str]) -> None:
    _, output = demo
    story = [
        "diabetes@v1, @v2 registered",  # the data first: the runs and the pipeline read it
        "8 runs logged in",
        "pipeline run ",
        "pipeline re-run ",
        "diabetes-progression@v1: gates passed",
        "deployed to production by dave",
        "monitor run:",
        "alerts opened: drift_share > 0.15",
        "new data: diabetes@v3",
        "retraining run 1",
        "approvers notified: 1 signed retraining.awaiting_approval webhook(s) received",
        "diabetes-progression@v3 approved by carol",
        "follow-up on the first window after promotion",
        "Audit trail: ",
    ]
    at = [_line_of(output, text) for text in story]
    assert at == sorted(at), list(zip(story, at, strict=True))
    # services' log lines stay out of the story: the alert is told once, in turn, and the
    # approval notice reaches the receiver instead of a closed port
    for noise in ("ConnectError", "Connection refused", "webhook delivery", "alert 1 opened"):
        assert noise not in output, noise


@pytest.fixture(scope="module")
def services(demo: tuple[Path, str]) -> Iterator[Any]:
    svc = build_services(load_settings(env={"SHIPYARD_PROJECT_DIR": str(demo[0])}))
    yield svc
    svc.close()


def _code_diffs(services: Any) -> list[bytes]:
    """The ``code/uncommitted.patch`` of each pipeline run: in a dirty checkout, this very
    file's diff (and its PII literals) is stored as the pipeline code's evidence."""
    patches = []
    for run in services.pipelines.list_runs():
        for info in services.tracking.all_artifacts(run.run_id):
            if info.path == "code/uncommitted.patch":
                _, stream = services.tracking.open_artifact(run.run_id, info.path)
                with stream:
                    patches.append(stream.read())
    return patches


def test_demo_registers_masked_validated_data_and_linked_runs(
    services: Any, demo: tuple[Path, str]
) -> None:
    project, _ = demo
    shown = json.loads(_cli(project, "data", "show", "diabetes@training", "--json"))
    assert shown["ref"] == "diabetes@v2" and shown["row_count"] == 442
    assert {c: r["policy"] for c, r in shown["pii"].items()} == {
        "patient_email": "tokenize",
        "phone": "mask",
    }
    assert shown["validation"]["passed"] is True
    assert [v["row_count"] for v in shown["versions"]] == [442, 442, 400]  # v3: this year
    graph = json.loads(_cli(project, "data", "lineage", "diabetes@v2", "--json"))
    relations = [e["relation"] for e in graph["edges"]]
    assert relations.count("input") == 8
    assert relations.count("pipeline") == 2  # the pipeline run and its cached re-run
    stored = _everything_stored(project / ".shipyard")
    for patch in _code_diffs(services):
        stored = stored.replace(patch, b"")
    assert not [raw for raw in RAW_PII if raw in stored]


def _pipeline_runs(services: Any) -> list[Any]:
    runs = services.pipelines.list_runs(training.qualified_name)
    return sorted(runs, key=lambda r: r.creation_time)


def test_demo_trains_through_a_pipeline_with_a_sweep(services: Any, demo: tuple[Path, str]) -> None:
    runs = _pipeline_runs(services)
    assert len(runs) == 3  # the run, its cached re-run, and the retraining on this year's data
    first = runs[0]
    assert first.status == "FINISHED" and first.executor == "process"
    execs = services.pipelines.latest_executions(first.run_id)
    assert {node for node, _ in execs} == STEPS
    assert {e.status for e in execs.values()} == {"FINISHED"}
    trials = {i: e for (node, i), e in execs.items() if node == SWEEP_NODE}
    assert sorted(trials) == list(range(N_TRIALS))
    children = {i: services.tracking.get_run(e.run_id) for i, e in trials.items()}
    assert {c.info.parent_run_id for c in children.values()} == {first.run_id}
    best = [i for i, c in children.items() if c.tags.get("shipyard.sweep.best") == "true"]
    assert len(best) == 1
    cv_auc = {i: c.metrics["cv_auc"].value for i, c in children.items()}
    assert cv_auc[best[0]] == max(cv_auc.values())
    final = services.tracking.get_run(execs[("train_final", None)].run_id)
    assert float(final.params["C"]) == pytest.approx(float(children[best[0]].params["C"]))
    scores = services.tracking.get_run(execs[("evaluate", None)].run_id).metrics
    assert scores["accuracy"].value > 0.6 and scores["auc"].value > 0.7
    out = demo[1]
    assert f"pipeline run {first.run_id} finished" in out
    assert "/ui/pipelines" in out


def test_the_demo_pipeline_rerun_comes_entirely_from_the_cache(
    services: Any, demo: tuple[Path, str]
) -> None:
    first, again, retrained = _pipeline_runs(services)
    assert again.status == retrained.status == "FINISHED"
    before = services.pipelines.latest_executions(first.run_id)
    execs = services.pipelines.latest_executions(again.run_id)
    assert set(execs) == set(before)
    assert {e.status for e in execs.values()} == {"CACHED"}
    assert {k: e.cached_from for k, e in execs.items()} == {k: e.run_id for k, e in before.items()}
    assert f"pipeline re-run {again.run_id} finished" in demo[1]
    assert "(steps: 4 cached;" in demo[1]


def test_the_demo_leaves_an_intact_audit_trail_of_what_it_did(
    services: Any, demo: tuple[Path, str]
) -> None:
    _, output = demo
    report = services.audit.verify()
    assert report.ok, report.reason
    actions = {e.action for e in services.audit.log(limit=10_000)}
    assert {"run.create", "run.status", "dataset.register", "dataset.alias"} <= actions
    assert f"Audit trail: {report.checked} entries, hash chain intact" in output


def test_the_demo_model_is_gated_approved_by_a_second_user_and_champion(
    services: Any, demo: tuple[Path, str]
) -> None:
    _, output = demo
    version = services.registry.get_version("diabetes-progression@champion")
    assert version.status.value == "approved" and version.version == 1
    evidence = services.registry.gate_results(version.ref)[0]
    assert evidence["passed"] and evidence["holdout"] == "diabetes-holdout@v1"
    assert {g["kind"] for g in evidence["gates"]} == {
        "metric",
        "vs_champion",
        "fairness",
        "latency_p99_ms",
        "data_checks",
    }
    trail = services.audit.log("model:diabetes-progression")
    approval = next(e for e in trail if e.action == "model.approve")
    assert approval.actor == "carol" and approval.actor != version.created_by
    assert "gates passed on diabetes-holdout@v1" in output
    assert "approved by carol" in output


def test_the_demo_writes_the_champions_dossier(demo: tuple[Path, str]) -> None:
    project, output = demo
    dossier = project / "dossier-diabetes-progression-v1.html"
    assert f"Dossier for auditors: {dossier}" in output.replace("\n", "")
    text = dossier.read_text()
    assert "diabetes-progression" in text and "carol" in text and "https://" not in text


def test_the_demo_rolls_out_an_approved_challenger_as_a_canary_with_traffic(
    services: Any, demo: tuple[Path, str]
) -> None:
    project, output = demo
    history = [
        (e.action, e.to_version, e.traffic)
        for e in reversed(services.deployments.history("production"))
    ]
    assert history[:2] == [("deploy", 1, 100), ("deploy", 2, 20)]
    # the watcher may advance the challenger on its (estimated) quality: when it reaches live
    # before the retrained version is ready, v3 rolls out from v2; on a busy machine it may
    # roll v2 back on its latency instead; otherwise the loop waits and dave rolls v2 back
    v3 = history.index(("deploy", 3, 20))
    before_v3 = history[2:v3]
    flat = output.replace("\n", " ")
    assert before_v3 and all(a == "auto_promote" and v == 2 for a, v, _ in before_v3[:-1])
    if before_v3[-1] == ("rollback", 1, 100):
        assert "dave rolled the challenger back" in flat
    elif before_v3[-1] == ("auto_rollback", 1, 100):
        assert "the watcher had rolled the challenger v2 back (automatic rollback:" in flat
    else:
        assert before_v3[-1] == ("auto_promote", 2, 100), before_v3
        assert "the watcher had promoted the challenger v2 to live" in flat
    assert services.registry.get_version("diabetes-progression@2").status.value == "approved"
    figures = services.figures.by_version("production", "diabetes-progression", 0)
    served = {key: f["requests"] for key, f in figures.items()}
    assert {(1, "live"), (2, "canary"), (3, "canary"), (3, "live")} <= set(served)
    before_retraining = sum(n for (v, _), n in served.items() if v in (1, 2))
    assert before_retraining >= 300 + 200  # rollout, drift scene
    assert "300 simulated requests answered" in output and "/ui/environments/production" in output
    logs = list((project / ".shipyard" / "objects" / "predictions").rglob("*.parquet"))
    assert logs and all("model=diabetes-progression" in str(p) for p in logs)


def test_the_demo_closes_the_loop_drift_retrain_approve_canary_promote_recover(
    services: Any, demo: tuple[Path, str]
) -> None:
    """The alert triggers the retraining policy on this year's data; a person approves for
    production; the watcher promotes the canary on its figures and labelled quality; the
    first window after promotion shows the drift alert recovered."""
    _, output = demo
    flat = output.replace("\n", " ")
    (run,) = services.retraining.runs("diabetes-progression").items
    assert (run.trigger, run.state.value, run.version) == ("alert", "deployed", 3)
    assert run.data_ref == "diabetes@v3" and run.gates["passed"] is True
    assert run.approval["automatic"] is False and run.created_by == "shipyard-retrain"
    approvals = [
        e for e in services.audit.log("model:diabetes-progression") if e.action == "model.approve"
    ]
    assert {e.actor for e in approvals} == {"carol"} and len(approvals) == 3  # v1, v2, v3
    assert run.outcome == "recovered"
    after = run.follow_up["after"]["figures"]["drift_share"]
    before = run.follow_up["before"]["figures"]["drift_share"]
    assert after < 0.15 < before
    current = services.deployments.get("production")
    assert (current.live_version, current.candidate_version) == (3, None)
    actions = [(e.action, e.to_version) for e in services.deployments.history("production")]
    assert ("auto_promote", 3) in actions and ("auto_rollback", 3) not in actions
    (alert,) = services.alerts.alerts(model="diabetes-progression").items
    assert alert.status.value == "resolved"
    for line in (
        "retraining run 1 (trigger: alert drift_share > 0.15)",
        "approved by carol",
        "20% → 50% → live — promoted by the watcher",
        "recovered: drift share",
    ):
        assert line in flat, line
    assert services.audit.verify().ok


def test_the_demo_watches_drifted_traffic_and_delivers_a_signed_alert(
    services: Any, demo: tuple[Path, str]
) -> None:
    _, output = demo
    flat = output.replace("\n", " ")
    assert "monitor run:" in flat and "delayed labels recorded: realized accuracy" in flat
    assert "1 signed webhook(s) received" in flat
    windows = services.alerts.windows(model="diabetes-progression").items
    # the drifted patients, before retraining: served by v1, or by v2 if the watcher
    # promoted it on its estimated quality first
    drifted = [w for w in windows if w.version in (1, 2) and "drift.age" in w.figures]
    newest = max(drifted, key=lambda w: w.start)
    assert newest.figures["drift.age"] > 0.5 and newest.figures["drift.bmi"] > 0.5
    assert newest.figures["realized.accuracy"] > 0
    alerts = services.alerts.alerts(model="diabetes-progression").items
    assert [a.rule for a in alerts] == ["drift_share > 0.15"]
    assert services.audit.verify().ok
