"""What a running step can ask about itself, and the metrics it logs (in any worker)."""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field

from shipyard.core.errors import ConflictError
from shipyard.core.validation import check_key, check_metric, check_param_value

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
    fixed: dict[str, str] = field(default_factory=dict)  # params recorded from the arguments
    metrics: list[tuple[str, float, int, int]] = field(default_factory=list)

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        """Checked as the tracking API checks it: a bad key or value fails the step now."""
        point = check_metric(key, value, int(time.time() * 1000), step)
        self.metrics.append((point.key, point.value, point.timestamp, point.step))

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        for key, value in metrics.items():
            self.log_metric(key, value, step)

    def log_param(self, key: str, value: object) -> None:
        """Params are immutable: an argument of the step cannot be logged with another value."""
        name = check_key(key, "param key")
        text = check_param_value(name, value)
        if name in self.fixed and self.fixed[name] != text:
            raise ConflictError(
                f"param {name!r} of step {self.step!r} is already {self.fixed[name]!r} (an "
                f"argument of the step); it cannot become {text!r}",
                field=f"params.{name}",
            )
        self.params[name] = value

    def __enter__(self) -> StepContext:
        self._token = _CURRENT.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._token)


def current_step() -> StepContext | None:
    """The step executing in this thread, or None outside a pipeline step."""
    return _CURRENT.get()
