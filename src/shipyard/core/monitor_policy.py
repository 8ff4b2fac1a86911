"""The monitor policy: ``[monitor.<model>]`` in shipyard.toml, its rules, and window maths.

::

    [monitor.loans]
    window = "1h"                        # the width of a monitoring window
    reference = "loans@training"         # optional: a dataset ref (else the training data)
    features = ["age", "income"]         # optional: the columns watched (default: all)
    methods = { income = "psi", categorical = "chi2" }
    thresholds = { psi = 0.2 }
    schedule = "1h"                      # how often `monitor run` runs (default: window)
    min_rows = 200                       # fewer rows: the window is "not enough data"
    delay = "30s"                        # wait after a window ends (late log rows)
    environments = ["production"]        # optional: default every environment it serves
    rules = ["drift_share > 0.3", "drift.income > 0.2", "estimated.roc_auc < 0.75"]
    alerts = { webhook = "https://…", secret_env = "LOANS_HOOK_SECRET", cooldown = "6h" }

Every error names the key (``monitor.loans.window: expected a duration like 1h, got
'soon'``). Rules use the grammar of ``rollback_if`` (:mod:`shipyard.core.rollback_rule`,
parsed with :mod:`ast`, never evaluated) with dotted names resolved from a window's figures.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from shipyard.core.errors import ValidationError
from shipyard.core.policy_tables import model_table
from shipyard.core.rollback_rule import Grammar, judge, names_in, parse_condition

__all__ = [
    "BARE_FIGURES",
    "DRIFT_METHODS",
    "ESTIMATED_METRICS",
    "FEATURE_NAMESPACES",
    "REALIZED_METRICS",
    "AlertSinks",
    "MonitorPolicy",
    "MonitorRule",
    "due_windows",
    "duration_ms",
    "parse_duration",
    "parse_monitor_policies",
    "parse_monitor_policy",
    "parse_monitor_rule",
]

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d|w)\s*$")
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_FEATURE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
_ENV_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

BARE_FIGURES = ("drift_share", "output_drift", "rows")
FEATURE_NAMESPACES = ("drift", "mean", "missing", "unseen")
ESTIMATED_METRICS = ("accuracy", "f1", "precision", "recall", "roc_auc")
REALIZED_METRICS = (
    *ESTIMATED_METRICS, "calibration_error", "log_loss", "mae", "r2", "rmse",
)  # fmt: skip
_METRIC_NAMESPACES = {"estimated": ESTIMATED_METRICS, "realized": REALIZED_METRICS}
DRIFT_METHODS = (
    "chi2", "domain_classifier", "jensen_shannon", "ks", "l_infinity", "psi", "wasserstein",
)  # fmt: skip
_METHOD_KEYS = ("categorical", "numeric")
_KEYS = (
    "alerts", "delay", "environments", "features", "methods", "min_rows", "reference",
    "rules", "schedule", "thresholds", "window",
)  # fmt: skip
_ALERT_KEYS = ("cooldown", "max_attempts", "secret_env", "timeout", "webhook")
DEFAULT_MIN_ROWS = 100
DEFAULT_DELAY_MS = 30_000
DEFAULT_COOLDOWN_MS = 6 * 3_600_000
DEFAULT_TIMEOUT_MS = 5_000
DEFAULT_MAX_ATTEMPTS = 5
MAX_ATTEMPTS = 20


def duration_ms(value: object) -> int | None:
    """``"90s"``, ``"5m"``, ``"1h"``, ``"1d"``, ``"1w"`` (or ``"250ms"``) in milliseconds;
    None for anything else."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    return int(match.group(1)) * _UNITS[match.group(2)] if match else None


def parse_duration(value: object, where: str, *, allow_zero: bool = False) -> int:
    """``duration_ms`` of ``value``; an error naming ``where`` when it is not a duration."""
    found = duration_ms(value)
    ms = -1 if found is None else found
    if ms < 0 or (ms == 0 and not allow_zero):
        raise ValidationError(
            f"{where}: expected a duration like 1h (a number with ms, s, m, h, d or w), "
            f"got {value!r}",
            field=where,
        )
    return ms


# ---------------------------------------------------------------- rules
@dataclass(frozen=True)
class MonitorRule:
    """One alert rule: its text, its checked tree and the figures it reads."""

    text: str
    tree: ast.expr = field(repr=False, compare=False)
    names: tuple[str, ...]

    def judge(self, figures: Mapping[str, float]) -> bool | None:
        """True (fires), False (clear) or None: a figure it needs is missing, so the rule
        is not evaluable for this window (never an alert)."""
        verdict = judge(self.tree, lambda name: _figure(figures, name))
        return None if verdict is None else bool(verdict)


def _figure(figures: Mapping[str, float], name: str) -> float | None:
    value = figures.get(name)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if value != value else float(value)  # NaN: not evaluable


def _name_checker(features: tuple[str, ...] | None) -> Grammar:
    def check(name: str, where: str) -> None:
        space, dot, rest = name.partition(".")
        if not dot:
            if name in BARE_FIGURES:
                return
            hint = f"{name}.<name>" if name in (*FEATURE_NAMESPACES, *_METRIC_NAMESPACES) else ""
            raise ValidationError(
                f"{where}: {name!r} is not a figure"
                + (f"; {name} needs a name: {hint}" if hint else "")
                + f"; use {', '.join(BARE_FIGURES)}, "
                + ", ".join(f"{n}.<feature>" for n in FEATURE_NAMESPACES)
                + ", estimated.<metric> or realized.<metric>",
                field=where,
            )
        if space in _METRIC_NAMESPACES:
            allowed = _METRIC_NAMESPACES[space]
            if rest not in allowed:
                raise ValidationError(
                    f"{where}: unknown metric {rest!r} in {name!r}; {space}.* is one of "
                    f"{', '.join(allowed)}",
                    field=where,
                )
        elif space in FEATURE_NAMESPACES:
            _check_feature(rest, name, where, features)
        else:
            raise ValidationError(
                f"{where}: unknown namespace {space!r} in {name!r}; use "
                f"{', '.join((*FEATURE_NAMESPACES, *_METRIC_NAMESPACES))}",
                field=where,
            )

    return Grammar(check, "drift_share > 0.3", dotted=True)


def _check_feature(rest: str, name: str, where: str, features: tuple[str, ...] | None) -> None:
    if not _FEATURE.match(rest):
        raise ValidationError(
            f"{where}: {name!r} needs one feature name after the dot", field=where
        )
    if features is not None and rest not in features:
        raise ValidationError(
            f"{where}: {name!r} names feature {rest!r}, which is not watched; features are "
            f"{', '.join(features)}",
            field=where,
        )


def parse_monitor_rule(
    text: object, where: str, features: tuple[str, ...] | None = None
) -> MonitorRule:
    """A rule such as ``drift.income > 0.2 or estimated.roc_auc < 0.75``; ``features``
    (when the policy lists them) are the only names ``drift.*``, ``missing.*`` … accept."""
    tree = parse_condition(text, where, _name_checker(features))
    return MonitorRule(" ".join(str(text).split()), tree, tuple(names_in(tree)))


# ---------------------------------------------------------------- the policy
@dataclass(frozen=True)
class AlertSinks:
    """Where a model's alerts go beyond the log and the UI."""

    webhook: str | None = None
    secret_env: str | None = None
    cooldown_ms: int = DEFAULT_COOLDOWN_MS
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS


@dataclass(frozen=True)
class MonitorPolicy:
    model: str
    window_ms: int
    schedule_ms: int
    min_rows: int = DEFAULT_MIN_ROWS
    delay_ms: int = DEFAULT_DELAY_MS
    reference: str | None = None
    features: tuple[str, ...] | None = None
    methods: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    environments: tuple[str, ...] | None = None
    rules: tuple[MonitorRule, ...] = ()
    alerts: AlertSinks = field(default_factory=AlertSinks)

    def watches(self, env: str) -> bool:
        return self.environments is None or env in self.environments


def parse_monitor_policies(table: object) -> dict[str, MonitorPolicy]:
    """Every ``[monitor.<model>]`` table, parsed; the first bad key raises."""
    if not isinstance(table, Mapping):
        raise ValidationError("[monitor] in shipyard.toml must be a table", field="monitor")
    return {str(m): parse_monitor_policy(str(m), spec) for m, spec in sorted(table.items())}


def parse_monitor_policy(model: str, spec: object) -> MonitorPolicy:
    where = f"monitor.{model}"
    spec = model_table(where, spec, _KEYS)
    if "window" not in spec:
        raise ValidationError(
            f'{where}.window: required, e.g. window = "1h"', field=f"{where}.window"
        )
    window = parse_duration(spec["window"], f"{where}.window")
    features = _names(spec.get("features"), f"{where}.features", _FEATURE)
    return MonitorPolicy(
        model=model,
        window_ms=window,
        schedule_ms=parse_duration(spec.get("schedule", spec["window"]), f"{where}.schedule"),
        min_rows=_count(spec.get("min_rows", DEFAULT_MIN_ROWS), f"{where}.min_rows", 1, 10**12),
        delay_ms=parse_duration(spec.get("delay", "30s"), f"{where}.delay", allow_zero=True),
        reference=_text(spec.get("reference"), f"{where}.reference"),
        features=features,
        methods=_methods(spec.get("methods", {}), f"{where}.methods"),
        thresholds=_thresholds(spec.get("thresholds", {}), f"{where}.thresholds"),
        environments=_names(spec.get("environments"), f"{where}.environments", _ENV_NAME),
        rules=_rules(spec.get("rules", []), f"{where}.rules", features),
        alerts=_sinks(spec.get("alerts", {}), f"{where}.alerts"),
    )


def _text(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{where}: expected a dataset ref like 'loans@training', got {value!r}", field=where
        )
    return value.strip()


def _count(value: object, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(
            f"{where}: expected an integer {low}..{high}, got {value!r}", field=where
        )
    return value


def _names(value: object, where: str, pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValidationError(
            f"{where}: expected a non-empty list of names, got {value!r}", field=where
        )
    for v in value:
        if not pattern.match(v):
            raise ValidationError(f"{where}: {v!r} is not a valid name", field=where)
    if len(set(value)) != len(value):
        raise ValidationError(f"{where}: names must be unique, got {value!r}", field=where)
    return tuple(value)


def _methods(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValidationError(
            f'{where}: expected a table like {{ income = "psi", categorical = "chi2" }}',
            field=where,
        )
    out = {}
    for key, method in value.items():
        if not isinstance(method, str) or method not in DRIFT_METHODS:
            raise ValidationError(
                f"{where}.{key}: unknown method {method!r}; use {', '.join(DRIFT_METHODS)}",
                field=f"{where}.{key}",
            )
        if key not in _METHOD_KEYS and not _FEATURE.match(str(key)):
            raise ValidationError(f"{where}.{key}: not a feature name", field=f"{where}.{key}")
        out[str(key)] = method
    return out


def _thresholds(value: object, where: str) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"{where}: expected a table like {{ psi = 0.2 }}", field=where)
    out = {}
    for key, number in value.items():
        if key not in (*DRIFT_METHODS, "drift_share", "p_value"):
            raise ValidationError(
                f"{where}.{key}: unknown threshold; use a method ({', '.join(DRIFT_METHODS)}), "
                "drift_share or p_value",
                field=f"{where}.{key}",
            )
        if isinstance(number, bool) or not isinstance(number, int | float) or not number >= 0:
            raise ValidationError(
                f"{where}.{key}: expected a number >= 0, got {number!r}", field=f"{where}.{key}"
            )
        out[str(key)] = float(number)
    return out


def _rules(value: object, where: str, features: tuple[str, ...] | None) -> tuple[MonitorRule, ...]:
    if not isinstance(value, list):
        raise ValidationError(
            f'{where}: expected a list of rules like ["drift_share > 0.3"]', field=where
        )
    rules = tuple(parse_monitor_rule(r, f"{where}[{i}]", features) for i, r in enumerate(value))
    texts = [r.text for r in rules]
    if len(set(texts)) != len(texts):
        raise ValidationError(f"{where}: a rule is listed twice", field=where)
    return rules


def _sinks(value: object, where: str) -> AlertSinks:
    if not isinstance(value, Mapping):
        raise ValidationError(
            f'{where}: expected a table like {{ webhook = "https://…", cooldown = "6h" }}',
            field=where,
        )
    for key in value:
        if key not in _ALERT_KEYS:
            raise ValidationError(
                f"{where}.{key}: unknown key; use {', '.join(_ALERT_KEYS)}", field=f"{where}.{key}"
            )
    webhook = value.get("webhook")
    if webhook is not None and (
        not isinstance(webhook, str) or not re.match(r"^https?://[^\s/]+", webhook)
    ):
        raise ValidationError(
            f"{where}.webhook: expected an http(s) URL, got {webhook!r}", field=f"{where}.webhook"
        )
    secret = value.get("secret_env")
    if secret is not None and (not isinstance(secret, str) or not _ENV_VAR.match(secret)):
        raise ValidationError(
            f"{where}.secret_env: expected the name of an environment variable, got {secret!r}",
            field=f"{where}.secret_env",
        )
    return AlertSinks(
        webhook=webhook,
        secret_env=secret,
        cooldown_ms=parse_duration(
            value.get("cooldown", "6h"), f"{where}.cooldown", allow_zero=True
        ),
        timeout_ms=parse_duration(value.get("timeout", "5s"), f"{where}.timeout"),
        max_attempts=_count(
            value.get("max_attempts", DEFAULT_MAX_ATTEMPTS),
            f"{where}.max_attempts",
            1,
            MAX_ATTEMPTS,
        ),
    )


# ---------------------------------------------------------------- windows
def due_windows(
    since: int, now: int, window_ms: int, *, delay_ms: int = 0, limit: int | None = None
) -> list[tuple[int, int]]:
    """The windows ``[start, end)`` aligned to multiples of ``window_ms`` (from the epoch,
    UTC) that start at or after ``since`` rounded down, and ended ``delay_ms`` before
    ``now``; oldest first, at most ``limit``."""
    if window_ms <= 0:
        raise ValidationError(f"window must be positive, got {window_ms} ms", field="window")
    first = since // window_ms * window_ms
    last_end = (now - delay_ms) // window_ms * window_ms
    count = max(0, (last_end - first) // window_ms)
    if limit is not None:
        count = min(count, limit)
    return [(first + i * window_ms, first + (i + 1) * window_ms) for i in range(count)]
