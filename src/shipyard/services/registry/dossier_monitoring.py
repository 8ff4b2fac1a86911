"""The dossier's monitoring section: the plan a model is watched by (its ``[monitor]``
policy) and what watching it found for this version (computed windows, alerts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["MonitorHistory", "monitoring_section"]

MAX_ROWS = 50
_SHOWN = ("rows", "drift_share", "output_drift", "labelled")


class MonitorHistory(Protocol):
    """What the dossier reads of monitoring: computed windows and alerts, newest first."""

    def windows(self, *, model: str | None = None, limit: int = 100) -> Any: ...

    def alerts(self, *, model: str | None = None, limit: int = 100) -> Any: ...


def monitoring_section(
    policies: Mapping[str, object], history: MonitorHistory | None, name: str, version: int
) -> dict[str, Any]:
    """``policy`` (or None), this version's newest windows with their headline figures and
    rule verdicts, and the model's alerts."""
    policy = policies.get(name)
    section: dict[str, Any] = {
        "policy": _plain(policy) if isinstance(policy, Mapping) else None,
        "windows": [],
        "alerts": [],
    }
    if history is None:
        return section
    found = history.windows(model=name, limit=500).items
    mine = [w for w in found if w.version == version][:MAX_ROWS]
    section["windows"] = [
        {
            "env": w.env,
            "start": w.start,
            "end": w.end,
            "status": w.status.value,
            "figures": {k: v for k, v in w.figures.items() if _headline(k)},
            "verdicts": dict(w.verdicts),
        }
        for w in mine
    ]
    section["alerts"] = [
        {
            "id": a.alert_id,
            "env": a.env,
            "rule": a.rule,
            "status": a.status.value,
            "first_window": a.first_window,
            "last_window": a.last_window,
            "fired": a.fired,
        }
        for a in history.alerts(model=name, limit=MAX_ROWS).items
        if a.version in (None, version)
    ]
    return section


def _plain(value: Any) -> Any:
    """The policy as shown: a URL (a webhook) only by its host, so the dossier links to
    nothing and carries no token a URL's path or query may hold."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        from urllib.parse import urlsplit

        return f"{urlsplit(value).netloc} (URL not shown)"
    return value


def _headline(key: str) -> bool:
    band = key.endswith((".lower", ".upper"))  # an estimate's band: the estimate is shown
    return key in _SHOWN or (key.startswith(("realized.", "estimated.")) and not band)
