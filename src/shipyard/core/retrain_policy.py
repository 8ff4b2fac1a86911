"""The retraining policy: ``[retrain.<model>]`` in shipyard.toml, parsed and checked.

```toml
[retrain.loan-default]
on = "alert:drift_share > 0.3 or alert:estimated.roc_auc < 0.75"   # or alert:any
schedule = "7d"
on_new_data = true
pipeline = "training:pipeline"
params = { n_trials = 8 }
data = "loans@latest"                # or "feedback"
holdout = "loans-holdout@latest"
cooldown = "24h"
auto_approve_if = "environment != 'production'"
deploy = "canary"                    # canary | replace | none
environment = "staging"
```

Every error names its key (``retrain.<model>.<key>``). ``auto_approve_if`` is parsed with
:mod:`ast` and judged by a small interpreter: it is never passed to ``eval``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.core.errors import ValidationError
from shipyard.core.monitor_policy import parse_duration, parse_monitor_rule
from shipyard.core.policy_tables import model_table
from shipyard.core.rollback_rule import MAX_RULE_CHARS

__all__ = [
    "APPROVE_NAMES",
    "DEPLOY_MODES",
    "ApproveRule",
    "RetrainPolicy",
    "parse_approve_rule",
    "parse_retrain_policies",
    "parse_retrain_policy",
]

DEPLOY_MODES = ("canary", "replace", "none")
APPROVE_NAMES = ("environment", "model", "trigger")
_KEYS = (
    "auto_approve_if", "cooldown", "data", "deploy", "environment", "holdout", "model_step",
    "on", "on_new_data", "params", "pipeline", "register_as", "schedule",
)  # fmt: skip
_PIPELINE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_ENV = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
DEFAULT_COOLDOWN = "1h"


@dataclass(frozen=True)
class ApproveRule:
    """``auto_approve_if``: comparisons of environment/model/trigger with text constants."""

    text: str
    tree: ast.expr = field(repr=False, compare=False)

    def holds(self, facts: Mapping[str, str]) -> bool:
        return bool(_judge(self.tree, facts))


@dataclass(frozen=True)
class RetrainPolicy:
    model: str
    pipeline: str
    on: tuple[str, ...] = ()  # normalised alert conditions; "any" matches every alert
    schedule_ms: int | None = None
    on_new_data: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)
    data: str | None = None  # a dataset ref, or "feedback"
    holdout: str | None = None
    cooldown_ms: int = 3_600_000
    auto_approve_if: ApproveRule | None = None
    deploy: str = "canary"
    environment: str = "production"
    register_as: str = ""
    model_step: str | None = None  # the step whose output is the model (default: the last)

    @property
    def triggers(self) -> list[str]:
        out = [f"alert:{c}" for c in self.on]
        if self.schedule_ms is not None:
            out.append(f"schedule every {self.schedule_ms // 1000}s")
        if self.on_new_data:
            out.append("new data")
        return out

    def matches(self, rule: str) -> bool:
        """Whether an open alert of rule text ``rule`` triggers this policy."""
        return "any" in self.on or " ".join(rule.split()) in self.on


def parse_retrain_policies(table: object) -> dict[str, RetrainPolicy]:
    """Every ``[retrain.<model>]`` table; the first bad key raises."""
    if not isinstance(table, Mapping):
        raise ValidationError("[retrain] in shipyard.toml must be a table", field="retrain")
    return {str(m): parse_retrain_policy(str(m), spec) for m, spec in sorted(table.items())}


def parse_retrain_policy(model: str, spec: object) -> RetrainPolicy:
    where = f"retrain.{model}"
    spec = model_table(where, spec, _KEYS)
    pipeline = spec.get("pipeline")
    if not isinstance(pipeline, str) or not _PIPELINE.match(pipeline):
        raise ValidationError(
            f'{where}.pipeline: required, "module:attribute" of a shipyard pipeline (e.g. '
            f'"training:pipeline"), got {pipeline!r}',
            field=f"{where}.pipeline",
        )
    on = _on(spec.get("on"), f"{where}.on")
    schedule = spec.get("schedule")
    on_new_data = spec.get("on_new_data", False)
    if not isinstance(on_new_data, bool):
        raise ValidationError(
            f"{where}.on_new_data: expected true or false, got {on_new_data!r}",
            field=f"{where}.on_new_data",
        )
    params = spec.get("params", {})
    if not isinstance(params, Mapping):
        raise ValidationError(
            f"{where}.params: expected a table like {{ n_trials = 8 }}, got {params!r}",
            field=f"{where}.params",
        )
    return RetrainPolicy(
        model=model,
        pipeline=pipeline,
        on=on,
        schedule_ms=None if schedule is None else parse_duration(schedule, f"{where}.schedule"),
        on_new_data=on_new_data,
        params=dict(params),
        data=_ref(spec.get("data"), f"{where}.data", allow_feedback=True),
        holdout=_ref(spec.get("holdout"), f"{where}.holdout"),
        cooldown_ms=parse_duration(
            spec.get("cooldown", DEFAULT_COOLDOWN), f"{where}.cooldown", allow_zero=True
        ),
        auto_approve_if=None
        if spec.get("auto_approve_if") is None
        else parse_approve_rule(spec["auto_approve_if"], f"{where}.auto_approve_if"),
        deploy=_choice(spec.get("deploy", "canary"), DEPLOY_MODES, f"{where}.deploy"),
        environment=_match(spec.get("environment", "production"), _ENV, f"{where}.environment"),
        register_as=_match(spec.get("register_as", model), _NAME, f"{where}.register_as"),
        model_step=None
        if spec.get("model_step") is None
        else _match(spec["model_step"], _NAME, f"{where}.model_step"),
    )


def _on(value: object, where: str) -> tuple[str, ...]:
    """``alert:<rule> or alert:<rule>`` → the normalised rule texts (``any`` for alert:any)."""
    if value is None:
        return ()
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{where}: expected alert terms like 'alert:drift_share > 0.3 or alert:any', "
            f"got {value!r}",
            field=where,
        )
    terms = re.split(r"\s+or\s+(?=alert:)", value.strip())
    out = []
    for term in terms:
        if not term.startswith("alert:"):
            raise ValidationError(
                f"{where}: {term!r} must start with 'alert:' (e.g. 'alert:drift_share > 0.3' "
                "or 'alert:any')",
                field=where,
            )
        condition = " ".join(term[len("alert:") :].split())
        if condition != "any":
            condition = parse_monitor_rule(condition, where).text  # checked like a monitor rule
        out.append(condition)
    return tuple(dict.fromkeys(out))


def _ref(value: object, where: str, *, allow_feedback: bool = False) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip() == "feedback" and allow_feedback:
        return "feedback"
    if not isinstance(value, str) or not re.match(r"^[A-Za-z0-9][\w.-]*(@[\w.-]+)?$", value):
        hint = ' (or "feedback")' if allow_feedback else ""
        raise ValidationError(
            f"{where}: expected a dataset ref like 'loans@latest'{hint}, got {value!r}",
            field=where,
        )
    return value


def _choice(value: object, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise ValidationError(
            f"{where}: expected one of {', '.join(allowed)}, got {value!r}", field=where
        )
    return str(value)


def _match(value: object, pattern: re.Pattern[str], where: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ValidationError(f"{where}: not a valid name: {value!r}", field=where)
    return value


# ---------------------------------------------------------------- auto_approve_if
def parse_approve_rule(text: object, where: str = "auto_approve_if") -> ApproveRule:
    """A rule like ``environment != 'production'`` (==, !=, in, not in, and/or/not)."""
    example = "environment != 'production'"
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(f"{where} must be a rule like {example!r}", field=where)
    if len(text) > MAX_RULE_CHARS:
        raise ValidationError(f"{where} is longer than {MAX_RULE_CHARS} characters", field=where)
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ValidationError(
            f"{where} is not a valid rule; write e.g. {example!r}", field=where
        ) from None
    _check(tree, where)
    return ApproveRule(" ".join(text.split()), tree)


def _check(node: ast.AST, where: str) -> None:
    if isinstance(node, ast.BoolOp):
        for child in node.values:
            _check(child, where)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check(node.operand, where)
    elif isinstance(node, ast.Compare) and len(node.ops) == 1:
        op, right = node.ops[0], node.comparators[0]
        if not isinstance(node.left, ast.Name) or node.left.id not in APPROVE_NAMES:
            raise ValidationError(
                f"{where}: {ast.unparse(node.left)!r} is not a known name; use "
                f"{', '.join(APPROVE_NAMES)}",
                field=where,
            )
        if isinstance(op, ast.Eq | ast.NotEq) and _is_text(right):
            return
        if (
            isinstance(op, ast.In | ast.NotIn)
            and isinstance(right, ast.List | ast.Tuple)
            and all(_is_text(e) for e in right.elts)
        ):
            return
        raise ValidationError(
            f"{where}: {ast.unparse(node)!r} must compare a name with text: == 'x', != 'x', "
            "in ['x', 'y'], not in [...]",
            field=where,
        )
    else:
        raise ValidationError(
            f"{where}: {ast.unparse(node)!r} is not allowed; use comparisons of "
            f"{', '.join(APPROVE_NAMES)} with text, joined by and/or/not",
            field=where,
        )


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _judge(node: ast.AST, facts: Mapping[str, str]) -> bool:
    if isinstance(node, ast.BoolOp):
        values = (_judge(v, facts) for v in node.values)
        return any(values) if isinstance(node.op, ast.Or) else all(values)
    if isinstance(node, ast.UnaryOp):
        return not _judge(node.operand, facts)
    assert isinstance(node, ast.Compare) and isinstance(node.left, ast.Name)
    value = facts.get(node.left.id, "")
    op, right = node.ops[0], node.comparators[0]
    if isinstance(right, ast.Constant):
        return (value == right.value) is isinstance(op, ast.Eq)
    assert isinstance(right, ast.List | ast.Tuple)
    found = value in [e.value for e in right.elts if isinstance(e, ast.Constant)]
    return found is isinstance(op, ast.In)
