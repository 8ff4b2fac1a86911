"""``[retrain.<model>]``: parsed, every error naming its key; ``auto_approve_if`` judged
without eval; the run's state machine."""

from __future__ import annotations

import pytest

from shipyard.core.errors import InvalidStateTransitionError, ValidationError
from shipyard.core.retrain_policy import parse_approve_rule, parse_retrain_policy
from shipyard.core.retraining import RetrainState, check_retrain_transition

BASE = {"pipeline": "training:pipeline"}


def test_a_full_policy_parses() -> None:
    policy = parse_retrain_policy(
        "loans",
        {
            **BASE,
            "on": "alert:drift_share  > 0.3 or alert:estimated.roc_auc < 0.75 or alert:any",
            "schedule": "7d",
            "on_new_data": True,
            "params": {"n_trials": 8},
            "data": "feedback",
            "holdout": "loans-holdout@latest",
            "cooldown": "24h",
            "auto_approve_if": "environment != 'production'",
            "deploy": "replace",
            "environment": "staging",
            "register_as": "loans-v2",
        },
    )
    assert policy.on == ("drift_share > 0.3", "estimated.roc_auc < 0.75", "any")
    assert (policy.schedule_ms, policy.cooldown_ms) == (7 * 86_400_000, 86_400_000)
    assert policy.data == "feedback" and policy.register_as == "loans-v2"
    assert policy.matches("anything at all")  # alert:any
    defaults = parse_retrain_policy("loans", BASE)
    assert (defaults.environment, defaults.deploy, defaults.register_as) == (
        "production", "canary", "loans",
    )  # fmt: skip
    assert defaults.on == () and not defaults.matches("drift_share > 0.3")
    only = parse_retrain_policy("loans", {**BASE, "on": "alert:drift_share > 0.3"})
    assert only.matches("drift_share   >   0.3") and not only.matches("drift_share > 0.4")


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ({"pipeline": "training"}, "retrain.loans.pipeline"),
        ({}, "retrain.loans.pipeline"),
        ({**BASE, "colldown": "1h"}, "retrain.loans.colldown"),
        ({**BASE, "on": "drift_share > 0.3"}, "retrain.loans.on"),
        ({**BASE, "on": "alert:drift_share >"}, "retrain.loans.on"),
        ({**BASE, "on": "alert:bogus.x > 1"}, "retrain.loans.on"),
        ({**BASE, "schedule": "weekly"}, "retrain.loans.schedule"),
        ({**BASE, "cooldown": "-1h"}, "retrain.loans.cooldown"),
        ({**BASE, "on_new_data": "yes"}, "retrain.loans.on_new_data"),
        ({**BASE, "params": [1]}, "retrain.loans.params"),
        ({**BASE, "data": "loans latest"}, "retrain.loans.data"),
        ({**BASE, "holdout": "feedback "}, "retrain.loans.holdout"),
        ({**BASE, "deploy": "bluegreen"}, "retrain.loans.deploy"),
        ({**BASE, "environment": "Prod!"}, "retrain.loans.environment"),
        ({**BASE, "register_as": ""}, "retrain.loans.register_as"),
        ({**BASE, "auto_approve_if": "1 == 1"}, "retrain.loans.auto_approve_if"),
    ],
)
def test_every_error_names_its_key(spec: dict[str, object], key: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_retrain_policy("loans", spec)
    assert info.value.field == key and key in info.value.message


@pytest.mark.parametrize(
    ("rule", "facts", "expected"),
    [
        ("environment != 'production'", {"environment": "staging"}, True),
        ("environment != 'production'", {"environment": "production"}, False),
        ("environment in ['dev', 'staging'] and trigger == 'alert'",
         {"environment": "dev", "trigger": "alert"}, True),
        ("not (model == 'loans') or environment not in ('prod',)",
         {"model": "loans", "environment": "prod"}, False),
    ],
)  # fmt: skip
def test_auto_approve_rules_are_judged(rule: str, facts: dict[str, str], expected: bool) -> None:
    assert parse_approve_rule(rule).holds(facts) is expected


@pytest.mark.parametrize(
    "rule",
    [
        "__import__('os').system('true')",
        "environment.lower() == 'staging'",
        "environment == production",
        "user == 'x'",
        "environment < 'z'",
        "environment == 'a' == 'b'",
        "",
    ],
)
def test_auto_approve_refuses_anything_but_comparisons_with_text(rule: str) -> None:
    with pytest.raises(ValidationError, match="auto_approve_if"):
        parse_approve_rule(rule)


def test_the_state_machine_refuses_skipping_the_gates() -> None:
    check_retrain_transition(1, RetrainState.GATED, RetrainState.APPROVED)
    with pytest.raises(InvalidStateTransitionError, match="registered to approved"):
        check_retrain_transition(1, RetrainState.REGISTERED, RetrainState.APPROVED)
    with pytest.raises(InvalidStateTransitionError):
        check_retrain_transition(1, RetrainState.DEPLOYED, RetrainState.QUEUED)
