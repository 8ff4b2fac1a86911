"""Server-rendered pipeline pages: the list of pipeline runs, and one run with its DAG
(nodes coloured by status, cache hits marked), per-step durations and links to each step's
child run, output artifact and logs."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import Response
from markupsafe import Markup

from shipyard.core.errors import ShipyardError
from shipyard.core.validation import check_run_id
from shipyard.interfaces.presenters.pipelines import pipeline_run_json, step_summaries
from shipyard.interfaces.web.dag_svg import dag_svg, fmt_duration
from shipyard.interfaces.web.pages import error_page, guard, json_guard, page, templates
from shipyard.interfaces.web.paging import limit_of, pager, start_of
from shipyard.interfaces.web.sweep_views import (
    json_output,
    parallel_chart,
    result_text,
    sweep_trials,
)

__all__ = ["mount"]

LIST_LIMIT = 50  # runs per page
MAX_ITEMS = 100  # items of one fan-out or sweep listed (with their artifact links)


def _artifact_url(run_id: str, path: str) -> str:
    return f"/ui/runs/{run_id}/artifact?{urlencode({'path': path})}"


def _links(tracking: Any, run_id: str) -> dict[str, str]:
    """Download links of a step run's output value and logs (those that exist)."""
    try:
        paths = sorted(f.path for f in tracking.all_artifacts(run_id))
    except ShipyardError:
        return {}
    links: dict[str, str] = {}
    output = next((p for p in paths if p.startswith("output/value.")), None)
    if output is None:
        output = next((p for p in paths if p.startswith("output/")), None)
    if output is not None:
        links["output"] = _artifact_url(run_id, output)
    for name, path in (("logs", "logs/output.txt"), ("error", "logs/error.txt")):
        if path in paths:
            links[name] = _artifact_url(run_id, path)
    return links


def _decorate(
    services: Any, steps: list[dict[str, Any]], latest: dict[Any, Any], spec: Any
) -> None:
    """Add what only the page shows: links, full tracebacks, fan-out markers, results."""
    full = {e.run_id: e.error for e in latest.values() if e.error}
    nodes = {n.get("id"): n for n in (spec or {}).get("nodes") or []}
    for step in steps:
        node = nodes.get(step["node"]) or {}
        step["direction"], step["space"] = node.get("direction"), node.get("space")
        step["fanout"] = step["kind"] == "sweep" or bool(step["map"])
        shown = step["executions"][:MAX_ITEMS]
        step["more_items"] = max(0, len(step["executions"]) - MAX_ITEMS)
        for x in shown:
            x["href"] = f"/ui/runs/{x['run_id']}"
            x["links"] = _links(services.tracking, x["run_id"])
            x["traceback"] = full.get(x["run_id"])
            x["summary"] = (x["output"] or {}).get("summary")
        step["shown"] = shown
        step["href"] = shown[0]["href"] if shown else None
        first = shown[0] if shown else None
        step["workers"] = sorted({str(x["worker"]) for x in shown if x["worker"]})
        step["summary"] = first["summary"] if first and not step["fanout"] else None
        step["failures"] = [x for x in shown if x["status"] == "failed"]
        step["result"] = None
        if first and not step["fanout"] and (first["output"] or {}).get("format") == "json":
            step["result"] = result_text(json_output(services.tracking, first["run_id"]))
        step["sweep"] = sweep_trials(services.tracking, step) if step["kind"] == "sweep" else None


def _sweep_charts(services: Any, run_id: str) -> dict[str, Any]:
    """The parallel-coordinates chart of each sweep step's trials, by node id."""
    row = services.pipelines.get_run(check_run_id(run_id))
    latest = services.pipelines.latest_executions(row.run_id)
    steps = step_summaries(row.spec, latest, row.status)
    _decorate(services, steps, latest, row.spec)
    return {
        "charts": {
            s["node"]: parallel_chart(f"{s['node']}: trials", s["sweep"])
            for s in steps
            if s["sweep"] is not None
        }
    }


def _run_page(request: Request, run_id: str) -> Response:
    services = request.app.state.services
    try:
        row = services.pipelines.get_run(check_run_id(run_id))
        latest = services.pipelines.latest_executions(row.run_id)
    except ShipyardError as e:
        title = "Not found" if e.http_status == 404 else "Cannot show this pipeline run"
        return error_page(request, "pipeline_run.html", e, title)
    steps = step_summaries(row.spec, latest, row.status)
    _decorate(services, steps, latest, row.spec)
    counts: dict[str, int] = {}
    for step in steps:
        counts[step["status"]] = counts.get(step["status"], 0) + 1
    error = None
    with contextlib.suppress(ShipyardError):  # the page shows even if the run row is gone
        error = services.tracking.get_run(row.run_id).info.error
    return page(
        request,
        "pipeline_run.html",
        run=pipeline_run_json(row),
        steps=steps,
        counts=counts,
        dag=Markup(dag_svg(steps)),
        run_error=error,
    )


def mount(app: FastAPI) -> None:
    templates.env.filters["sy_duration"] = fmt_duration

    @app.get("/ui/pipelines", include_in_schema=False)
    def pipeline_list(
        request: Request, pipeline: str = "", cursor: str = "", start: str = "", limit: str = ""
    ) -> Response:
        if (r := guard(request)) is not None:
            return r
        error, found, paged = None, [], None
        try:
            listed = request.app.state.services.pipelines.page_runs(
                pipeline.strip() or None,
                cursor=cursor.strip() or None,
                limit=limit_of(limit, LIST_LIMIT),
            )
            paged = pager(request, listed, start_of(start))
            found = [pipeline_run_json(r) for r in listed.items]
        except ShipyardError as e:
            error = e.message
        return page(
            request,
            "pipelines.html",
            status=400 if error else 200,
            runs=found,
            pipeline=pipeline,
            pager=paged,
            error=error,
        )

    @app.get("/ui/pipelines/{run_id}", include_in_schema=False)
    def pipeline_run(request: Request, run_id: str) -> Response:
        if (r := guard(request)) is not None:
            return r
        return _run_page(request, run_id)

    @app.get("/ui/pipelines/{run_id}/sweeps.json", include_in_schema=False)
    def sweep_charts(request: Request, run_id: str) -> dict[str, Any]:
        json_guard(request)
        return _sweep_charts(request.app.state.services, run_id)
