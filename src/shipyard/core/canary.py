"""Canary maths: when a step is due (``promote_after``), and what the watcher knows of quality.

``promote_after`` is a duration (``"30m"``: the candidate has served the current step that
long) or a request count (``500`` or ``"500 requests"``: it has answered that many requests
at the current step). A :class:`QualityReading` is a version's model-quality figures as the
watcher judges them: realized metrics once enough labels arrived, else estimated ones, else
none (the rule's quality part is then "not evaluable").

Stdlib only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from shipyard.core.errors import ValidationError
from shipyard.core.monitor_policy import duration_ms

__all__ = [
    "DEFAULT_MIN_LABELS",
    "PromoteAfter",
    "QualityReading",
    "check_min_labels",
    "parse_promote_after",
]

DEFAULT_MIN_LABELS = 50
_REQUESTS = re.compile(r"^\s*(\d{1,12})\s*(?:requests?)?\s*$")


@dataclass(frozen=True)
class PromoteAfter:
    """A step is due after ``ms`` milliseconds at it, or after ``requests`` requests at it."""

    text: str
    ms: int | None = None
    requests: int | None = None

    def describe(self) -> str:
        """``30m`` or ``500 requests``."""
        return self.text if self.ms is not None else f"{self.requests} requests"

    def due(self, step_started_ms: int, now_ms: int, step_requests: int) -> bool:
        if self.ms is not None:
            return now_ms - step_started_ms >= self.ms
        return step_requests >= (self.requests or 0)


def parse_promote_after(value: object, where: str) -> PromoteAfter:
    """``"30m"``, ``500`` or ``"500 requests"``; a ValidationError naming ``where`` else."""
    requests: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        requests = value
    elif isinstance(value, str) and (match := _REQUESTS.match(value)):
        requests = int(match.group(1))
    if requests is not None and requests >= 1:
        return PromoteAfter(str(value).strip(), requests=requests)
    ms = duration_ms(value) if requests is None else None
    if ms:
        return PromoteAfter(str(value).strip(), ms=ms)
    raise ValidationError(
        f"{where}: expected a duration like '30m' or a request count like 500 or "
        f"'500 requests' (more than 0), got {value!r}",
        field=where,
    )


def check_min_labels(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            f"{where} must be a positive integer (labels a version needs before its realized "
            f"metrics are judged), got {value!r}",
            field=where,
        )
    return value


@dataclass(frozen=True)
class QualityReading:
    """One version's quality figures since the canary started.

    ``source`` is ``realized`` (labels joined to its logged predictions), ``estimated``
    (without labels, from its estimation reference) or ``none`` (nothing to judge yet);
    ``metrics`` holds only finite values.
    """

    source: str
    labelled: int = 0
    predictions: int = 0
    metrics: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def of(
        cls, source: str, labelled: int, predictions: int, metrics: Mapping[str, float | None]
    ) -> QualityReading:
        finite = {
            k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))
        }
        return cls(source, labelled, predictions, finite)

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "labelled": self.labelled,
            "predictions": self.predictions,
            "metrics": dict(self.metrics),
        }
