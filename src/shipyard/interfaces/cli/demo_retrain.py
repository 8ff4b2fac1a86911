"""The sample project's continuous-training scene: the drift alert triggers the retraining
policy; the clinic's new intake (the drifted patients, with outcomes) is the new data; the
pipeline retrains, the gates run on the newest (drifted) held-out rows, a person approves for
production, the version rolls out as a canary and is promoted, and the next window shows
whether the drift alert recovered."""

from __future__ import annotations

from typing import Any

__all__ = ["RETRAIN_POLICY", "retrain_policy", "retrain_scene", "shifted"]

SHIFTS = (("age", 2.0), ("bmi", 1.5))  # in standard deviations: the drifted patient mix


def retrain_policy(model: str, holdout: str) -> str:
    """``[retrain.<model>]``: retrain on the drift alert, on the newest data."""
    return f"""
[retrain.{model}]
on = "alert:drift_share > 0.3"
pipeline = "shipyard.interfaces.cli.demo_pipeline:training"
data = "diabetes@latest"
holdout = "{holdout}@latest"
cooldown = "1h"
auto_approve_if = "environment != 'production'"
deploy = "canary"
environment = "production"
"""


RETRAIN_POLICY = retrain_policy("diabetes-progression", "diabetes-holdout")


def shifted(frame: Any, reference: Any) -> Any:
    """``frame`` with older, heavier patients (the shifts in ``reference``'s deviations)."""
    out = frame.copy()
    for column, shift in SHIFTS:
        out[column] = out[column] + shift * float(reference[column].std())
    out["age"] = out["age"].clip(upper=99.0)  # the data checks allow ages up to 100
    return out


def retrain_scene(services: Any, model: str, holdout: Any, url: str, approver: Any) -> list[str]:
    """New intake → the loop (pipeline, register, gates) → approval → canary; lines to print."""
    if model not in services.settings.retrain:
        return [f"no [retrain.{model}] in shipyard.toml: the retraining scene is skipped"]
    lines = _new_data(services, holdout)
    runs = services.retraining.tick(model)
    if not runs:
        return [*lines, "no retraining started (no matching open alert)"]
    run = runs[-1]
    lines.append(_run_line(run))
    if run.state.value == "awaiting_approval":
        services.registry.decide(
            f"{run.register_as}@v{run.version}",
            approver,
            approve=True,
            reason="retrained on this year's intake; gates passed on the drifted holdout",
        )
        run = services.retraining.advance(run.run_id)
        lines.append(
            f"{run.register_as}@v{run.version} approved by {approver.name} for production "
            f"(the loop may not approve there); {run.state.value}: "
            f"{_deployment(run)}"
        )
    return lines


def _new_data(services: Any, holdout: Any) -> list[str]:
    """This year's patients: the study's cohort as the clinic now sees it (older, heavier),
    with their outcomes, as a new version of ``diabetes``; and the drifted held-out rows as a
    new version of the holdout."""
    import shipyard as sy
    from shipyard.interfaces.cli.demo import _patients
    from shipyard.interfaces.cli.demo_release import HOLDOUT

    patients = _patients()
    intake = shifted(patients, patients)
    intake["patient_email"] = [f"intake{i:03d}@clinic.example" for i in range(len(intake))]
    desc = "This year's patients: an older, heavier mix, with their outcomes"
    data = sy.data.register("diabetes", intake, description=desc, tags={"domain": "health"})
    sy.data.validate(data.ref)
    user = services.settings.actor
    drifted = services.catalog.register(
        HOLDOUT,
        shifted(holdout, holdout),
        user=user,
        description="The held-out rows, shifted as this year's patients are",
    )
    services.catalog.validate(
        drifted.ref, {"columns": {"age": {"min": 18, "nullable": False}}}, user=user
    )
    return [
        f"new data: {data.ref} ({len(intake)} patients of this year's older, heavier mix; PII "
        f"policy and checks applied) and {drifted.ref} (the held-out rows, shifted alike)"
    ]


def _run_line(run: Any) -> str:
    trigger = run.trigger_detail or {}
    why = trigger.get("rule") or trigger.get("alert") or run.trigger
    gates = run.gates or {}
    verdict = "gates passed" if gates.get("passed") else "gates failed"
    return (
        f"retraining run {run.run_id} (trigger: {run.trigger} {why}): pipeline run "
        f"{(run.pipeline_run_id or '')[:12]} on {run.data_ref} → "
        f"{run.register_as}@v{run.version}; {verdict} on {gates.get('holdout', '?')}; "
        f"{run.state.value}{': ' + run.reason if run.reason else ''}"
    )


def _deployment(run: Any) -> str:
    shown = run.deployment or {}
    return (
        f"{shown.get('strategy', '?')} in {shown.get('environment', '?')} "
        f"({shown.get('traffic', '?')}% of traffic)"
    )
