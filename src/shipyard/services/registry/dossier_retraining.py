"""The dossier's retraining section: "when models were deployed and recalibrated, by whom, and
why". For a version the continuous-training loop produced, the whole chain (the alert that
triggered it, the run, the data version, gates, approval, deployment, outcome); for any
version, the retraining runs of its model."""

from __future__ import annotations

from typing import Any, Protocol

from shipyard.core.errors import ShipyardError
from shipyard.services.registry.retrain_chain import Ledger, chain_line, run_chain

__all__ = ["MAX_RUNS", "RetrainHistory", "retraining_section"]

MAX_RUNS = 100


class RetrainHistory(Protocol):
    """What the dossier reads of continuous training: runs newest first (a page)."""

    def runs(self, model: str | None = None, cursor: str | None = None, limit: int = 50) -> Any: ...


class AlertReader(Protocol):
    def alerts(self, *, model: str | None = None, limit: int = 100) -> Any: ...


def retraining_section(
    history: RetrainHistory | None,
    ledger: Ledger,
    name: str,
    version: int,
    alerts: AlertReader | None = None,
) -> dict[str, Any]:
    """``produced_by`` (the chain of the run that registered this version, or None) and
    ``runs`` (every retraining run of the model, newest first, one line each)."""
    section: dict[str, Any] = {"produced_by": None, "runs": [], "total": 0, "note": ""}
    if history is None:
        return {**section, "note": "continuous training is not available here"}
    try:
        page = history.runs(name, None, MAX_RUNS)
    except ShipyardError as e:
        return {**section, "note": f"not read: {e.message}"}
    mine = [r for r in page.items if name in (r.register_as, r.model)]
    chains = [run_chain(r, ledger) for r in mine]
    for chain in chains:
        if chain["register_as"] == name and chain["version"] == version:
            section["produced_by"] = {**chain, "alert": _alert(alerts, chain)}
            break
    section["runs"] = [{**c, "line": chain_line(c)} for c in chains]
    section["total"] = len(mine)
    if not mine:
        section["note"] = f"{name} has not been retrained by the continuous-training loop"
    return section


def _alert(alerts: AlertReader | None, chain: dict[str, Any]) -> dict[str, Any] | None:
    """The alert that triggered the run, as monitoring recorded it (status, figures, note)."""
    alert_id = chain["trigger"].get("alert_id")
    if alerts is None or chain["trigger"]["kind"] != "alert" or not isinstance(alert_id, int):
        return None
    try:
        items = alerts.alerts(model=chain["model"], limit=500).items
    except ShipyardError:
        return None
    for a in items:
        if a.alert_id == alert_id:
            return {
                "id": a.alert_id,
                "env": a.env,
                "version": a.version,
                "rule": a.rule,
                "status": a.status.value,
                "figures": dict(a.figures),
                "fired": a.fired,
                "first_window": a.first_window,
                "last_window": a.last_window,
                "resolved_by": a.resolved_by,
                "note": a.note,
            }
    return None
