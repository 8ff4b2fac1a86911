"""Pipeline runs and their steps as JSON.

A step's status aggregates the last attempt of each of its items (fan-out items, sweep
trials): failed > running > finished > cached; a node of the DAG without any execution
was not run (skipped after an upstream failure, or not reached yet).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["NOT_RUN", "error_line", "execution_json", "pipeline_run_json", "step_summaries"]


NOT_RUN = "not run"


_ORDER = ("failed", "running", "finished", "cached")  # worst first


_STATUS = {"FAILED": "failed", "RUNNING": "running", "FINISHED": "finished", "CACHED": "cached"}


def error_line(error: str | None) -> str | None:
    """What went wrong in one line: the exception line of a traceback (its last line)."""
    if not error:
        return None
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    return lines[-1] if lines else None


def pipeline_run_json(row: Any) -> dict[str, Any]:
    spec = row.spec if isinstance(row.spec, dict) else {}
    duration = row.end_time - row.creation_time if row.end_time else None
    return {
        "run_id": row.run_id,
        "pipeline": row.pipeline,
        "name": spec.get("name") or row.pipeline.rpartition(":")[2],
        "run_name": row.run_name,
        "experiment_id": row.experiment_id,
        "status": row.status,
        "executor": row.executor,
        "seed": row.seed,
        "params": row.params,
        "datasets": spec.get("datasets") or {},
        "creation_time": row.creation_time,
        "end_time": row.end_time,
        "duration_ms": duration,
    }


def execution_json(e: Any) -> dict[str, Any]:
    return {
        "run_id": e.run_id,
        "map_index": e.map_index,
        "attempt": e.attempt,
        "status": _STATUS.get(e.status, e.status.lower()),
        "duration_ms": e.duration_ms,
        "output": e.output,
        "error": error_line(e.error),
        "cached_from": e.cached_from,
        "worker": e.worker,
        "start_time": e.start_time,
        "end_time": e.end_time,
    }


def _aggregate(statuses: Sequence[str], run_status: str) -> str:
    if not statuses:
        # A finished pipeline run finished every node: this one fanned out over no items.
        return "finished" if run_status == "FINISHED" else NOT_RUN
    for status in _ORDER:
        if status in statuses:
            return status
    return NOT_RUN  # only unknown statuses (e.g. SKIPPED)


def _item_key(e: Any) -> int:
    return -1 if e.map_index is None else int(e.map_index)


def step_summaries(
    spec: Mapping[str, Any], latest: Mapping[tuple[str, int | None], Any], run_status: str
) -> list[dict[str, Any]]:
    """One summary per node of the DAG, in the spec's (topological) order."""
    by_node: dict[str, list[Any]] = {}
    for (node, _), execution in latest.items():
        by_node.setdefault(node, []).append(execution)
    out = []
    for node in spec.get("nodes") or []:
        node_id = str(node.get("id"))
        found = sorted(by_node.get(node_id, []), key=_item_key)
        executions = [execution_json(e) for e in found]
        durations = [x["duration_ms"] for x in executions if x["duration_ms"] is not None]
        out.append(
            {
                "node": node_id,
                "step": node.get("step") or node_id,
                "kind": node.get("kind") or "step",
                "map": node.get("map"),
                "deps": list(node.get("deps") or []),
                "status": _aggregate([x["status"] for x in executions], run_status),
                "duration_ms": sum(durations) if durations else None,
                "items": len(executions),
                "cached": sum(1 for x in executions if x["status"] == "cached"),
                "executions": executions,
            }
        )
    return out
