"""The lineage graph around one object, assembled from the catalog and tracking services.

Objects are named ``dataset:loans@v2`` (or just ``loans@v2``) and ``run:<run id>``. The
graph goes both ways: upstream (what an object was made from) and downstream (what used it).
``models_trained_by`` goes one step further down, from the runs that read a dataset version to
the model versions registered from them or from their step runs; the graph lists them under
``models`` (the web page, the API and ``shipyard data lineage`` all take them from there or
from ``models_trained_by``, one walk).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.core.errors import ValidationError

__all__ = ["TrainedModel", "lineage_graph", "models_trained_by", "parse_object"]

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
DESCENT = 3  # generations below a reading run: pipeline run → step → a sweep's trial
MAX_DESCENDANTS = 5000  # runs looked at, so a huge sweep cannot slow a page down


def parse_object(text: str) -> tuple[str, str]:
    """``("dataset", "loans@v2")`` or ``("run", "<id>")``."""
    kind, sep, ident = text.partition(":")
    if not sep:
        kind, ident = ("run", text) if _RUN_ID.match(text) else ("dataset", text)
    if kind not in {"dataset", "run"} or not ident:
        raise ValidationError(
            f"lineage object must be 'dataset:NAME@vN' or 'run:RUN_ID', got {text!r}",
            field="object",
        )
    return kind, ident


def _run_node(tracking: Any, run_id: str) -> dict[str, Any]:
    run = tracking.get_run(run_id)
    return {
        "id": f"run:{run_id}",
        "kind": "run",
        "label": run.info.run_name,
        "status": run.info.status.value,
        "experiment_id": run.info.experiment_id,
    }


def _dataset_node(version: Any) -> dict[str, Any]:
    return {
        "id": f"dataset:{version.ref}",
        "kind": "dataset",
        "label": version.ref,
        "content_id": version.content_id,
        "pii": {c: r["policy"] for c, r in version.pii.items()},
    }


def lineage_graph(services: Any, text: str) -> dict[str, Any]:
    """Nodes and edges one hop upstream and downstream of the object (runs: also children),
    and under ``models`` the model versions registered from the reading runs (a dataset) or
    from the run itself, each also from their descendants (a pipeline's step runs)."""
    kind, ident = parse_object(text)
    catalog, tracking = services.catalog, services.tracking
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, str]] = []

    def edge(source: str, target: str, relation: str, direction: str) -> None:
        edges.append(
            {"source": source, "target": target, "relation": relation, "direction": direction}
        )

    if kind == "dataset":
        version = catalog.get_version(ident)
        root = f"dataset:{version.ref}"
        nodes[root] = _dataset_node(version)
        readers: dict[str, str] = {}
        for link in catalog.runs_reading(version.ref):
            node = nodes[f"run:{link.run_id}"] = _run_node(tracking, link.run_id)
            readers[link.run_id] = node["label"]
            edge(root, f"run:{link.run_id}", link.context, "downstream")
    else:
        run = tracking.get_run(ident)
        root = f"run:{run.run_id}"
        nodes[root] = _run_node(tracking, run.run_id)
        for link in catalog.inputs_of_run(run.run_id):
            version = catalog.get_version(link.ref)
            nodes[f"dataset:{version.ref}"] = _dataset_node(version)
            edge(f"dataset:{version.ref}", root, link.context, "upstream")
        if run.info.parent_run_id:
            parent = f"run:{run.info.parent_run_id}"
            nodes[parent] = _run_node(tracking, run.info.parent_run_id)
            edge(parent, root, "parent_of", "upstream")
        # not the parent's models: its other steps did not necessarily read these inputs
        readers = {run.run_id: run.info.run_name}
    models = [_model_entry(t) for t in models_trained_by(services, readers)]
    return {"root": root, "nodes": list(nodes.values()), "edges": edges, "models": models}


def _model_entry(trained: TrainedModel) -> dict[str, Any]:
    v = trained.version
    return {
        "id": f"model:{v.ref}",
        "ref": v.ref,
        "name": v.name,
        "version": v.version,
        "status": v.status.value,
        "aliases": list(v.aliases),
        "run_id": trained.run_id,
        "run_name": trained.run_name,
        "via": f"run:{trained.reader}",
        "creation_time": v.creation_time,
    }


@dataclass(frozen=True)
class TrainedModel:
    """A model version registered from ``run_id``, which is ``reader`` (a run that read the
    data) or one of its descendants (a pipeline's step run)."""

    version: Any  # ModelVersion
    run_id: str
    run_name: str
    reader: str


def models_trained_by(services: Any, readers: Mapping[str, str]) -> list[TrainedModel]:
    """The model versions registered from the runs ``readers`` names (run id → name) or from
    their descendants, the reverse of a version's training lineage (model version → run →
    its parents → dataset inputs). One query per generation, and one for the versions."""
    origin = {r: r for r in readers}  # run → the reader it descends from
    names = dict(readers)
    frontier = list(readers)
    for _ in range(DESCENT):
        if not frontier or len(origin) >= MAX_DESCENDANTS:
            break
        children = [c for c in services.tracking.child_runs(frontier) if c.run_id not in origin]
        for child in children[: MAX_DESCENDANTS - len(origin)]:
            origin[child.run_id] = origin[child.parent_run_id or ""]
            names[child.run_id] = child.run_name
        frontier = [c.run_id for c in children if c.run_id in origin]
    found = services.registry.versions_of_runs(list(origin)) if origin else []
    return [
        TrainedModel(v, v.run_id, names.get(v.run_id, ""), origin[v.run_id])
        for v in found
        if v.run_id in origin
    ]
