"""``shipyard models register NAME [--run RUN] [--step NODE] [--example DATA]``: register the
model a pipeline run trained as the next version of NAME (what CI does after `pipeline run`).

The model is the output of ``--step`` (default: the one node of the run whose output is a
model); its signature and ONNX check come from ``--example``, a dataset version holding the
model's input columns (default: the release policy's holdout). The version is linked to the
run that really fitted it (the cached step's source run when the step came from the cache).
"""

from __future__ import annotations

from typing import Any

import typer

from shipyard.core.errors import ConflictError, NotFoundError, ValidationError
from shipyard.interfaces.cli.common import JSON_OPT, console, print_json, services

__all__ = ["register_cmd"]

_MODEL_FORMATS = ("skops",)


def register_cmd(
    name: str = typer.Argument(..., help="The model to add a version to, e.g. loans."),
    run: str = typer.Option(
        "latest", "--run", help="The pipeline run that trained it (default: the newest run)."
    ),
    step: str | None = typer.Option(
        None, "--step", help="The node whose output is the model (default: the only one)."
    ),
    example: str | None = typer.Option(
        None,
        "--example",
        help="A dataset version with the model's input columns (default: the policy's holdout).",
    ),
    description: str = typer.Option("", "--description", "-d", help="What this version is."),
    as_json: bool = JSON_OPT,
) -> None:
    """Register the model a pipeline run trained (exit 2 when the run failed or holds no
    model)."""
    from shipyard.services.pipelines.codec import decode_value

    svc = services()
    row = _run(svc, run)
    node, execution, stored = _model_output(svc, row.run_id, step)
    model = decode_value(stored, svc.blobs)
    frame = _example(svc, name, model, example)
    version = svc.registry.log_model(
        model,
        name,
        user=svc.settings.actor,
        run_id=execution.cached_from or execution.run_id,
        input_example=frame.head(5),
        reference_data=frame,
        description=description or f"pipeline run {row.run_id} ({row.pipeline}), step {node}",
    )
    if as_json:
        print_json({"ref": version.ref, "version": version.version, "run_id": row.run_id})
        return
    console().print(
        f"[green]registered[/] [bold]{version.ref}[/] from pipeline run {row.run_id} "
        f"({row.pipeline}, step {node}); next: shipyard gate {name} {version.version}"
    )


def _run(svc: Any, run: str) -> Any:
    if run == "latest":
        rows = svc.pipelines.list_runs(None, 1)
        if not rows:
            raise NotFoundError("no pipeline has run in this project; run one first", field="run")
        row = rows[0]
    else:
        row = svc.pipelines.get_run(run)
    if row.status != "FINISHED":
        raise ConflictError(
            f"pipeline run {row.run_id} ({row.pipeline}) is {row.status}, not FINISHED: "
            f"fix it (shipyard pipeline resume {row.run_id}) before registering its model",
            field="run",
        )
    return row


def _model_output(svc: Any, run_id: str, step: str | None) -> tuple[str, Any, Any]:
    """(node, execution, stored output) of the model the run trained."""
    from shipyard.services.pipelines.codec import Stored

    outputs = {
        node: (execution, Stored.from_dict(execution.output))
        for (node, index), execution in svc.pipelines.latest_executions(run_id).items()
        if index is None and execution.succeeded and execution.output
    }
    if step is not None:
        if step not in outputs:
            raise ValidationError(
                f"pipeline run {run_id} has no output of node {step!r}; nodes with outputs: "
                f"{', '.join(sorted(outputs))}",
                field="step",
            )
        execution, stored = outputs[step]
        if stored.format not in _MODEL_FORMATS:
            raise ValidationError(
                f"node {step!r} returned a {stored.type_name}, not a model", field="step"
            )
        return step, execution, stored
    models = sorted(n for n, (_, s) in outputs.items() if s.format in _MODEL_FORMATS)
    if len(models) != 1:
        found = f"several ({', '.join(models)})" if models else "none"
        raise ValidationError(
            f"pipeline run {run_id} has {found} of its nodes returning a model; name one "
            "with --step",
            field="step",
        )
    return models[0], *outputs[models[0]]


def _example(svc: Any, name: str, model: Any, example: str | None) -> Any:
    """The model's input columns of ``example`` (or of the release policy's holdout)."""
    from shipyard.services.registry.policy import parse_policy

    ref = example
    if ref is None and name in svc.settings.release:
        ref = parse_policy(name, svc.settings.release).holdout
    if ref is None:
        raise ValidationError(
            f"name a dataset version with {name}'s input columns: --example DATA@VERSION "
            f"(or a holdout in [release.{name}])",
            field="example",
        )
    columns = getattr(model, "feature_names_in_", None)
    if columns is None:
        raise ValidationError(
            "the model does not name its input columns (fit it on a DataFrame); register "
            "it from Python with sy.models.log(model, name, input_example=…)",
            field="example",
        )
    names = [str(c) for c in columns]
    frame = svc.catalog.load_frame(ref)
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise ValidationError(f"{ref} lacks the model's input columns {missing}", field="example")
    return frame[names].head(1000)
