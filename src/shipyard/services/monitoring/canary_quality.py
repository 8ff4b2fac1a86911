"""Model quality of a deployed version for the canary watcher (``services.ports.QualityFigures``).

Realized metrics (ground-truth labels joined to the version's logged predictions in the
environment since the canary started) once at least ``min_labels`` have arrived. Before that
the reading is empty (``source = "none"``) and the rule's quality part is not evaluable: a
canary is never rolled back, nor promoted, for lack of labels. Estimated metrics (without
labels) come from the version's estimation reference (stored with its reference profile)
and the probabilities its predictions logged: before ``min_labels`` labels arrive, a version
with such a reference and at least ``min_labels`` logged probabilities is judged on them
(``source = "estimated"``); the candidate may be judged on estimates while the live version,
labelled longer, is judged on realized metrics.

The watcher asks every few seconds and a reading streams the canary's whole prediction log,
so a reading is reused while the model's labels are unchanged (realized metrics depend on the
labelled rows only), for at most ``max_age_ms`` (a label recorded before its prediction
reached the log joins on the next reading).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from shipyard.core.canary import QualityReading
from shipyard.core.clock import now_ms
from shipyard.core.rollback_rule import QUALITY_METRICS
from shipyard.services.monitoring.realized import RealizedService

__all__ = ["MAX_AGE_MS", "CanaryQuality"]

MAX_AGE_MS = 60_000
_MAX_CACHED = 256

_Key = tuple[str, str, int, int, int]


class Estimates(Protocol):
    """Estimated metrics of a version's logged rows (``EstimatedWindowEvaluator``)."""

    def estimate(
        self, model: str, env: str, version: int, start_ms: int, end_ms: int
    ) -> tuple[int, dict[str, float]] | None: ...


class CanaryQuality:
    """A version's quality figures since a time, named as ``rollback_if`` names them."""

    def __init__(
        self,
        realized: RealizedService,
        *,
        estimates: Estimates | None = None,
        max_age_ms: int = MAX_AGE_MS,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.realized = realized
        self.estimates = estimates
        self.max_age_ms = max_age_ms
        self.clock = clock
        self._cache: dict[_Key, tuple[int, tuple[int, int], QualityReading]] = {}

    def for_version(
        self, model: str, env: str, version: int, since_ms: int, min_labels: int
    ) -> QualityReading:
        key = (model, env, version, since_ms, min_labels)
        state = self.realized.labels_state(model)
        now = self.clock()
        cached = self._cache.get(key)
        if cached is not None and cached[1] == state and now - cached[0] < self.max_age_ms:
            return cached[2]
        reading = self._read(model, env, version, since_ms, min_labels)
        if len(self._cache) >= _MAX_CACHED:
            self._cache.pop(next(iter(self._cache)))  # the oldest canary's
        self._cache[key] = (now, state, reading)
        return reading

    def _read(
        self, model: str, env: str, version: int, since_ms: int, min_labels: int
    ) -> QualityReading:
        found = self.realized.realized(model, version=version, env=env, start_ms=since_ms)
        mine = next((v for v in found.versions if v.version == version), None)
        if mine is None:
            return QualityReading("none")
        if mine.labelled < min_labels:
            return self._estimated(model, env, version, since_ms, min_labels, mine)
        metrics = {name: mine.metrics.get(name) for name in QUALITY_METRICS}
        return QualityReading.of("realized", mine.labelled, mine.predictions, metrics)

    def _estimated(
        self, model: str, env: str, version: int, since_ms: int, min_labels: int, mine: Any
    ) -> QualityReading:
        """Too few labels: the estimates, when the version has an estimation reference and
        ``min_labels`` logged probabilities; else nothing to judge yet."""
        none = QualityReading("none", mine.labelled, mine.predictions)
        if self.estimates is None:
            return none
        found = self.estimates.estimate(model, env, version, since_ms, self.clock() + 1)
        if found is None or found[0] < min_labels:
            return none
        rows, metrics = found
        named = {name: metrics.get(name) for name in QUALITY_METRICS}
        return QualityReading.of("estimated", mine.labelled, rows, named)
