"""Domain entities: frozen dataclasses, mapped explicitly from ORM rows and to API schemas."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from shipyard.core.states import RunStatus

__all__ = [
    "ApiToken",
    "Experiment",
    "FileInfo",
    "Metric",
    "Role",
    "Run",
    "RunInfo",
    "RunPage",
    "User",
]


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int = 0


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    user: str
    status: RunStatus
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    parent_run_id: str | None = None
    error: str | None = None

    @property
    def artifact_uri(self) -> str:
        return f"shipyard-artifacts:/runs/{self.run_id}"


@dataclass(frozen=True)
class Run:
    info: RunInfo
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)  # latest value per key
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.info.run_id

    @property
    def metric_values(self) -> dict[str, float]:
        return {k: m.value for k, m in self.metrics.items()}


@dataclass(frozen=True)
class RunPage:
    runs: list[Run]
    next_page_token: str | None = None


@dataclass(frozen=True)
class FileInfo:
    path: str
    is_dir: bool
    size: int | None = None
    digest: str | None = None


class Role(StrEnum):
    """The roles, listed from the least to the most trusted. Who may do what is the table
    in ``core.permissions`` (``may(role, action)``), not this order."""

    VIEWER = "viewer"
    CONTRIBUTOR = "contributor"
    APPROVER = "approver"
    DEPLOYER = "deployer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """Kept for callers not yet on the table; new checks use ``permissions.may``."""
        return self.rank >= needed.rank


@dataclass(frozen=True)
class User:
    user_id: int
    name: str
    role: Role
    creation_time: int
    disabled: bool = False


@dataclass(frozen=True)
class ApiToken:
    """What is known of an API token besides its secret (only its hash is stored)."""

    token_id: int
    user_id: int
    name: str
    creation_time: int
    expires_time: int | None
    user: str = ""
    prefix: str | None = None  # the first characters, to tell tokens apart in listings
    last_used_time: int | None = None
    revoked: bool = False
    revoked_time: int | None = None

    def state(self, now: int) -> str:
        """``revoked``, ``expired`` or ``active`` at time ``now`` (epoch ms)."""
        if self.revoked:
            return "revoked"
        if self.expires_time is not None and self.expires_time <= now:
            return "expired"
        return "active"
