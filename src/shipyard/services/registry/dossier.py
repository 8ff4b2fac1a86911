"""A model version's dossier: every piece of evidence an auditor asks for, as plain data.

Lineage (the training run, its pipeline run, the dataset versions they read with their PII
policies and checks, the code commit), the stored gate results, the permutation importance
of the model's features on the gates' holdout, the decisions, deployments and the audit
ledger's entries with the chain's verdict. No HTML here (see ``interfaces.dossier_html``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Protocol

from shipyard.core.clock import now_ms
from shipyard.core.datasets import DatasetVersion
from shipyard.core.errors import ShipyardError
from shipyard.services.audit import AuditService
from shipyard.services.registry import dossier_ledger
from shipyard.services.registry.dossier_monitoring import MonitorHistory, monitoring_section
from shipyard.services.registry.dossier_retraining import RetrainHistory, retraining_section
from shipyard.services.registry.retrain_chain import Ledger
from shipyard.services.registry.service import RegistryService
from shipyard.services.tracking import TrackingService
from shipyard.stores.sql.lineage_repo import RunInput
from shipyard.stores.sql.pipelines_repo import PipelineRunRow, StepExecution

__all__ = ["N_REPEATS", "DatasetVersions", "DossierBuilder", "PipelineRuns"]

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


class PipelineRuns(Protocol):
    """What a dossier reads of pipeline runs (the pipeline service)."""

    def get_run(self, run_id: str) -> PipelineRunRow: ...

    def latest_executions(self, run_id: str) -> dict[tuple[str, int | None], StepExecution]: ...


class DatasetVersions(Protocol):
    """What a dossier reads of the data catalog."""

    def get_version(self, ref: str) -> DatasetVersion: ...

    def inputs_of_run(self, run_id: str) -> list[RunInput]: ...

    def load_frame(self, ref: str, columns: list[str] | None = None) -> Any: ...


class DossierBuilder:
    """Gathers a model version's evidence from the services that recorded it.

    ``release`` is the release policies by model (``[release.<model>]``: the target column
    and the gates' metrics); ``actor`` is who loads the model to measure its importance;
    ``monitor`` the monitoring policies and ``history`` the computed windows and alerts;
    ``retraining`` the continuous-training runs (the version's retraining chain).
    """

    def __init__(
        self,
        *,
        registry: RegistryService,
        tracking: TrackingService,
        pipelines: PipelineRuns,
        catalog: DatasetVersions,
        audit: AuditService,
        release: Mapping[str, object],
        actor: str,
        monitor: Mapping[str, object] | None = None,
        history: MonitorHistory | None = None,
        retraining: RetrainHistory | None = None,
    ) -> None:
        self.registry = registry
        self.tracking = tracking
        self.pipelines = pipelines
        self.catalog = catalog
        self.audit = audit
        self.release = release
        self.actor = actor
        self.monitor = monitor or {}
        self.history = history
        self.retraining = retraining

    def build(self, ref: str) -> dict[str, Any]:
        """Everything recorded about ``ref`` (``name@3``, ``name@champion``…) as one dict."""
        return _build(self, ref)


def _build(src: DossierBuilder, ref: str) -> dict[str, Any]:
    """The dossier's sections, each gathered by one helper below."""
    version = src.registry.get_version(ref)
    exact = version.ref
    runs = _run_chain(src, version.run_id)
    pipeline = _pipeline(src, runs)
    gates = src.registry.gate_results(exact)
    datasets = _datasets(src, runs, pipeline, gates)
    model_entries = dossier_ledger.model_entries(src.audit, version)
    ledger = dossier_ledger.ledger_entries(src.audit, model_entries, runs, datasets)
    chains = Ledger(src.audit)
    retraining = retraining_section(
        src.retraining, chains, version.name, version.version, src.history
    )
    deployments = dossier_ledger.deployment_entries(src.audit, version)
    produced = retraining["produced_by"]
    loop = [] if produced is None else chains.entries(f"retraining:{produced['id']}")
    ledger = dossier_ledger.merge(ledger, deployments, loop)
    verdict = src.audit.verify()
    lineage = {"runs": runs, "pipeline": pipeline, "code": _code(runs), "datasets": datasets}
    return {
        "generated": now_ms(),
        "ref": exact,
        "model": _model(version),
        "lineage": lineage,
        "metrics": _metrics(runs, pipeline, gates),
        "gates": gates,
        "importance": _importance(src, version, gates),
        "approvals": [e for e in model_entries if e["action"].startswith(dossier_ledger.DECISIONS)],
        "deployments": {"entries": deployments, "note": "no deployments recorded"},
        "monitoring": monitoring_section(src.monitor, src.history, version.name, version.version),
        "retraining": retraining,
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


def _run_chain(src: DossierBuilder, run_id: str | None) -> list[dict[str, Any]]:
    """The training run, then its parent, grandparent… (a step's pipeline run)."""
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    while run_id and run_id not in seen:
        seen.add(run_id)
        try:
            run = src.tracking.get_run(run_id)
        except ShipyardError as e:
            chain.append({"run_id": run_id, "missing": e.message})
            break
        chain.append(_run_dict(run))
        run_id = run.info.parent_run_id
    return chain


def _pipeline(src: DossierBuilder, runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first run of the chain that is a pipeline run, with its steps."""
    for run in runs:
        if "missing" in run:
            continue
        try:
            row = src.pipelines.get_run(run["run_id"])
        except ShipyardError:
            continue
        order = {n.get("id"): i for i, n in enumerate(row.spec.get("nodes") or [])}
        steps = []
        for (node, item), e in sorted(
            src.pipelines.latest_executions(row.run_id).items(),
            key=lambda kv: (order.get(kv[0][0], len(order)), kv[0][0], kv[0][1] or 0),
        )[:MAX_STEPS]:
            step: dict[str, Any] = {"node": node, "item": item, "status": e.status}
            step["run_id"] = e.run_id
            step.update(cached_from=e.cached_from, params={}, metrics={}, best=False)
            try:
                child = src.tracking.get_run(e.run_id)
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
    src: DossierBuilder,
    runs: list[dict[str, Any]],
    pipeline: dict[str, Any] | None,
    gates: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Every dataset version the runs read, and the gates' holdouts, with their evidence."""
    roles: dict[str, list[str]] = {}
    for run in runs:
        if "missing" in run:
            continue
        for edge in src.catalog.inputs_of_run(run["run_id"]):
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
            v = src.catalog.get_version(ref)
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
def _policy(src: DossierBuilder, name: str) -> Mapping[str, Any]:
    policy = src.release.get(name)
    return policy if isinstance(policy, Mapping) else {}


def _scoring(policy: Mapping[str, Any]) -> str | None:
    """The scorer of the policy's first metric gate (None: the model's own score())."""
    gates = policy.get("gates")
    for gate in gates if isinstance(gates, list) else []:
        if isinstance(gate, Mapping) and gate.get("metric") in _SCORERS:
            return _SCORERS[gate["metric"]]
    return None


def _importance(src: DossierBuilder, version: Any, gates: list[dict[str, Any]]) -> dict[str, Any]:
    """Permutation importance of the loaded model on the latest gate run's holdout."""
    out: dict[str, Any] = {"n_repeats": N_REPEATS, "random_state": 0, "features": []}
    if not gates:
        return {**out, "note": "no gate result yet: no holdout to measure importance on"}
    policy = _policy(src, version.name)
    target = policy.get("target") if isinstance(policy.get("target"), str) else None
    holdout = gates[0]["holdout"]
    out.update(holdout=holdout, target=target)
    if not target:
        return {**out, "note": f"no target column in [release.{version.name}]"}
    features = [c for c, _ in version.signature.inputs]
    try:
        from sklearn.inspection import permutation_importance

        model = src.registry.load(version.ref, user=src.actor)
        frame = src.catalog.load_frame(holdout)
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
