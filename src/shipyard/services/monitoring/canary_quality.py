"""Model quality of a deployed version for the canary watcher (``services.ports.QualityFigures``).

Realized metrics (ground-truth labels joined to the version's logged predictions in the
environment since the canary started) once at least ``min_labels`` have arrived. Before that
the reading is empty (``source = "none"``) and the rule's quality part is not evaluable: a
canary is never rolled back, nor promoted, for lack of labels. Estimated metrics (without
labels) need a per-version estimation reference, which this store does not record yet.
"""

from __future__ import annotations

from shipyard.core.canary import QualityReading
from shipyard.core.rollback_rule import QUALITY_METRICS
from shipyard.services.monitoring.realized import RealizedService

__all__ = ["CanaryQuality"]


class CanaryQuality:
    """A version's quality figures since a time, named as ``rollback_if`` names them."""

    def __init__(self, realized: RealizedService) -> None:
        self.realized = realized

    def for_version(
        self, model: str, env: str, version: int, since_ms: int, min_labels: int
    ) -> QualityReading:
        found = self.realized.realized(model, version=version, env=env, start_ms=since_ms)
        mine = next((v for v in found.versions if v.version == version), None)
        if mine is None:
            return QualityReading("none")
        if mine.labelled < min_labels:
            return QualityReading("none", mine.labelled, mine.predictions)
        metrics = {name: mine.metrics.get(name) for name in QUALITY_METRICS}
        return QualityReading.of("realized", mine.labelled, mine.predictions, metrics)
