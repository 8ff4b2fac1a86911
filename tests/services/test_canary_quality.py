"""The canary watcher judges live model quality (SQLite and PostgreSQL): realized metrics of
the candidate and the live version (labels joined to their logged predictions since the canary
started) in ``rollback_if``; a breach rolls back with the breached figures as evidence, a
healthy canary advances step by step by ``promote_after``, and without enough labels the
quality part is not evaluable: neither rollback nor promotion on it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from shipyard.core.clock import now_ms
from shipyard.core.entities import Role, User
from shipyard.core.latency import BOUNDS_MS, bucket_of
from shipyard.interfaces.bootstrap import Services, build_services
from shipyard.services.formats.predictions import prediction_id
from shipyard.services.monitoring.canary_quality import CanaryQuality
from shipyard.services.serving.predlog import LogRecord, PredictionLog
from shipyard.services.serving.stats import ServingStats
from shipyard.settings import Settings

SIG = {"inputs": [["a", "float64"], ["b", "float64"]], "output": "int64"}
COLUMNS = ("a", "b")
QUALITY = "roc_auc < live_roc_auc - 0.05"
RULE = f"error_rate > 0.05 or {QUALITY}"
ENV = "staging"


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.8, size=n) > 0).astype(int)
    return x, y


def _buckets(ms: float, n: int) -> list[int]:
    out = [0] * (len(BOUNDS_MS) + 1)
    out[bucket_of(ms)] = n
    return out


@dataclass
class Rollout:
    """loans v1 (good) live in staging and v2 a canary at the policy's first step."""

    svc: Services
    dora: User
    models: dict[int, Any]
    x: np.ndarray
    y: np.ndarray
    calls: int = 0

    def answer(self, version: int, role: str, rows: slice, labels: int | None = None) -> Any:
        """Log ``version``'s answers to ``x[rows]`` as one request; label the first
        ``labels`` rows (all by default); the positive-class probabilities."""
        self.calls += 1
        log = PredictionLog(self.svc.blobs.backend, f"r{self.calls}", ServingStats(), 10_000,
                            env=ENV)  # fmt: skip
        x, y = self.x[rows], self.y[rows]
        t = now_ms()
        pid = prediction_id("cafe0001", t, self.calls)
        frame = pd.DataFrame(x, columns=COLUMNS)
        model = self.models[version]
        proba = model.predict_proba(frame)[:, 1]
        log.add(LogRecord(pid, t, "loans", version, role, 1.0, COLUMNS, x,
                          model.predict(frame), proba))  # fmt: skip
        assert log.drain() == len(x)
        n = len(x) if labels is None else labels
        if n:
            truth = {(pid, row): int(y[row]) for row in range(n)}
            self.svc.feedback.record("loans", truth, user="ops")
        return proba

    def flush(self, canary: int, errors: int = 0, live: int = 0) -> None:
        """Serving figures of the current step (after it started)."""
        time.sleep(0.005)
        rows = [("loans", 2, "canary", canary, errors, canary * 4.0, _buckets(4, canary))]
        if live:
            rows.append(("loans", 1, "live", live, 0, live * 4.0, _buckets(4, live)))
        self.svc.figures.flush(ENV, "r1", now_ms(), rows)

    def state(self) -> tuple[Any, ...]:
        d = self.svc.deployments.get(ENV)
        return (d.live_version, d.candidate_version, d.traffic, d.state)


@pytest.fixture
def rollout(db_url: str, tmp_path: Path) -> Iterator[Callable[..., Rollout]]:
    opened: list[Services] = []

    def make(candidate: str = "good", **deploy: Any) -> Rollout:
        spec = {"strategy": "canary", "steps": [10, 50, 100], "rollback_if": RULE,
                "min_requests": 20, "min_labels": 40, "promote_after": 50, **deploy}  # fmt: skip
        svc = build_services(Settings(
            project_dir=tmp_path, db_url=db_url, artifacts_url=str(tmp_path / "objects"),
            release={"loans": {"deploy": {k: v for k, v in spec.items() if v is not None}}},
        ))  # fmt: skip
        opened.append(svc)
        x, y = _data(600, seed=1)
        frame = pd.DataFrame(x, columns=COLUMNS)
        good = LogisticRegression().fit(frame, y)
        other = LogisticRegression(C=0.5).fit(frame, y if candidate == "good" else 1 - y)
        for model in (good, other):
            svc.registry.log_model(model, "loans", user="ada", signature=SIG)
        dora = svc.access.add_user("dora", Role.DEPLOYER)
        svc.deployments.deploy("loans", 1, ENV, dora)
        svc.deployments.deploy("loans", 2, ENV, dora)  # the policy: a canary at 10 %
        return Rollout(svc, dora, {1: good, 2: other}, x, y)

    yield make
    for svc in opened:
        svc.close()


def test_a_canary_whose_realized_auc_is_worse_than_live_is_rolled_back(
    rollout: Callable[..., Rollout],
) -> None:
    r = rollout("bad")
    live_p = r.answer(1, "live", slice(0, 200))
    cand_p = r.answer(2, "canary", slice(200, 300))
    r.flush(canary=60, live=500)
    acted = r.svc.figures.watch(ENV)
    assert [(a["action"], a["version"]) for a in acted] == [("rollback", 2)]
    assert r.state() == (1, None, 100, "live")
    event = r.svc.deployments.history(ENV, limit=1)[0]
    assert (event.action, event.actor, event.from_version, event.to_version) == (
        "auto_rollback", "shipyard-watcher", 2, 1,
    )  # fmt: skip
    [breach] = event.evidence["breached"]
    want_live = roc_auc_score(r.y[0:200], live_p)
    want_cand = roc_auc_score(r.y[200:300], cand_p)
    assert want_cand < 0.3 < 0.7 < want_live
    assert breach["condition"] == QUALITY
    assert breach["figures"] == {
        "roc_auc": pytest.approx(want_cand, abs=1e-12),
        "live_roc_auc": pytest.approx(want_live, abs=1e-12),
    }
    quality = event.evidence["quality"]
    assert quality["candidate"]["source"] == "realized" and quality["candidate"]["labelled"] == 100
    assert quality["live"]["labelled"] == 200 and quality["min_labels"] == 40
    assert event.evidence["rule"] == RULE and event.reason == f"automatic rollback: {RULE}"
    entry = r.svc.audit.log("deployment:staging/loans", limit=1)[0]
    assert entry.action == "deployment.auto_rollback" and '"breached":' in entry.payload
    assert r.svc.audit.verify().ok


def test_a_good_canary_advances_step_by_step_then_goes_live(
    rollout: Callable[..., Rollout],
) -> None:
    r = rollout("good")
    r.answer(1, "live", slice(0, 200))
    r.answer(2, "canary", slice(200, 300))
    r.flush(canary=30)
    assert r.svc.figures.watch(ENV) == []  # the rule holds, but 30 of 50 requests at 10 %
    r.flush(canary=30)
    [first] = r.svc.figures.watch(ENV)
    assert (first["action"], first["from_traffic"], first["to_traffic"]) == ("promote", 10, 50)
    assert r.state() == (1, 2, 50, "canary")
    assert r.svc.figures.watch(ENV) == []  # no requests at the new step yet
    r.answer(2, "canary", slice(300, 400))
    r.flush(canary=55)
    [second] = r.svc.figures.watch(ENV)
    assert (second["from_traffic"], second["to_traffic"]) == (50, 100)
    assert r.state() == (2, None, 100, "live")
    events = r.svc.deployments.history(ENV, limit=2)
    assert [(e.action, e.actor, e.traffic) for e in events] == [
        ("auto_promote", "shipyard-watcher", 100), ("auto_promote", "shipyard-watcher", 50),
    ]  # fmt: skip
    assert events[0].evidence["quality"]["candidate"]["labelled"] == 200
    assert events[0].evidence["promote_after"] == "50"
    assert (
        events[0].reason
        == f"automatic promotion to 100% after 50 requests at 50% while {RULE} held"
    )
    actions = [e.action for e in r.svc.audit.log("deployment:staging/loans", limit=2)]
    assert actions == ["deployment.auto_promote", "deployment.auto_promote"]
    # the watcher's promotion to live counts in the rollback chain: v3 → v2 → v1
    r.svc.registry.log_model(r.models[1], "loans", user="ada", signature=SIG)
    r.svc.deployments.deploy("loans", 3, ENV, r.dora, strategy="replace")
    assert r.svc.deployments.rollback(ENV, r.dora).live_version == 2
    assert r.svc.deployments.rollback(ENV, r.dora).live_version == 1


def test_without_enough_labels_quality_neither_rolls_back_nor_promotes(
    rollout: Callable[..., Rollout],
) -> None:
    r = rollout("bad")
    r.answer(1, "live", slice(0, 200))
    r.answer(2, "canary", slice(200, 300), labels=39)  # min_labels is 40
    r.flush(canary=200)  # far past promote_after
    assert r.svc.figures.watch(ENV) == []
    assert r.state() == (1, 2, 10, "canary")
    r.flush(canary=100, errors=20)  # a serving breach decides without the quality figures
    [acted] = r.svc.figures.watch(ENV)
    assert acted["breached"] == [
        {"condition": "error_rate > 0.05", "figures": {"error_rate": pytest.approx(20 / 300)}}
    ]
    assert acted["quality"]["candidate"] == {
        "source": "none", "labelled": 39, "predictions": 100, "metrics": {},
    }  # fmt: skip
    assert r.state() == (1, None, 100, "live")


def test_a_live_version_without_labels_leaves_quality_not_evaluable(
    rollout: Callable[..., Rollout],
) -> None:
    r = rollout("good")
    r.answer(1, "live", slice(0, 200), labels=0)
    r.answer(2, "canary", slice(200, 300))
    r.flush(canary=100)
    assert r.svc.figures.watch(ENV) == []
    assert r.state() == (1, 2, 10, "canary")


def test_promote_after_a_duration_and_only_then(rollout: Callable[..., Rollout]) -> None:
    r = rollout("good", rollback_if="error_rate > 0.05", promote_after="400ms")
    r.flush(canary=25)
    assert r.svc.figures.watch(ENV) == []  # the rule holds, but the step is younger than 400ms
    time.sleep(0.45)
    [acted] = r.svc.figures.watch(ENV)
    assert "quality" not in acted and acted["promote_after"] == "400ms"
    assert r.state() == (1, 2, 50, "canary")


def test_without_promote_after_the_watcher_never_promotes(
    rollout: Callable[..., Rollout],
) -> None:
    r = rollout("good", promote_after=None)
    r.answer(1, "live", slice(0, 200))
    r.answer(2, "canary", slice(200, 300))
    r.flush(canary=500)
    assert r.svc.figures.watch(ENV) == []
    assert r.state() == (1, 2, 10, "canary")


def test_a_reading_is_reused_until_labels_change_or_it_ages(
    rollout: Callable[..., Rollout],
) -> None:
    r = rollout("good")
    since = r.svc.deployments.get(ENV).update_time
    r.answer(2, "canary", slice(200, 300), labels=50)
    clock = [now_ms()]
    quality = CanaryQuality(r.svc.realized, max_age_ms=60_000, clock=lambda: clock[0])
    first = quality.for_version("loans", ENV, 2, since, 40)
    assert (first.source, first.labelled, first.predictions) == ("realized", 50, 100)
    r.answer(2, "canary", slice(300, 400), labels=0)  # predictions without labels
    assert quality.for_version("loans", ENV, 2, since, 40) is first  # metrics cannot differ
    clock[0] += 60_000
    aged = quality.for_version("loans", ENV, 2, since, 40)
    assert aged is not first and (aged.labelled, aged.predictions) == (50, 200)
    r.answer(2, "canary", slice(400, 410))
    assert quality.for_version("loans", ENV, 2, since, 40).labelled == 60  # a new label


def test_without_a_rule_promote_after_still_steps_once_min_requests_served(
    rollout: Callable[..., Rollout],
) -> None:
    r = rollout("good", rollback_if=None, promote_after="10 requests")
    r.flush(canary=15)  # past promote_after, short of min_requests (20)
    assert r.svc.figures.watch(ENV) == []
    r.flush(canary=5)
    [acted] = r.svc.figures.watch(ENV)
    assert "rule" not in acted and acted["to_traffic"] == 50
    event = r.svc.deployments.history(ENV, limit=1)[0]
    assert event.reason == "automatic promotion to 50% after 10 requests at 10%"
