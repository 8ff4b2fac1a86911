"""Governance or bookkeeping: the split of audit actions, and the filter's parameter."""

from __future__ import annotations

import pytest

from shipyard.core.audit_kinds import check_kind, is_governance
from shipyard.core.errors import ValidationError

GOVERNANCE = (
    "model.gate", "model.approve", "model.approve.auto", "model.approve.override",
    "model.reject", "model.status", "model.alias", "dataset.alias", "deployment.deploy",
    "deployment.auto_promote", "deployment.rollback", "user.add", "token.issue",
    "token.revoke", "retrain.awaiting_approval", "retrain.refused", "retrain.deployed",
)  # fmt: skip
BOOKKEEPING = (
    "run.create", "run.status", "run.delete", "run.input", "experiment.rename",
    "dataset.register", "dataset.validate", "model.create", "model.version.create",
    "model.tag.set", "model.rename", "alert.opened", "feedback.record", "monitoring.export",
    "gc.collect", "model.gatekeeper", "users.list", "deployments",
)  # fmt: skip


@pytest.mark.parametrize("action", GOVERNANCE)
def test_governance_actions(action: str) -> None:
    assert is_governance(action)


@pytest.mark.parametrize("action", BOOKKEEPING)
def test_everything_else_is_bookkeeping(action: str) -> None:
    assert not is_governance(action)


def test_the_kind_parameter() -> None:
    assert check_kind(" Governance ") == "governance"
    assert check_kind("bookkeeping") == "bookkeeping"
    assert check_kind("all") is None and check_kind("") is None and check_kind(None) is None
    with pytest.raises(ValidationError) as e:
        check_kind("gates")
    assert e.value.field == "kind" and "governance, bookkeeping or all" in e.value.message
    assert "'gates'" in e.value.message
