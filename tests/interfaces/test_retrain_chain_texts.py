"""Each trigger of a retraining run reads as what happened, with its link: an alert (to the
alert on the monitoring page), the schedule, new data (to the dataset version), a person by
name (through the CLI, the web UI or the API); and the stage marks of a run that failed in
training, waits for an approver or was skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shipyard.core.retraining import RetrainRun, RetrainState
from shipyard.interfaces.bootstrap import build_services
from shipyard.interfaces.web.retrain_views import run_view
from shipyard.services.registry.retrain_chain import Ledger, run_chain
from tests.services.retraining.conftest import settings


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    svc = build_services(settings(tmp_path, f"sqlite:///{tmp_path / 'shipyard.db'}"))
    yield Ledger(svc.audit)  # an empty ledger: the run alone tells its chain
    svc.close()


def _run(trigger: str, detail: dict[str, Any], state: RetrainState, **kw: Any) -> RetrainRun:
    return RetrainRun(
        run_id=7, model="loans", trigger=trigger, trigger_detail=detail, state=state,
        reason=kw.pop("reason", ""), created=1, updated=2, created_by=kw.pop("by", "dora"),
        register_as="loans", environment="staging", **kw,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("trigger", "detail", "text", "link"),
    [
        ("alert", {"alert_id": 4, "rule": "drift_share > 0.3", "env": "prod"},
         "alert #4 (drift_share > 0.3) in prod", "/ui/monitoring/prod/loans#alert-4"),
        ("schedule", {"every_s": 604800}, "schedule (every 604800 s)", None),
        ("data", {"data": "loans@v9"}, "new data loans@v9", "/ui/data/loans%40v9"),
        ("manual", {"user": "dora"}, "by hand: dora", None),
        ("manual", {"user": "dora", "via": "the web UI"}, "by hand: dora via the web UI", None),
        ("api", {"user": "ci-bot"}, "by hand: ci-bot via the API", None),
    ],
)  # fmt: skip
def test_every_trigger_reads_as_what_happened(
    ledger: Any, trigger: str, detail: dict[str, Any], text: str, link: str | None
) -> None:
    view = run_view(run_chain(_run(trigger, detail, RetrainState.QUEUED), ledger))
    assert view["trigger"]["text"] == text
    assert (view["hrefs"]["alert"] or view["hrefs"]["trigger_data"]) == link
    assert view["outcome"] == {"state": "queued", "text": "in progress (queued)", "ok": None,
                               "reason": ""}  # fmt: skip


def test_stage_marks_of_runs_that_stopped(ledger: Any) -> None:
    crashed = _run("schedule", {"every_s": 60}, RetrainState.FAILED, failed_step="running",
                   reason="pipeline failed: the training cluster went away")  # fmt: skip
    view = run_view(run_chain(crashed, ledger))
    marks = {s["stage"]: s["mark"] for s in view["stages"]}
    assert marks == {"trigger": "done", "train": "fail", "gates": "todo", "approval": "todo",
                     "deploy": "todo", "outcome": "fail"}  # fmt: skip
    assert view["outcome"]["text"] == "failed, resumable from running: nothing deployed"
    assert (
        view["line"] == "schedule (every 60 s) → failed, resumable from running: nothing deployed"
    )

    waiting = _run("alert", {"alert_id": 1, "rule": "r", "env": "production"},
                   RetrainState.AWAITING_APPROVAL, version=3, pipeline_run_id="abc",
                   gates={"passed": True, "holdout": "h@v1", "failed": [], "values": {}},
                   reason="production is protected")  # fmt: skip
    view = run_view(run_chain(waiting, ledger))
    assert [s["mark"] for s in view["stages"]] == ["done", "done", "done", "wait", "todo", "wait"]
    assert view["hrefs"]["approve"] == "/ui/models/loans/versions/3#decision-form"
    assert view["approval"]["kind"] == "waiting" and view["approval"]["by"] is None

    skipped = _run("manual", {"user": "dora"}, RetrainState.SKIPPED, reason="inside the cooldown")
    view = run_view(run_chain(skipped, ledger))
    assert view["stages"][0]["mark"] == "skip" and view["outcome"]["ok"] is False
    assert view["line"] == "by hand: dora → skipped"
