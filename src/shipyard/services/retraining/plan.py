"""The dry run: what a retraining of a model would do now, and why (changes nothing)."""

from __future__ import annotations

from typing import Any

from shipyard.core.errors import ShipyardError
from shipyard.core.retrain_policy import RetrainPolicy
from shipyard.core.retraining import LOOP_ACTOR, RetrainRun
from shipyard.services.retraining.steps import Collaborators

__all__ = ["plan_run"]


def plan_run(
    policy: RetrainPolicy,
    parts: Collaborators,
    active: RetrainRun | None,
    last: RetrainRun | None,
    now: int,
    user: str,
) -> dict[str, Any]:
    """The plan as JSON: would it run, the blockers, and each step with its inputs."""
    blockers: list[str] = []
    if active is not None:
        blockers.append(
            f"run {active.run_id} is {active.state.value}: this trigger would be coalesced into it"
        )
    elif last is not None and now - last.created < policy.cooldown_ms:
        blockers.append(
            f"inside the cooldown until {last.created + policy.cooldown_ms} "
            f"(run {last.run_id} started at {last.created})"
        )
    data = _resolve(parts, policy.data, blockers, "data")
    holdout = _resolve(parts, policy.holdout or _release(parts, policy, "holdout"), blockers,
                       "holdout")  # fmt: skip
    if policy.register_as not in parts.release:
        blockers.append(
            f"no [release.{policy.register_as}] policy: its gates cannot run; add one to "
            "shipyard.toml"
        )
    protected = parts.deployments.is_protected(policy.environment)
    facts = {"environment": policy.environment, "model": policy.model, "trigger": "manual"}
    rule = policy.auto_approve_if
    if protected:
        approval = f"a person (approver, not {LOOP_ACTOR}): {policy.environment} is protected"
    elif rule is not None and rule.holds(facts):
        approval = f"automatic: auto_approve_if = {rule.text!r} holds"
    else:
        approval = "a person (approver): auto_approve_if is absent or false"
    return {
        "model": policy.model,
        "would_run": not blockers,
        "blockers": blockers,
        "requested_by": user,
        "triggers": policy.triggers,
        "steps": [
            {
                "step": "train",
                "pipeline": policy.pipeline,
                "params": dict(policy.params),
                "data": data,
            },
            {"step": "register", "as": policy.register_as},
            {"step": "gates", "holdout": holdout, "against": "the champion"},
            {"step": "approval", "by": approval},
            {"step": "deploy", "mode": policy.deploy, "environment": policy.environment},
            {
                "step": "follow_up",
                "judged": "when an alert triggered the run: the first complete window after "
                "the version is live in the alert's environment, by the alert's rule",
            },
        ],
        "cooldown_s": policy.cooldown_ms // 1000,
        "active_run": None if active is None else active.run_id,
        "last_run": None if last is None else last.run_id,
    }


def _release(parts: Collaborators, policy: RetrainPolicy, key: str) -> str | None:
    table = parts.release.get(policy.register_as)
    value = table.get(key) if isinstance(table, dict) else None
    return value if isinstance(value, str) else None


def _resolve(parts: Collaborators, ref: str | None, blockers: list[str], what: str) -> str | None:
    if ref is None:
        return None
    if ref == "feedback":
        if parts.feedback is None:
            blockers.append("data = 'feedback': feedback export is not available")
        return "feedback (a new export of labelled production data)"
    try:
        return parts.datasets.get_version(ref).ref
    except ShipyardError as e:
        blockers.append(f"{what}: {e.message}")
        return None
