"""Deployments on SQLite and PostgreSQL: replace, canary steps, shadow and blue/green, promote,
rollback along the history, the protected environment, roles, the audit trail, the deploy
policy and its rollback rule, and the canary watcher judging flushed serving figures."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.core.clock import now_ms
from shipyard.core.entities import Role, User
from shipyard.core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from shipyard.core.latency import BOUNDS_MS, bucket_of
from shipyard.core.rollback_rule import parse_rule
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.services.deployments.figures import series, summarize
from shipyard.services.deployments.policy import parse_deploy_policy
from shipyard.settings import Settings

SIGNATURE = {"inputs": [["age", "int64"], ["income", "float64"]], "output": "int64"}
RULE = "error_rate > 0.05 or p99_ms > 3 * live_p99_ms"
RELEASE = {
    "loans": {
        "deploy": {
            "strategy": "canary",
            "steps": [10, 50, 100],
            "rollback_if": RULE,
            "min_requests": 20,
        }
    }
}


@pytest.fixture
def svc(db_url: str, tmp_path: Path):
    services = build_services(
        Settings(
            project_dir=tmp_path,
            db_url=db_url,
            artifacts_url=str(tmp_path / "objects"),
            release=RELEASE,
        )
    )
    yield services
    services.close()


@pytest.fixture
def dora(svc: Services) -> User:
    """A deployer."""
    return svc.access.add_user("dora", Role.DEPLOYER)


def _log(svc: Services, name: str, n: int, *, approve: bool = True) -> None:
    """``n`` tiny versions of ``name``; approved (via gate_passed) unless told otherwise."""
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"age": rng.integers(20, 70, 40), "income": rng.normal(50, 10, 40)})
    model = LogisticRegression().fit(x, (x["income"] > 50).to_numpy(dtype=int))
    for _ in range(n):  # a signature, no example: no ONNX twin to export, so it stays quick
        version = svc.registry.log_model(model, name, user="ada", signature=SIGNATURE)
        if approve:
            svc.registry.set_status(version.ref, "gate_passed", user="ci")
            svc.registry.set_status(version.ref, "approved", user="carol")


def _state(d) -> tuple:  # type: ignore[no-untyped-def]
    return (d.live_version, d.candidate_version, d.strategy.value, d.traffic, d.state)


# ---------------------------------------------------------------- strategies
def test_replace_makes_the_version_live_at_once(svc: Services, dora: User) -> None:
    _log(svc, "churn", 2, approve=False)  # no deploy policy: replace; staging takes candidates
    first = svc.deployments.deploy("churn", 1, "staging", dora, reason="first")
    assert _state(first) == (1, None, "replace", 100, "live")
    assert (first.previous_version, first.updated_by) == (None, "dora")
    second = svc.deployments.deploy("churn", "v2", "staging", dora)
    assert _state(second) == (2, None, "replace", 100, "live") and second.previous_version == 1
    assert second.generation > first.generation == svc.deployments.history()[1].event_id
    assert svc.deployments.get("staging") == second
    assert svc.deployments.generation("staging") == second.generation
    assert svc.deployments.environments() == ["staging"]
    with pytest.raises(ConflictError, match="already live in staging"):
        svc.deployments.deploy("churn", 2, "staging", dora)


def test_a_canary_follows_the_policy_steps_to_live(svc: Services, dora: User) -> None:
    _log(svc, "loans", 2)
    nothing_live = svc.deployments.deploy("loans", 1, "production", dora)
    assert _state(nothing_live) == (1, None, "replace", 100, "live")  # nothing to split with
    assert _state(svc.deployments.deploy("loans", 2, "production", dora)) == (
        1, 2, "canary", 10, "canary",
    )  # fmt: skip
    assert svc.deployments.promote("production", dora).traffic == 50
    done = svc.deployments.promote("production", dora, model="loans", reason="healthy")
    assert _state(done) == (2, None, "canary", 100, "live") and done.previous_version == 1
    events = svc.deployments.history("production", "loans")
    assert [(e.action, e.from_version, e.to_version, e.traffic) for e in events] == [
        ("promote", 1, 2, 100),
        ("promote", 1, 2, 50),
        ("deploy", 1, 2, 10),
        ("deploy", None, 1, 100),
    ]
    assert events[0].reason == "healthy" and events[0].actor == "dora"
    with pytest.raises(ConflictError, match="nothing to promote in production"):
        svc.deployments.promote("production", dora)


def test_an_explicit_percent_overrides_the_steps(svc: Services, dora: User) -> None:
    _log(svc, "loans", 2)
    svc.deployments.deploy("loans", 1, "production", dora)
    assert svc.deployments.deploy("loans", 2, "production", dora, percent=25).traffic == 25
    assert svc.deployments.promote("production", dora, percent=60).traffic == 60
    with pytest.raises(ConflictError, match="already takes 60%"):
        svc.deployments.promote("production", dora, percent=30)
    for bad in (0, 101, True, "50"):
        with pytest.raises(ValidationError, match=r"percent must be an integer 1\.\.100") as e:
            svc.deployments.promote("production", dora, percent=bad)  # type: ignore[arg-type]
        assert e.value.field == "percent"
    assert svc.deployments.promote("production", dora).traffic == 100  # next step after 60


def test_a_canary_at_100_percent_can_still_be_promoted(svc: Services, dora: User) -> None:
    _log(svc, "loans", 2)
    svc.deployments.deploy("loans", 1, "production", dora)
    full = svc.deployments.deploy("loans", 2, "production", dora, percent=100)
    assert _state(full) == (1, 2, "canary", 100, "canary")
    assert _state(svc.deployments.promote("production", dora)) == (2, None, "canary", 100, "live")


def test_a_percent_with_replace_or_bluegreen_is_refused(svc: Services, dora: User) -> None:
    _log(svc, "churn", 2)
    svc.deployments.deploy("churn", 1, "staging", dora)
    for strategy in (None, "replace", "bluegreen"):
        with pytest.raises(ValidationError, match="--strategy canary") as e:
            svc.deployments.deploy("churn", 2, "staging", dora, strategy=strategy, percent=10)
        assert e.value.field == "percent"
    assert svc.deployments.get("staging", "churn").live_version == 1


@pytest.mark.parametrize(
    ("strategy", "traffic", "state"), [("shadow", 100, "shadow"), ("bluegreen", 0, "staged")]
)
def test_shadow_and_bluegreen_promote_to_full(
    svc: Services, dora: User, strategy: str, traffic: int, state: str
) -> None:
    _log(svc, "loans", 2)
    svc.deployments.deploy("loans", 1, "production", dora)
    staged = svc.deployments.deploy("loans", 2, "production", dora, strategy=strategy)
    assert _state(staged) == (1, 2, strategy, traffic, state)
    assert staged.versions() == (1, 2)
    assert _state(svc.deployments.promote("production", dora)) == (2, None, strategy, 100, "live")


def test_an_unknown_strategy_names_the_choices(svc: Services, dora: User) -> None:
    _log(svc, "loans", 1)
    with pytest.raises(ValidationError, match="replace, canary, shadow, bluegreen") as e:
        svc.deployments.deploy("loans", 1, "staging", dora, strategy="rolling")
    assert e.value.field == "strategy"


def test_live_since_moves_only_when_the_live_version_changes(svc: Services, dora: User) -> None:
    _log(svc, "loans", 3)
    ticks = iter(range(1_000, 100_000, 1_000))
    svc.deployments.clock = lambda: next(ticks)
    since = lambda: svc.deployments.live_since("production", "loans")  # noqa: E731
    assert since() is None  # never deployed there
    svc.deployments.deploy("loans", 1, "production", dora)  # t=1000, nothing live: live
    svc.deployments.deploy("loans", 2, "production", dora)  # t=2000, a canary at 10 %
    svc.deployments.promote("production", dora)  # t=3000, a step to 50 %
    assert since() == 1_000 and svc.deployments.get("production").update_time == 3_000
    svc.deployments.promote("production", dora)  # t=4000, 100 %: v2 is live
    assert since() == 4_000
    svc.deployments.deploy("loans", 3, "production", dora, strategy="shadow")  # t=5000
    assert since() == 4_000
    svc.deployments.rollback("production", dora)  # t=6000, drops the shadow: counted too
    assert since() == 6_000
    svc.deployments.rollback("production", dora)  # t=7000, back to v1
    assert since() == 7_000 and svc.deployments.get("production").live_version == 1
    assert svc.deployments.live_since("staging", "loans") is None


# ---------------------------------------------------------------- rollback
def test_rolling_back_a_canary_drops_the_candidate(svc: Services, dora: User) -> None:
    _log(svc, "loans", 2)
    svc.deployments.deploy("loans", 1, "production", dora)
    svc.deployments.deploy("loans", 2, "production", dora)
    back = svc.deployments.rollback("production", dora, reason="errors")
    assert _state(back) == (1, None, "canary", 100, "live") and back.previous_version is None
    event = svc.deployments.history("production")[0]
    assert (event.action, event.from_version, event.to_version, event.reason) == (
        "rollback", 2, 1, "errors",
    )  # fmt: skip


def test_rollback_walks_back_the_history(svc: Services, dora: User) -> None:
    _log(svc, "churn", 3)
    for version in (1, 2, 3):
        svc.deployments.deploy("churn", version, "production", dora)
    assert svc.deployments.rollback("production", dora).live_version == 2
    assert svc.deployments.rollback("production", dora).live_version == 1
    with pytest.raises(ConflictError, match="no previous version of churn") as e:
        svc.deployments.rollback("production", dora)
    assert e.value.http_status == 409
    svc.deployments.deploy("churn", 3, "production", dora)
    assert svc.deployments.rollback("production", dora).live_version == 1


def test_rollback_skips_a_version_that_was_only_shadowed(svc: Services, dora: User) -> None:
    _log(svc, "churn", 2)
    svc.deployments.deploy("churn", 1, "production", dora)
    svc.deployments.deploy("churn", 2, "production", dora)
    svc.deployments.deploy("churn", 1, "production", dora, strategy="shadow")
    svc.deployments.rollback("production", dora)  # the shadow goes; v2 stays live
    assert svc.deployments.rollback("production", dora).live_version == 1
    with pytest.raises(ConflictError, match="v1 is the first one deployed"):
        svc.deployments.rollback("production", dora)  # the shadow deploy never made v1 live


def test_rollback_with_nothing_before_is_a_409(svc: Services, dora: User) -> None:
    _log(svc, "loans", 1)
    with pytest.raises(NotFoundError, match="nothing is deployed to production"):
        svc.deployments.rollback("production", dora)
    svc.deployments.deploy("loans", 1, "production", dora)
    with pytest.raises(ConflictError, match="v1 is the first one deployed") as e:
        svc.deployments.rollback("production", dora)
    assert e.value.http_status == 409


# ---------------------------------------------------------------- refusals
def test_unknown_or_malformed_targets_are_refused(svc: Services, dora: User) -> None:
    _log(svc, "loans", 1)
    for model, version, error, text in [
        ("loans", 9, NotFoundError, "has no version 9"),
        ("nope", 1, NotFoundError, "no registered model named 'nope'"),
        ("loans", "abc", ValidationError, "version must be a number"),
        ("loans", 0, ValidationError, "version must be a number"),
        ("bad name", 1, ValidationError, "model name"),
    ]:
        with pytest.raises(error, match=text):
            svc.deployments.deploy(model, version, "staging", dora)  # type: ignore[arg-type]
    assert svc.deployments.list() == [] and svc.deployments.history() == []


def test_production_takes_only_approved_versions(svc: Services, dora: User) -> None:
    _log(svc, "loans", 1, approve=False)
    with pytest.raises(PermissionDeniedError, match="production is a protected environment"):
        svc.deployments.deploy("loans", 1, "production", dora)
    svc.registry.set_status("loans@1", "gate_passed", user="ci")
    with pytest.raises(PermissionDeniedError, match="gate_passed, not approved") as e:
        svc.deployments.deploy("loans", 1, "production", dora)
    assert e.value.http_status == 403
    staged = svc.deployments.deploy("loans", 1, "staging", dora, strategy="replace")
    assert staged.live_version == 1 and svc.deployments.list("production") == []
    assert svc.deployments.is_protected("production") and not svc.deployments.is_protected("dev")


def test_rejected_and_archived_versions_are_refused_everywhere(svc: Services, dora: User) -> None:
    _log(svc, "loans", 2, approve=False)
    svc.registry.set_status("loans@1", "gate_passed", user="ci")
    svc.registry.set_status("loans@1", "rejected", user="carol")
    svc.registry.archive("loans@2", user="carol")
    for version, status in ((1, "rejected"), (2, "archived")):
        for env in ("staging", "dev", "production"):
            with pytest.raises(ConflictError, match=f"loans@v{version} is {status}: it cannot"):
                svc.deployments.deploy("loans", version, env, dora)


def test_a_candidate_archived_mid_rollout_cannot_be_promoted(svc: Services, dora: User) -> None:
    _log(svc, "loans", 2)
    svc.deployments.deploy("loans", 1, "production", dora)
    svc.deployments.deploy("loans", 2, "production", dora)
    svc.registry.archive("loans@2", user="dora")  # a deployer: the version takes traffic
    with pytest.raises(ConflictError, match="archived"):
        svc.deployments.promote("production", dora)
    assert svc.deployments.rollback("production", dora).candidate_version is None


def test_only_deployers_archive_or_reject_a_version_that_serves(svc: Services, dora: User) -> None:
    _log(svc, "loans", 2)
    _log(svc, "churn", 2, approve=False)
    svc.registry.set_status("churn@1", "gate_passed", user="ci")
    svc.deployments.deploy("loans", 1, "production", dora)
    svc.deployments.deploy("loans", 2, "production", dora)
    svc.deployments.deploy("churn", 1, "staging", dora)
    svc.access.add_user("cody", Role.CONTRIBUTOR)
    april = svc.access.add_user("april", Role.APPROVER)
    for ref, serving in (("loans@1", "production (live)"), ("loans@2", "production (canary)")):
        for user in ("cody", "april", "mallory"):
            with pytest.raises(PermissionDeniedError, match=re.escape(serving)) as e:
                svc.registry.archive(ref, user=user)
            assert "deployer" in str(e.value) and user in str(e.value)
    with pytest.raises(PermissionDeniedError, match=r"staging \(live\); rejecting"):
        svc.registry.decide("churn@1", april, approve=False, reason="no")
    assert {v.status.value for v in svc.registry.versions("loans")} == {"approved"}
    assert svc.registry.archive("loans@2", user="dora").status.value == "archived"
    svc.deployments.deploy("churn", 2, "staging", dora)  # nothing serves churn@1 any more
    rejected = svc.registry.decide("churn@1", april, approve=False, reason="no")
    assert rejected.status.value == "rejected"
    assert svc.audit.verify().ok


def test_only_deployers_change_deployments(svc: Services, dora: User) -> None:
    _log(svc, "loans", 2)
    cody = svc.access.add_user("cody", Role.CONTRIBUTOR)
    approver = svc.access.add_user("april", Role.APPROVER)
    for user in (cody, approver):
        with pytest.raises(PermissionDeniedError, match="need deployer or higher"):
            svc.deployments.deploy("loans", 1, "staging", user)
    svc.deployments.deploy("loans", 1, "staging", dora)
    svc.deployments.deploy("loans", 2, "staging", dora)
    with pytest.raises(PermissionDeniedError, match="'cody' has role contributor"):
        svc.deployments.promote("staging", cody)
    for expected in (None, svc.deployments.get("staging").generation):
        with pytest.raises(PermissionDeniedError, match="'cody' has role contributor"):
            svc.deployments.rollback("staging", cody, expected_generation=expected)
    admin = svc.access.add_user("root", Role.ADMIN)
    assert svc.deployments.promote("staging", admin).traffic == 50


def test_one_rollout_at_a_time(svc: Services, dora: User) -> None:
    _log(svc, "loans", 3)
    svc.deployments.deploy("loans", 1, "production", dora)
    svc.deployments.deploy("loans", 2, "production", dora)
    with pytest.raises(ConflictError, match="v2 of loans is being rolled out") as e:
        svc.deployments.deploy("loans", 3, "production", dora, strategy="replace")
    assert e.value.http_status == 409
    assert _state(svc.deployments.get("production", "loans")) == (1, 2, "canary", 10, "canary")


def test_environment_names_and_several_models(svc: Services, dora: User) -> None:
    _log(svc, "loans", 1)
    _log(svc, "churn", 1)
    with pytest.raises(ValidationError, match="environment 'Prod!'") as e:
        svc.deployments.deploy("loans", 1, "Prod!", dora)
    assert e.value.field == "env"
    svc.deployments.deploy("loans", 1, "staging", dora)
    svc.deployments.deploy("churn", 1, "staging", dora)
    assert [d.model for d in svc.deployments.list("staging")] == ["churn", "loans"]
    with pytest.raises(ValidationError, match=r"several models \(churn, loans\); name one"):
        svc.deployments.rollback("staging", dora)
    with pytest.raises(NotFoundError, match="'loans' is not deployed to dev"):
        svc.deployments.get("dev", "loans")
    with pytest.raises(ValidationError, match=r"limit must be 1\.\.10000"):
        svc.deployments.history(limit=0)


# ---------------------------------------------------------------- audit
def test_every_change_is_audited_and_the_chain_verifies(svc: Services, dora: User) -> None:
    _log(svc, "loans", 2)
    svc.deployments.deploy("loans", 1, "production", dora, reason="first")
    svc.deployments.deploy("loans", 2, "production", dora)
    svc.deployments.promote("production", dora)
    svc.deployments.rollback("production", dora, reason="latency")
    entries = svc.audit.log("deployment:production/loans")
    assert [(e.action, e.object_type, e.actor) for e in entries] == [
        ("deployment.rollback", "deployment", "dora"),
        ("deployment.promote", "deployment", "dora"),
        ("deployment.deploy", "deployment", "dora"),
        ("deployment.deploy", "deployment", "dora"),
    ]
    assert (entries[0].reason, entries[-1].reason) == ("latency", "first")
    assert '"from_version":2' in entries[0].payload and '"to_version":1' in entries[0].payload
    assert '"candidate_version":null' in entries[0].payload
    assert '"traffic":50' in entries[1].payload
    assert svc.audit.verify().ok


# ---------------------------------------------------------------- the deploy policy
@pytest.mark.parametrize(
    ("spec", "field", "text"),
    [
        ({"stratgy": "canary"}, "release.loans.deploy", "unknown key 'stratgy'"),
        ({"strategy": "rolling"}, "release.loans.deploy.strategy", "must be one of"),
        ({"steps": [50, 10, 100]}, "release.loans.deploy.steps", "must increase"),
        ({"steps": [10, 50]}, "release.loans.deploy.steps", "end at 100"),
        ({"steps": "10,50,100"}, "release.loans.deploy.steps", "a list of percentages"),
        ({"steps": [0, 100]}, "release.loans.deploy.steps", "lie in 1..100"),
        ({"rollback_if": "__import__('os')"}, "release.loans.deploy.rollback_if", "not allowed"),
        ({"rollback_if": "eror_rate > 0.1"}, "release.loans.deploy.rollback_if", "'eror_rate'"),
        ({"rollback_if": "error_rate >"}, "release.loans.deploy.rollback_if", "not a valid rule"),
        ({"rollback_if": ""}, "release.loans.deploy.rollback_if", "must be a rule like"),
        ({"min_requests": 0}, "release.loans.deploy.min_requests", "positive integer"),
        ({"min_requests": True}, "release.loans.deploy.min_requests", "positive integer"),
    ],
)
def test_deploy_policy_errors_name_the_field(spec: dict, field: str, text: str) -> None:
    with pytest.raises(ValidationError, match=text) as e:
        parse_deploy_policy("loans", {"loans": {"deploy": spec}})
    assert e.value.field == field


def test_deploy_policy_defaults_and_a_full_table() -> None:
    default = parse_deploy_policy("loans", {})
    assert (default.strategy.value, default.steps, default.rollback_if) == (
        "replace", (10, 50, 100), None,
    )  # fmt: skip
    assert parse_deploy_policy("loans", {"loans": {"gates": []}}) == default
    policy = parse_deploy_policy("loans", RELEASE)
    assert policy.strategy.value == "canary" and policy.rollback_if is not None
    assert (policy.rollback_if.text, policy.min_requests) == (RULE, 20)
    with pytest.raises(ValidationError, match="must be a table"):
        parse_deploy_policy("loans", {"loans": {"deploy": "canary"}})


def test_a_bad_policy_stops_a_deploy(svc: Services, dora: User) -> None:
    _log(svc, "loans", 1)
    svc.deployments.release = {"loans": {"deploy": {"steps": [10]}}}
    with pytest.raises(ValidationError, match=r"release\.loans\.deploy\.steps"):
        svc.deployments.deploy("loans", 1, "staging", dora)
    assert svc.deployments.list() == []


# ---------------------------------------------------------------- the rollback rule
@pytest.mark.parametrize(
    ("rule", "figures", "breached"),
    [
        ("error_rate > 0.01 or p99_ms > 50", {"error_rate": 0.02, "p99_ms": 10}, True),
        ("error_rate > 0.01 or p99_ms > 50", {"error_rate": 0.0, "p99_ms": 51}, True),
        ("error_rate > 0.01 or p99_ms > 50", {"error_rate": 0.01, "p99_ms": 50}, False),
        ("error_rate > 0.01 and requests >= 100", {"error_rate": 0.5, "requests": 99}, False),
        ("not (p50_ms <= 20)", {"p50_ms": 21}, True),
        ("p99_ms > 2 * live_p99_ms", {"p99_ms": 30, "live_p99_ms": 10}, True),
        ("p99_ms > 2 * live_p99_ms", {"p99_ms": 30, "live_p99_ms": 20}, False),
        (
            "error_rate - live_error_rate > 0.01",
            {"error_rate": 0.03, "live_error_rate": 0.01},
            True,
        ),
        ("0 < error_rate < 0.5", {"error_rate": 0.2}, True),
        ("p99_ms - live_p99_ms > -5", {"p99_ms": 10, "live_p99_ms": 20}, False),
        ("error_rate / live_error_rate > 2", {"error_rate": 0.1, "live_error_rate": 0}, True),
        ("error_rate / live_error_rate > 2", {"error_rate": 0, "live_error_rate": 0}, False),
        ("error_rate > 0.01", {}, False),  # missing figures count as 0
    ],
)
def test_the_rollback_rule(rule: str, figures: dict, breached: bool) -> None:
    assert parse_rule(rule).breached(figures) is breached


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ("__import__('os').system('true')", "is not allowed"),
        ("error_rate.real > 1", "is not allowed"),
        ("error_rate == 0.1", "only > >= < <= compare figures"),
        ("[p99_ms] > 1", "is not allowed"),
        ("p99 > 50", "unknown figure 'p99'"),
        ("error_rate", "must compare figures"),
        ("1", "must compare figures"),
        ("p99_ms > 50 or error_rate", "must compare figures"),
        ("(p99_ms > 50) * 2 > 1", "is not allowed"),
        ("p99_ms > 'x'", "is not allowed"),
        ("p99_ms > True", "is not allowed"),
        ("p99_ms ** 2 > 1", "is not allowed"),
        (42, "must be a rule like"),
    ],
)
def test_the_rollback_rule_refuses_anything_else(rule: object, text: str) -> None:
    with pytest.raises(ValidationError, match=text) as e:
        parse_rule(rule)
    assert e.value.field == "rollback_if"


# ---------------------------------------------------------------- the canary watcher
def _buckets(ms: float, n: int) -> list[int]:
    out = [0] * (len(BOUNDS_MS) + 1)
    out[bucket_of(ms)] = n
    return out


def _canary(svc: Services, dora: User) -> int:
    """loans v1 live and v2 a 10 % canary in production; a time after the canary started."""
    _log(svc, "loans", 2)
    svc.deployments.deploy("loans", 1, "production", dora)
    svc.deployments.deploy("loans", 2, "production", dora)
    return svc.deployments.get("production").update_time + 1000


def test_the_watcher_rolls_back_a_failing_canary(svc: Services, dora: User) -> None:
    end = _canary(svc, dora)
    svc.figures.flush("production", "r1", end, [
        ("loans", 1, "live", 900, 1, 900 * 4.0, _buckets(4, 900)),
        ("loans", 2, "canary", 60, 9, 60 * 4.0, _buckets(4, 60)),
    ])  # fmt: skip
    svc.figures.flush(
        "production", "r2", end, [("loans", 2, "canary", 40, 1, 160.0, _buckets(4, 40))]
    )
    acted = svc.figures.watch("production")
    assert [(a["model"], a["version"], a["rule"]) for a in acted] == [("loans", 2, RULE)]
    assert _state(svc.deployments.get("production")) == (1, None, "canary", 100, "live")
    event = svc.deployments.history("production")[0]
    assert (event.action, event.actor, event.from_version, event.to_version) == (
        "auto_rollback", "shipyard-watcher", 2, 1,
    )  # fmt: skip
    candidate = event.evidence["candidate"]
    assert (candidate["requests"], candidate["errors"], candidate["error_rate"]) == (100, 10, 0.1)
    assert event.evidence["live"]["requests"] == 900 and event.evidence["rule"] == RULE
    assert event.reason == f"automatic rollback: {RULE}"
    entry = svc.audit.log("deployment:production/loans")[0]
    assert entry.action == "deployment.auto_rollback" and entry.actor == "shipyard-watcher"
    assert '"error_rate":0.1' in entry.payload and '"rule":' in entry.payload
    assert svc.audit.verify().ok
    assert svc.figures.watch("production") == []  # nothing left to judge


def test_the_watcher_judges_latency_against_live(svc: Services, dora: User) -> None:
    end = _canary(svc, dora)
    svc.figures.flush("production", "r1", end, [
        ("loans", 1, "live", 500, 0, 500 * 4.0, _buckets(4, 500)),
        ("loans", 2, "canary", 50, 0, 50 * 40.0, _buckets(40, 50)),
    ])  # fmt: skip
    acted = svc.figures.watch("production")
    assert acted and acted[0]["candidate"]["p99_ms"] > 3 * acted[0]["live"]["p99_ms"]


def test_the_watcher_waits_for_enough_requests(svc: Services, dora: User) -> None:
    end = _canary(svc, dora)
    svc.figures.flush(
        "production", "r1", end, [("loans", 2, "canary", 19, 19, 19.0, _buckets(1, 19))]
    )
    assert svc.figures.watch("production") == []
    assert svc.deployments.get("production").state == "canary"


def test_the_watcher_leaves_a_healthy_canary_alone(svc: Services, dora: User) -> None:
    end = _canary(svc, dora)
    before = now_ms() - 10_000_000  # figures from before the canary started are not judged
    svc.figures.flush(
        "production", "r1", before, [("loans", 2, "canary", 99, 99, 99.0, _buckets(1, 99))]
    )
    svc.figures.flush("production", "r1", end, [
        ("loans", 1, "live", 300, 30, 300.0, _buckets(1, 300)),  # live errors do not matter
        ("loans", 2, "canary", 200, 2, 200.0, _buckets(1, 200)),
    ])  # fmt: skip
    assert svc.figures.watch("production") == []
    assert svc.deployments.get("production").state == "canary"
    figures = svc.figures.by_version("production", "loans", end - 1)
    assert figures[(2, "canary")]["error_rate"] == 0.01 and figures[(1, "live")]["errors"] == 30
    assert len(svc.figures.rows("production", "loans", 0)) == 3


def test_the_watcher_ignores_canaries_without_a_rule(svc: Services, dora: User) -> None:
    _log(svc, "churn", 2)
    svc.deployments.deploy("churn", 1, "production", dora)
    svc.deployments.deploy("churn", 2, "production", dora, strategy="canary")
    end = svc.deployments.get("production").update_time + 1000
    svc.figures.flush(
        "production", "r1", end, [("churn", 2, "canary", 100, 100, 100.0, _buckets(1, 100))]
    )
    assert svc.figures.watch("production") == []


def test_figures_sum_per_version_and_bucket_per_time_step() -> None:
    rows = [
        {"version": 1, "role": "live", "window_end": t, "requests": 10, "errors": e,
         "latency_sum_ms": 50.0, "buckets": _buckets(5, 10)}
        for t, e in ((1_000, 0), (1_500, 1), (2_500, 1))
    ]  # fmt: skip
    total = summarize(rows)
    assert (total["requests"], total["errors"], total["mean_ms"]) == (30, 2, 5.0)
    assert 4 < total["p50_ms"] <= total["p99_ms"] <= 5
    assert summarize([])["error_rate"] == 0.0
    points = series(rows, 1_000)["v1 live"]
    assert [(p["time"], p["requests"], p["rate"]) for p in points] == [
        (1_000, 20, 20.0),
        (2_000, 10, 10.0),
    ]
