"""``monitor run`` judges drift: windows of logged inputs against the deployed version's
reference profile give ``drift_share`` and ``drift.<column>`` figures that rules alert on,
equal to what ``drift`` computes on the same rows."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from shipyard.core.alerts import WindowStatus
from shipyard.services.monitoring.drift import drift
from tests.services.monitoring.conftest import World, policy

RULES = ["drift_share > 0.3", "drift.age > 0.5"]


def _reference() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {"age": rng.normal(40, 10, 2000), "email": [f"u{i % 7}@x" for i in range(2000)]}
    )


def test_drift_of_logged_windows_against_the_profile_alerts(
    world_factory: Callable[[dict], World],
) -> None:
    w = world_factory(policy(rules=RULES, min_rows=50))
    reference = _reference()
    w.svc.profiles.attach("loans@1", reference)
    rng = np.random.default_rng(4)
    calm = list(rng.normal(40, 10, 200))
    shifted = list(rng.normal(65, 10, 200))
    emails = [f"u{i % 7}@x" for i in range(200)]
    w.log(0, calm, emails)
    w.log(1, shifted, emails)
    report = w.svc.monitor_runner.run(now=w.at(2))
    first, second = report.windows
    assert (first.status, second.status) == (WindowStatus.COMPUTED, WindowStatus.COMPUTED)
    expected = drift(
        w.svc.profiles.for_model("loans@1"), pd.DataFrame({"age": shifted, "email": emails})
    )
    by_column = {v.verdict.column: v.verdict.value for v in expected.verdicts}
    assert second.figures["drift.age"] == pytest.approx(by_column["age"], rel=1e-12)
    assert second.figures["drift_share"] == pytest.approx(expected.drift_share)
    assert first.figures["drift_share"] == 0.0
    assert first.verdicts == {"drift_share > 0.3": False, "drift.age > 0.5": False}
    assert second.verdicts["drift.age > 0.5"] is True
    assert ("drift.age > 0.5", "opened") in {(e.rule, e.event) for e in report.events}


def test_a_version_without_a_profile_has_no_drift_figures(
    world_factory: Callable[[dict], World],
) -> None:
    w = world_factory(policy(rules=RULES, min_rows=5))
    w.log(0, [30.0, 40.0, 50.0, 35.0, 45.0], ["a@x"] * 5)
    (window,) = w.svc.monitor_runner.run(now=w.at(1)).windows
    assert "drift_share" not in window.figures
    assert window.verdicts == {"drift_share > 0.3": None, "drift.age > 0.5": None}


def test_a_window_too_small_to_judge_drift_is_not_evaluable_rather_than_calm(
    world_factory: Callable[[dict], World],
) -> None:
    w = world_factory(policy(rules=RULES, min_rows=5))
    w.svc.profiles.attach("loans@1", _reference())
    w.log(0, [90.0] * 50, ["zz@x"] * 50)  # far off, but under drift's 100 values a column
    (window,) = w.svc.monitor_runner.run(now=w.at(1)).windows
    assert window.status is WindowStatus.COMPUTED and window.figures["drift_rows"] == 50
    assert "drift_share" not in window.figures
    assert window.verdicts["drift_share > 0.3"] is None


def test_the_policy_chooses_features_methods_and_thresholds(
    world_factory: Callable[[dict], World],
) -> None:
    """``features``, ``methods`` and ``thresholds`` of ``[monitor.<model>]`` reach the drift
    of each window (the policy's ``jensen_shannon`` is the drift module's ``jensenshannon``)."""
    spec = policy(
        rules=RULES,
        min_rows=50,
        methods={"age": "psi"},
        thresholds={"psi": 50.0, "jensen_shannon": 0.5},
    )
    w = world_factory(spec)
    w.svc.profiles.attach("loans@1", _reference())
    rng = np.random.default_rng(4)
    shifted = list(rng.normal(65, 10, 200))
    emails = [f"u{i % 7}@x" for i in range(200)]
    w.log(0, shifted, emails)
    (window,) = w.svc.monitor_runner.run(now=w.at(1)).windows
    expected = drift(
        w.svc.profiles.for_model("loans@1"),
        pd.DataFrame({"age": shifted, "email": emails}),
        methods={"age": "psi"},
        thresholds={"psi": 50.0, "jensenshannon": 0.5},
    )
    psi = next(v.verdict for v in expected.verdicts if v.verdict.column == "age")
    assert psi.method == "psi" and not psi.drifted  # a PSI under the policy's limit of 50
    assert window.figures["drift.age"] == pytest.approx(psi.value, rel=1e-12)
    assert window.figures["drift_share"] == 0.0  # the default limits would flag age


def test_the_policy_features_narrow_what_is_watched(
    world_factory: Callable[[dict], World],
) -> None:
    rng = np.random.default_rng(4)
    shifted = list(rng.normal(65, 10, 200))
    emails = [f"u{i % 7}@x" for i in range(200)]
    narrowed = world_factory(policy(rules=["drift_share > 0.3"], min_rows=50, features=["email"]))
    narrowed.svc.profiles.attach("loans@1", _reference())
    narrowed.log(0, shifted, emails)
    (only,) = narrowed.svc.monitor_runner.run(now=narrowed.at(1)).windows
    assert "drift.age" not in only.figures and "drift.email" in only.figures
