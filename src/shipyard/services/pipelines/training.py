"""A pipeline run that trains a model, as continuous training asks for one: on a chosen
dataset version (the pipeline's own ``sy.dataset`` reads pinned to it), and the fitted model
found among the step outputs (the named step's, else the last step's that can predict)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import ValidationError
from shipyard.core.pipelines.graph import Graph, iter_datasets
from shipyard.core.retraining import TrainingOutcome
from shipyard.services.pipelines.codec import Stored, decode_value

if TYPE_CHECKING:
    from shipyard.services.pipelines.service import PipelineService

__all__ = ["check_training_pipeline", "resume_training", "run_training"]

_NOT_MODELS = ("pandas.", "builtins.", "numpy.", "dict", "list", "tuple", "float", "int", "str")


def check_training_pipeline(target: str) -> None:
    """ValidationError (field ``pipeline``) unless ``target`` imports as a pipeline."""
    from shipyard.services.pipelines.service import load_pipeline

    load_pipeline(target)


def run_training(
    service: PipelineService,
    target: str,
    params: Mapping[str, Any],
    *,
    data: str | None,
    model_step: str | None,
    actor: str,
    on_start: Callable[[str], None] | None = None,
) -> TrainingOutcome:
    """Run ``target`` with ``params``, its dataset reads pinned to ``data`` (a resolved ref)."""
    from shipyard.services.pipelines.service import load_pipeline

    pipeline = load_pipeline(target)
    graph = pipeline.build(dict(params))
    pins = _pins(graph, data)
    result = service.run(pipeline, dict(params), actor=actor, data_pins=pins, on_start=on_start)
    if not result.ok:
        return TrainingOutcome(result.run_id, False, result.error or "the pipeline failed")
    return _outcome(service, result.run_id, graph, model_step)


def resume_training(
    service: PipelineService, run_id: str, *, model_step: str | None, actor: str
) -> TrainingOutcome:
    """Finish ``run_id`` (re-running only what did not succeed) and find its model."""
    from shipyard.services.pipelines.service import load_pipeline

    row = service.get_run(run_id)
    if row.status != "FINISHED":
        result = service.resume(run_id, actor=actor, force=True)
        if not result.ok:
            return TrainingOutcome(run_id, False, result.error or "the pipeline failed")
    graph = load_pipeline(row.pipeline).build(row.params)
    return _outcome(service, run_id, graph, model_step)


def _pins(graph: Graph, data: str | None) -> dict[str, str]:
    """Each ``sy.dataset`` ref of the dataset ``data`` names (or the only one) → ``data``."""
    refs = list(dict.fromkeys(i.ref for n in graph.nodes.values() for i in iter_datasets(n.args)))
    if data is None:
        return {}
    name = data.split("@")[0]
    same = [r for r in refs if r.split("@")[0] == name]
    if same:
        return dict.fromkeys(same, data)
    if len(refs) == 1:
        return {refs[0]: data}
    raise ValidationError(
        f"pipeline {graph.name!r} reads {refs or 'no dataset'}; the retraining data {data} "
        "must be a version of one of them (or the pipeline must read exactly one dataset)",
        field="data",
    )


def _outcome(
    service: PipelineService,
    run_id: str,
    graph: Graph,
    model_step: str | None,
) -> TrainingOutcome:
    read = service.get_run(run_id).spec.get("datasets") or {}
    latest = service.latest_executions(run_id)
    nodes = [model_step] if model_step else list(reversed(graph.order))
    if model_step and model_step not in graph.nodes:
        raise ValidationError(
            f"model_step {model_step!r} is no step of pipeline {graph.name!r} "
            f"(steps: {', '.join(graph.order)})",
            field="model_step",
        )
    for node in nodes:
        execution = latest.get((node, None))
        if execution is None or not execution.succeeded or not execution.output:
            continue
        stored = Stored.from_dict(execution.output)
        if not model_step and stored.type_name.startswith(_NOT_MODELS):
            continue
        model = decode_value(stored, service.blobs)  # type: ignore[arg-type]
        if hasattr(model, "predict"):
            refs = tuple(dict.fromkeys(str(r) for r in read.values()))
            source = execution.cached_from or execution.run_id
            return TrainingOutcome(run_id, True, None, model, source, refs, {"step": node})
    return TrainingOutcome(
        run_id,
        False,
        f"no step of pipeline {graph.name!r} returned a model (an object with predict); "
        "name the step with model_step = ...",
    )
