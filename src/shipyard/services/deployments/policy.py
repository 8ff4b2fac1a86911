"""The ``deploy`` part of a release policy: strategy, canary steps, the rollback rule.

```toml
[release.loans]
deploy = { strategy = "canary", steps = [10, 50, 100],
           rollback_if = "error_rate > 0.01 or roc_auc < live_roc_auc - 0.02",
           min_requests = 20, min_labels = 50, promote_after = "30m" }
```

``promote_after`` (a duration or a request count) lets the canary watcher advance the canary
one step at a time while the rule holds; without it the watcher only rolls back.
``min_labels``: the labels a version needs before its realized metrics are judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shipyard.core.canary import (
    DEFAULT_MIN_LABELS,
    PromoteAfter,
    check_min_labels,
    parse_promote_after,
)
from shipyard.core.deployments import DEFAULT_CANARY_STEPS, Strategy, check_steps
from shipyard.core.errors import ValidationError
from shipyard.core.rollback_rule import RollbackRule, parse_rule

__all__ = ["DeployPolicy", "parse_deploy_policy"]

_KEYS = {"strategy", "steps", "rollback_if", "min_requests", "min_labels", "promote_after"}


@dataclass(frozen=True)
class DeployPolicy:
    strategy: Strategy = Strategy.REPLACE
    steps: tuple[int, ...] = DEFAULT_CANARY_STEPS
    rollback_if: RollbackRule | None = None
    min_requests: int = 20  # the candidate's requests at a step before the rule is judged
    min_labels: int = DEFAULT_MIN_LABELS  # labels before realized metrics count
    promote_after: PromoteAfter | None = None  # None: the watcher never promotes


def parse_deploy_policy(model: str, release: Mapping[str, object]) -> DeployPolicy:
    """``[release.<model>].deploy``; defaults when the model or the table is absent."""
    table = release.get(model)
    spec = table.get("deploy") if isinstance(table, Mapping) else None
    if spec is None:
        return DeployPolicy()
    where = f"release.{model}.deploy"
    if not isinstance(spec, Mapping):
        raise ValidationError(f"{where} must be a table", field=where)
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise ValidationError(
            f"{where}: unknown key {unknown[0]!r}; use {', '.join(sorted(_KEYS))}", field=where
        )
    strategy = spec.get("strategy", "replace")
    if strategy not in {s.value for s in Strategy}:
        raise ValidationError(
            f"{where}.strategy must be one of {', '.join(s.value for s in Strategy)}; "
            f"got {strategy!r}",
            field=f"{where}.strategy",
        )
    steps = check_steps(spec["steps"], f"{where}.steps") if "steps" in spec else None
    rule = (
        parse_rule(spec["rollback_if"], f"{where}.rollback_if") if "rollback_if" in spec else None
    )
    min_requests = spec.get("min_requests", 20)
    if isinstance(min_requests, bool) or not isinstance(min_requests, int) or min_requests < 1:
        raise ValidationError(
            f"{where}.min_requests must be a positive integer, got {min_requests!r}",
            field=f"{where}.min_requests",
        )
    min_labels = check_min_labels(spec.get("min_labels", DEFAULT_MIN_LABELS), f"{where}.min_labels")
    promote_after = (
        parse_promote_after(spec["promote_after"], f"{where}.promote_after")
        if "promote_after" in spec
        else None
    )
    return DeployPolicy(
        Strategy(strategy),
        steps or DEFAULT_CANARY_STEPS,
        rule,
        min_requests,
        min_labels,
        promote_after,
    )
