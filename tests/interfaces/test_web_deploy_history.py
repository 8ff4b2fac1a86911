"""The deploy history's rows: the watcher's rollbacks and promotions show their evidence (the
breached comparisons with their figures, the model quality judged, the step taken)."""

from __future__ import annotations

from typing import Any

from shipyard.core.deployments import DeploymentEvent
from shipyard.interfaces.web.deploy_history import history_row

SERVING = {"requests": 60, "errors": 0, "error_rate": 0.0, "p50_ms": 4.0, "p99_ms": 5.0}
QUALITY = {
    "since": 1,
    "min_labels": 40,
    "candidate": {"source": "realized", "labelled": 100, "predictions": 100,
                  "metrics": {"roc_auc": 0.21234, "accuracy": 0.3}},
    "live": {"source": "none", "labelled": 3, "predictions": 200, "metrics": {}},
}  # fmt: skip


def _event(action: str, evidence: dict[str, Any]) -> DeploymentEvent:
    return DeploymentEvent(7, "staging", "loans", action, 2, 1, "canary", 100,
                           "shipyard-watcher", "why", 1, evidence)  # fmt: skip


def test_an_automatic_rollback_shows_what_breached_and_the_quality_judged() -> None:
    breached = [{"condition": "roc_auc < live_roc_auc - 0.05",
                 "figures": {"roc_auc": 0.21234, "live_roc_auc": 0.9}}]  # fmt: skip
    row = history_row(_event("auto_rollback", {
        "rule": "roc_auc < live_roc_auc - 0.05", "candidate": SERVING, "live": {},
        "breached": breached, "quality": QUALITY,
    }))  # fmt: skip
    details = dict(row["details"])
    assert row["auto"] is True
    assert (
        details["breached"]
        == "roc_auc < live_roc_auc - 0.05 (roc_auc = 0.2123, live_roc_auc = 0.9)"
    )
    assert details["candidate quality"] == "realized, 100 labels: accuracy 0.3, roc_auc 0.2123"
    assert details["live quality"] == "none, 3 labels"
    assert details["candidate"].startswith("60 requests, error rate 0.00%")
    assert details["live"] == "no figures"


def test_an_automatic_promotion_shows_the_step_and_why() -> None:
    row = history_row(_event("auto_promote", {
        "rule": "error_rate > 0.05", "candidate": SERVING, "live": SERVING,
        "promote_after": "30m", "from_traffic": 10, "to_traffic": 50,
    }))  # fmt: skip
    details = dict(row["details"])
    assert row["auto"] is False  # highlighted as a rollback only
    assert (details["rule"], details["promote_after"], details["step"]) == (
        "error_rate > 0.05", "30m", "10% → 50%",
    )  # fmt: skip
    assert "breached" not in details and "candidate quality" not in details


def test_other_events_show_their_evidence_as_is() -> None:
    row = history_row(_event("deploy", {"status": "approved", "nothing_live": False}))
    assert row == {"e": row["e"], "auto": False,
                   "details": [("status", "approved"), ("nothing_live", "false")]}  # fmt: skip
