"""What the retraining pages show: a model's ``[retrain.<model>]`` policy as rows, and each
retraining run's chain (``services.registry.retrain_chain``) with the links of every stage:
the alert, the pipeline run, the data, the new version, its approval form, the environment."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shipyard.core.errors import ShipyardError
from shipyard.core.retrain_policy import RetrainPolicy
from shipyard.interfaces.web.charts import Chart, Series
from shipyard.services.registry.retrain_chain import Ledger, chain_line, run_chain

__all__ = [
    "STAGES",
    "gates_chart",
    "policy_for",
    "policy_rows",
    "retrain_href",
    "run_view",
    "runs_view",
]

STAGES = ("trigger", "train", "gates", "approval", "deploy", "outcome")


def retrain_href(model: str) -> str:
    return f"/ui/retraining/{quote(model, safe='')}"


def _q(text: object) -> str:
    return quote(str(text), safe="")


def policy_for(services: Any, name: str) -> RetrainPolicy | None:
    """The policy that retrains (or registers as) ``name``; None without one or when the
    policies are malformed (the retraining page names the error)."""
    try:
        policies = services.retraining.policies()
    except ShipyardError:
        return None
    if name in policies:
        return policies[name]  # type: ignore[no-any-return]
    return next((p for p in policies.values() if p.register_as == name), None)


def policy_rows(policy: RetrainPolicy) -> list[tuple[str, str]]:
    """The policy as (key, shown value) rows, in the order the loop uses them."""
    rule = policy.auto_approve_if
    params = ", ".join(f"{k} = {v!r}" for k, v in policy.params.items())
    return [
        ("triggers", "; ".join(policy.triggers) or "by hand only"),
        ("pipeline", policy.pipeline + (f" ({params})" if params else "")),
        ("data", policy.data or "the pipeline's own datasets"),
        ("holdout", policy.holdout or f"[release.{policy.register_as}] holdout"),
        ("register as", policy.register_as),
        ("cooldown", _duration(policy.cooldown_ms) if policy.cooldown_ms else "none"),
        ("auto_approve_if", rule.text if rule is not None else "none: an approver decides"),
        ("deploy", f"{policy.deploy} to {policy.environment}"),
    ]


def _duration(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size} {unit}"
    return f"{ms} ms"


def _data_href(ref: object) -> str | None:
    return f"/ui/data/{_q(ref)}" if isinstance(ref, str) and "@" in ref else None


def _hrefs(c: dict[str, Any]) -> dict[str, str | None]:
    t, name = c["trigger"], c["register_as"]
    alert = None
    if t["kind"] == "alert" and t.get("env"):
        alert = f"/ui/monitoring/{_q(t['env'])}/{_q(c['model'])}#alert-{_q(t.get('alert_id'))}"
    version = None
    if c["version"] is not None:
        version = f"/ui/models/{_q(name)}/versions/{c['version']}"
    env = (c["deployment"] or {}).get("environment") or c["environment"]
    return {
        "alert": alert,
        "trigger_data": _data_href(t.get("data")),
        "pipeline": f"/ui/pipelines/{_q(c['pipeline_run_id'])}" if c["pipeline_run_id"] else None,
        "data": _data_href(c["data"]),
        "holdout": _data_href(c["holdout"]),
        "version": version,
        "approve": f"{version}#decision-form" if version else None,
        "environment": f"/ui/environments/{_q(env)}",
        "monitoring": f"/ui/monitoring/{_q(env)}/{_q(name)}",
    }


def _stages(c: dict[str, Any]) -> list[dict[str, str]]:
    """One pill per stage: done, failed, waiting or not reached."""
    state, gates, approval = c["state"], c["gates"], c["approval"]
    failed_at = _failed_stage(c)
    out = []
    for stage in STAGES:
        mark = "todo"
        if stage == "trigger":
            mark = "skip" if state == "skipped" else "done"
        elif stage == "train":
            mark = "done" if c["version"] is not None else "todo"
        elif stage == "gates" and gates is not None:
            mark = "done" if gates["passed"] else "fail"
        elif stage == "approval":
            mark = {"automatic": "done", "person": "done", "refused": "fail",
                    "waiting": "wait"}.get(approval["kind"], "todo")  # fmt: skip
        elif stage == "deploy" and c["deployment"] is not None:
            mark = "fail" if str(c["deployment"]["status"]).startswith("rolled back") else "done"
        elif stage == "outcome":
            ok = c["outcome"]["ok"]
            mark = "done" if ok else ("wait" if ok is None else "fail")
        if failed_at == stage:
            mark = "fail"
        out.append({"stage": stage, "mark": mark})
    return out


def _failed_stage(c: dict[str, Any]) -> str | None:
    if c["state"] != "failed":
        return None
    if c["gates"] is not None and not c["gates"]["passed"]:
        return "gates"
    return "train" if c["version"] is None else "deploy"


def run_view(c: dict[str, Any]) -> dict[str, Any]:
    return {**c, "line": chain_line(c), "hrefs": _hrefs(c), "stages": _stages(c)}


def runs_view(services: Any, runs: list[Any]) -> list[dict[str, Any]]:
    """Each run's chain with its links, reading each ledger object once for the page."""
    ledger = Ledger(services.audit)
    return [run_view(run_chain(r, ledger)) for r in runs]


def gates_chart(runs: list[Any]) -> Chart:
    """Each retrained version's metric gates over time (x = when its run started): how well
    every recalibration scored on its holdout, failed gates included."""
    lines: dict[str, list[tuple[float, float | None]]] = {}
    for run in sorted(runs, key=lambda r: r.created):
        values = (run.gates or {}).get("values")
        for gate, value in values.items() if isinstance(values, dict) else ():
            if str(gate).startswith("metric:") and isinstance(value, int | float):
                lines.setdefault(str(gate).removeprefix("metric:"), []).append(
                    (run.created, float(value))
                )
    series = [Series(name, points) for name, points in sorted(lines.items())]
    empty = "" if series else "no retrained version has been gated yet"
    return Chart("gate metrics of each retrained version", "time", series, empty=empty)
