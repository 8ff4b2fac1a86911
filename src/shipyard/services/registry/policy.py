"""The release policy's gates (``[release.<model>]`` in shipyard.toml), parsed and checked.

```toml
[release.loans]
holdout = "loans@holdout"          # the dataset version gates recompute everything on
target = "default"                  # its label column
gates = [
  { metric = "roc_auc", min = 0.80 },
  { vs_champion = "roc_auc", max_drop = 0.005 },
  { fairness = "demographic_parity_difference", sensitive = "sex", max = 0.10 },
  { latency_p99_ms = 20 },
  { data_checks = "loans" },
]
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.core.errors import ValidationError

__all__ = ["FAIRNESS", "LOWER_IS_BETTER", "METRICS", "Gate", "Policy", "parse_policy"]

METRICS = (
    "roc_auc",
    "accuracy",
    "f1",
    "precision",
    "recall",
    "log_loss",
    "r2",
    "mae",
    "mse",
    "rmse",
)
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "mse", "rmse"})
FAIRNESS = ("demographic_parity_difference", "equalized_odds_difference")
_KINDS = (
    "metric",
    "vs_champion",
    "fairness",
    "latency_p99_ms",
    "data_checks",
    "invariance",
    "directional",
)


@dataclass(frozen=True)
class Gate:
    kind: str  # metric | vs_champion | fairness | latency_p99_ms | data_checks
    name: str  # the metric, fairness measure or dataset
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.kind if self.kind == self.name else f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class Policy:
    model: str
    gates: tuple[Gate, ...]
    holdout: str | None = None
    target: str | None = None


def _number(spec: Mapping[str, Any], key: str, where: str) -> float:
    value = spec.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{where}: {key} must be a number, got {value!r}", field=where)
    return float(value)


def _gate(spec: object, where: str) -> Gate:
    if not isinstance(spec, Mapping):
        raise ValidationError(f"{where} must be a table like {{ metric = ... }}", field=where)
    kinds = [k for k in _KINDS if k in spec]
    if len(kinds) != 1:
        known = {
            "min",
            "max",
            "max_drop",
            "sensitive",
            "expect",
            "max_flip_rate",
            "max_violations",
            *_KINDS,
        }
        unknown = sorted(set(spec) - known)
        hint = f"unknown gate {unknown[0]!r}" if unknown else "no gate kind"
        raise ValidationError(f"{where}: {hint}; a gate is one of {', '.join(_KINDS)}", field=where)
    kind = kinds[0]
    if kind == "latency_p99_ms":
        return Gate(kind, kind, {"max": _number(spec, "latency_p99_ms", where)})
    if kind == "invariance":
        return _invariance(spec, where)
    if kind == "directional":
        return _directional(spec, where)
    name = spec[kind]
    if not isinstance(name, str) or not name:
        raise ValidationError(f"{where}: {kind} must name something", field=where)
    if kind in ("metric", "vs_champion") and name not in METRICS:
        raise ValidationError(
            f"{where}: unknown metric {name!r}; known: {', '.join(METRICS)}", field=where
        )
    if kind == "metric":
        bounds = {k: _number(spec, k, where) for k in ("min", "max") if k in spec}
        if not bounds:
            raise ValidationError(f"{where}: a metric gate needs min or max", field=where)
        return Gate(kind, name, bounds)
    if kind == "vs_champion":
        return Gate(kind, name, {"max_drop": _number(spec, "max_drop", where)})
    if kind == "fairness":
        if name not in FAIRNESS:
            raise ValidationError(
                f"{where}: unknown fairness measure {name!r}; known: {', '.join(FAIRNESS)}",
                field=where,
            )
        sensitive = spec.get("sensitive")
        if not isinstance(sensitive, str) or not sensitive:
            raise ValidationError(f"{where}: fairness needs sensitive = COLUMN", field=where)
        return Gate(kind, name, {"sensitive": sensitive, "max": _number(spec, "max", where)})
    return Gate(kind, name)  # data_checks


def _invariance(spec: Mapping[str, Any], where: str) -> Gate:
    """Predictions must not depend on declared non-causal features (shuffled here)."""
    features = spec["invariance"]
    features = [features] if isinstance(features, str) else features
    if (
        not isinstance(features, list)
        or not features
        or not all(isinstance(f, str) and f for f in features)
    ):
        raise ValidationError(f"{where}: invariance = [COLUMN, ...]", field=where)
    rate = _number(spec, "max_flip_rate", where) if "max_flip_rate" in spec else 0.01
    return Gate("invariance", ",".join(features), {"features": features, "max_flip_rate": rate})


def _directional(spec: Mapping[str, Any], where: str) -> Gate:
    """Raising a feature must move the score the declared way (for nearly every row)."""
    feature, expect = spec["directional"], spec.get("expect")
    if not isinstance(feature, str) or not feature:
        raise ValidationError(f"{where}: directional = COLUMN", field=where)
    if expect not in ("increase", "decrease"):
        raise ValidationError(
            f"{where}: expect must be 'increase' or 'decrease', got {expect!r}", field=where
        )
    limit = _number(spec, "max_violations", where) if "max_violations" in spec else 0.05
    return Gate("directional", feature, {"expect": expect, "max_violations": limit})


def parse_policy(model: str, release: Mapping[str, object]) -> Policy:
    """The gates of ``[release.<model>]``; ValidationError naming the bad key."""
    table = release.get(model)
    if table is None:
        raise ValidationError(
            f"no release policy for {model!r}: add [release.{model}] with gates = [...] to "
            "shipyard.toml",
            field="policy",
        )
    if not isinstance(table, Mapping) or not isinstance(table.get("gates"), list):
        raise ValidationError(f"[release.{model}] needs gates = [ ... ]", field="policy")
    gates = tuple(
        _gate(spec, f"release.{model}.gates[{i}]") for i, spec in enumerate(table["gates"])
    )
    holdout, target = table.get("holdout"), table.get("target")
    return Policy(
        model,
        gates,
        holdout if isinstance(holdout, str) else None,
        target if isinstance(target, str) else None,
    )
