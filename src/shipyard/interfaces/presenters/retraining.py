"""JSON shapes of continuous training: a retraining run, and what a trigger did."""

from __future__ import annotations

from typing import Any

from shipyard.core.retraining import RetrainRun

__all__ = ["run_json", "started_json"]


def run_json(run: RetrainRun) -> dict[str, Any]:
    return {
        "id": run.run_id,
        "model": run.model,
        "state": run.state.value,
        "reason": run.reason,
        "trigger": {"kind": run.trigger, **dict(run.trigger_detail)},
        "register_as": run.register_as,
        "environment": run.environment,
        "data": run.data_ref,
        "holdout": run.holdout_ref,
        "pipeline_run_id": run.pipeline_run_id,
        "version": run.version,
        "gates": None if run.gates is None else dict(run.gates),
        "approval": None if run.approval is None else dict(run.approval),
        "deployment": None if run.deployment is None else dict(run.deployment),
        "coalesced": run.coalesced,
        "resumable_from": run.failed_step,
        "created_by": run.created_by,
        "created": run.created,
        "updated": run.updated,
        "finished": run.finished,
        "outcome": run.outcome,
        "follow_up": None if run.follow_up is None else dict(run.follow_up),
    }


def started_json(started: Any) -> dict[str, Any]:
    """A trigger's result: ``started`` | ``coalesced`` | ``skipped`` and the run."""
    return {
        "event": started.event,
        "reason": started.reason,
        "run": None if started.run is None else run_json(started.run),
    }
