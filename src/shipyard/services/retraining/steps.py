"""The steps of one retraining run: train on the newest data, register, gate against the
champion on the newest holdout, approve (a person in a protected environment, else the
policy), roll out. Each step starts from the state the previous one recorded, so a run
that stopped (a crash, a failure) continues from the last step it completed."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.core.entities import Role, User
from shipyard.core.errors import ConflictError, NotFoundError, ShipyardError, ValidationError
from shipyard.core.models import VersionStatus
from shipyard.core.retrain_policy import RetrainPolicy
from shipyard.core.retraining import LOOP_ACTOR, RetrainRun, RetrainState
from shipyard.services.ports import (
    DatasetTables,
    FeedbackExporter,
    ModelNotices,
    ReferenceProfiles,
    RetrainAlerts,
    RetrainDeployments,
    RetrainRegistry,
    TrainingPipelines,
)
from shipyard.services.retraining.store import RunBook

__all__ = ["APPROVALS_PAGE", "APPROVAL_EVENT", "LOOP_USER", "Collaborators", "RunSteps"]

APPROVAL_EVENT = "retraining.awaiting_approval"
APPROVALS_PAGE = "/ui/approvals"  # where an approver decides (the notification links it)
LOOP_USER = User(0, LOOP_ACTOR, Role.DEPLOYER, 0)  # deploys; never approves in production
S = RetrainState


@dataclass(frozen=True)
class Collaborators:
    """What the loop drives, received from the composition root."""

    pipelines: TrainingPipelines
    registry: RetrainRegistry
    datasets: DatasetTables
    deployments: RetrainDeployments
    alerts: RetrainAlerts
    release: Mapping[str, object]
    feedback: FeedbackExporter | None = None
    notices: ModelNotices | None = None  # the model's alert sinks (approval requests)
    profiles: ReferenceProfiles | None = None  # the new version's drift reference


class RunSteps:
    """Advances one run as far as it can go now (until it waits for a person or ends)."""

    def __init__(self, book: RunBook, parts: Collaborators, holder: str, lease_ms: int) -> None:
        self.book, self.parts, self.holder, self.lease_ms = book, parts, holder, lease_ms

    def advance(self, run: RetrainRun, policy: RetrainPolicy) -> RetrainRun:
        step: dict[RetrainState, Callable[[RetrainRun, RetrainPolicy], RetrainRun]] = {
            S.QUEUED: self._prepare,
            S.RUNNING: self._train,
            S.REGISTERED: self._gate,
            S.GATED: self._approve,
            S.AWAITING_APPROVAL: self._await,
            S.APPROVED: self._deploy,
            S.DEPLOYING: self._deploy,
        }
        while run.state in step:
            before = run.state
            try:
                run = step[run.state](run, policy)
            except ShipyardError as e:  # the step may have moved the run before it failed
                current = self.book.get(run.run_id)
                return self._fail(current, f"{before.value}: {e.message}", resumable=True)
            if run.state is before:  # waiting (for an approver)
                break
        return run

    # ------------------------------------------------------------ steps
    def _prepare(self, run: RetrainRun, policy: RetrainPolicy) -> RetrainRun:
        data = self._data(run, policy)
        holdout = self._holdout(policy)
        changes = {"data_ref": data, "holdout_ref": holdout}
        return self.book.move(run, S.RUNNING, actor=LOOP_ACTOR, changes=changes,
                              reason=f"training on {data or 'the pipeline data'}")  # fmt: skip

    def _train(self, run: RetrainRun, policy: RetrainPolicy) -> RetrainRun:
        with _Heartbeat(self.book, run.run_id, self.holder, self.lease_ms):
            if run.pipeline_run_id is not None:  # a crashed or failed run: finish it
                outcome = self.parts.pipelines.resume_training(
                    run.pipeline_run_id, model_step=policy.model_step, actor=LOOP_ACTOR
                )
            else:
                holder = {"run": run}

                def started(pipeline_run_id: str) -> None:
                    holder["run"] = self.book.note(run, {"pipeline_run_id": pipeline_run_id})

                outcome = self.parts.pipelines.run_training(
                    policy.pipeline,
                    policy.params,
                    data=run.data_ref,
                    model_step=policy.model_step,
                    actor=LOOP_ACTOR,
                    on_start=started,
                )
                run = holder["run"]
        if not outcome.ok:
            run = self.book.note(run, {"pipeline_run_id": outcome.pipeline_run_id})
            return self._fail(run, f"pipeline failed: {outcome.error}", resumable=True)
        version = self.parts.registry.log_model(
            outcome.model,
            run.register_as,
            user=LOOP_ACTOR,
            run_id=outcome.model_run_id,
            input_example=self._example(run, policy),
            description=f"retraining run {run.run_id} ({run.trigger})",
        )
        changes = {"pipeline_run_id": outcome.pipeline_run_id, "version": version.version}
        if outcome.data_refs and run.data_ref is None:
            changes["data_ref"] = outcome.data_refs[0]
        reason = f"{version.ref} from pipeline run {outcome.pipeline_run_id}"
        return self.book.move(run, S.REGISTERED, actor=LOOP_ACTOR, changes=changes, reason=reason)

    def _gate(self, run: RetrainRun, policy: RetrainPolicy) -> RetrainRun:
        ref = f"{run.register_as}@v{run.version}"
        self._profile(run, ref)
        report = self.parts.registry.run_gates(
            ref, self.parts.release, user=LOOP_ACTOR, holdout=run.holdout_ref
        )
        failed = [g["gate"] for g in report["gates"] if not g["passed"]]
        summary = {"passed": report["passed"], "holdout": report["holdout"], "failed": failed,
                   "values": {g["gate"]: g.get("value") for g in report["gates"]}}  # fmt: skip
        if not report["passed"]:
            run = self.book.note(run, {"gates": summary})
            return self._fail(run, f"gates failed on {report['holdout']}: {', '.join(failed)}",
                              resumable=False)  # fmt: skip
        return self.book.move(run, S.GATED, actor=LOOP_ACTOR, changes={"gates": summary},
                              reason=f"gates passed on {report['holdout']}")  # fmt: skip

    def _approve(self, run: RetrainRun, policy: RetrainPolicy) -> RetrainRun:
        env, rule = run.environment, policy.auto_approve_if
        if self.parts.deployments.is_protected(env):
            why = (f"{env} is protected: an approver other than {LOOP_ACTOR} must approve "
                   f"(shipyard approve {run.register_as} {run.version} --reason ...)")  # fmt: skip
            return self._wait_for_approver(run, why)
        facts = {"environment": env, "model": run.model, "trigger": run.trigger}
        if rule is None or not rule.holds(facts):
            why = "no auto_approve_if" if rule is None else f"auto_approve_if false: {rule.text}"
            return self._wait_for_approver(run, f"{why}; waiting for an approver")
        reason = f"automatic approval by policy: auto_approve_if = {rule.text!r} ({env})"
        self.parts.registry.set_status(
            f"{run.register_as}@v{run.version}",
            VersionStatus.APPROVED,
            user=LOOP_ACTOR,
            reason=reason,
            action="model.approve.auto",
            expected=frozenset({VersionStatus.GATE_PASSED}),
        )
        approval = {"automatic": True, "by": LOOP_ACTOR, "policy": rule.text}
        return self.book.move(run, S.APPROVED, actor=LOOP_ACTOR, reason=reason,
                              changes={"approval": approval})  # fmt: skip

    def _wait_for_approver(self, run: RetrainRun, why: str) -> RetrainRun:
        """Wait in ``awaiting_approval``; the model's alert sinks get a notification queued in
        the same unit of work (sent and retried like alert deliveries)."""
        notices = self.parts.notices
        payload = _approval_notice(run, why)

        def notify(conn: Any, now: int) -> Mapping[str, object]:
            queued = None if notices is None else notices.queue(
                conn, run.register_as, APPROVAL_EVENT, payload, now
            )  # fmt: skip
            return {"notice": {"event": APPROVAL_EVENT, "delivery": queued}}

        return self.book.move(run, S.AWAITING_APPROVAL, actor=LOOP_ACTOR, reason=why, also=notify)

    def _await(self, run: RetrainRun, policy: RetrainPolicy) -> RetrainRun:
        version = self.parts.registry.get_version(f"{run.register_as}@v{run.version}")
        decided = {"automatic": False, "status": version.status.value,
                   "reason": version.status_reason}  # fmt: skip
        if version.status is VersionStatus.APPROVED:
            reason = f"approved by a person: {version.status_reason}"
            changes = {"approval": decided}
            return self.book.move(run, S.APPROVED, actor=LOOP_ACTOR, changes=changes, reason=reason)
        if version.status in (VersionStatus.REJECTED, VersionStatus.ARCHIVED):
            reason = f"{version.ref} was {version.status.value}: {version.status_reason}"
            run = self.book.move(run, S.REFUSED, actor=LOOP_ACTOR, reason=reason,
                                 changes={"approval": decided})  # fmt: skip
            self._annotate(run, f"retraining run {run.run_id} refused: {reason}")
            return run
        return run

    def _deploy(self, run: RetrainRun, policy: RetrainPolicy) -> RetrainRun:
        if policy.deploy == "none":
            reason = "deploy = none: approved, left for a person to deploy"
            changes = {"deployment": {"mode": "none"}, **_follow(run)}
            return self.book.move(run, S.DEPLOYED, actor=LOOP_ACTOR, changes=changes, reason=reason)
        if run.state is S.APPROVED:
            run = self.book.move(run, S.DEPLOYING, actor=LOOP_ACTOR,
                                 reason=f"{policy.deploy} to {run.environment}")  # fmt: skip
        assert run.version is not None
        try:
            deployment = self.parts.deployments.deploy(
                run.register_as,
                run.version,
                run.environment,
                LOOP_USER,
                strategy=policy.deploy,
                reason=f"retraining run {run.run_id} ({run.trigger})",
            )
        except ConflictError as e:  # another version is rolling out: wait, deploy next tick
            if "being rolled out" not in e.message:
                raise
            return self.book.note(run, {"reason": f"waiting to deploy: {e.message}"})
        shown = {"environment": deployment.environment, "strategy": deployment.strategy.value,
                 "state": deployment.state, "traffic": deployment.traffic,
                 "live_version": deployment.live_version,
                 "candidate_version": deployment.candidate_version}  # fmt: skip
        return self.book.move(run, S.DEPLOYED, actor=LOOP_ACTOR,
                              changes={"deployment": shown, **_follow(run)},
                              reason=f"{deployment.state} in {deployment.environment}")  # fmt: skip

    # ------------------------------------------------------------ helpers
    def _fail(self, run: RetrainRun, reason: str, *, resumable: bool) -> RetrainRun:
        step = run.state.value if resumable and run.state is not S.DEPLOYING else None
        if run.state is S.DEPLOYING:
            step = S.APPROVED.value
        run = self.book.move(run, S.FAILED, actor=LOOP_ACTOR, reason=reason,
                             changes={"failed_step": step})  # fmt: skip
        self._annotate(run, f"retraining run {run.run_id} failed, nothing deployed: {reason}")
        return run

    def _profile(self, run: RetrainRun, ref: str) -> None:
        """Record the new version's reference profile (its training data's inputs), so the
        monitor measures drift against what it learned from (the follow-up judges that)."""
        if self.parts.profiles is None or run.data_ref is None:
            return
        inputs = self.parts.registry.get_version(ref).signature.inputs
        self.parts.profiles.attach(ref, run.data_ref, columns=[c for c, _ in inputs])

    def _annotate(self, run: RetrainRun, note: str) -> None:
        alert_id = run.trigger_detail.get("alert_id")
        if run.trigger == "alert" and isinstance(alert_id, int):
            # the alert may have changed meanwhile; the run keeps the reason either way
            with contextlib.suppress(ShipyardError):
                self.parts.alerts.annotate(alert_id, note[:2000], actor=LOOP_ACTOR)

    def _data(self, run: RetrainRun, policy: RetrainPolicy) -> str | None:
        if policy.data is None:
            return None
        if policy.data == "feedback":
            if self.parts.feedback is None:
                raise ValidationError(
                    f"retrain.{policy.model}.data: feedback export is not available in this "
                    "installation; name a dataset ref instead",
                    field=f"retrain.{policy.model}.data",
                )
            since = run.trigger_detail.get("since_ms")
            return self.parts.feedback.export(
                policy.model,
                since_ms=since if isinstance(since, int) else None,
                labelled=True,
                user=LOOP_ACTOR,
            )
        return self.parts.datasets.get_version(policy.data).ref

    def _holdout(self, policy: RetrainPolicy) -> str | None:
        ref = policy.holdout
        if ref is None:
            table = self.parts.release.get(policy.register_as)
            found = table.get("holdout") if isinstance(table, Mapping) else None
            ref = found if isinstance(found, str) else None
        return None if ref is None else self.parts.datasets.get_version(ref).ref

    def _example(self, run: RetrainRun, policy: RetrainPolicy) -> Any:
        """A few input rows: the last version's inputs, read from the holdout or the data."""
        source = run.holdout_ref or run.data_ref
        if source is None:
            raise ValidationError(
                f"retrain.{policy.model}: name data or holdout so the new version's inputs "
                "can be recorded",
                field=f"retrain.{policy.model}.holdout",
            )
        frame = self.parts.datasets.load_frame(source)
        try:
            last = self.parts.registry.versions(run.register_as)
        except NotFoundError:
            last = []
        if last:
            return frame[[c for c, _ in last[-1].signature.inputs]].head()
        table = self.parts.release.get(run.register_as)
        target = table.get("target") if isinstance(table, Mapping) else None
        return frame.drop(columns=[c for c in [target] if c in frame.columns]).head()


def _follow(run: RetrainRun) -> dict[str, Any]:
    """A run an alert triggered awaits its outcome after promotion (see ``followup``)."""
    return {"outcome": "pending"} if run.trigger == "alert" else {}


def _approval_notice(run: RetrainRun, why: str) -> dict[str, Any]:
    """What the approver's notification says: the version, why it waits, where to decide."""
    return {
        "model": run.register_as,
        "version": run.version,
        "ref": f"{run.register_as}@v{run.version}",
        "environment": run.environment,
        "link": APPROVALS_PAGE,
        "reason": why,
        "retraining": {"id": run.run_id, "trigger": run.trigger,
                       "trigger_detail": dict(run.trigger_detail), "gates": run.gates},
        "approve": f"shipyard approve {run.register_as} {run.version} --reason ...",
    }  # fmt: skip


class _Heartbeat:
    """Renews the run's lease while a long step works, so only a dead runner's lease ends."""

    def __init__(self, book: RunBook, run_id: int, holder: str, lease_ms: int) -> None:
        self.book, self.run_id, self.holder, self.lease_ms = book, run_id, holder, lease_ms
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name="retrain-lease")

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)

    def _beat(self) -> None:
        while not self.stop.wait(max(self.lease_ms / 3000, 0.05)):
            try:
                self.book.renew(self.run_id, self.holder, self.lease_ms)
            except ShipyardError:
                continue
