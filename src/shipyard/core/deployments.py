"""Deployments: which versions of a model serve an environment, and how traffic splits.

An environment (``staging``, ``production`` …) holds at most one deployment per model:
the *live* version, and optionally a *candidate* being rolled out with a strategy:

- ``replace``: the candidate becomes live at once (no candidate is kept);
- ``canary``: the candidate takes ``traffic`` percent of requests (sticky per caller key);
- ``shadow``: the candidate sees a copy of live traffic; its answers are logged, never returned;
- ``bluegreen``: the candidate is staged (loaded, warm, no traffic); promote switches at once.

Stdlib only: the serving hot path imports this.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from enum import StrEnum

from shipyard.core.errors import ValidationError

__all__ = [
    "DEFAULT_CANARY_STEPS",
    "Deployment",
    "DeploymentEvent",
    "EnvironmentSummary",
    "Role",
    "Strategy",
    "check_environment",
    "check_percent",
    "check_steps",
    "in_canary",
    "next_step",
]

_ENV_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DEFAULT_CANARY_STEPS = (10, 50, 100)


class Strategy(StrEnum):
    REPLACE = "replace"
    CANARY = "canary"
    SHADOW = "shadow"
    BLUEGREEN = "bluegreen"


class Role(StrEnum):
    """Which side of a deployment answered a request."""

    LIVE = "live"
    CANARY = "canary"
    SHADOW = "shadow"


def check_environment(name: object) -> str:
    if not isinstance(name, str) or not _ENV_NAME.match(name):
        raise ValidationError(
            f"environment {name!r} must be 1-64 lowercase letters, digits, '-' or '_' "
            "(e.g. staging, production)",
            field="env",
        )
    return name


def check_percent(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise ValidationError(f"percent must be an integer 1..100, got {value!r}", field="percent")
    return value


def check_steps(steps: object, where: str) -> tuple[int, ...]:
    """Canary steps: increasing percentages ending at 100."""
    if (
        not isinstance(steps, list | tuple)
        or not steps
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in steps)
    ):
        raise ValidationError(
            f"{where} must be a list of percentages like [10, 50, 100]", field=where
        )
    out = tuple(int(s) for s in steps)
    if any(not 1 <= s <= 100 for s in out) or list(out) != sorted(set(out)) or out[-1] != 100:
        raise ValidationError(
            f"{where} must increase, lie in 1..100 and end at 100; got {list(out)}", field=where
        )
    return out


def next_step(current: int, steps: tuple[int, ...]) -> int:
    """The first step above ``current`` (100 when none is left)."""
    return next((s for s in steps if s > current), 100)


def in_canary(key: str, percent: int) -> bool:
    """Sticky split: the same caller key always lands on the same side for a given percent."""
    return zlib.crc32(key.encode()) % 100 < percent


@dataclass(frozen=True)
class EnvironmentSummary:
    """One environment of the overview: how many models it serves, how many of them are
    rolling out a candidate (canary, shadow, staged), and when anything there last changed."""

    name: str
    models: int
    rolling_out: int
    update_time: int


@dataclass(frozen=True)
class Deployment:
    environment: str
    model: str
    live_version: int | None
    candidate_version: int | None
    strategy: Strategy
    traffic: int  # the candidate's share in percent (canary); 100 for shadow; 0 when staged
    previous_version: int | None
    updated_by: str
    update_time: int
    generation: int  # the id of the event that made this state

    @property
    def state(self) -> str:
        if self.candidate_version is None:
            return "live"
        return {
            Strategy.CANARY: "canary",
            Strategy.SHADOW: "shadow",
            Strategy.BLUEGREEN: "staged",
        }.get(self.strategy, "live")

    def versions(self) -> tuple[int, ...]:
        return tuple(v for v in (self.live_version, self.candidate_version) if v is not None)


@dataclass(frozen=True)
class DeploymentEvent:
    event_id: int
    environment: str
    model: str
    action: str  # deploy | promote | auto_promote | rollback | auto_rollback
    from_version: int | None
    to_version: int | None
    strategy: str
    traffic: int
    actor: str
    reason: str
    time: int
    evidence: dict[str, object]
