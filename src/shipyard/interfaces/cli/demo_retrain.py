"""The sample project's continuous-training scene: the drift alert triggers the retraining
policy; this year's patients (the drifted mix, with outcomes) are the new data; the
pipeline retrains, the gates run on the newest (drifted) held-out rows, a person approves for
production, the version rolls out as a canary and is promoted, and the next window shows
whether the drift alert recovered."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from shipyard.interfaces.cli.demo_monitoring import HOOK_PORT, shifted

__all__ = ["RETRAIN_POLICY", "retrain_policy", "retrain_scene"]

DEPLOYER = "dave"


def retrain_policy(model: str, holdout: str) -> str:
    """``[retrain.<model>]``: retrain on the drift alert, on the newest data."""
    return f"""
[retrain.{model}]
on = "alert:drift_share > 0.15"
pipeline = "shipyard.interfaces.cli.demo_pipeline:training"
data = "diabetes@latest"
holdout = "{holdout}@latest"
cooldown = "1h"
auto_approve_if = "environment != 'production'"
deploy = "canary"
environment = "production"
"""


RETRAIN_POLICY = retrain_policy("diabetes-progression", "diabetes-holdout")


def retrain_scene(
    services: Any,
    model: str,
    holdout: Any,
    url: str,
    approver: Any,
    say: Callable[[str], None],
    received: list[dict[str, Any]] | None = None,
) -> None:
    """New data → the loop (pipeline, register, gates) → a person's approval → canary →
    promotion by the watcher → the follow-up window; ``say`` prints each line as it happens.
    ``received``: what the demo's webhook receiver got (the approver's notice among it)."""
    if model not in services.settings.retrain:
        say(f"no [retrain.{model}] in shipyard.toml: the retraining scene is skipped")
        return
    say(_new_data(services, holdout))
    runs = services.retraining.tick(model)
    if not runs:
        say("no retraining started (no matching open alert)")
        return
    run = runs[-1]
    say(_run_line(run))
    if run.state.value != "awaiting_approval":
        return
    if received is not None:
        say(_notice_line(received))
    ref = f"{run.register_as}@v{run.version}"
    services.registry.decide(
        ref, approver, approve=True, reason="retrained on this year's patients; gates passed"
    )
    run = services.retraining.advance(run.run_id)
    say(f"{ref} approved by {approver.name} for production (the loop may not approve there)")
    if run.state.value == "deploying":  # the challenger's canary is still rolling out
        say(f"the loop waits: {run.reason.removeprefix('waiting to deploy: ')}")
        deployer = services.access.get_user(DEPLOYER)
        services.deployments.rollback(
            "production", deployer, model=model, reason=f"superseded by the retrained {ref}"
        )
        run = services.retraining.advance(run.run_id)
        say(f"{DEPLOYER} rolled the challenger back; the loop deployed {_deployment(run)}")
    elif run.state.value == "deployed":  # the watcher had promoted or rolled back already
        say(f"{_watcher_acted(services, model, run.version)}; the loop deployed {_deployment(run)}")
    if run.state.value != "deployed":
        say(f"retraining run {run.run_id}: {run.state.value} {run.reason}")
        return
    say(_canary(services, model, run, holdout, url))
    say(_follow_up(services, model, run, holdout, url))


def _notice_line(received: list[dict[str, Any]]) -> str:
    """Whether the loop's approval request reached the webhook receiver, signed."""
    from shipyard.services.retraining.steps import APPROVAL_EVENT

    notices = [r for r in received if r["body"].get("event") == APPROVAL_EVENT]
    signed = sum(1 for r in notices if r["signed"])
    return (
        f"approvers notified: {signed} signed {APPROVAL_EVENT} webhook(s) received on "
        f"127.0.0.1:{HOOK_PORT}"
    )


def _canary(services: Any, model: str, run: Any, holdout: Any, url: str) -> str:
    """This year's patients (labelled soon after) until the watcher promotes the canary."""
    from shipyard.interfaces.cli.demo_monitoring import patient_requests

    steps: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answered = patient_requests(url, model, _this_year(), 120, seed=len(steps))
        services.feedback.record(model, dict(answered), user=services.settings.actor)
        time.sleep(2.5)  # the serving process flushes its figures, its watcher judges
        current = services.deployments.get("production", model)
        steps.append("live" if current.candidate_version is None else f"{current.traffic}%")
        if current.candidate_version is None:
            break
    verdict = (
        "promoted"
        if steps and steps[-1] == "live" and current.live_version == run.version
        else f"not promoted ({current.state})"
    )
    return (
        f"canary {run.register_as}@v{run.version}: {' → '.join(dict.fromkeys(steps))} — "
        f"{verdict} by the watcher (rule held on error rate, latency and the realized ROC AUC "
        f"of labelled patients against the live version's)"
    )


def _this_year() -> Any:
    """All of this year's patients, labelled as the pipeline labels them (fast progression:
    above the median): the canary's traffic, so each version sees many distinct patients."""
    from shipyard.interfaces.cli.demo import _patients
    from shipyard.interfaces.cli.demo_pipeline import TARGET

    patients = _patients()
    out = shifted(patients, patients)
    out[TARGET] = (out["target"] > out["target"].median()).astype(int)
    return out


def _follow_up(services: Any, model: str, run: Any, holdout: Any, url: str) -> str:
    """One window of this year's patients on the retrained version: did the alert recover?"""
    from shipyard.interfaces.cli.demo_monitoring import (
        patient_requests,
        wait_for_window_end,
        wait_until_logged,
    )

    wait_for_window_end(settle=0.2)
    start_ms = int(time.time() * 1000)
    answered = patient_requests(url, model, _this_year(), 120, seed=99)
    wait_for_window_end(settle=1.5)
    wait_until_logged(services.feedback.reader, model, start_ms, len(answered))
    services.monitor_runner.run(model=model)
    services.retraining.follow_up(model)
    done = services.retraining.get(run.run_id)
    follow = done.follow_up or {}
    before = (follow.get("before") or {}).get("figures") or {}
    after = (follow.get("after") or {}).get("figures") or {}
    shown = ""
    if "drift_share" in before and "drift_share" in after:
        shown = f": drift share {before['drift_share']:.2f} → {after['drift_share']:.2f}"
    return (
        f"follow-up on the first window after promotion: {done.outcome or 'pending'}{shown}; "
        f"timeline: /ui/retraining/{model}"
    )


def _new_data(services: Any, holdout: Any) -> str:
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
    return (
        f"new data: {data.ref} ({len(intake)} patients of this year's older, heavier mix; PII "
        f"policy and checks applied) and {drifted.ref} (the held-out rows, shifted alike)"
    )


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


def _watcher_acted(services: Any, model: str, version: int | None) -> str:
    """What the watcher did to the challenger before the loop deployed ``version``: on a busy
    machine it may promote it on its estimated quality, or roll it back on its latency."""
    events = services.deployments.history("production", model)
    deployed = next(
        (i for i, e in enumerate(events) if e.action == "deploy" and e.to_version == version),
        None,
    )
    before = events[deployed + 1] if deployed is not None and deployed + 1 < len(events) else None
    if before is not None and before.action == "auto_rollback":
        challenger = f"v{before.from_version}"
        return f"the watcher had rolled the challenger {challenger} back ({before.reason})"
    if before is not None and before.action == "auto_promote":
        return f"the watcher had promoted the challenger v{before.to_version} to live"
    return "the challenger's canary had ended"


def _deployment(run: Any) -> str:
    shown = run.deployment or {}
    return (
        f"{shown.get('strategy', '?')} in {shown.get('environment', '?')} "
        f"({shown.get('traffic', '?')}% of traffic)"
    )
