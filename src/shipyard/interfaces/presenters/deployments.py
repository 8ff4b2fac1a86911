"""Deployments and their history events as JSON."""

from __future__ import annotations

from typing import Any

from shipyard.core.deployments import Deployment, DeploymentEvent

__all__ = ["deployment_json", "event_json"]


def deployment_json(d: Deployment) -> dict[str, Any]:
    return {
        "environment": d.environment,
        "model": d.model,
        "live_version": d.live_version,
        "candidate_version": d.candidate_version,
        "strategy": d.strategy.value,
        "traffic": d.traffic,
        "state": d.state,
        "previous_version": d.previous_version,
        "updated_by": d.updated_by,
        "update_time": d.update_time,
        "generation": d.generation,
    }


def event_json(e: DeploymentEvent) -> dict[str, Any]:
    return {
        "event_id": e.event_id,
        "environment": e.environment,
        "model": e.model,
        "action": e.action,
        "from_version": e.from_version,
        "to_version": e.to_version,
        "strategy": e.strategy,
        "traffic": e.traffic,
        "actor": e.actor,
        "reason": e.reason,
        "time": e.time,
        "evidence": e.evidence,
    }
