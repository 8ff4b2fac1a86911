"""Canary maths: ``promote_after``, ``min_labels``, quality names in ``rollback_if`` judged
with three values, the breached comparisons as evidence, and the policy's errors naming keys."""

from __future__ import annotations

import math

import pytest

from shipyard.core.canary import PromoteAfter, QualityReading, parse_promote_after
from shipyard.core.errors import ValidationError
from shipyard.core.rollback_rule import parse_rule
from shipyard.services.deployments.policy import parse_deploy_policy

WHERE = "release.loans.deploy"


@pytest.mark.parametrize(
    ("value", "ms", "requests"),
    [
        ("30m", 1_800_000, None),
        (" 2h ", 7_200_000, None),
        ("250ms", 250, None),
        (500, None, 500),
        ("500", None, 500),
        ("500 requests", None, 500),
        ("1 request", None, 1),
    ],
)
def test_promote_after_is_a_duration_or_a_request_count(
    value: object, ms: int | None, requests: int | None
) -> None:
    found = parse_promote_after(value, "p")
    assert (found.ms, found.requests) == (ms, requests)


@pytest.mark.parametrize(
    "value", ["soon", "0s", 0, -5, "0 requests", "500 reqs", 1.5, True, "", None, [30]]
)
def test_a_malformed_promote_after_names_the_key(value: object) -> None:
    with pytest.raises(ValidationError) as e:
        parse_deploy_policy("loans", {"loans": {"deploy": {"promote_after": value}}})
    assert e.value.field == f"{WHERE}.promote_after"
    assert "expected a duration like '30m' or a request count like 500" in str(e.value)


@pytest.mark.parametrize("value", [0, -1, "50", True, 2.5])
def test_min_labels_must_be_a_positive_integer(value: object) -> None:
    with pytest.raises(ValidationError) as e:
        parse_deploy_policy("loans", {"loans": {"deploy": {"min_labels": value}}})
    assert e.value.field == f"{WHERE}.min_labels"
    assert "must be a positive integer" in str(e.value) and repr(value) in str(e.value)


@pytest.mark.parametrize("name", ["auc", "live_auc", "estimated.roc_auc", "roc_aucc", "live_f2"])
def test_unknown_metric_names_in_rollback_if_are_refused(name: str) -> None:
    with pytest.raises(ValidationError) as e:
        parse_deploy_policy(
            "loans", {"loans": {"deploy": {"rollback_if": f"{name} < live_roc_auc - 0.02"}}}
        )
    assert e.value.field == f"{WHERE}.rollback_if"
    assert "roc_auc" in str(e.value)  # the message lists the names a rule may use


def test_the_policy_reads_the_new_keys_and_defaults() -> None:
    spec = {"rollback_if": "roc_auc < live_roc_auc - 0.02", "min_labels": 30,
            "promote_after": "500 requests"}  # fmt: skip
    policy = parse_deploy_policy("loans", {"loans": {"deploy": spec}})
    assert (policy.min_labels, policy.promote_after) == (
        30,
        PromoteAfter("500 requests", None, 500),
    )
    default = parse_deploy_policy("loans", {})
    assert (default.min_labels, default.promote_after) == (50, None)


def test_a_step_is_due_after_its_duration_or_its_requests() -> None:
    by_time, by_requests = PromoteAfter("1s", ms=1000), PromoteAfter("5", requests=5)
    assert not by_time.due(10_000, 10_999, 10**6) and by_time.due(10_000, 11_000, 0)
    assert (by_time.describe(), by_requests.describe()) == ("1s", "5 requests")
    assert not by_requests.due(0, 10**9, 4) and by_requests.due(0, 0, 5)


@pytest.mark.parametrize(
    ("figures", "verdict"),
    [
        ({"roc_auc": 0.70, "live_roc_auc": 0.80}, True),
        ({"roc_auc": 0.79, "live_roc_auc": 0.80}, False),
        ({"live_roc_auc": 0.80}, None),  # no labels for the candidate yet
        ({"roc_auc": 0.70}, None),
        ({"error_rate": 0.5}, True),  # the serving part decides without quality
        ({"error_rate": 0.0, "roc_auc": 0.79, "live_roc_auc": 0.8}, False),
        ({}, None),  # missing serving figures count as 0, as before
    ],
)
def test_quality_figures_are_judged_with_three_values(
    figures: dict[str, float], verdict: bool | None
) -> None:
    rule = parse_rule("error_rate > 0.1 or roc_auc < live_roc_auc - 0.02")
    assert rule.quality_names == ("roc_auc", "live_roc_auc")
    assert rule.verdict(figures) is verdict


def test_a_rule_on_serving_figures_only_reads_no_quality() -> None:
    rule = parse_rule("error_rate > 0.1 and p99_ms > 2 * live_p99_ms")
    assert rule.quality_names == ()
    assert rule.verdict({}) is False and rule.verdict({"error_rate": 1, "p99_ms": 1}) is True


def test_breaches_name_each_holding_comparison_with_its_figures() -> None:
    rule = parse_rule("error_rate > 0.1 or roc_auc < live_roc_auc - 0.02 or not mae > 1")
    found = rule.breaches({"error_rate": 0.01, "roc_auc": 0.6, "live_roc_auc": 0.9, "mae": 0.5})
    assert found == [
        {"condition": "roc_auc < live_roc_auc - 0.02",
         "figures": {"roc_auc": 0.6, "live_roc_auc": 0.9}},
    ]  # fmt: skip
    assert rule.breaches({"roc_auc": 0.9, "live_roc_auc": 0.9}) == []


def test_a_reading_keeps_finite_metrics_only() -> None:
    reading = QualityReading.of("realized", 60, 80, {"roc_auc": 0.8, "log_loss": math.inf,
                                                     "r2": None, "mae": math.nan})  # fmt: skip
    assert reading.to_dict() == {
        "source": "realized", "labelled": 60, "predictions": 80, "metrics": {"roc_auc": 0.8},
    }  # fmt: skip
