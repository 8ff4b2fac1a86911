"""The audit ledger's entries a model version's dossier shows: about the version, its runs,
the dataset versions it rests on and the users who decided on it."""

from __future__ import annotations

import json
from typing import Any

from shipyard.services.audit import AuditService

__all__ = [
    "DECISIONS",
    "deployment_entries",
    "ledger_entries",
    "ledger_entry",
    "merge",
    "model_entries",
]

DECISIONS = ("model.approve", "model.reject", "model.status")


def ledger_entry(e: Any) -> dict[str, Any]:
    try:
        payload = json.loads(e.payload) if e.payload else {}
    except ValueError:
        payload = {"raw": e.payload}
    return {
        "seq": e.seq,
        "time": e.time,
        "actor": e.actor,
        "action": e.action,
        "object": f"{e.object_type}:{e.object_id}",
        "reason": e.reason,
        "payload": payload if isinstance(payload, dict) else {"value": payload},
        "hash": e.hash,
        "prev_hash": e.prev_hash,
    }


def model_entries(audit: AuditService, version: Any) -> list[dict[str, Any]]:
    """The model's ledger entries about this version, oldest first."""
    n = version.version
    out = []
    for e in audit.log(f"model:{version.name}", 100_000):
        entry = ledger_entry(e)
        p = entry["payload"]
        if p.get("version") == n or (
            e.action == "model.alias" and n in (p.get("to"), p.get("from"))
        ):
            out.append(entry)
    return sorted(out, key=lambda x: x["seq"])


def ledger_entries(
    audit: AuditService,
    model_entries: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    datasets: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The entries for the version, its runs, the dataset versions it rests on and the
    users who decided on it."""
    found = {e["seq"]: e for e in model_entries}
    for run in runs:
        for e in audit.log(f"run:{run['run_id']}", 100_000):
            found.setdefault(e.seq, ledger_entry(e))
    wanted: dict[str, set[int]] = {}
    for d in datasets:
        if "version" in d:
            wanted.setdefault(d["name"], set()).add(d["version"])
    for name, numbers in wanted.items():
        for e in audit.log(f"dataset:{name}", 100_000):
            entry = ledger_entry(e)
            p = entry["payload"]
            refs = {f"{name}@v{n}" for n in numbers}
            if p.get("version") in numbers or p.get("ref") in refs:
                found.setdefault(e.seq, entry)
    deciders = {e["actor"] for e in model_entries if e["action"].startswith(DECISIONS)}
    for actor in sorted(deciders):  # how each decider got the role they decided with
        for e in audit.log(f"user:{actor}", 100_000):
            found.setdefault(e.seq, ledger_entry(e))
    return [found[k] for k in sorted(found)]


def deployment_entries(audit: AuditService, version: Any) -> list[dict[str, Any]]:
    """Every deployment step that moved this version (deploy, canary steps, promotion,
    rollback, in any environment), oldest first: deployments are ledger objects of their
    own (``deployment:<env>/<model>``), so they are found by the version they moved."""
    n, out = version.version, []
    for e in audit.log("deployment:", 100_000):
        entry = ledger_entry(e)
        p = entry["payload"]
        if p.get("model") == version.name and n in (p.get("to_version"), p.get("from_version")):
            out.append(entry)
    return sorted(out, key=lambda x: x["seq"])


def merge(ledger: list[dict[str, Any]], *more: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ledger with more entries (the version's deployment steps, the ledger entries of
    the retraining run that produced it), each once, in sequence order."""
    found = {e["seq"]: e for e in ledger}
    for group in more:
        for e in group:
            found.setdefault(e["seq"], e)
    return [found[k] for k in sorted(found)]
