"""``monitor run`` estimates performance without labels: a labelled reference attached to a
probabilistic binary classifier stores an estimation reference next to its profile, and each
window's logged probabilities give ``estimated.<metric>`` figures (equal to
``estimate_performance`` on the same rows) that rules alert on. Versions without one get
no figures (rules not evaluable); a reference of a newer format is refused by name."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from shipyard.core.errors import ValidationError
from shipyard.core.estimation import METRICS
from shipyard.services.monitoring.estimation import estimate_performance
from shipyard.services.monitoring.profile_store import ProfileService
from shipyard.services.registry.dossier_monitoring import monitoring_section
from tests.services.monitoring.conftest import World, policy
from tests.services.monitoring.scored import log_scored, rows, scored

RULES = ["estimated.roc_auc < 0.8"]


def test_logged_probabilities_give_estimated_metrics_that_alert(
    world_factory: Callable[[dict], World],
) -> None:
    w = world_factory(policy(rules=RULES, min_rows=50))
    reference = rows(1, 2000)
    w.svc.profiles.attach("loans@1", reference, target="label")
    assert "label" not in w.svc.profiles.for_model("loans@1").columns
    calm, hard = scored(w, rows(2, 400)), scored(w, rows(3, 400, income_sd=1.5))
    log_scored(w, 0, calm)
    log_scored(w, 1, hard)
    report = w.svc.monitor_runner.run(now=w.at(2))
    first, second = report.windows
    assert first.verdicts == {RULES[0]: False}
    assert second.verdicts == {RULES[0]: True}
    assert (RULES[0], "opened") in {(e.rule, e.event) for e in report.events}
    expected = estimate_performance(
        scored(w, reference), hard, y_true="label", y_pred_proba="p", y_pred="d",
        metrics=METRICS,
    ).to_frame().set_index("metric")  # fmt: skip
    assert second.figures["estimated_rows"] == 400
    for metric in METRICS:
        name = f"estimated.{metric}"
        for suffix, column in (("", "estimate"), (".lower", "lower"), (".upper", "upper")):
            want = expected.loc[metric, column]
            assert second.figures[name + suffix] == pytest.approx(want, rel=1e-12), name
    assert first.figures["estimated.roc_auc"] > 0.8 > second.figures["estimated.roc_auc"]
    shown = monitoring_section({}, w.svc.alerts, "loans", 1)["windows"][0]["figures"]
    assert "estimated.roc_auc" in shown and "estimated.roc_auc.lower" not in shown  # dossier


def test_without_an_estimation_reference_rules_are_not_evaluable(
    world_factory: Callable[[dict], World],
) -> None:
    w = world_factory(policy(rules=RULES, min_rows=50))
    log_scored(w, 0, scored(w, rows(2, 100)))
    w.svc.profiles.attach("loans@1", rows(1, 500))  # no label column named: profile only
    assert w.svc.profiles.estimation_for("loans@1") is None
    log_scored(w, 1, scored(w, rows(3, 100)))
    windows = w.svc.monitor_runner.run(now=w.at(2)).windows
    for window in windows:
        assert not [k for k in window.figures if k.startswith("estimated")]
        assert window.verdicts == {RULES[0]: None}


def test_windows_without_logged_probabilities_have_no_estimates(
    world_factory: Callable[[dict], World],
) -> None:
    w = world_factory(policy(rules=RULES, min_rows=5))
    w.svc.profiles.attach("loans@1", rows(1, 500), target="label")
    log_scored(w, 0, scored(w, rows(2, 20)), proba=False)
    (window,) = w.svc.monitor_runner.run(now=w.at(1)).windows
    assert "estimated.roc_auc" not in window.figures
    assert window.verdicts == {RULES[0]: None}


def test_the_release_policy_names_the_label_column(world_factory: Callable[[dict], World]) -> None:
    w = world_factory(policy(rules=RULES))
    profiles = ProfileService(
        w.svc.blobs, catalog=w.svc.catalog, models=w.svc.registry, label_columns={"loans": "label"}
    )
    profiles.attach("loans@1", rows(1, 500))
    fitted = profiles.estimation_for("loans@1")
    assert fitted is not None and fitted.rows == 500
    assert set(fitted.metrics) == set(METRICS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"target": "outcome"}, "target column 'outcome' is not in the reference"),
        ({"label": 7}, "not the model's classes"),
        ({"label": 1}, "one class only"),
    ],
)
def test_bad_labelled_references_are_refused(
    world_factory: Callable[[dict], World], change: dict, message: str
) -> None:
    w = world_factory(policy(rules=RULES))
    reference = rows(1, 200)
    target = change.get("target", "label")
    reference = reference.assign(**{k: v for k, v in change.items() if k != "target"})
    with pytest.raises(ValidationError, match=message):
        w.svc.profiles.attach("loans@1", reference, target=target)


def test_an_estimation_reference_of_a_newer_format_is_refused(
    world_factory: Callable[[dict], World],
) -> None:
    w = world_factory(policy(rules=RULES, min_rows=50))
    w.svc.profiles.attach("loans@1", rows(1, 500), target="label")
    key = "monitoring/profiles/loans/v1.json"
    with w.svc.blobs.backend.open_read(key) as f:
        pointer = json.loads(f.read())
    body = json.loads(w.svc.blobs.get_bytes(pointer["estimation"]))
    newer = json.dumps(body | {"format_version": 99}).encode()
    pointer["estimation"] = w.svc.blobs.put_bytes(newer)
    w.svc.profiles._write_pointer(w.svc.registry.get_version("loans@1"), pointer)
    with pytest.raises(ValidationError, match=r"format version 99.*upgrade Shipyard"):
        w.svc.profiles.estimation_for("loans@1")
    log_scored(w, 0, scored(w, rows(2, 100)))
    report = w.svc.monitor_runner.run(now=w.at(1))
    assert report.windows == []  # not recorded: retried once Shipyard is upgraded
    assert "format version 99" in report.errors[0]


def test_the_canary_judges_estimated_quality_before_labels_arrive(
    world_factory: Callable[[dict], World],
) -> None:
    """With fewer labels than ``min_labels`` the canary watcher's reading of a version is its
    estimated performance (the same numbers as the window's ``estimated.*``); without an
    estimation reference there is nothing to judge."""
    from shipyard.services.monitoring.canary_quality import CanaryQuality

    w = world_factory(policy(rules=RULES, min_rows=50))
    quality = CanaryQuality(w.svc.realized, estimates=w.svc.monitor_runner.evaluator)
    log_scored(w, 0, scored(w, rows(2, 400)))
    since = w.start
    assert quality.for_version("loans", "staging", 1, since, 50).source == "none"

    w.svc.profiles.attach("loans@1", rows(1, 2000), target="label")
    fresh = CanaryQuality(w.svc.realized, estimates=w.svc.monitor_runner.evaluator)
    reading = fresh.for_version("loans", "staging", 1, since, 50)
    (window,) = w.svc.monitor_runner.run(now=w.at(1)).windows
    assert reading.source == "estimated" and reading.labelled == 0 and reading.predictions == 400
    for metric in ("roc_auc", "accuracy", "f1", "precision", "recall"):
        assert reading.metrics[metric] == pytest.approx(
            window.figures[f"estimated.{metric}"], rel=1e-12
        )
    assert fresh.for_version("loans", "staging", 1, since, 401).source == "none"  # too few rows
