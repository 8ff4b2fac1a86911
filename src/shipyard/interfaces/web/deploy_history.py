"""One row of an environment page's deploy history: the watcher's actions with their evidence.

An automatic rollback shows its rule, the serving figures of both sides, the comparisons that
breached with their figures, and the model quality it judged; an automatic promotion shows
the rule that held, ``promote_after`` and the step. Other events show their evidence as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipyard.core.deployments import DeploymentEvent
from shipyard.interfaces.web.audit_routes import payload_details

__all__ = ["history_row"]

_AUTOMATIC = ("auto_rollback", "auto_promote")


def history_row(e: DeploymentEvent) -> dict[str, Any]:
    """``{"e": event, "auto": is an automatic rollback, "details": [(key, text)]}``."""
    if e.action not in _AUTOMATIC:
        return {"e": e, "auto": False, "details": payload_details(e.evidence)}
    ev: dict[str, Any] = dict(e.evidence)
    details = [("rule", str(ev.get("rule", "")))] if ev.get("rule") else []
    details += [
        ("candidate", _figures_text(ev.get("candidate"))),
        ("live", _figures_text(ev.get("live"))),
    ]
    if e.action == "auto_promote":
        step = f"{ev.get('from_traffic', '?')}% → {ev.get('to_traffic', '?')}%"
        details += [("promote_after", str(ev.get("promote_after", ""))), ("step", step)]
    breached = [_breach_text(b) for b in ev.get("breached") or [] if isinstance(b, Mapping)]
    if breached:
        details.append(("breached", "; ".join(breached)))
    quality = ev.get("quality")
    if isinstance(quality, Mapping):
        for side in ("candidate", "live"):
            reading = quality.get(side)
            if isinstance(reading, Mapping):
                details.append((f"{side} quality", _quality_text(reading)))
    return {"e": e, "auto": e.action == "auto_rollback", "details": details}


def _figures_text(fig: Any) -> str:
    if not isinstance(fig, Mapping) or not fig:
        return "no figures"
    return (
        f"{fig.get('requests', 0)} requests, error rate {float(fig.get('error_rate', 0)):.2%}, "
        f"p50 {float(fig.get('p50_ms', 0)):.3g} ms, p99 {float(fig.get('p99_ms', 0)):.3g} ms"
    )


def _breach_text(breach: Mapping[str, Any]) -> str:
    figures = breach.get("figures") or {}
    values = ", ".join(f"{k} = {_number(v)}" for k, v in figures.items())
    return f"{breach.get('condition', '')} ({values})"


def _quality_text(reading: Mapping[str, Any]) -> str:
    metrics = reading.get("metrics") or {}
    shown = ", ".join(f"{k} {_number(v)}" for k, v in sorted(metrics.items()))
    labelled = f"{reading.get('labelled', 0)} labels"
    return f"{reading.get('source', 'none')}, {labelled}" + (f": {shown}" if shown else "")


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else str(value)
