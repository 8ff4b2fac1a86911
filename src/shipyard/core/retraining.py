"""Retraining runs: the state machine of one turn of the continuous-training loop.

queued → running → registered → gated → awaiting_approval → approved → deploying → deployed,
or a terminal failed | refused | skipped with its reason. A failed run may be resumed from
the last step it completed (its state then names that step again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from shipyard.core.errors import InvalidStateTransitionError, ValidationError

__all__ = [
    "LOOP_ACTOR",
    "OUTCOMES",
    "TRIGGERS",
    "RetrainRun",
    "RetrainState",
    "TrainingOutcome",
    "check_retrain_transition",
    "check_trigger",
]

LOOP_ACTOR = "shipyard-retrain"  # the loop's own identity: never an approver in production
TRIGGERS = ("alert", "schedule", "data", "manual", "api")
# The follow-up of a deployed run that an alert triggered: ``pending`` until the version is
# live at 100 % and a complete window after its promotion is judged by the alert's rule.
OUTCOMES = ("pending", "recovered", "not_recovered", "rolled_back")


class RetrainState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    REGISTERED = "registered"
    GATED = "gated"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    FAILED = "failed"
    REFUSED = "refused"
    SKIPPED = "skipped"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {RetrainState.DEPLOYED, RetrainState.FAILED, RetrainState.REFUSED, RetrainState.SKIPPED}
)
_S = RetrainState
_END = frozenset({_S.FAILED})
TRANSITIONS: dict[RetrainState, frozenset[RetrainState]] = {
    _S.QUEUED: frozenset({_S.RUNNING, _S.SKIPPED}) | _END,
    _S.RUNNING: frozenset({_S.REGISTERED}) | _END,
    _S.REGISTERED: frozenset({_S.GATED}) | _END,
    _S.GATED: frozenset({_S.AWAITING_APPROVAL, _S.APPROVED}) | _END,
    _S.AWAITING_APPROVAL: frozenset({_S.APPROVED, _S.REFUSED}) | _END,
    _S.APPROVED: frozenset({_S.DEPLOYING, _S.DEPLOYED}) | _END,
    _S.DEPLOYING: frozenset({_S.DEPLOYED}) | _END,
    # a failed run resumes at the step it failed in (the loop records which one)
    _S.FAILED: frozenset({_S.QUEUED, _S.RUNNING, _S.REGISTERED, _S.GATED, _S.APPROVED}),
    _S.DEPLOYED: frozenset(),
    _S.REFUSED: frozenset(),
    _S.SKIPPED: frozenset(),
}


def check_retrain_transition(run_id: int, current: RetrainState, new: RetrainState) -> None:
    """Raise when ``current → new`` is not in the transition table."""
    if new in TRANSITIONS[current]:
        return
    allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
    raise InvalidStateTransitionError(
        f"retraining run {run_id} cannot go from {current.value} to {new.value}; "
        f"allowed: {allowed}",
        field="state",
    )


def check_trigger(kind: object) -> str:
    if kind not in TRIGGERS:
        raise ValidationError(
            f"trigger must be one of {', '.join(TRIGGERS)}, got {kind!r}", field="trigger"
        )
    return str(kind)


@dataclass(frozen=True)
class RetrainRun:
    """One retraining run of one model and what each step produced."""

    run_id: int
    model: str
    trigger: str  # alert | schedule | data | manual | api
    trigger_detail: Mapping[str, object]  # alert id and rule, data version, user …
    state: RetrainState
    reason: str
    created: int
    updated: int
    created_by: str
    register_as: str
    environment: str
    data_ref: str | None = None
    holdout_ref: str | None = None
    pipeline_run_id: str | None = None
    version: int | None = None
    gates: Mapping[str, object] | None = None
    approval: Mapping[str, object] | None = None
    deployment: Mapping[str, object] | None = None
    coalesced: int = 0  # triggers recorded while this run was active
    failed_step: str | None = None  # the state to resume from after a failure
    holder: str | None = None
    lease_until: int = 0
    finished: int | None = None
    outcome: str | None = None  # after promotion: see OUTCOMES (alert-triggered runs only)
    follow_up: Mapping[str, object] | None = None  # the triggering window and the one after

    @property
    def active(self) -> bool:
        return not self.state.is_terminal


@dataclass(frozen=True)
class TrainingOutcome:
    """What the pipeline run of a retraining produced: the fitted model (when it finished),
    the run that fitted it (the version's lineage) and the dataset version it trained on."""

    pipeline_run_id: str
    ok: bool
    error: str | None = None
    model: object = None
    model_run_id: str | None = None
    data_refs: tuple[str, ...] = ()
    extra: Mapping[str, object] = field(default_factory=dict)
