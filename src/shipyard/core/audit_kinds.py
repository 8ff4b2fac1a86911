"""Which audit actions are governance and which are bookkeeping.

Governance is what a model risk reviewer or an auditor reads first: quality gates, approvals
and rejections, status changes of model versions, aliases (of models and datasets),
deployments and rollouts, users' roles and tokens, and the retraining loop's decisions.
Everything else (runs, experiments, metrics, artifacts, datasets registered or validated,
monitoring alerts, feedback, exports, upkeep) is bookkeeping, so the two kinds split the
trail exactly and an action added later is bookkeeping until it is named here.
"""

from __future__ import annotations

from shipyard.core.errors import ValidationError

__all__ = ["AUDIT_KINDS", "GOVERNANCE_ACTIONS", "check_kind", "is_governance"]

AUDIT_KINDS = ("governance", "bookkeeping")

# An action is governance when it is one of these or starts with one of them and a dot
# (``model.approve`` covers ``model.approve.auto``; ``deployment`` every ``deployment.*``).
GOVERNANCE_ACTIONS = (
    "dataset.alias",
    "deployment",
    "model.alias",
    "model.approve",
    "model.gate",
    "model.reject",
    "model.status",
    "retrain",
    "token",
    "user",
)


def is_governance(action: str) -> bool:
    """Whether ``action`` is a governance event (see ``GOVERNANCE_ACTIONS``)."""
    return any(action == p or action.startswith(p + ".") for p in GOVERNANCE_ACTIONS)


def check_kind(kind: str | None) -> str | None:
    """``governance`` or ``bookkeeping`` as given (trimmed, any case); empty or ``all`` is
    None (no filter); anything else is a ValidationError naming ``kind``."""
    text = (kind or "").strip().lower()
    if text in ("", "all"):
        return None
    if text not in AUDIT_KINDS:
        raise ValidationError(
            f"kind must be one of governance, bookkeeping or all, got {kind!r}", field="kind"
        )
    return text
