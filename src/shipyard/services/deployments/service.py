"""Deploy, promote and roll back model versions in environments; every change is audited.

Protected environments (``production`` unless configured otherwise) accept only approved
versions: this service is the one path every surface (CLI, REST, UI, watcher) goes through.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import Any

from shipyard.core.clock import now_ms
from shipyard.core.deployments import (
    Deployment,
    DeploymentEvent,
    Strategy,
    check_environment,
    check_percent,
    next_step,
)
from shipyard.core.entities import User
from shipyard.core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from shipyard.core.models import MAX_VERSION, ModelVersion, VersionStatus, check_model_name
from shipyard.core.permissions import Action, check
from shipyard.services.deployments.listing import page_deployments, page_environments
from shipyard.services.deployments.policy import DeployPolicy, parse_deploy_policy
from shipyard.services.paging import Page
from shipyard.services.ports import ModelVersionLookup
from shipyard.stores.ports import AuditLog, DeploymentStore, NewEntry
from shipyard.stores.sql.audit_repo import AuditRepo
from shipyard.stores.sql.deployments_repo import DeploymentsRepo
from shipyard.stores.sql.engine import Database

__all__ = ["DeploymentService"]

_NEVER = (VersionStatus.REJECTED, VersionStatus.ARCHIVED)


class DeploymentService:
    def __init__(
        self,
        db: Database,
        registry: ModelVersionLookup,
        *,
        release: Mapping[str, object],
        protected: Collection[str] = ("production",),
        clock: Callable[[], int] = now_ms,
        repo: DeploymentStore | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.db = db
        self.registry = registry
        self.release = release
        self.protected = frozenset(protected)
        self.clock = clock
        self.repo: DeploymentStore = repo or DeploymentsRepo()
        self.audit: AuditLog = audit or AuditRepo()

    def policy(self, model: str) -> DeployPolicy:
        return parse_deploy_policy(model, self.release)

    # ------------------------------------------------------------ reading
    def list(self, env: str | None = None) -> builtins.list[Deployment]:
        with self.db.read() as conn:
            return self.repo.list(conn, None if env is None else check_environment(env))

    def live_since(self, env: str, model: str) -> int | None:
        """When ``model``'s live version in ``env`` became live (None: never deployed)."""
        with self.db.read() as conn:
            return self.repo.live_since(conn, check_environment(env), model)

    def page(self, env: str | None = None, **paging: Any) -> Page:
        """One page of ``list`` with the total (``text``, ``cursor``, ``limit``, ``offset``)."""
        return page_deployments(self.db, self.repo, env, **paging)

    def page_environments(self, **paging: Any) -> Page:
        """One page of environments with their counts (``text``, ``cursor``, ``limit``)."""
        return page_environments(self.db, self.repo, **paging)

    def first_per_environment(
        self, envs: Collection[str], per_env: int
    ) -> builtins.list[Deployment]:
        """The first ``per_env`` deployments (by model) of each of ``envs``."""
        with self.db.read() as conn:
            return self.repo.first_per_environment(conn, sorted(envs), per_env)

    def get(self, env: str, model: str | None = None) -> Deployment:
        env = check_environment(env)
        with self.db.read() as conn:
            model = self._model_in(conn, env, model)
            found = self.repo.get(conn, env, model)
        if found is None:
            raise NotFoundError(f"{model!r} is not deployed to {env}", field="model")
        return found

    def history(
        self, env: str | None = None, model: str | None = None, limit: int = 50
    ) -> builtins.list[DeploymentEvent]:
        if not 1 <= limit <= 10_000:
            raise ValidationError(f"limit must be 1..10000, got {limit}", field="limit")
        with self.db.read() as conn:
            return self.repo.events(
                conn, None if env is None else check_environment(env), model, limit
            )

    def environments(self) -> builtins.list[str]:
        with self.db.read() as conn:
            return self.repo.environments(conn)

    def generation(self, env: str) -> int:
        with self.db.read() as conn:
            return self.repo.generation(conn, env)

    def is_protected(self, env: str) -> bool:
        return env in self.protected

    # ------------------------------------------------------------ changing
    def deploy(
        self,
        model: str,
        version: int | str,
        env: str,
        user: User,
        *,
        strategy: str | None = None,
        percent: int | None = None,
        reason: str = "",
    ) -> Deployment:
        """Deploy ``model`` version ``version`` to ``env`` with ``strategy``."""
        _authorize(user)
        env = check_environment(env)
        target = self._deployable(check_model_name(model), version, env)
        policy = self.policy(model)
        chosen = _strategy(strategy, policy)
        if percent is not None:
            _check_split(check_percent(percent), chosen)
        with self.db.write() as conn:
            current = self.repo.get(conn, env, model, lock=True)
            now = self.clock()
            state = _deployed(current, env, model, target.ref, target.version, chosen,
                              percent or None, policy, user.name, now)  # fmt: skip
            live = current.live_version if current else None
            evidence: dict[str, object] = {
                "status": target.status.value,
                "nothing_live": live is None,
                "requested_strategy": chosen.value,
            }
            return self._record(
                conn, state, "deploy", live, target.version, state.traffic, user.name, reason,
                evidence,
            )  # fmt: skip

    def promote(
        self,
        env: str,
        user: User,
        *,
        model: str | None = None,
        percent: int | None = None,
        reason: str = "",
        expected_generation: int | None = None,
        evidence: Mapping[str, object] | None = None,
        automatic: bool = False,
    ) -> Deployment:
        """The next canary step (or ``percent``); at 100 % the candidate becomes live.

        ``expected_generation`` refuses (409) when the deployment changed since it was read;
        ``automatic`` marks the watcher's promotions (``auto_promote`` with its evidence).
        """
        _authorize(user)
        env = check_environment(env)
        if percent is not None:
            check_percent(percent)
        with self.db.write() as conn:
            model = self._model_in(conn, env, model)
            current = self._current(conn, env, model)
            _check_generation(current, expected_generation)
            if current.candidate_version is None:
                raise ConflictError(
                    f"nothing to promote in {env}: v{current.live_version} of {model} is live "
                    "and no candidate is rolling out",
                    field="env",
                )
            if current.strategy is Strategy.CANARY:
                traffic = percent or next_step(current.traffic, self.policy(model).steps)
                if traffic <= current.traffic and traffic < 100:  # at 100 %: on to live
                    raise ConflictError(
                        f"the canary already takes {current.traffic}%; promote to more",
                        field="percent",
                    )
            else:
                traffic = 100
            self._deployable(model, current.candidate_version, env)
            now = self.clock()
            if traffic >= 100:
                state = replace(
                    current,
                    live_version=current.candidate_version,
                    candidate_version=None,
                    traffic=100,
                    previous_version=current.live_version,
                    updated_by=user.name,
                    update_time=now,
                )
            else:
                state = replace(current, traffic=traffic, updated_by=user.name, update_time=now)
            action = "auto_promote" if automatic else "promote"
            return self._record(
                conn, state, action, current.live_version, current.candidate_version,
                traffic, user.name, reason, dict(evidence or {}),
            )  # fmt: skip

    def rollback(
        self,
        env: str,
        user: User,
        *,
        model: str | None = None,
        reason: str = "",
        evidence: Mapping[str, object] | None = None,
        expected_generation: int | None = None,
        automatic: bool = False,
    ) -> Deployment:
        """Drop the rolling-out candidate, else go back to the previous live version.

        ``automatic`` marks the watcher's rollbacks (``auto_rollback`` with its evidence);
        ``expected_generation`` refuses (409) when the deployment changed since it was read.
        """
        _authorize(user)  # the watcher acts as a deployer too
        env = check_environment(env)
        with self.db.write() as conn:
            model = self._model_in(conn, env, model)
            current = self._current(conn, env, model, lock=True)
            _check_generation(current, expected_generation)
            now = self.clock()
            action = "auto_rollback" if automatic else "rollback"
            if current.candidate_version is not None:
                state = replace(
                    current, candidate_version=None, traffic=100, updated_by=user.name,
                    update_time=now,
                )  # fmt: skip
                frm: int | None = current.candidate_version
                to: int | None = current.live_version
            elif current.previous_version is not None:
                before = self.repo.last_live_change_to(
                    conn, env, model, current.previous_version, current.generation
                )
                state = replace(
                    current,
                    live_version=current.previous_version,
                    previous_version=before.from_version if before else None,
                    updated_by=user.name,
                    update_time=now,
                )
                frm, to = current.live_version, current.previous_version
            else:
                raise ConflictError(
                    f"no previous version of {model} to roll back to in {env}: "
                    f"v{current.live_version} is the first one deployed",
                    field="env",
                )
            return self._record(
                conn, state, action, frm, to, 100, user.name, reason, dict(evidence or {})
            )

    # ------------------------------------------------------------ helpers
    def _deployable(self, model: str, version: int | str, env: str) -> ModelVersion:
        text = str(version)
        digits = text[1:] if text[:1] == "v" else text
        if not digits.isdecimal() or not 1 <= int(digits) <= MAX_VERSION:
            raise ValidationError(
                f"version must be a number like 3 (or v3), got {text!r}", field="version"
            )
        target = self.registry.get_version(f"{model}@{int(digits)}")
        if target.status in _NEVER:
            raise ConflictError(
                f"{target.ref} is {target.status.value}: it cannot be deployed anywhere",
                field="version",
            )
        if env in self.protected and target.status is not VersionStatus.APPROVED:
            raise PermissionDeniedError(
                f"{env} is a protected environment and {target.ref} is "
                f"{target.status.value}, not approved; run its gates "
                f"(`shipyard gate {model} {target.version}`) and have an approver approve it",
            )
        return target

    def _model_in(self, conn: Any, env: str, model: str | None) -> str:
        if model is not None:
            return check_model_name(model)
        names = [d.model for d in self.repo.list(conn, env)]
        if len(names) == 1:
            return names[0]
        if not names:
            raise NotFoundError(f"nothing is deployed to {env}", field="env")
        raise ValidationError(
            f"{env} serves several models ({', '.join(names)}); name one with --model",
            field="model",
        )

    def _current(self, conn: Any, env: str, model: str, *, lock: bool = True) -> Deployment:
        current = self.repo.get(conn, env, model, lock=lock)
        if current is None:
            raise NotFoundError(f"{model!r} is not deployed to {env}", field="model")
        return current

    def _record(
        self,
        conn: Any,
        state: Deployment,
        action: str,
        frm: int | None,
        to: int | None,
        traffic: int,
        actor: str,
        reason: str,
        evidence: dict[str, object],
    ) -> Deployment:
        event = DeploymentEvent(
            0, state.environment, state.model, action, frm, to, state.strategy.value,
            traffic, actor, reason, state.update_time, evidence,
        )  # fmt: skip
        saved = self.repo.record(conn, state, event)
        payload = {
            "environment": state.environment,
            "model": state.model,
            "from_version": frm,
            "to_version": to,
            "strategy": state.strategy.value,
            "traffic": traffic,
            "live_version": saved.live_version,
            "candidate_version": saved.candidate_version,
            **({"evidence": evidence} if evidence else {}),
        }
        entry = NewEntry(
            actor, f"deployment.{action}", "deployment",
            f"{state.environment}/{state.model}", reason, payload,
        )  # fmt: skip
        self.audit.append(conn, [entry], state.update_time)
        return saved


def _authorize(user: User) -> None:
    check(user, Action.DEPLOY)


def _deployed(
    current: Deployment | None,
    env: str,
    model: str,
    ref: str,
    version: int,
    chosen: Strategy,
    percent: int | None,
    policy: DeployPolicy,
    actor: str,
    now: int,
) -> Deployment:
    """The state after deploying ``version``; ConflictError while another rolls out."""
    if current is not None and current.candidate_version is not None:
        raise ConflictError(
            f"{env}: v{current.candidate_version} of {model} is being rolled out "
            f"({current.state}); promote or roll it back first",
            field="version",
        )
    live = current.live_version if current else None
    if live == version:
        raise ConflictError(f"{ref} is already live in {env}", field="version")
    if live is None or chosen is Strategy.REPLACE:
        # with nothing live, a canary/shadow/bluegreen has nothing to compete with
        return Deployment(env, model, version, None, Strategy.REPLACE, 100, live, actor, now, 0)
    traffic = {
        Strategy.CANARY: percent or policy.steps[0],
        Strategy.SHADOW: percent or 100,
        Strategy.BLUEGREEN: 0,
    }[chosen]
    previous = current.previous_version if current else None
    return Deployment(env, model, live, version, chosen, traffic, previous, actor, now, 0)


def _check_generation(current: Deployment, expected: int | None) -> None:
    if expected is not None and current.generation != expected:
        raise ConflictError(
            f"{current.model} in {current.environment} changed meanwhile (now {current.state}, "
            f"v{current.live_version} live); review it and try again",
            field="generation",
        )


def _check_split(percent: int, strategy: Strategy) -> None:
    # replace and bluegreen send all traffic to one side: a percent would be silently ignored
    if strategy not in (Strategy.CANARY, Strategy.SHADOW):
        raise ValidationError(
            f"percent applies to canary and shadow deployments, not {strategy.value}; "
            f"add --strategy canary to send {percent}% of requests to the new version",
            field="percent",
        )


def _strategy(given: str | None, policy: DeployPolicy) -> Strategy:
    if given is None:
        return policy.strategy
    try:
        return Strategy(given)
    except ValueError:
        raise ValidationError(
            f"strategy must be one of {', '.join(s.value for s in Strategy)}; got {given!r}",
            field="strategy",
        ) from None
