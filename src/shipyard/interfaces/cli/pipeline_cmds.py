"""``shipyard pipeline run|show|ls|resume`` and ``shipyard reproduce``."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import typer

from shipyard.core.clock import format_ms
from shipyard.core.errors import ValidationError
from shipyard.interfaces.cli.common import JSON_OPT, console, number, print_json, services, table
from shipyard.interfaces.cli.paging import (
    CURSOR_OPT,
    PAGE_OPT,
    check_page,
    limit_option,
    paging,
    show_page,
)
from shipyard.interfaces.cli.pipeline_live import LiveView
from shipyard.interfaces.cli.runs_cmds import resolve_run
from shipyard.services.paging import MAX_PAGE

__all__ = ["pipeline_app", "reproduce"]

pipeline_app = typer.Typer(
    help="Reproducible, cached pipelines: run, inspect, resume.", no_args_is_help=True
)
EXECUTOR_OPT = typer.Option(
    None, "--executor", "-e", help="local | process | dask | ray (default: SHIPYARD_EXECUTOR)."
)


def _params(items: list[str], params_json: str | None) -> dict[str, Any]:
    """``k=v`` pairs; values parse as JSON when they can (``C=0.5`` is a float)."""
    out: dict[str, Any] = {}
    if params_json:
        try:
            loaded = json.loads(params_json)
        except json.JSONDecodeError as e:
            raise ValidationError(f"--params-json is not JSON: {e}", field="params") from None
        if not isinstance(loaded, dict):
            raise ValidationError("--params-json must be a JSON object", field="params")
        out.update(loaded)
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError(f"--param takes KEY=VALUE, got {item!r}", field="param")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _pins(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        ref, sep, pinned = item.partition("=")
        if not sep or not ref or not pinned:
            raise ValidationError(f"--pin-data takes REF=NAME@vN, got {item!r}", field="pin")
        out[ref] = pinned
    return out


def _result_json(result: Any) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "status": result.status,
        "error": result.error,
        "steps": result.node_status,
        "outputs": {k: v.to_dict() for k, v in result.outputs.items()},
    }


def _finish(result: Any, as_json: bool, started: float) -> None:
    elapsed = time.monotonic() - started
    if as_json:
        print_json({**_result_json(result), "seconds": round(elapsed, 3)})
    elif result.ok:
        console().print(f"[green]pipeline run {result.run_id} finished[/] in {elapsed:.2f}s")
    else:
        from rich.markup import escape

        console(stderr=True).print(
            f"[red]pipeline run {result.run_id} failed[/]: {escape(result.error or '')}\n"
            f"fix the step, then: shipyard pipeline resume {result.run_id}",
            soft_wrap=True,
        )
    if not result.ok:
        raise typer.Exit(1)


@pipeline_app.command("run")
def run(
    target: str = typer.Argument(..., help="The pipeline as module:function."),
    param: list[str] = typer.Option([], "--param", "-p", help="KEY=VALUE (repeatable)."),
    executor: str = EXECUTOR_OPT,
    workers: int = typer.Option(None, help="Parallel workers (default: CPU count)."),
    seed: int = typer.Option(0, help="Pipeline seed; every step gets one derived from it."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Run every step again."),
    from_step: list[str] = typer.Option([], "--from", help="Force this step and downstream."),
    experiment: str = typer.Option(None, help="Experiment (default: the pipeline's name)."),
    params_json: str = typer.Option(None, "--params-json", hidden=True),
    pin_data: list[str] = typer.Option([], "--pin-data", hidden=True),
    as_json: bool = JSON_OPT,
) -> None:
    """Run a pipeline: steps become child runs; unchanged steps come from the cache."""
    from shipyard.services.pipelines.service import load_pipeline

    started = time.monotonic()
    pipeline = load_pipeline(target)
    svc = services()
    graph = pipeline.build(_params(param, params_json))
    with LiveView(graph, enabled=not as_json and sys.stdout.isatty()) as view:
        result = svc.pipelines.run(
            pipeline,
            graph.params,
            actor=svc.settings.actor,
            executor=executor,
            workers=workers,
            experiment=experiment,
            seed=seed,
            cache=not no_cache,
            from_steps=from_step,
            on_event=view.update,
            data_pins=_pins(pin_data),
        )
    if not as_json and not sys.stdout.isatty():
        view.print_summary()
    _finish(result, as_json, started)


@pipeline_app.command("resume")
def resume(
    run_id: str = typer.Argument(..., help="A failed pipeline run."),
    executor: str = EXECUTOR_OPT,
    workers: int = typer.Option(None, help="Parallel workers."),
    force: bool = typer.Option(
        False, "--force", help="Resume a run left RUNNING (its process was killed)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Re-run only the failed steps of a run and what depends on them."""
    from shipyard.services.pipelines.service import load_pipeline

    started = time.monotonic()
    svc = services()
    run_id = resolve_run(svc.tracking, run_id).run_id
    row = svc.pipelines.get_run(run_id)
    graph = load_pipeline(row.pipeline).build(row.params)
    with LiveView(graph, enabled=not as_json and sys.stdout.isatty()) as view:
        result = svc.pipelines.resume(
            run_id,
            actor=svc.settings.actor,
            executor=executor,
            workers=workers,
            on_event=view.update,
            force=force,
        )
    if not as_json and not sys.stdout.isatty():
        view.print_summary()
    _finish(result, as_json, started)


@pipeline_app.command("show")
def show(
    target: str = typer.Argument(..., help="module:function (the DAG) or a pipeline run id."),
    param: list[str] = typer.Option([], "--param", "-p", help="KEY=VALUE (repeatable)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Show a pipeline's DAG without running it, or a run's steps."""
    if ":" in target:
        from shipyard.services.pipelines.service import load_pipeline

        graph = load_pipeline(target).build(_params(param, None))
        if as_json:
            print_json(graph.spec())
            return
        from shipyard.interfaces.cli.pipeline_live import print_dag

        print_dag(graph)
        return
    svc = services()
    row = svc.pipelines.get_run(resolve_run(svc.tracking, target).run_id)
    from shipyard.interfaces.presenters.pipelines import pipeline_run_json, step_summaries

    steps = step_summaries(row.spec, svc.pipelines.latest_executions(target), row.status)
    if as_json:
        print_json({"run": pipeline_run_json(row), "dag": row.spec, "steps": steps})
        return
    rows = []
    for step in steps:
        one = step["executions"][0] if len(step["executions"]) == 1 else None
        output = (one or {}).get("output") or {}
        rows.append(
            [
                step["node"],
                step["status"],
                "" if step["duration_ms"] is None else f"{step['duration_ms'] / 1000:.2f}s",
                f"{step['items']} ({step['cached']} cached)" if step["items"] > 1 else "",
                output.get("summary", "") if one else "",
                (one or {}).get("run_id", ""),
            ]
        )
    title = f"{row.pipeline} · run {row.run_id} · {row.status.lower()} · executor {row.executor}"
    table(title, ["step", "status", "duration", "items", "output", "step run"], rows)


@pipeline_app.command("ls")
def ls(
    pipeline: str = typer.Option(
        None, "--pipeline", help='Only runs of this pipeline ("module:function" or the name).'
    ),
    limit: int = limit_option(20, MAX_PAGE),
    page: int = PAGE_OPT,
    cursor: str = CURSOR_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """List pipeline runs, newest first, a page at a time."""
    how = paging(limit, page, cursor)
    found = check_page(
        services().pipelines.page_runs(
            pipeline or None, cursor=how.cursor, limit=how.limit, offset=how.offset
        ),
        how,
        "pipeline runs",
    )
    if as_json:
        print_json([{**r.__dict__} for r in found.items])
    else:
        table(
            "Pipeline runs",
            ["run", "pipeline", "status", "executor", "started", "params"],
            [
                [
                    r.run_id[:12],
                    r.pipeline,
                    r.status.lower(),
                    r.executor,
                    format_ms(r.creation_time),
                    ", ".join(f"{k}={number(v)}" for k, v in sorted(r.params.items())),
                ]
                for r in found.items
            ],
        )
    show_page(found, how, "pipeline runs", as_json)


def reproduce(
    run_id: str = typer.Argument(..., help="The pipeline run to reproduce."),
    rtol: float = typer.Option(1e-6, help="Relative tolerance for numbers."),
    atol: float = typer.Option(1e-9, help="Absolute tolerance for numbers."),
    executor: str = EXECUTOR_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Re-run a pipeline run from its recorded code, data versions and params; compare."""
    from shipyard.services.pipelines.reproduce import reproduce_run

    svc = services()
    report = reproduce_run(
        svc,
        resolve_run(svc.tracking, run_id).run_id,
        rtol=rtol,
        atol=atol,
        executor=executor,
        log=lambda m: console(stderr=True).print(m),
    )
    if as_json:
        print_json(report)
    else:
        table(
            f"Reproduction of {run_id} as {report['new_run_id']}",
            ["output", "verdict", "recorded", "reproduced"],
            [
                [o["node"], o["verdict"], o["recorded"][:24], (o["reproduced"] or "")[:24]]
                for o in report["outputs"]
            ],
        )
        colour = "green" if report["ok"] else "red"
        console().print(f"[{colour}]{report['summary']}[/]")
    if not report["ok"]:
        raise typer.Exit(1)
