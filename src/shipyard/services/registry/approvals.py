"""Approvals with separation of duties: who may approve or reject a model version, and when.

- the approver needs the ``approver`` role (or higher);
- never the version's author, nor anyone who ran its training (the run and its parent);
- only after the gates passed; approving a version whose gates failed is an *override*,
  which needs ``admin`` and a reason and is flagged in the status and the audit trail.
"""

from __future__ import annotations

from typing import Any

from shipyard.core.entities import User
from shipyard.core.errors import PermissionDeniedError, ValidationError
from shipyard.core.models import ModelRef, ModelVersion, VersionStatus
from shipyard.core.permissions import Action, check

__all__ = ["check_approver", "decide"]


def _trainers(tracking: Any, version: ModelVersion) -> set[str]:
    # the author, and who ran the training run and its parents (a step's pipeline run)
    return {version.created_by, *(run.info.user for run in tracking.run_chain(version.run_id))}


def check_approver(tracking: Any, version: ModelVersion, user: User) -> None:
    check(user, Action.DECIDE)
    if user.name in _trainers(tracking, version):
        raise PermissionDeniedError(
            f"user {user.name!r} authored {version.ref} or ran its training; separation of "
            "duties: another approver must decide"
        )


def decide(
    registry: Any,
    ref: ModelRef,
    user: User,
    *,
    approve: bool,
    reason: str,
    override: bool = False,
) -> ModelVersion:
    """Approve or reject ``ref`` as ``user``; the decision and its reason are audited."""
    version = registry.get_version(ref)
    check_approver(registry.tracking, version, user)
    if not reason.strip():
        raise ValidationError("a decision needs a reason (--reason …)", field="reason")
    status = version.status
    if status == VersionStatus.CANDIDATE:
        raise ValidationError(
            f"{version.ref} is a candidate: run its gates first (shipyard gate "
            f"{version.name} {version.version})",
            field="status",
        )
    if status not in (VersionStatus.GATE_PASSED, VersionStatus.GATE_FAILED):
        raise ValidationError(
            f"{version.ref} is already {status.value}; only a gated version (gate_passed or "
            "gate_failed) can be approved or rejected",
            field="status",
        )
    exact = ModelRef(version.name, version=version.version)
    seen = frozenset({status})  # re-checked under the row lock when the status changes
    if not approve:
        return registry.set_status(
            exact,
            VersionStatus.REJECTED,
            user=user.name,
            reason=reason,
            action="model.reject",
            expected=seen,
        )
    if status == VersionStatus.GATE_FAILED:
        if not override:
            raise ValidationError(
                f"{version.ref} failed its gates; only an admin may approve it, with "
                "--override and a reason",
                field="status",
            )
        check(user, Action.OVERRIDE_GATES)
        return registry.set_status(
            exact,
            VersionStatus.APPROVED,
            user=user.name,
            reason=f"OVERRIDE: {reason}",
            action="model.approve.override",
            expected=seen,
        )
    return registry.set_status(
        exact,
        VersionStatus.APPROVED,
        user=user.name,
        reason=reason,
        action="model.approve",
        expected=seen,
    )
