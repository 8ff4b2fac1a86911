"""Which deployed version answers a request: a pinned one, else the live/candidate split."""

from __future__ import annotations

import random
from dataclasses import dataclass

from shipyard.core.deployments import Deployment, Role, Strategy, in_canary
from shipyard.core.errors import NotFoundError

__all__ = ["Choice", "choose"]


@dataclass(frozen=True)
class Choice:
    version: int
    role: str
    shadow: int | None = None  # a candidate that gets a copy of this request


def choose(d: Deployment, env: str, key: str | None, version: int | None) -> Choice:
    """A pinned ``version`` must be deployed; otherwise canary requests split by ``key``
    (sticky) or at random, shadow requests copy a sample to the candidate."""
    if version is not None:
        if version not in d.versions():
            raise NotFoundError(
                f"version {version} of {d.model!r} is not deployed to {env} "
                f"(deployed: {', '.join(f'v{v}' for v in d.versions())})",
                field="version",
            )
        role = Role.LIVE if version == d.live_version else _candidate_role(d)
        return Choice(version, role.value)
    live = d.live_version
    cand = d.candidate_version
    if cand is None or live is None:
        return Choice(live or cand or 0, Role.LIVE.value)
    if d.strategy is Strategy.CANARY:
        hit = in_canary(key, d.traffic) if key else random.random() * 100 < d.traffic
        return Choice(cand, Role.CANARY.value) if hit else Choice(live, Role.LIVE.value)
    if d.strategy is Strategy.SHADOW:
        sample = in_canary(key, d.traffic) if key else random.random() * 100 < d.traffic
        return Choice(live, Role.LIVE.value, cand if sample else None)
    return Choice(live, Role.LIVE.value)  # bluegreen: staged, no traffic yet


def _candidate_role(d: Deployment) -> Role:
    return Role.SHADOW if d.strategy is Strategy.SHADOW else Role.CANARY
