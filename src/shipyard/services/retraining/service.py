"""Continuous training: the ``[retrain.<model>]`` policies, their triggers (open alerts, a
schedule, new training data, a person), and the runs they start, once across replicas.

``tick(model)`` is the scheduler's job ``retrain:<model>``: it starts a run when a trigger
fires, continues a run whose approver decided, and takes over a run whose runner died (its
lease ran out).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import (
    AlreadyExistsError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from shipyard.core.models import check_model_name
from shipyard.core.retrain_policy import RetrainPolicy, parse_retrain_policies
from shipyard.core.retraining import LOOP_ACTOR, RetrainRun, RetrainState, check_trigger
from shipyard.services.paging import Page, check_limit, decode_cursor, encode_cursor
from shipyard.services.ports import PeriodicJobs
from shipyard.services.retraining.followup import FollowUp
from shipyard.services.retraining.plan import plan_run
from shipyard.services.retraining.steps import Collaborators, RunSteps
from shipyard.services.retraining.store import RunBook, Started
from shipyard.stores.ports import AuditLog, RetrainingStore, Transactions

__all__ = ["DEFAULT_LEASE_MS", "RetrainingService", "Started"]

log = logging.getLogger("shipyard.retraining")

DEFAULT_LEASE_MS = 120_000  # renewed every third of it while a step works
TICK_S = 60.0  # how often ``retrain:<model>`` looks at its triggers


class RetrainingService:
    """Starts, advances, resumes and lists retraining runs."""

    def __init__(
        self,
        db: Transactions,
        *,
        policies: Mapping[str, object],
        parts: Collaborators,
        repo: RetrainingStore,
        audit: AuditLog,
        clock: Callable[[], int] = now_ms,
        lease_ms: int = DEFAULT_LEASE_MS,
        holder: str | None = None,
    ) -> None:
        self.raw_policies = policies
        self.parts = parts
        self.repo = repo
        self.clock = clock
        self.book = RunBook(db, repo, audit, clock)
        self.db = db
        self.holder = holder or f"retrain-{secrets.token_hex(4)}"
        self.steps = RunSteps(self.book, parts, self.holder, lease_ms)
        self.followup = FollowUp(self.book, parts)
        self.lease_ms = lease_ms
        self._parsed: dict[str, RetrainPolicy] | None = None

    # ------------------------------------------------------------ policies
    def policies(self) -> dict[str, RetrainPolicy]:
        """Every parsed policy (a malformed one raises a ValidationError naming its key)."""
        if self._parsed is None:
            self._parsed = parse_retrain_policies(self.raw_policies)
        return self._parsed

    def policy(self, model: str) -> RetrainPolicy:
        check_model_name(model)
        policies = self.policies()
        if model not in policies:
            raise NotFoundError(
                f"model {model!r} has no [retrain.{model}] policy in shipyard.toml; with "
                f"policies: {', '.join(policies) or 'none'}",
                field="model",
            )
        return policies[model]

    # ------------------------------------------------------------ starting
    def retrain(
        self, model: str, *, user: str, kind: str = "manual", detail: Mapping[str, object] = {}
    ) -> Started:
        """A person's (or the API's) trigger: start a run and take it as far as it goes."""
        policy = self.policy(model)
        self.parts.pipelines.check_pipeline(policy.pipeline)
        started = self.book.start(policy, check_trigger(kind), {"user": user, **detail}, user)
        if started.event == "started" and started.run is not None:
            return Started(self.advance(started.run.run_id), "started")
        return started

    def trigger(
        self, model: str, kind: str, detail: Mapping[str, object], *, user: str = LOOP_ACTOR
    ) -> Started:
        """Record a trigger (start or coalesce) without running anything yet."""
        return self.book.start(self.policy(model), check_trigger(kind), detail, user)

    def plan(self, model: str, *, user: str) -> dict[str, Any]:
        """What ``retrain`` would do now and why; changes nothing (``--dry-run``)."""
        policy = self.policy(model)
        self.parts.pipelines.check_pipeline(policy.pipeline)
        with self.db.read() as conn:
            active = self.repo.active(conn, policy.model)
            last = self.repo.last_started(conn, policy.model)
        return plan_run(policy, self.parts, active, last, self.clock(), user)

    # ------------------------------------------------------------ running
    def advance(self, run_id: int) -> RetrainRun:
        """Take the run's lease and carry it on until it waits or ends; a run another runner
        holds (lease not expired) is left alone."""
        run = self.book.get(run_id)
        if run.state.is_terminal:
            return run
        if not self.book.claim(run, self.holder, self.lease_ms):
            return run
        try:
            done = self.steps.advance(self.book.get(run_id), self.policy(run.model))
        finally:
            if not self.book.get(run_id).state.is_terminal:
                self.book.release(run_id, self.holder)
        waits = RetrainState.AWAITING_APPROVAL
        if done.state is waits and run.state is not waits and self.parts.notices is not None:
            self.parts.notices.send_due()  # the approver hears now; failures are retried
        return done

    def resume(self, model: str, *, user: str) -> RetrainRun:
        """Continue the model's active run (e.g. its runner died), else its last failed run
        from the step it failed in."""
        policy = self.policy(model)
        with self.db.read() as conn:
            active = self.repo.active(conn, policy.model)
            last = self.repo.last_started(conn, policy.model)
        if active is not None:
            if active.holder is not None and active.lease_until >= self.clock():
                raise ConflictError(
                    f"retraining run {active.run_id} of {model} is {active.state.value} and its "
                    f"runner {active.holder} holds it; try again after its lease ends",
                    field="model",
                )
            return self.advance(active.run_id)
        if last is None or last.state is not RetrainState.FAILED or last.failed_step is None:
            shown = "none" if last is None else f"run {last.run_id} is {last.state.value}"
            raise ConflictError(
                f"nothing of {model} to resume ({shown}); start one with `shipyard retrain "
                f"{model}`",
                field="model",
            )
        try:
            run = self.book.move(
                last, RetrainState(last.failed_step), actor=user, reason=f"resumed by {user}"
            )
        except AlreadyExistsError:
            raise ConflictError(
                f"another retraining of {model} is active; it must finish first", field="model"
            ) from None
        return self.advance(run.run_id)

    # ------------------------------------------------------------ the job
    def tick(self, model: str) -> list[RetrainRun]:
        """One look at ``model``: record the outcome of deployed runs whose first window after
        promotion is in (:meth:`follow_up`), continue active runs, else start one if a
        trigger fires. Returns the runs it started or continued."""
        policy = self.policy(model)
        self.followup.check(policy.model)
        with self.db.read() as conn:
            active = self.repo.active(conn, policy.model)
        if active is None:
            fired = self._fired(policy)
            if fired is None:
                return []
            started = self.book.start(policy, fired[0], fired[1], LOOP_ACTOR)
            active = started.run if started.event == "started" else None
        elif (fired := self._fired(policy)) is not None:
            self.book.start(policy, fired[0], fired[1], LOOP_ACTOR)  # coalesced
        if active is None:
            return []
        return [self.advance(active.run_id)]

    def _fired(self, policy: RetrainPolicy) -> tuple[str, dict[str, object]] | None:
        """The first trigger that fires now: an open alert, the schedule, new data."""
        with self.db.read() as conn:
            last = self.repo.last_started(conn, policy.model)
            followed = {r.trigger_detail.get("alert_id")
                        for r in self.repo.pending_outcomes(conn, policy.model)}  # fmt: skip
        if policy.on:
            for alert in self.parts.alerts.open_alerts(policy.model):
                # an alert whose retraining is rolled out waits for its follow-up instead
                if policy.matches(alert.rule) and alert.alert_id not in followed:
                    return "alert", {"alert_id": alert.alert_id, "rule": alert.rule,
                                     "env": alert.env, "version": alert.version,
                                     "window": alert.last_window,
                                     "figures": dict(alert.figures)}  # fmt: skip
        now = self.clock()
        if policy.schedule_ms is not None and (
            last is None or now - last.created >= policy.schedule_ms
        ):
            return "schedule", {"every_s": policy.schedule_ms // 1000}
        if policy.on_new_data and policy.data not in (None, "feedback"):
            newest = self.parts.datasets.get_version(str(policy.data))
            if _is_new(newest, last, self.parts.registry, policy):
                return "data", {"data": newest.ref}
        return None

    def register_jobs(self, jobs: PeriodicJobs, interval_s: float = TICK_S) -> list[str]:
        """One job ``retrain:<model>`` per policy; a malformed policy is logged, not run."""
        try:
            policies = self.policies()
        except ValidationError as e:
            log.error("retraining not scheduled: %s", e.message)
            return []
        names = []
        for model in policies:
            name = f"retrain:{model}"
            jobs.register(name, interval_s, _job(self, model), lease_s=max(interval_s, 600.0))
            names.append(name)
        return names

    def follow_up(self, model: str) -> list[RetrainRun]:
        """Record the outcome of ``model``'s deployed runs whose version went live and whose
        first window after the promotion is computed; the runs it recorded."""
        return self.followup.check(self.policy(model).model)

    # ------------------------------------------------------------ reading
    def get(self, run_id: int) -> RetrainRun:
        return self.book.get(run_id)

    def runs(self, model: str | None = None, cursor: str | None = None, limit: int = 50) -> Page:
        """Runs newest first (of ``model``, else of every model)."""
        if model is not None:
            check_model_name(model)
        before, limit = decode_cursor(cursor, "before", int), check_limit(limit)
        with self.db.read() as conn:
            found = self.repo.runs(conn, model, before, limit + 1)
            total = self.repo.count(conn, model)
        more = len(found) > limit
        found = found[:limit]
        return Page(found, encode_cursor("before", found[-1].run_id) if more else None, total)


def _is_new(newest: Any, last: RetrainRun | None, registry: Any, policy: RetrainPolicy) -> bool:
    """New data: a version not trained on by the last run, newer than the newest model."""
    if last is not None:
        return bool(newest.ref != last.data_ref and newest.creation_time > last.created)
    try:
        versions = registry.versions(policy.register_as)
    except NotFoundError:
        return True
    return not versions or newest.creation_time > versions[-1].creation_time


def _job(service: RetrainingService, model: str) -> Callable[[], None]:
    def run() -> None:
        for run in service.tick(model):
            if run.state is RetrainState.FAILED:
                raise RuntimeError(f"retraining run {run.run_id} failed: {run.reason}")

    return run
