"""What a model version page adds for a release decision: the gate evidence (every gate run,
newest first, with the per-group fairness table and the latency figures), the lineage (the
training run, its parents and the dataset versions they read), and who may approve or
reject it here. The decision itself is always re-checked by ``registry.decide``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipyard.core.entities import User
from shipyard.core.errors import PermissionDeniedError, ShipyardError
from shipyard.core.models import ModelVersion, VersionStatus
from shipyard.core.permissions import Action, may
from shipyard.interfaces.web.model_versions import fmt_drop, fmt_figure
from shipyard.interfaces.web.pages import same_origin
from shipyard.services.registry.approvals import check_approver

__all__ = [
    "OVERRIDE_PREFIX",
    "decision_state",
    "gate_evidence",
    "lineage",
    "same_origin",
]

OVERRIDE_PREFIX = "OVERRIDE:"
DECIDABLE = (VersionStatus.GATE_PASSED, VersionStatus.GATE_FAILED)
MAX_PARENTS = 10
_BOUNDS = {"min": "≥", "max": "≤"}
_SHOWN = {"gate", "kind", "value", "threshold", "passed", "note", "groups"}


def _num(value: Any) -> str:
    return fmt_figure(value)


def _threshold(kind: str, params: Any) -> str:
    if not isinstance(params, Mapping):
        return ""
    unit = " ms" if kind == "latency_p99_ms" else ""
    parts = []
    for key, value in params.items():
        if key in _BOUNDS:
            parts.append(f"{_BOUNDS[key]} {_num(value)}{unit}")
        elif key == "max_drop":
            parts.append(f"drop ≤ {_num(value)}")
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else _num(value)
            parts.append(f"{key} {shown}")
    return " · ".join(parts)


def _value(value: Any) -> str:
    if isinstance(value, Mapping):  # data checks: {dataset version: passed | None}
        marks = {True: "passed", False: "failed", None: "not validated"}
        return ", ".join(f"{k}: {marks.get(v, _num(v))}" for k, v in value.items())
    return _num(value)


def _notes(result: Mapping[str, Any]) -> list[str]:
    notes = [str(result["note"])] if result.get("note") else []
    champion = result.get("champion")
    if isinstance(champion, Mapping):
        notes.append(
            f"champion v{champion.get('version')}: {_num(champion.get('value'))}, "
            f"drop {fmt_drop(result.get('drop'), champion.get('value'), result.get('value'))}"
        )
    for key, value in result.items():
        if key not in _SHOWN and key not in ("champion", "drop") and not _latency_key(key):
            notes.append(f"{key}: {_value(value) if isinstance(value, Mapping) else _num(value)}")
    return notes


def _latency_key(key: str) -> bool:
    return key in ("p50_ms", "batch_ms", "batch_rows")


def _groups(result: Mapping[str, Any]) -> list[dict[str, str]] | None:
    groups = result.get("groups")
    if not isinstance(groups, Mapping):
        return None
    rows = []
    for group, scores in sorted(groups.items()):
        scores = scores if isinstance(scores, Mapping) else {}
        rows.append(
            {
                "group": str(group),
                "accuracy": _num(scores.get("accuracy")),
                "selection_rate": _num(scores.get("selection_rate")),
            }
        )
    return rows


def _latency(result: Mapping[str, Any]) -> dict[str, str] | None:
    if "p50_ms" not in result:
        return None
    return {
        "p50": _num(result.get("p50_ms")),
        "p99": _num(result.get("value")),
        "batch": _num(result.get("batch_ms")),
        "batch_rows": _num(result.get("batch_rows")),
    }


def gate_evidence(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored gate runs (newest first) as rows ready to show."""
    shown = []
    for run in runs:
        gates = []
        for result in run.get("gates") or []:
            if not isinstance(result, Mapping):
                continue
            kind = str(result.get("kind") or "")
            gates.append(
                {
                    "gate": str(result.get("gate") or kind),
                    "kind": kind,
                    "value": _value(result.get("value")),
                    "threshold": _threshold(kind, result.get("threshold")),
                    "passed": bool(result.get("passed")),
                    "notes": _notes(result),
                    "groups": _groups(result),
                    "latency": _latency(result),
                }
            )
        shown.append(
            {
                "holdout": run.get("holdout") or "",
                "passed": bool(run.get("passed")),
                "created_by": run.get("created_by") or "",
                "creation_time": run.get("creation_time"),
                "gates": gates,
            }
        )
    return shown


def lineage(services: Any, version: ModelVersion) -> list[dict[str, Any]]:
    """The version's training run, then its parents, each with the dataset versions it read."""
    runs: list[dict[str, Any]] = []
    for run in services.tracking.run_chain(version.run_id, limit=MAX_PARENTS):
        run_id = run.run_id
        inputs = services.catalog.inputs_of_run(run_id) if services.catalog is not None else []
        runs.append(
            {
                "run_id": run_id,
                "name": run.info.run_name,
                "user": run.info.user,
                "role": "parent run" if runs else "training run",
                "inputs": [{"ref": i.ref, "context": i.context} for i in inputs],
            }
        )
    return runs


def decision_state(services: Any, version: ModelVersion, user: User | None) -> dict[str, Any]:
    """Whether ``user`` is offered the approve/reject form on this version, and why not."""
    state: dict[str, Any] = {"show": False, "approve": False, "override": False, "why_not": ""}
    if version.status not in DECIDABLE:
        return state
    if user is None or not may(user.role, Action.DECIDE):
        role = user.role.value if user is not None else "not logged in"
        state["why_not"] = f"awaiting a decision by an approver (you are {role})"
        return state
    try:
        check_approver(services.tracking, version, user)
    except PermissionDeniedError as e:
        state["why_not"] = e.message
        return state
    except ShipyardError:  # e.g. the training run is gone: let the server decide on submit
        pass
    admin = may(user.role, Action.OVERRIDE_GATES)
    failed = version.status == VersionStatus.GATE_FAILED
    state.update(show=True, approve=admin or not failed, override=admin and failed)
    if failed and not admin:
        state["why_not"] = "it failed its gates: only an admin may approve it (an override)"
    return state
