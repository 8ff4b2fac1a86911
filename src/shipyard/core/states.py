"""Lifecycles as Enums with explicit transition tables."""

from __future__ import annotations

from enum import StrEnum

from shipyard.core.errors import InvalidStateTransitionError, ValidationError

__all__ = ["LifecycleStage", "RunStatus", "check_run_transition"]


class RunStatus(StrEnum):
    """Status of a run; names match MLflow's ``RunStatus``."""

    SCHEDULED = "SCHEDULED"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @classmethod
    def parse(cls, value: object, field: str = "status") -> RunStatus:
        if isinstance(value, RunStatus):
            return value
        try:
            return cls(str(value).upper())
        except ValueError as e:
            allowed = ", ".join(s.value for s in cls)
            raise ValidationError(
                f"{field} must be one of {allowed}; got {value!r}", field=field
            ) from e


_TERMINAL = {RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED}

# A terminal run may be resumed (RUNNING again), as MLflow's start_run(run_id=...) does.
RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.SCHEDULED: frozenset({RunStatus.RUNNING, RunStatus.KILLED, RunStatus.FAILED}),
    RunStatus.RUNNING: frozenset(_TERMINAL),
    RunStatus.FINISHED: frozenset({RunStatus.RUNNING}),
    RunStatus.FAILED: frozenset({RunStatus.RUNNING}),
    RunStatus.KILLED: frozenset({RunStatus.RUNNING}),
}


def check_run_transition(current: RunStatus, new: RunStatus) -> None:
    """Raise when ``current → new`` is not in the transition table (same status is a no-op)."""
    if new == current or new in RUN_TRANSITIONS[current]:
        return
    raise InvalidStateTransitionError(
        f"run status cannot go from {current.value} to {new.value}; "
        f"allowed: {', '.join(sorted(s.value for s in RUN_TRANSITIONS[current])) or 'none'}",
        field="status",
    )


class LifecycleStage(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"
