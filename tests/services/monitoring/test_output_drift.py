"""Drift on the model's output: a reference profile holds the model's output on the
reference rows (a binary classifier's ``_proba``, a regressor's ``_prediction``), and
``monitor run`` adds ``output_drift`` (that column's drift value, equal to ``drift`` on the
same rows) for rules; ``drift_share`` still counts the features only."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from shipyard.core.errors import ValidationError
from shipyard.core.monitor_policy import parse_monitor_rule
from shipyard.services.monitoring.drift import drift
from tests.services.monitoring.conftest import World, policy
from tests.services.monitoring.scored import log_scored, rows, scored

RULES = ["output_drift > 0.5"]


def test_drift_of_the_logged_output_alerts(world_factory: Callable[[dict], World]) -> None:
    w = world_factory(policy(rules=RULES, min_rows=50))
    reference = rows(1, 2000).drop(columns="label")
    w.svc.profiles.attach("loans@1", reference)
    profile = w.svc.profiles.for_model("loans@1")
    assert set(profile.columns) == {"age", "income", "_proba"}
    want = scored(w, reference)["p"]
    assert profile.columns["_proba"].mean == pytest.approx(want.mean(), rel=1e-12)
    calm, shifted = scored(w, rows(2, 300)), scored(w, rows(3, 300, income_mean=70.0))
    log_scored(w, 0, calm)
    log_scored(w, 1, shifted)
    report = w.svc.monitor_runner.run(now=w.at(2))
    first, second = report.windows
    current = pd.DataFrame({"_proba": shifted["p"].to_numpy()})
    expected = drift(profile, current, columns=["_proba"])
    (verdict,) = expected.verdicts
    assert second.figures["output_drift"] == pytest.approx(verdict.verdict.value, rel=1e-12)
    assert first.verdicts == {RULES[0]: False}
    assert second.verdicts == {RULES[0]: True}
    assert (RULES[0], "opened") in {(e.rule, e.event) for e in report.events}
    assert second.figures["drift_share"] == 0.5  # income drifted, age did not; output apart
    assert "drift._proba" not in second.figures


def test_logs_without_probabilities_have_no_output_drift(
    world_factory: Callable[[dict], World],
) -> None:
    w = world_factory(policy(rules=RULES, min_rows=50))
    w.svc.profiles.attach("loans@1", rows(1, 500).drop(columns="label"))
    log_scored(w, 0, scored(w, rows(2, 100)), proba=False)
    (window,) = w.svc.monitor_runner.run(now=w.at(1)).windows
    assert "output_drift" not in window.figures
    assert "drift.income" in window.figures
    assert window.verdicts == {RULES[0]: None}


def test_a_regressor_profile_holds_its_predictions(world_factory: Callable[[dict], World]) -> None:
    w = world_factory(policy(rules=RULES))
    frame = rows(1, 300).drop(columns="label")
    model = LinearRegression().fit(frame[["age", "income"]], frame["income"] * 2 + 1)
    signature = {"inputs": [["age", "float64"], ["income", "float64"]], "output": "float64"}
    w.svc.registry.log_model(model, "prices", user="ada", signature=signature)
    w.svc.profiles.attach("prices@1", frame)
    column = w.svc.profiles.for_model("prices@1").columns["_prediction"]
    assert column.mean == pytest.approx(float(np.mean(frame["income"] * 2 + 1)), rel=1e-9)
    with pytest.raises(ValidationError, match="not a probabilistic binary classifier"):
        w.svc.profiles.attach("prices@1", frame.assign(label=1), target="label")


def test_a_reference_the_model_cannot_score_keeps_its_feature_profile(
    world_factory: Callable[[dict], World],
) -> None:
    w = world_factory(policy(rules=RULES))
    w.svc.profiles.attach("loans@1", pd.DataFrame({"age": [30.0, 40.0, 50.0]}))
    assert list(w.svc.profiles.for_model("loans@1").columns) == ["age"]


def test_output_drift_is_a_bare_figure() -> None:
    assert parse_monitor_rule("output_drift > 0.2", "rules[0]").names == ("output_drift",)
    with pytest.raises(ValidationError, match="unknown namespace 'output_drift'"):
        parse_monitor_rule("output_drift.age > 0.2", "rules[0]")
