"""Quality gates recompute on a holdout, store evidence, move the status, and are audited."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.core.errors import InvalidStateTransitionError, ValidationError
from shipyard.core.models import VersionStatus
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.services.registry.policy import parse_policy
from shipyard.settings import Settings

FEATURES = ["age", "income"]


@pytest.fixture
def svc(db_url: str, tmp_path: Path):
    services = build_services(
        Settings(project_dir=tmp_path, db_url=db_url, artifacts_url=str(tmp_path / "objects"))
    )
    yield services
    services.close()


def _frame(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.integers(20, 70, n),
            "income": rng.normal(50, 10, n),
            "sex": rng.choice(["f", "m"], n),
        }
    )
    df["default"] = ((df["income"] + rng.normal(0, 3, n)) > 50).astype(int)
    return df


def _train(svc: Services, c: float = 1.0, *, noise: bool = False) -> int:
    """Train on loans@train (a run reading it), register the model; its version number."""
    exp = svc.tracking.get_or_create_experiment("e").experiment_id
    run = svc.tracking.create_run(exp, user="ada")
    svc.catalog.record_input(run.run_id, "loans@v1")
    train = svc.catalog.load_frame("loans@v1")
    y = train["default"]
    if noise:  # a worse model: labels shuffled
        y = y.sample(frac=1.0, random_state=0).reset_index(drop=True)
    model = LogisticRegression(C=c).fit(train[FEATURES], y)
    version = svc.registry.log_model(
        model, "loans", user="ada", run_id=run.run_id, input_example=train[FEATURES].head()
    )
    return version.version


def _policy(*gates: dict) -> dict:
    return {"loans": {"holdout": "loans@holdout", "target": "default", "gates": list(gates)}}


@pytest.fixture
def data(svc: Services) -> None:
    svc.catalog.register("loans", _frame(1), user="ada")
    svc.catalog.validate("loans@v1", {"columns": {"age": {"min": 0}}}, user="ada")
    holdout = svc.catalog.register("loans", _frame(2), user="ada")
    svc.catalog.set_alias(holdout.ref, "holdout", user="ada")
    svc.catalog.validate("loans@holdout", {"columns": {"age": {"min": 0}}}, user="ada")


def test_passing_gates_store_evidence_and_move_the_status(svc: Services, data: None) -> None:
    _train(svc)
    release = _policy(
        {"metric": "roc_auc", "min": 0.8},
        {"metric": "accuracy", "min": 0.7},
        {"vs_champion": "roc_auc", "max_drop": 0.01},
        {"fairness": "demographic_parity_difference", "sensitive": "sex", "max": 0.3},
        {"latency_p99_ms": 500},
        {"data_checks": "loans"},
    )
    report = svc.registry.run_gates("loans@1", release, user="ci")
    assert report["passed"], report
    by_gate = {g["gate"]: g for g in report["gates"]}
    assert by_gate["metric:roc_auc"]["value"] > 0.8
    assert by_gate["vs_champion:roc_auc"]["note"] == "no approved champion yet"
    assert set(by_gate["fairness:demographic_parity_difference"]["groups"]) == {"f", "m"}
    assert by_gate["latency_p99_ms"]["p50_ms"] <= by_gate["latency_p99_ms"]["value"]
    assert by_gate["data_checks:loans"]["value"] == {"loans@v1": True, "loans@v2": True}
    assert svc.registry.get_version("loans@1").status == VersionStatus.GATE_PASSED
    evidence = svc.registry.gate_results("loans@1")
    assert evidence[0]["passed"] and evidence[0]["holdout"] == "loans@v2"
    actions = [e.action for e in svc.audit.log("model:loans")]
    assert actions[:2] == ["model.status", "model.gate"]


def test_a_regression_against_the_champion_fails_the_gate(svc: Services, data: None) -> None:
    _train(svc)
    svc.registry.run_gates("loans@1", _policy({"metric": "accuracy", "min": 0.5}), user="ci")
    svc.registry.set_status("loans@1", "approved", user="carol")
    svc.registry.set_alias("loans@1", "champion", user="bob")
    _train(svc, noise=True)
    release = _policy({"vs_champion": "roc_auc", "max_drop": 0.01})
    report = svc.registry.run_gates("loans@2", release, user="ci")
    gate = report["gates"][0]
    assert not report["passed"] and gate["champion"]["version"] == 1 and gate["drop"] > 0.01
    assert svc.registry.get_version("loans@2").status == VersionStatus.GATE_FAILED


def test_gates_refuse_bad_policies_and_missing_columns(svc: Services, data: None) -> None:
    _train(svc)
    with pytest.raises(ValidationError, match=r"gates\[0\]: unknown gate 'acuracy'"):
        svc.registry.run_gates("loans@1", _policy({"acuracy": 1}), user="ci")
    with pytest.raises(ValidationError, match="unknown metric 'auc'"):
        svc.registry.run_gates("loans@1", _policy({"metric": "auc", "min": 1}), user="ci")
    with pytest.raises(ValidationError, match="no sensitive column 'gender'"):
        svc.registry.run_gates(
            "loans@1",
            _policy(
                {"fairness": "demographic_parity_difference", "sensitive": "gender", "max": 0.1}
            ),
            user="ci",
        )
    with pytest.raises(ValidationError, match=r"no release policy for 'loans'"):
        svc.registry.run_gates("loans@1", {}, user="ci")
    with pytest.raises(ValidationError, match=r"no column\(s\) \['missing'\]"):
        svc.registry.run_gates(
            "loans@1", _policy({"metric": "accuracy", "min": 0}), user="ci", target="missing"
        )
    assert svc.registry.get_version("loans@1").status == VersionStatus.CANDIDATE


def test_an_approved_version_is_not_gated_again(svc: Services, data: None) -> None:
    _train(svc)
    release = _policy({"metric": "accuracy", "min": 0.5})
    svc.registry.run_gates("loans@1", release, user="ci")
    svc.registry.set_status("loans@1", "approved", user="carol")
    with pytest.raises(InvalidStateTransitionError, match="approved"):
        svc.registry.run_gates("loans@1", release, user="ci")


def test_policy_parsing_names_the_bad_key() -> None:
    with pytest.raises(ValidationError, match=r"gates\[1\]: min must be a number"):
        parse_policy("m", {"m": {"gates": [{"latency_p99_ms": 5}, {"metric": "r2", "min": "x"}]}})
    with pytest.raises(ValidationError, match="needs gates"):
        parse_policy("m", {"m": {"gates": "roc_auc"}})


# ---------------------------------------------------------------- approvals
def _users(svc: Services) -> dict:
    from shipyard.core.entities import Role

    for name, role in (
        ("carol", Role.APPROVER),
        ("dan", Role.CONTRIBUTOR),
        ("root", Role.ADMIN),
        ("ada", Role.APPROVER),
    ):
        svc.access.add_user(name, role)
    return {u.name: u for u in svc.access.list_users()}


def test_approval_needs_an_approver_other_than_the_author_after_gates(
    svc: Services, data: None
) -> None:
    from shipyard.core.errors import PermissionDeniedError

    users = _users(svc)
    _train(svc)
    with pytest.raises(ValidationError, match="run its gates first"):
        svc.registry.decide("loans@1", users["carol"], approve=True, reason="ok")
    svc.registry.run_gates("loans@1", _policy({"metric": "accuracy", "min": 0.5}), user="ci")
    with pytest.raises(PermissionDeniedError, match="authored loans@v1 or ran its training"):
        svc.registry.decide("loans@1", users["ada"], approve=True, reason="mine")
    with pytest.raises(PermissionDeniedError, match="needs approver"):
        svc.registry.decide("loans@1", users["dan"], approve=True, reason="lgtm")
    with pytest.raises(ValidationError, match="needs a reason"):
        svc.registry.decide("loans@1", users["carol"], approve=True, reason=" ")
    approved = svc.registry.decide("loans@1", users["carol"], approve=True, reason="gates ok")
    assert approved.status == VersionStatus.APPROVED
    last = svc.audit.log("model:loans", limit=1)[0]
    assert (last.action, last.actor, last.reason) == ("model.approve", "carol", "gates ok")


def test_a_failed_version_needs_an_admin_override_which_is_flagged(
    svc: Services, data: None
) -> None:
    from shipyard.core.errors import PermissionDeniedError

    users = _users(svc)
    _train(svc)
    svc.registry.run_gates("loans@1", _policy({"metric": "accuracy", "min": 0.99}), user="ci")
    with pytest.raises(ValidationError, match="failed its gates; only an admin"):
        svc.registry.decide("loans@1", users["carol"], approve=True, reason="fine")
    with pytest.raises(PermissionDeniedError, match="needs admin"):
        svc.registry.decide("loans@1", users["carol"], approve=True, reason="x", override=True)
    version = svc.registry.decide(
        "loans@1", users["root"], approve=True, reason="regulator deadline", override=True
    )
    assert version.status == VersionStatus.APPROVED
    assert version.status_reason == "OVERRIDE: regulator deadline"
    assert svc.audit.log("model:loans", limit=1)[0].action == "model.approve.override"


def test_rejection_is_final_but_for_archiving(svc: Services, data: None) -> None:
    users = _users(svc)
    _train(svc)
    svc.registry.run_gates("loans@1", _policy({"metric": "accuracy", "min": 0.5}), user="ci")
    rejected = svc.registry.decide("loans@1", users["carol"], approve=False, reason="biased")
    assert rejected.status == VersionStatus.REJECTED
    with pytest.raises(ValidationError, match="is already rejected"):
        svc.registry.decide("loans@1", users["carol"], approve=True, reason="changed my mind")


def test_behavioural_gates_invariance_and_direction(svc: Services, data: None) -> None:
    _train(svc)
    release = _policy(
        {"invariance": ["age"], "max_flip_rate": 0.05},
        {"directional": "income", "expect": "increase"},
        {"directional": "income", "expect": "decrease", "max_violations": 0.1},
    )
    report = svc.registry.run_gates("loans@1", release, user="ci")
    invariance, up, down = report["gates"]
    assert invariance["passed"] and invariance["value"] <= 0.05
    assert up["passed"] and up["value"] == 0.0
    assert not down["passed"] and down["value"] > 0.9
    assert "raising income by one std should decrease" in down["note"]
    with pytest.raises(ValidationError, match=r"\['sex'\] are not inputs of the model"):
        svc.registry.run_gates("loans@1", _policy({"invariance": "sex"}), user="ci")
    with pytest.raises(ValidationError, match="expect must be 'increase' or 'decrease'"):
        svc.registry.run_gates("loans@1", _policy({"directional": "age"}), user="ci")


def test_a_version_cannot_be_its_own_champion_nor_gate_on_data_it_trained_on(
    svc: Services, data: None
) -> None:
    _train(svc)
    svc.registry.run_gates("loans@1", _policy({"metric": "accuracy", "min": 0.5}), user="ci")
    svc.registry.set_alias("loans@1", "champion", user="ada")  # not approved: not a baseline
    report = svc.registry.run_gates(
        "loans@1", _policy({"vs_champion": "roc_auc", "max_drop": 0.0}), user="ci"
    )
    assert report["gates"][0]["note"] == "no approved champion yet"
    with pytest.raises(ValidationError, match="was read by loans@v1's training"):
        svc.registry.run_gates(
            "loans@1", _policy({"metric": "accuracy", "min": 0.5}), user="ci", holdout="loans@v1"
        )


def test_data_checks_need_training_lineage_and_fairness_needs_binary_labels(
    svc: Services, data: None
) -> None:
    x = svc.catalog.load_frame("loans@v1")
    model = LogisticRegression().fit(x[FEATURES], x["default"])
    svc.registry.log_model(model, "loans", user="ada", input_example=x[FEATURES].head())
    report = svc.registry.run_gates("loans@1", _policy({"data_checks": "loans"}), user="ci")
    assert not report["passed"] and "read no version of 'loans'" in report["gates"][0]["note"]
    labelled = _frame(5).assign(default=lambda d: d["default"].map({0: "no", 1: "yes"}))
    svc.catalog.register("loans-text", labelled, user="ada")
    with pytest.raises(ValidationError, match="fairness measures need 0/1 labels"):
        svc.registry.run_gates(
            "loans@1",
            _policy({"fairness": "demographic_parity_difference", "sensitive": "sex", "max": 0.5}),
            user="ci",
            holdout="loans-text@v1",
        )


def test_a_decision_on_a_version_whose_status_moved_meanwhile_is_refused(
    svc: Services, data: None
) -> None:
    from shipyard.core.errors import ConflictError

    _train(svc)
    svc.registry.run_gates("loans@1", _policy({"metric": "accuracy", "min": 0.5}), user="ci")
    with pytest.raises(ConflictError, match="became gate_passed meanwhile"):
        svc.registry.set_status(
            "loans@1", "approved", user="carol", expected=frozenset({VersionStatus.GATE_FAILED})
        )
    assert svc.registry.get_version("loans@1").status == VersionStatus.GATE_PASSED
