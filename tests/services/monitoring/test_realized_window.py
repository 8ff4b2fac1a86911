"""``monitor run`` judges realized performance: labels recorded for a window's logged
predictions give ``realized.<metric>`` figures (equal to scikit-learn's on those rows) that
rules alert on; a window without labels has none (its rules are not evaluable)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sklearn.metrics import accuracy_score

from tests.services.monitoring.conftest import World, policy

RULES = ["realized.accuracy < 0.75"]


def test_labels_of_a_window_give_realized_metrics_that_alert(
    world_factory: Callable[[dict], World],
) -> None:
    w = world_factory(policy(rules=RULES, min_rows=5))
    ages = [30.0, 40.0, 50.0, 35.0, 45.0]
    w.log(0, ages, ["a@x"] * 5)  # the model answered 0 for each row
    w.log(1, ages, ["a@x"] * 5)
    labels = [0, 1, 0, 0, 1]
    rid = f"staging-0-5-{ages[0]}"
    w.svc.feedback.record(
        "loans", {(rid, row): label for row, label in enumerate(labels)}, user="ops"
    )
    first, second = w.svc.monitor_runner.run(now=w.at(2)).windows
    want = accuracy_score(labels, [0] * 5)
    assert first.figures["realized.accuracy"] == pytest.approx(want, abs=1e-12)
    assert first.figures["labelled"] == 5
    assert first.verdicts == {"realized.accuracy < 0.75": True}
    assert "realized.accuracy" not in second.figures
    assert second.verdicts == {"realized.accuracy < 0.75": None}


def test_a_window_without_labels_loads_no_model_for_monitor_run(
    world_factory: Callable[[dict], World],
) -> None:
    w = world_factory(policy(rules=RULES, min_rows=5))
    w.log(0, [30.0, 40.0, 50.0, 35.0, 45.0], ["a@x"] * 5)
    start, end = w.at(0), w.at(1)
    realized = w.svc.realized
    only = realized.realized("loans", version=1, env="staging", start_ms=start, end_ms=end,
                             labelled_only=True)  # fmt: skip
    assert only.versions == ()
    assert realized.targets._cache == {}  # no model was loaded to learn its classes
    every = realized.realized("loans", version=1, env="staging", start_ms=start, end_ms=end)
    (v1,) = every.versions
    assert (v1.version, v1.predictions, v1.labelled) == (1, 5, 0)
