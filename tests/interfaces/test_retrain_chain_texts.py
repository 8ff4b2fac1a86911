"""Each trigger of a retraining run reads as what happened, with its link: an alert (to the
alert on the monitoring page), the schedule, new data (to the dataset version), a person by
name (through the CLI, the web UI or the API); and the stage marks of a run that failed in
training, waits for an approver or was skipped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shipyard.core.retraining import RetrainRun, RetrainState
from shipyard.interfaces.bootstrap import build_services
from shipyard.interfaces.web.pages import templates
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


@dataclass(frozen=True)
class _Followed(RetrainRun):
    """A run with the follow-up's verdict (the loop records ``outcome`` and ``follow_up``)."""

    outcome: str | None = None
    follow_up: Mapping[str, object] | None = None


@pytest.mark.parametrize(
    ("verdict", "text", "ok"),
    [
        ("pending", "follow-up pending: waits for a judged window after the promotion", True),
        ("recovered", "metric recovered: drift_share > 0.3 no longer holds", True),
        ("not_recovered", "metric did not recover: drift_share > 0.3 still holds (alert open)",
         False),
        ("rolled_back", "follow-up: the version is not live (rolled back), alert open", False),
    ],
)  # fmt: skip
def test_the_follow_up_verdict_ends_the_chain(
    ledger: Any, verdict: str, text: str, ok: bool
) -> None:
    follow = {
        "rule": "drift_share > 0.3",
        "before": {"window": 1, "figures": {"drift_share": 0.5}},
        "after": {"window": 9, "figures": {"drift_share": 0.1}},
    }
    run = _Followed(
        run_id=3, model="loans", trigger="alert", state=RetrainState.DEPLOYED,
        trigger_detail={"alert_id": 1, "rule": "drift_share > 0.3", "env": "staging"},
        reason="live", created=1, updated=2, created_by="shipyard-retrain",
        register_as="loans", environment="staging", version=2,
        deployment={"environment": "staging", "strategy": "replace", "state": "live",
                    "traffic": 100, "live_version": 2, "candidate_version": None},
        outcome=verdict, follow_up=follow,
    )  # fmt: skip
    view = run_view(run_chain(run, ledger))
    assert view["outcome"]["text"] == f"live; {text}" and view["outcome"]["ok"] is ok
    assert view["line"].endswith(f"→ replace in staging, now live → {text}")
    card = str(templates.env.get_template("retrain_macros.html").module.run_card(view))  # type: ignore[attr-defined]
    assert 'class="follow-up" data-outcome="' + verdict + '"' in card
    assert "drift_share 0.5" in card and "drift_share 0.1" in card
