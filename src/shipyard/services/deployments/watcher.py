"""The canary watcher: judge every canary of an environment, roll back or advance it.

Per canary with a policy, once the candidate has answered ``min_requests`` at its current
step, the ``rollback_if`` rule is judged on the step's serving figures (candidate and live)
and, when the rule names them, on model-quality figures of both versions since the canary
started (``QualityFigures``: realized once ``min_labels`` labels arrived). The verdict has
three values: breached → automatic rollback with the breached comparisons and their figures
as evidence; not evaluable (a quality figure is missing) → nothing; holds → when
``promote_after`` is set and the step has lasted that long (or served that many requests),
an automatic promotion to the next step, to live after the last one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shipyard.core.canary import QualityReading
from shipyard.core.deployments import Deployment, next_step
from shipyard.core.entities import Role, User
from shipyard.core.errors import ConflictError
from shipyard.services.deployments.policy import DeployPolicy
from shipyard.services.ports import QualityFigures

if TYPE_CHECKING:
    from shipyard.services.deployments.service import DeploymentService

__all__ = ["WATCHER", "CanaryWatcher"]

log = logging.getLogger(__name__)

WATCHER = User(0, "shipyard-watcher", Role.DEPLOYER, 0)
_HISTORY = 500  # events searched for the deploy that started a canary

Figures = dict[str, Any]


class CanaryWatcher:
    """Judges canaries on ``by_version`` serving figures and ``quality`` (optional)."""

    def __init__(
        self,
        deployments: DeploymentService,
        by_version: Callable[[str, str, int], dict[tuple[int, str], Figures]],
        quality: QualityFigures | None = None,
    ) -> None:
        self.deployments = deployments
        self.by_version = by_version
        self.quality = quality

    def watch(self, env: str) -> list[dict[str, Any]]:
        """Judge every canary of ``env`` once; the actions taken (rollbacks, promotions)."""
        actions = []
        for d in self.deployments.list(env):
            if d.state != "canary" or d.candidate_version is None:
                continue
            policy = self.deployments.policy(d.model)
            if policy.rollback_if is None and policy.promote_after is None:
                continue
            action = self._judge(env, d, policy)
            if action is not None:
                actions.append(action)
        return actions

    def _judge(self, env: str, d: Deployment, policy: DeployPolicy) -> dict[str, Any] | None:
        figures = self.by_version(env, d.model, d.update_time)
        candidate = figures.get((d.candidate_version or 0, "canary"))
        if candidate is None or candidate["requests"] < policy.min_requests:
            return None
        live = figures.get((d.live_version or 0, "live"), {})
        evidence: dict[str, Any] = {"candidate": candidate, "live": live, "since": d.update_time}
        judged = {**candidate, **{f"live_{k}": v for k, v in live.items()}}
        rule = policy.rollback_if
        if rule is not None:
            evidence["rule"] = rule.text
            if rule.quality_names:
                quality = self._quality(env, d, policy)
                evidence["quality"] = quality
                judged |= _quality_figures(quality)
            verdict = rule.verdict(judged)
            if verdict is None:
                return None  # not evaluable yet: never roll back or promote on missing data
            if verdict:
                evidence["breached"] = rule.breaches(judged)
                return self._rollback(env, d, rule.text, evidence)
        after = policy.promote_after
        now = self.deployments.clock()
        if after is None or not after.due(d.update_time, now, int(candidate["requests"])):
            return None
        evidence |= {"promote_after": after.text, "from_traffic": d.traffic}
        return self._promote(env, d, policy, evidence)

    def _quality(self, env: str, d: Deployment, policy: DeployPolicy) -> dict[str, Any]:
        since = self._canary_start(env, d)
        out: dict[str, Any] = {"since": since, "min_labels": policy.min_labels}
        sides = {"candidate": d.candidate_version, "live": d.live_version}
        for side, version in sides.items():
            if version is None:
                continue
            out[side] = self._reading(env, d.model, version, since, policy.min_labels).to_dict()
        return out

    def _reading(
        self, env: str, model: str, version: int, since: int, min_labels: int
    ) -> QualityReading:
        if self.quality is None:
            return QualityReading("none")
        try:
            return self.quality.for_version(model, env, version, since, min_labels)
        except Exception as e:  # one model's unreadable logs must not stop the others
            log.warning("quality of %s@v%s in %s: %s", model, version, env, e)
            return QualityReading("error")

    def _canary_start(self, env: str, d: Deployment) -> int:
        """When the deploy that made the candidate a canary happened (its steps since)."""
        for event in self.deployments.history(env, d.model, limit=_HISTORY):
            if event.action == "deploy" and event.to_version == d.candidate_version:
                return event.time
        return d.update_time

    def _rollback(
        self, env: str, d: Deployment, rule: str, evidence: dict[str, Any]
    ) -> dict[str, Any] | None:
        try:
            self.deployments.rollback(
                env,
                WATCHER,
                model=d.model,
                reason=f"automatic rollback: {rule}",
                evidence=evidence,
                expected_generation=d.generation,
                automatic=True,
            )
        except ConflictError:
            return None  # someone else acted first (another replica's watcher, an operator)
        return {"model": d.model, "version": d.candidate_version, "action": "rollback", **evidence}

    def _promote(
        self, env: str, d: Deployment, policy: DeployPolicy, evidence: dict[str, Any]
    ) -> dict[str, Any] | None:
        to = next_step(d.traffic, policy.steps)
        after = policy.promote_after.describe() if policy.promote_after else ""
        reason = f"automatic promotion to {to}% after {after} at {d.traffic}%"
        if "rule" in evidence:
            reason += f" while {evidence['rule']} held"
        evidence["to_traffic"] = to
        try:
            self.deployments.promote(
                env,
                WATCHER,
                model=d.model,
                reason=reason,
                evidence=evidence,
                expected_generation=d.generation,
                automatic=True,
            )
        except ConflictError:
            return None
        return {"model": d.model, "version": d.candidate_version, "action": "promote", **evidence}


def _quality_figures(quality: Mapping[str, Any]) -> dict[str, float]:
    """``roc_auc`` … of the candidate and ``live_roc_auc`` … of the live version."""
    out: dict[str, float] = {}
    for side, prefix in (("candidate", ""), ("live", "live_")):
        reading = quality.get(side) or {}
        for name, value in (reading.get("metrics") or {}).items():
            out[prefix + name] = float(value)
    return out
