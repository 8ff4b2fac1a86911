"""What a running step can ask about itself, and the metrics it logs (in any worker)."""

from __future__ import annotations

import contextvars
import math
import time
from dataclasses import dataclass, field

from shipyard.core.errors import ValidationError

__all__ = ["StepContext", "current_step"]

_CURRENT: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar("step", default=None)


@dataclass
class StepContext:
    """The execution of one step: its name, map index, seed and logged metrics."""

    node: str
    step: str
    seed: int
    index: int | None = None
    params: dict[str, object] = field(default_factory=dict)
    metrics: list[tuple[str, float, int, int]] = field(default_factory=list)

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        if not isinstance(key, str) or not key:
            raise ValidationError(f"metric key must be a non-empty string, got {key!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValidationError(
                f"metric {key!r} must be a number, got {type(value).__name__}", field=key
            ) from None
        if math.isnan(number) and not isinstance(value, float | int):
            raise ValidationError(f"metric {key!r} is not a number", field=key)
        self.metrics.append((key, number, int(time.time() * 1000), int(step)))

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        for key, value in metrics.items():
            self.log_metric(key, value, step)

    def log_param(self, key: str, value: object) -> None:
        self.params[key] = value

    def __enter__(self) -> StepContext:
        self._token = _CURRENT.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._token)


def current_step() -> StepContext | None:
    """The step executing in this thread, or None outside a pipeline step."""
    return _CURRENT.get()
