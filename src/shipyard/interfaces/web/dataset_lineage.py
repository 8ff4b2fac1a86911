"""A dataset version's lineage as the version page shows it, once and grouped: where it came
from, the runs that read it, and the model versions trained on it (registered from one of
those runs or from their step runs), each linked to its page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shipyard.core.datasets import DatasetVersion
from shipyard.interfaces.presenters.lineage import models_trained_by

__all__ = ["MAX_RUNS_SHOWN", "lineage_view"]

MAX_RUNS_SHOWN = 50


def _run_href(run_id: str) -> str:
    return f"/ui/runs/{quote(run_id, safe='')}"


def _model_href(version: Any) -> str:
    return f"/ui/models/{quote(version.name, safe='')}/versions/{version.version}"


def lineage_view(services: Any, version: DatasetVersion) -> dict[str, Any]:
    """The reading runs (oldest link first, contexts merged per run) and the trained models."""
    runs: dict[str, dict[str, Any]] = {}
    for link in services.catalog.runs_reading(version.ref):
        run = runs.setdefault(
            link.run_id,
            {
                "run_id": link.run_id,
                "name": link.run_name or link.run_id,
                "status": link.status,
                "time": link.creation_time,
                "contexts": [],
                "href": _run_href(link.run_id),
                "models": [],
            },
        )
        if link.context not in run["contexts"]:
            run["contexts"].append(link.context)
    trained = models_trained_by(services, {r: v["name"] for r, v in runs.items()})
    models = []
    for t in trained:
        reader = runs[t.reader]
        entry = {
            "ref": t.version.ref,
            "status": t.version.status.value,
            "aliases": list(t.version.aliases),
            "href": _model_href(t.version),
            "run_id": t.run_id,
            "run_name": t.run_name or t.run_id,
            "run_href": _run_href(t.run_id),
            "reader": reader["name"] if t.run_id != t.reader else "",
            "reader_href": reader["href"],
            "time": t.version.creation_time,
        }
        models.append(entry)
        reader["models"].append(entry)
    listed = list(runs.values())
    return {
        "runs": listed[:MAX_RUNS_SHOWN],
        "runs_total": len(listed),
        "models": models,
    }
