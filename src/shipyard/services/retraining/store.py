"""The retraining runs' bookkeeping: start once (one active run per model, none inside the
cooldown, later triggers coalesced), move through the state machine with a compare-and-set,
hold a lease while working; every change audited in the same transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.core.errors import AlreadyExistsError, InvalidStateTransitionError, NotFoundError
from shipyard.core.retrain_policy import RetrainPolicy
from shipyard.core.retraining import (
    LOOP_ACTOR,
    RetrainRun,
    RetrainState,
    check_retrain_transition,
)
from shipyard.stores.ports import AuditLog, NewEntry, RetrainingStore, Transactions

__all__ = ["RunBook", "Started"]

log = logging.getLogger("shipyard.retraining")


@dataclass(frozen=True)
class Started:
    """What a trigger did: ``started`` a run, ``coalesced`` into the active one, or was
    ``skipped`` (inside the cooldown; a run is recorded only for a person's trigger)."""

    run: RetrainRun | None
    event: str
    reason: str = ""


class RunBook:
    """Reads and writes retraining runs; the service's steps call ``move``."""

    def __init__(
        self,
        db: Transactions,
        repo: RetrainingStore,
        audit: AuditLog,
        clock: Callable[[], int],
    ) -> None:
        self.db, self.repo, self.audit, self.clock = db, repo, audit, clock

    def get(self, run_id: int) -> RetrainRun:
        with self.db.read() as conn:
            found = self.repo.get(conn, run_id)
        if found is None:
            raise NotFoundError(
                f"no retraining run {run_id}; list them with `shipyard retrain history MODEL`",
                field="run_id",
            )
        return found

    # ------------------------------------------------------------ starting
    def start(
        self, policy: RetrainPolicy, kind: str, detail: Mapping[str, object], user: str
    ) -> Started:
        """Start a run of ``policy.model`` unless one is active (coalesce) or the last one
        started inside the cooldown (skip). The unique active slot decides races."""
        for _ in range(3):
            try:
                return self._start(policy, kind, detail, user)
            except AlreadyExistsError:  # another replica took the active slot first
                continue
        raise AssertionError("unreachable: the active run of a model cannot vanish thrice")

    def _start(
        self, policy: RetrainPolicy, kind: str, detail: Mapping[str, object], user: str
    ) -> Started:
        model, now = policy.model, self.clock()
        with self.db.write() as conn:
            active = self.repo.active(conn, model, lock=True)
            if active is not None:
                self.repo.coalesce(conn, active.run_id, now)
                self._audit(conn, active, "retrain.coalesced", user, "", {"trigger": kind,
                            "detail": dict(detail)}, now)  # fmt: skip
                return Started(self.repo.get(conn, active.run_id), "coalesced")
            last = self.repo.last_started(conn, model)
            if last is not None and now - last.created < policy.cooldown_ms:
                until = last.created + policy.cooldown_ms
                reason = (
                    f"inside the cooldown: run {last.run_id} started "
                    f"{(now - last.created) // 1000}s ago, cooldown "
                    f"{policy.cooldown_ms // 1000}s (next run possible at {until})"
                )
                if kind not in ("manual", "api"):
                    return Started(None, "skipped", reason)
                values = _new(policy, kind, detail, user, now, RetrainState.SKIPPED, reason)
                run_id = self.repo.add(conn, values)
                run = self.repo.get(conn, run_id)
                assert run is not None
                self._audit(conn, run, "retrain.skipped", user, reason, {}, now)
                return Started(run, "skipped", reason)
            values = _new(policy, kind, detail, user, now, RetrainState.QUEUED, "")
            run_id = self.repo.add(conn, values)
            run = self.repo.get(conn, run_id)
            assert run is not None
            self._audit(conn, run, "retrain.queued", user, _why(kind, detail), {}, now)
            return Started(run, "started")

    # ------------------------------------------------------------ moving
    def move(
        self,
        run: RetrainRun,
        new: RetrainState,
        *,
        actor: str,
        reason: str = "",
        changes: Mapping[str, Any] | None = None,
        also: Callable[[Any, int], Mapping[str, object]] | None = None,
    ) -> RetrainRun:
        """``run`` → ``new`` (checked against the table and against a concurrent move);
        ``also(conn, now)`` writes in the same unit of work (e.g. queues a notification) and
        returns what the audit entry adds."""
        check_retrain_transition(run.run_id, run.state, new)
        now = self.clock()
        values: dict[str, Any] = {"state": new, "reason": reason, "updated": now, **(changes or {})}
        if new.is_terminal:
            values.update(active_model=None, holder=None, lease_until=0, finished=now)
        elif run.state is RetrainState.FAILED:  # resumed: active again
            values.update(active_model=run.model, finished=None, failed_step=None)
        with self.db.write() as conn:
            if not self.repo.update(conn, run.run_id, run.state, values):
                raise InvalidStateTransitionError(
                    f"retraining run {run.run_id} changed meanwhile; look again",
                    field="state",
                )
            moved = self.repo.get(conn, run.run_id)
            assert moved is not None
            extra = also(conn, now) if also is not None else {}
            self._audit(conn, moved, f"retrain.{new.value}", actor, reason, extra, now)
        level = logging.WARNING if new in (RetrainState.FAILED, RetrainState.REFUSED) else 20
        log.log(level, "retraining %s of %s: %s %s", run.run_id, run.model, new.value, reason)
        return moved

    def record_outcome(
        self, run: RetrainRun, outcome: str, follow_up: Mapping[str, Any], reason: str
    ) -> RetrainRun:
        """Record the follow-up's verdict on a deployed run once (a run whose outcome is no
        longer pending is returned unchanged); audited as ``retrain.<outcome>``."""
        now = self.clock()
        with self.db.write() as conn:
            current = self.repo.get(conn, run.run_id, lock=True)
            assert current is not None
            if current.outcome != "pending":
                return current
            values = {"outcome": outcome, "follow_up": dict(follow_up), "updated": now}
            self.repo.update(conn, run.run_id, current.state, values)
            done = self.repo.get(conn, run.run_id)
            assert done is not None
            self._audit(conn, done, f"retrain.{outcome}", LOOP_ACTOR, reason, {}, now)
        log.info("retraining %s of %s: %s", run.run_id, run.model, reason)
        return done

    def claim(self, run: RetrainRun, holder: str, lease_ms: int) -> bool:
        now = self.clock()
        with self.db.write() as conn:
            return self.repo.claim(conn, run.run_id, holder, now, now + lease_ms)

    def renew(self, run_id: int, holder: str, lease_ms: int) -> bool:
        with self.db.write() as conn:
            return self.repo.renew(conn, run_id, holder, self.clock() + lease_ms)

    def release(self, run_id: int, holder: str) -> None:
        with self.db.write() as conn:
            self.repo.renew(conn, run_id, holder, 0)

    def note(self, run: RetrainRun, changes: Mapping[str, Any]) -> RetrainRun:
        """Record what a step learned (e.g. the pipeline run id) without moving the state."""
        with self.db.write() as conn:
            self.repo.update(conn, run.run_id, run.state, {**changes, "updated": self.clock()})
            found = self.repo.get(conn, run.run_id)
        assert found is not None
        return found

    def _audit(
        self,
        conn: Any,
        run: RetrainRun,
        action: str,
        actor: str,
        reason: str,
        extra: Mapping[str, object],
        now: int,
    ) -> None:
        payload = {
            "model": run.model,
            "state": run.state.value,
            "trigger": run.trigger,
            "trigger_detail": dict(run.trigger_detail),
            "register_as": run.register_as,
            "environment": run.environment,
            "data": run.data_ref,
            "holdout": run.holdout_ref,
            "pipeline_run_id": run.pipeline_run_id,
            "version": run.version,
            "gates": run.gates,
            "approval": run.approval,
            "deployment": run.deployment,
            "coalesced": run.coalesced,
            "outcome": run.outcome,
            "follow_up": run.follow_up,
            **extra,
        }
        entry = NewEntry(actor, action, "retraining", str(run.run_id), reason, payload)
        self.audit.append(conn, [entry], now)


def _new(
    policy: RetrainPolicy,
    kind: str,
    detail: Mapping[str, object],
    user: str,
    now: int,
    state: RetrainState,
    reason: str,
) -> dict[str, Any]:
    return {
        "model": policy.model,
        "active_model": None if state.is_terminal else policy.model,
        "trigger": kind,
        "trigger_detail": dict(detail),
        "state": state,
        "reason": reason,
        "register_as": policy.register_as,
        "environment": policy.environment,
        "coalesced": 0,
        "lease_until": 0,
        "created_by": user,
        "created": now,
        "updated": now,
        "finished": now if state.is_terminal else None,
    }


def _why(kind: str, detail: Mapping[str, object]) -> str:
    if kind == "alert":
        return f"alert {detail.get('alert_id')} open: {detail.get('rule')}"
    if kind == "data":
        return f"new training data {detail.get('data')}"
    if kind == "schedule":
        return f"scheduled every {detail.get('every_s')}s"
    return f"requested by {detail.get('user', 'someone')} ({kind})"
