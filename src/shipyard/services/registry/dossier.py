"""A model version's dossier: every piece of evidence an auditor asks for, as plain data.

Lineage (the training run, its pipeline run, the dataset versions they read with their PII
policies and checks, the code commit), the stored gate results, the permutation importance
of the model's features on the gates' holdout, the decisions, deployments and the audit
ledger's entries with the chain's verdict. No HTML here (see ``interfaces.dossier_html``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import ShipyardError

__all__ = ["N_REPEATS", "build_dossier"]

N_REPEATS = 5
MAX_STEPS = 200
_CODE_TAGS = {k: f"shipyard.git.{k}" for k in ("commit", "dirty", "diff_sha256")} | {
    k: f"shipyard.{k}" for k in ("python", "platform")
}
# the release policy's metric names as scikit-learn scorers (higher is better)
_SCORERS = {m: m for m in ("roc_auc", "accuracy", "f1", "precision", "recall", "r2")} | {
    "log_loss": "neg_log_loss",
    "mae": "neg_mean_absolute_error",
    "mse": "neg_mean_squared_error",
    "rmse": "neg_root_mean_squared_error",
}
_DECISIONS = ("model.approve", "model.reject", "model.status")


def build_dossier(services: Any, ref: str) -> dict[str, Any]:
    """Everything recorded about ``ref`` (``name@3``, ``name@champion``…) as one dict."""
    version = services.registry.get_version(ref)
    exact = version.ref
    runs = _run_chain(services, version.run_id)
    pipeline = _pipeline(services, runs)
    gates = services.registry.gate_results(exact)
    datasets = _datasets(services, runs, pipeline, gates)
    model_entries = _model_entries(services, version)
    ledger = _ledger(services, model_entries, runs, datasets)
    verdict = services.audit.verify()
    lineage = {"runs": runs, "pipeline": pipeline, "code": _code(runs), "datasets": datasets}
    return {
        "generated": now_ms(),
        "ref": exact,
        "model": _model(version),
        "lineage": lineage,
        "metrics": _metrics(runs, pipeline, gates),
        "gates": gates,
        "importance": _importance(services, version, gates),
        "approvals": [e for e in model_entries if e["action"].startswith(_DECISIONS)],
        "deployments": {
            "entries": [e for e in model_entries if "deploy" in e["action"]],
            "note": "no deployments recorded",
        },
        "ledger": {
            "entries": ledger,
            "verify": asdict(verdict),  # ok, checked, broken_seq, reason
        },
    }


# ---------------------------------------------------------------- the version
def _model(version: Any) -> dict[str, Any]:
    package = dict(version.package)
    file = package.get("file") if isinstance(package.get("file"), dict) else {}
    return {
        "name": version.name,
        "version": version.version,
        "status": version.status.value,
        "status_reason": version.status_reason,
        "flavor": version.flavor,
        "content_id": version.content_id,
        "signature": {
            "inputs": [list(c) for c in version.signature.inputs],
            "output": version.signature.output,
        },
        "package": {
            "python": package.get("python", ""),
            "libraries": dict(package.get("libraries") or {}),
            "lock": package.get("lock", ""),
            "size": (file or {}).get("size"),
        },
        "aliases": list(version.aliases),
        "description": version.description,
        "run_id": version.run_id,
        "created_by": version.created_by,
        "creation_time": version.creation_time,
    }


# ---------------------------------------------------------------- lineage
def _run_dict(run: Any) -> dict[str, Any]:
    info = run.info
    return {
        "run_id": info.run_id,
        "name": info.run_name,
        "user": info.user,
        "status": info.status.value,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "parent_run_id": info.parent_run_id,
        "params": dict(sorted(run.params.items())),
        "metrics": dict(sorted(run.metric_values.items())),
        "tags": dict(run.tags),
        "code": {k: run.tags[t] for k, t in _CODE_TAGS.items() if t in run.tags},
    }


def _run_chain(services: Any, run_id: str | None) -> list[dict[str, Any]]:
    """The training run, then its parent, grandparent… (a step's pipeline run)."""
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    while run_id and run_id not in seen:
        seen.add(run_id)
        try:
            run = services.tracking.get_run(run_id)
        except ShipyardError as e:
            chain.append({"run_id": run_id, "missing": e.message})
            break
        chain.append(_run_dict(run))
        run_id = run.info.parent_run_id
    return chain


def _pipeline(services: Any, runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first run of the chain that is a pipeline run, with its steps."""
    for run in runs:
        if "missing" in run:
            continue
        try:
            row = services.pipelines.get_run(run["run_id"])
        except ShipyardError:
            continue
        order = {n.get("id"): i for i, n in enumerate(row.spec.get("nodes") or [])}
        steps = []
        for (node, item), e in sorted(
            services.pipelines.latest_executions(row.run_id).items(),
            key=lambda kv: (order.get(kv[0][0], len(order)), kv[0][0], kv[0][1] or 0),
        )[:MAX_STEPS]:
            step = {"node": node, "item": item, "status": e.status, "run_id": e.run_id}
            step.update(cached_from=e.cached_from, params={}, metrics={}, best=False)
            try:
                child = services.tracking.get_run(e.run_id)
                step["params"] = dict(sorted(child.params.items()))
                step["metrics"] = dict(sorted(child.metric_values.items()))
                step["best"] = child.tags.get("shipyard.sweep.best") == "true"
            except ShipyardError:
                pass
            steps.append(step)
        return {
            "run_id": row.run_id,
            "name": str(row.spec.get("name") or row.run_name or row.pipeline),
            "qualified_name": row.pipeline,
            "params": dict(row.params),
            "seed": row.seed,
            "executor": row.executor,
            "status": row.status,
            "creation_time": row.creation_time,
            "end_time": row.end_time,
            "datasets": dict(row.spec.get("datasets") or {}),
            "steps": steps,
        }
    return None


def _code(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The code version: from the nearest run of the chain that recorded a git commit."""
    for run in runs:
        code = run.get("code") or {}
        if code.get("commit"):
            return {**code, "run_id": run["run_id"]}
    return {}


def _datasets(
    services: Any,
    runs: list[dict[str, Any]],
    pipeline: dict[str, Any] | None,
    gates: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Every dataset version the runs read, and the gates' holdouts, with their evidence."""
    roles: dict[str, list[str]] = {}
    for run in runs:
        if "missing" in run:
            continue
        for edge in services.catalog.inputs_of_run(run["run_id"]):
            roles.setdefault(edge.ref, []).append(
                f"{edge.context} of run {run['name'] or run['run_id']}"
            )
    for asked, ref in (pipeline or {}).get("datasets", {}).items():
        roles.setdefault(str(ref), []).append(f"pipeline dataset (asked as {asked})")
    for result in gates:
        roles.setdefault(result["holdout"], []).append("holdout of the gates")
    out = []
    for ref, why in roles.items():
        entry: dict[str, Any] = {"ref": ref, "roles": sorted(set(why))}
        try:
            v = services.catalog.get_version(ref)
        except ShipyardError as e:
            out.append({**entry, "missing": e.message})
            continue
        check = v.validation
        out.append(
            {
                **entry,
                "name": v.name,
                "version": v.version,
                "content_id": v.content_id,
                "rows": v.row_count,
                "columns": len(v.columns),
                "pii": {
                    column: {k: info.get(k) for k in ("kind", "policy", "source")}
                    for column, info in sorted(v.pii.items())
                },
                "pii_allowed": v.pii_allowed,
                "validation": None
                if check is None
                else {
                    "passed": bool(check.passed),
                    "checks_run": check.checks_run,
                    "failed": check.failed,
                    "by": check.created_by,
                    "time": check.creation_time,
                },
                "created_by": v.created_by,
                "creation_time": v.creation_time,
            }
        )
    return out


def _metrics(
    runs: list[dict[str, Any]], pipeline: dict[str, Any] | None, gates: list[dict[str, Any]]
) -> dict[str, Any]:
    """Metrics as logged in training (runs and pipeline steps) and as recomputed by gates."""
    logged = [
        {"source": f"run {r['name']} ({r['run_id']})", "metrics": r["metrics"]}
        for r in runs
        if r.get("metrics")
    ]
    for step in (pipeline or {}).get("steps", []):
        if step["metrics"] and step["run_id"] not in {r["run_id"] for r in runs}:
            item = "" if step["item"] is None else f"[{step['item']}]"
            best = " (best trial)" if step["best"] else ""
            label = f"step {step['node']}{item}{best} ({step['run_id']})"
            logged.append({"source": label, "metrics": step["metrics"]})
    recomputed: dict[str, Any] = {}
    if gates:
        latest = gates[0]
        recomputed = {
            "holdout": latest["holdout"],
            "time": latest.get("creation_time"),
            "values": {
                g["gate"].partition(":")[2] or g["gate"]: g["value"]
                for g in latest["gates"]
                if g["kind"] == "metric" and isinstance(g.get("value"), int | float)
            },
        }
    return {"logged": logged, "recomputed": recomputed}


# ---------------------------------------------------------------- importance
def _policy(services: Any, name: str) -> Mapping[str, Any]:
    policy = services.settings.release.get(name)
    return policy if isinstance(policy, Mapping) else {}


def _scoring(policy: Mapping[str, Any]) -> str | None:
    """The scorer of the policy's first metric gate (None: the model's own score())."""
    gates = policy.get("gates")
    for gate in gates if isinstance(gates, list) else []:
        if isinstance(gate, Mapping) and gate.get("metric") in _SCORERS:
            return _SCORERS[gate["metric"]]
    return None


def _importance(services: Any, version: Any, gates: list[dict[str, Any]]) -> dict[str, Any]:
    """Permutation importance of the loaded model on the latest gate run's holdout."""
    out: dict[str, Any] = {"n_repeats": N_REPEATS, "random_state": 0, "features": []}
    if not gates:
        return {**out, "note": "no gate result yet: no holdout to measure importance on"}
    policy = _policy(services, version.name)
    target = policy.get("target") if isinstance(policy.get("target"), str) else None
    holdout = gates[0]["holdout"]
    out.update(holdout=holdout, target=target)
    if not target:
        return {**out, "note": f"no target column in [release.{version.name}]"}
    features = [c for c, _ in version.signature.inputs]
    try:
        from sklearn.inspection import permutation_importance

        model = services.registry.load(version.ref, user=services.settings.actor)
        frame = services.catalog.load_frame(holdout)
        missing = [c for c in [*features, target] if c not in frame.columns]
        if missing:
            return {**out, "note": f"holdout {holdout} has no column(s) {missing}"}
        x, y = frame[features], frame[target]
        scoring = _scoring(policy)
        try:
            result = permutation_importance(
                model, x, y, scoring=scoring, n_repeats=N_REPEATS, random_state=0
            )
        except (ValueError, AttributeError, TypeError):
            if scoring is None:
                raise
            scoring = None  # e.g. roc_auc on a multiclass model: fall back to model.score
            result = permutation_importance(model, x, y, n_repeats=N_REPEATS, random_state=0)
    except ShipyardError as e:
        return {**out, "note": f"not computed: {e.message}"}
    except (ImportError, ValueError, AttributeError, TypeError, KeyError) as e:
        return {**out, "note": f"not computed: {type(e).__name__}: {e}"}
    rows = [
        {"feature": f, "mean": float(m), "std": float(s)}
        for f, m, s in zip(features, result.importances_mean, result.importances_std, strict=True)
    ]
    rows.sort(key=lambda r: (-r["mean"], r["feature"]))
    return {
        **out,
        "scoring": scoring or "the model's own score()",
        "rows": len(x),
        "features": rows,
    }


# ---------------------------------------------------------------- ledger
def _entry(e: Any) -> dict[str, Any]:
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


def _model_entries(services: Any, version: Any) -> list[dict[str, Any]]:
    """The model's ledger entries about this version, oldest first."""
    n = version.version
    out = []
    for e in services.audit.log(f"model:{version.name}", 100_000):
        entry = _entry(e)
        p = entry["payload"]
        if p.get("version") == n or (
            e.action == "model.alias" and n in (p.get("to"), p.get("from"))
        ):
            out.append(entry)
    return sorted(out, key=lambda x: x["seq"])


def _ledger(
    services: Any,
    model_entries: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    datasets: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The entries for the version, its runs, the dataset versions it rests on and the
    users who decided on it."""
    found = {e["seq"]: e for e in model_entries}
    for run in runs:
        for e in services.audit.log(f"run:{run['run_id']}", 100_000):
            found.setdefault(e.seq, _entry(e))
    wanted: dict[str, set[int]] = {}
    for d in datasets:
        if "version" in d:
            wanted.setdefault(d["name"], set()).add(d["version"])
    for name, numbers in wanted.items():
        for e in services.audit.log(f"dataset:{name}", 100_000):
            entry = _entry(e)
            p = entry["payload"]
            refs = {f"{name}@v{n}" for n in numbers}
            if p.get("version") in numbers or p.get("ref") in refs:
                found.setdefault(e.seq, entry)
    deciders = {e["actor"] for e in model_entries if e["action"].startswith(_DECISIONS)}
    for actor in sorted(deciders):  # how each decider got the role they decided with
        for e in services.audit.log(f"user:{actor}", 100_000):
            found.setdefault(e.seq, _entry(e))
    return [found[k] for k in sorted(found)]
