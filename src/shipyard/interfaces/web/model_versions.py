"""What the registry pages show per model version besides its record: its headline metrics
(the latest values its training run logged, the same few columns for every version of a
page) and where it is deployed (live, canary n%, shadow, staged, per environment). Both
are read once per page of versions, not once per version. Numbers are formatted here too."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from shipyard.core.deployments import Deployment, Strategy
from shipyard.core.models import ModelVersion

__all__ = [
    "DASH",
    "MAX_METRICS",
    "deployment_states",
    "fmt_drop",
    "fmt_figure",
    "metric_columns",
    "model_deployments",
    "version_rows",
]

DASH = "\u2013"  # an en dash: "no value"
MINUS = "\u2212"
MAX_METRICS = 4  # metric columns in the versions table
MAX_ENVIRONMENTS = 1000
DIGITS = 4  # significant digits of a figure


def _signed(text: str) -> str:
    """``text`` with a real minus sign and without the trailing zeros of its decimals."""
    if "." in text and "e" not in text:
        text = text.rstrip("0").rstrip(".")
    return MINUS + text[1:] if text.startswith("-") else text


def fmt_figure(value: Any) -> str:
    """A figure to 4 significant digits, in plain notation from 0.0001 to a million
    (``-0.0025253`` → ``-0.002525``, ``12345.6`` → ``12,346``), with a real minus sign
    (U+2212), trailing zeros dropped like ``%g`` does; ints
    grouped; None a dash; anything else as text."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return _signed(f"{value:,}")
    if not isinstance(value, float):
        return str(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    size = abs(value)
    if size == 0:
        return "0"
    if not 1e-4 <= size < 1e6:
        return _signed(f"{value:.{DIGITS - 1}e}")
    decimals = max(DIGITS - 1 - math.floor(math.log10(size)), 0)
    return _signed(f"{value:,.{decimals}f}")


def fmt_drop(drop: Any, *compared: Any) -> str:
    """A difference between ``compared`` figures, to the decimals the figures are shown with
    (0.8837 and 0.8812: ``-0.0025``, not ``-0.002525``); a drop that rounds to zero there
    keeps its own 2 significant digits."""
    if not isinstance(drop, int | float) or isinstance(drop, bool):
        return fmt_figure(drop)
    sizes = [abs(c) for c in compared if isinstance(c, int | float) and c and math.isfinite(c)]
    if not sizes or not math.isfinite(drop) or drop == 0:
        return fmt_figure(drop)
    decimals = max(DIGITS - 1 - math.floor(math.log10(max(sizes))), 0)
    if round(drop, decimals) == 0:  # smaller than the figures show: 2 significant digits
        decimals = 1 - math.floor(math.log10(abs(drop)))
        return _signed(f"{drop:.{decimals}f}" if decimals <= 8 else f"{drop:.1e}")
    return _signed(f"{drop:,.{decimals}f}")


def metric_columns(metrics: Iterable[dict[str, float]], most: int = MAX_METRICS) -> list[str]:
    """The metric keys logged by the most versions of a page (ties by name): the columns."""
    counts = Counter(key for found in metrics for key in found)
    return [key for key, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:most]


def _env_href(env: str) -> str:
    return f"/ui/environments/{quote(env, safe='')}"


def _serving(d: Deployment, version: int) -> tuple[str, str] | None:
    """How ``d`` serves ``version``: (state, label), or None when it does not serve it."""
    if d.candidate_version == version:
        if d.strategy == Strategy.CANARY:
            return "canary", f"canary {d.traffic}%"
        return d.state, d.state
    if d.live_version == version:
        if d.candidate_version is not None and d.strategy == Strategy.CANARY:
            return "live", f"live {100 - d.traffic}%"
        return "live", "live"
    return None


def deployment_states(deployments: Sequence[Deployment]) -> dict[int, list[dict[str, str]]]:
    """version → the environments serving it, each {env, href, state, label}, by env."""
    found: dict[int, list[dict[str, str]]] = {}
    for d in sorted(deployments, key=lambda d: d.environment):
        for version in d.versions():
            serving = _serving(d, version)
            if serving is not None:
                state, label = serving
                env = d.environment
                found.setdefault(version, []).append(
                    {"env": env, "href": _env_href(env), "state": state, "label": label}
                )
    return found


def model_deployments(services: Any, name: str) -> dict[int, list[dict[str, str]]]:
    """Where each version of model ``name`` is deployed (one read for all its versions)."""
    listed = services.deployments.page(None, models=[name], limit=MAX_ENVIRONMENTS)
    return deployment_states(listed.items)


def version_rows(
    services: Any, versions: Sequence[ModelVersion], deployed: dict[int, list[dict[str, str]]]
) -> tuple[list[str], list[dict[str, Any]]]:
    """The metric columns and, per version, {version, metrics: {key: text}, deployments}
    (``deployed``: ``model_deployments``): one read of the page's runs, whatever its size."""
    run_ids = [v.run_id for v in versions if v.run_id]
    runs = services.tracking.get_runs(run_ids) if run_ids else []
    latest = {r.run_id: r.metric_values for r in runs}
    per_version = [latest.get(v.run_id or "", {}) for v in versions]
    columns = metric_columns(per_version)
    rows = [
        {
            "version": v,
            "metrics": {k: fmt_figure(found.get(k)) for k in columns},
            "deployments": deployed.get(v.version, []),
        }
        for v, found in zip(versions, per_version, strict=True)
    ]
    return columns, rows
