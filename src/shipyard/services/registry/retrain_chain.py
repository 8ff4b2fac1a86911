"""A retraining run's chain as an auditor reads it: what triggered it (an alert, the schedule,
new data, a person), the pipeline run and the data it trained on, the version it registered,
the gates, the approval (a person, named; or automatic, with the policy's text; or still
waiting), the deployment with every later step of it (canary steps, promotion, rollback) and
the outcome, with the run's ledger entries as its timeline.

Read from the run and the audit ledger only, so the dossier, the web UI and the CLI show one
and the same chain. ``Ledger`` reads each ledger object once, for a page of many runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipyard.core.retraining import LOOP_ACTOR, RetrainRun
from shipyard.services.audit import AuditService
from shipyard.services.registry.dossier_ledger import ledger_entry

__all__ = ["Ledger", "chain_line", "run_chain"]

MAX_ENTRIES = 100_000
_DECIDED = ("model.approve", "model.reject")
_STAGES = {
    "retrain.queued": "trigger", "retrain.coalesced": "trigger", "retrain.skipped": "trigger",
    "retrain.running": "train", "retrain.registered": "register", "retrain.gated": "gates",
    "retrain.awaiting_approval": "approval", "retrain.approved": "approval",
    "retrain.refused": "approval", "retrain.deploying": "deploy", "retrain.deployed": "deploy",
    "retrain.failed": "outcome",
}  # fmt: skip


class Ledger:
    """The ledger's entries of one object (``model:loans``), oldest first, each read once."""

    def __init__(self, audit: AuditService) -> None:
        self.audit = audit
        self._read: dict[str, list[dict[str, Any]]] = {}

    def entries(self, obj: str) -> list[dict[str, Any]]:
        if obj not in self._read:
            found = [ledger_entry(e) for e in self.audit.log(obj, MAX_ENTRIES)]
            self._read[obj] = sorted(found, key=lambda e: e["seq"])
        return self._read[obj]


def run_chain(run: RetrainRun, ledger: Ledger) -> dict[str, Any]:
    """The run's chain: trigger → run → version → gates → approval → deployment → outcome."""
    own = ledger.entries(f"retraining:{run.run_id}")
    decision = _decision(run, ledger)
    deploy_events = _deploy_events(run, ledger)
    approval = _approval(run, decision)
    deployment = _deployment(run, deploy_events)
    timeline = [_step(e) for e in own]
    if decision is not None and not approval.get("automatic"):
        timeline.append(_step(decision, "approval"))
    timeline += [_step(e, "deploy") for e in deploy_events]
    timeline.sort(key=lambda e: e["seq"])
    return {
        "id": run.run_id,
        "model": run.model,
        "register_as": run.register_as,
        "environment": run.environment,
        "state": run.state.value,
        "reason": run.reason,
        "created": run.created,
        "finished": run.finished,
        "created_by": run.created_by,
        "coalesced": run.coalesced,
        "trigger": _trigger(run),
        "pipeline_run_id": run.pipeline_run_id,
        "data": run.data_ref,
        "holdout": run.holdout_ref,
        "version": run.version,
        "version_ref": None if run.version is None else f"{run.register_as}@v{run.version}",
        "gates": _gates(run),
        "approval": approval,
        "deployment": deployment,
        "outcome": _outcome(run, deployment),
        "timeline": timeline,
    }


def chain_line(chain: Mapping[str, Any]) -> str:
    """The chain in one line: ``alert #3 (drift_share > 0.3) → pipeline abc12345 → v2 →
    gates passed → auto-approved by policy: environment != 'production' → canary 10% in
    staging, now live``."""
    parts = [chain["trigger"]["text"]]
    if chain["pipeline_run_id"]:
        parts.append(f"pipeline {str(chain['pipeline_run_id'])[:8]}")
    if chain["version"] is not None:
        parts.append(f"v{chain['version']}")
    if chain["gates"] is not None:
        parts.append(chain["gates"]["text"])
    if chain["approval"]["kind"] != "none":
        parts.append(chain["approval"]["text"])
    if chain["deployment"] is not None and chain["state"] == "deployed":
        parts.append(chain["deployment"]["text"])  # where it stands now is part of it
        follow = chain["outcome"].get("follow_up")
        if follow is not None:
            parts.append(follow["text"])
    else:
        parts.append(chain["outcome"]["text"])
    return " → ".join(dict.fromkeys(p for p in parts if p))


# ---------------------------------------------------------------- the links
def _trigger(run: RetrainRun) -> dict[str, Any]:
    d = dict(run.trigger_detail)
    kind = run.trigger
    if kind == "alert":
        text = f"alert #{d.get('alert_id')} ({d.get('rule')}) in {d.get('env')}"
    elif kind == "schedule":
        text = f"schedule (every {d.get('every_s')} s)"
    elif kind == "data":
        text = f"new data {d.get('data')}"
    else:
        via = f" via {d['via']}" if d.get("via") else (" via the API" if kind == "api" else "")
        text = f"by hand: {d.get('user') or run.created_by}{via}"
    return {"kind": kind, "text": text, **d}


def _gates(run: RetrainRun) -> dict[str, Any] | None:
    if run.gates is None:
        return None
    gates = dict(run.gates)
    listed = gates.get("failed")
    failed = [str(g) for g in listed] if isinstance(listed, list | tuple) else []
    passed = bool(gates.get("passed"))
    text = "gates passed" if passed else f"gates failed ({', '.join(failed)})"
    values = gates.get("values")
    return {
        "passed": passed,
        "holdout": gates.get("holdout"),
        "failed": failed,
        "values": dict(values) if isinstance(values, Mapping) else {},
        "text": text,
    }


def _decision(run: RetrainRun, ledger: Ledger) -> dict[str, Any] | None:
    """The last approve/reject entry on the run's version in the model's ledger."""
    if run.version is None:
        return None
    found = None
    for e in ledger.entries(f"model:{run.register_as}"):
        if e["action"].startswith(_DECIDED) and e["payload"].get("version") == run.version:
            found = e
    return found


def _approval(run: RetrainRun, decision: Mapping[str, Any] | None) -> dict[str, Any]:
    recorded = dict(run.approval or {})
    if recorded.get("automatic"):
        policy = str(recorded.get("policy") or "")
        return {"kind": "automatic", "automatic": True, "by": recorded.get("by") or LOOP_ACTOR,
                "policy": policy, "time": None if decision is None else decision["time"],
                "text": f"auto-approved by policy: {policy}"}  # fmt: skip
    if decision is not None:
        approved = decision["action"].startswith("model.approve")
        kind = "person" if approved else "refused"
        verb = "approved" if approved else "rejected"
        override = " (OVERRIDE)" if decision["action"].endswith("override") else ""
        return {"kind": kind, "automatic": False, "by": decision["actor"],
                "reason": decision["reason"], "time": decision["time"],
                "override": bool(override),
                "text": f"{verb} by {decision['actor']}{override}"}  # fmt: skip
    if run.state.value == "awaiting_approval":
        return {"kind": "waiting", "automatic": False, "by": None, "reason": run.reason,
                "text": "waiting for an approver"}  # fmt: skip
    return {"kind": "none", "automatic": False, "by": None, "text": ""}


def _deploy_events(run: RetrainRun, ledger: Ledger) -> list[dict[str, Any]]:
    """The deployment steps that moved the run's version in its environment since the run:
    made it canary, moved its traffic, made it live, rolled it back, replaced it."""
    if run.version is None or run.deployment is None:
        return []
    env = str(run.deployment.get("environment") or run.environment)
    kept, before = [], "out"
    for e in ledger.entries(f"deployment:{env}/{run.register_as}"):
        if e["time"] < run.created:
            continue
        role = _role(e["payload"], run.version)
        if role != before or role == "canary":
            kept.append(e)
        before = role
    return kept


def _role(payload: Mapping[str, Any], version: int) -> str:
    if payload.get("live_version") == version:
        return "live"
    return "canary" if payload.get("candidate_version") == version else "out"


def _deployment(run: RetrainRun, events: list[dict[str, Any]]) -> dict[str, Any] | None:
    if run.deployment is None:
        return None
    first = dict(run.deployment)
    if first.get("mode") == "none":
        return {**first, "events": [], "status": "not deployed",
                "text": "deploy = none (left for a person)"}  # fmt: skip
    env, version = str(first.get("environment") or run.environment), run.version
    shown = [_deploy_event(e) for e in events]
    status = _deploy_status(first, shown, version)
    start = f"{first.get('strategy')} {first.get('traffic')}%"
    if first.get("state") != "canary":
        start = str(first.get("strategy") or first.get("state"))
    now = "" if status == start else f", now {status}"
    return {**first, "environment": env, "events": shown, "status": status,
            "text": f"{start} in {env}{now}"}  # fmt: skip


def _deploy_event(e: Mapping[str, Any]) -> dict[str, Any]:
    p = e["payload"]
    return {
        "seq": e["seq"],
        "time": e["time"],
        "action": str(e["action"]).removeprefix("deployment."),
        "actor": e["actor"],
        "reason": e["reason"],
        "from_version": p.get("from_version"),
        "to_version": p.get("to_version"),
        "traffic": p.get("traffic"),
        "live_version": p.get("live_version"),
        "candidate_version": p.get("candidate_version"),
        "evidence": p.get("evidence"),
    }


def _deploy_status(first: Mapping[str, Any], events: list[dict[str, Any]], version: Any) -> str:
    """Where the version stands after the last step: live, canary N%, rolled back, replaced."""
    last: Mapping[str, Any] = events[-1] if events else first
    role = _role(last, version)
    if role == "live":
        return "live"
    if role == "canary":
        return f"canary {last.get('traffic')}%"
    if "rollback" in str(last.get("action", "")):
        who = "automatically" if last.get("action") == "auto_rollback" else f"by {last['actor']}"
        return f"rolled back {who}"
    return f"replaced by v{last.get('live_version')}"


def _follow_up(run: RetrainRun) -> dict[str, Any] | None:
    """The follow-up's verdict after promotion (whether the metric that triggered the run
    recovered), when the loop records one: ``outcome`` and ``follow_up`` of the run."""
    verdict = getattr(run, "outcome", None)
    if not isinstance(verdict, str):
        return None
    follow = getattr(run, "follow_up", None)
    follow = dict(follow) if isinstance(follow, Mapping) else {}
    rule = follow.get("rule") or run.trigger_detail.get("rule") or "the alert's rule"
    text = {
        "pending": "follow-up pending: waits for a judged window after the promotion",
        "recovered": f"metric recovered: {rule} no longer holds",
        "not_recovered": f"metric did not recover: {rule} still holds (alert open)",
        "rolled_back": "follow-up: the version is not live (rolled back), alert open",
    }.get(verdict, f"follow-up: {verdict}")
    before, after = follow.get("before"), follow.get("after")
    return {
        "outcome": verdict,
        "text": text,
        "ok": {"recovered": True, "pending": None}.get(verdict, False),
        "before": dict(before) if isinstance(before, Mapping) else None,
        "after": dict(after) if isinstance(after, Mapping) else None,
    }


def _outcome(run: RetrainRun, deployment: Mapping[str, Any] | None) -> dict[str, Any]:
    follow = _follow_up(run)
    shown = _state_outcome(run, deployment)
    if follow is None:
        return shown
    ok = shown["ok"] if follow["ok"] is None or shown["ok"] is False else follow["ok"]
    return {**shown, "text": f"{shown['text']}; {follow['text']}", "ok": ok, "follow_up": follow}


def _state_outcome(run: RetrainRun, deployment: Mapping[str, Any] | None) -> dict[str, Any]:
    state = run.state.value
    if state == "failed":
        resumable = f", resumable from {run.failed_step}" if run.failed_step else ""
        text, good = f"failed{resumable}: nothing deployed", False
    elif state in ("refused", "skipped"):
        text, good = state, False
    elif state == "deployed" and deployment is not None:
        text = str(deployment["status"])
        good = not text.startswith("rolled back")
    elif run.state.is_terminal:
        text, good = state, True
    else:
        text, good = f"in progress ({state.replace('_', ' ')})", None
    return {"state": state, "text": text, "ok": good, "reason": run.reason}


def _step(e: Mapping[str, Any], stage: str | None = None) -> dict[str, Any]:
    action = str(e["action"])
    return {
        "seq": e["seq"],
        "time": e["time"],
        "actor": e["actor"],
        "action": action,
        "stage": stage or _STAGES.get(action, "outcome"),
        "reason": e["reason"],
    }
