"""Server-rendered web UI: experiments, runs table with filter, run page, comparison (their
metric charts drawn in the browser from JSON served next to the pages)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from shipyard.core.errors import ShipyardError, ValidationError
from shipyard.interfaces.http.artifacts import artifact_response
from shipyard.interfaces.web import (
    approval_routes,
    audit_routes,
    data_routes,
    deploy_routes,
    model_routes,
    monitor_routes,
    pipeline_routes,
    retrain_routes,
    token_routes,
)
from shipyard.interfaces.web.charts import chart_set, metric_chart, run_metrics_href
from shipyard.interfaces.web.pages import HERE, error_page, json_guard, same_origin, templates
from shipyard.interfaces.web.pages import guard as _guard
from shipyard.interfaces.web.pages import page as _page
from shipyard.interfaces.web.run_views import (
    cache_source,
    differing,
    fmt_param,
    human_size,
    metric_stats,
    nest_runs,
    with_cache_sources,
)

__all__ = ["mount"]


def mount(app: FastAPI) -> None:
    templates.env.filters.update(sy_param=fmt_param, sy_size=human_size)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/ui/experiments")

    @app.get("/login", include_in_schema=False)
    def login_form(request: Request, next: str = "/ui/experiments") -> HTMLResponse:
        return _page(request, "login.html", next=next, error=None)

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request, token: str = Form(...), next: str = Form("/ui/experiments")
    ) -> Response:
        if not same_origin(request):  # no logging a victim's browser in as someone else
            return _page(
                request,
                "login.html",
                status=403,
                next=next,
                error="refused: the form was posted from another site",
            )
        try:
            request.app.state.services.access.authenticate(token)
        except ShipyardError as e:
            return _page(request, "login.html", status=401, next=next, error=e.message)
        target = next if next.startswith("/ui/") else "/ui/experiments"
        resp = RedirectResponse(target, status_code=303)
        resp.set_cookie("shipyard_token", token, httponly=True, samesite="strict")
        return resp

    @app.get("/ui/experiments", include_in_schema=False)
    def experiments(request: Request) -> Response:
        if (r := _guard(request)) is not None:
            return r
        t = request.app.state.services.tracking
        found, _ = t.search_experiments()
        activity = t.experiment_activity([e.experiment_id for e in found])
        return _page(request, "experiments.html", experiments=found, activity=activity)

    @app.get("/ui/experiments/{experiment_id}", include_in_schema=False)
    def runs_table(
        request: Request,
        experiment_id: str,
        filter: str = "",
        order_by: str = "",
    ) -> Response:
        if (r := _guard(request)) is not None:
            return r
        t = request.app.state.services.tracking
        try:
            exp = t.get_experiment(experiment_id)
        except ShipyardError as e:
            return error_page(request, "error.html", e, "No such experiment")
        error, runs = None, []
        try:
            runs = t.search_runs(
                [exp.experiment_id], filter or None, [order_by] if order_by else None, 500
            ).runs
        except ValidationError as e:
            error = e.message
        rows = nest_runs(with_cache_sources(t, runs), chronological=not order_by)
        metric_keys = sorted({k for r in rows for k in r.metrics})
        param_keys = sorted({k for r in rows for k in r.params})
        return _page(
            request,
            "runs.html",
            status=400 if error else 200,
            experiment=exp,
            runs=runs,
            rows=rows,
            metric_keys=metric_keys,
            param_keys=param_keys,
            filter=filter,
            order_by=order_by,
            error=error,
        )

    @app.get("/ui/runs/{run_id}", include_in_schema=False)
    def run_page(request: Request, run_id: str) -> Response:
        if (r := _guard(request)) is not None:
            return r
        t = request.app.state.services.tracking
        try:
            run = t.get_run(run_id)
        except ShipyardError as e:
            return error_page(request, "error.html", e, "No such run")
        source = cache_source(t, run)  # a cache hit shows the values it reused
        values = source or run
        charts = _chart_specs(run_metrics_href(values.run_id), sorted(values.metrics))
        return _page(
            request,
            "run.html",
            run=run,
            source=source,
            params=values.params,
            charts=charts,
            files=t.all_artifacts(run_id),
            stats=metric_stats(t, values),
            inputs=_run_inputs(request.app.state.services, run.run_id),
        )

    @app.get("/ui/runs/{run_id}/metrics.json", include_in_schema=False)
    def run_metrics(request: Request, run_id: str) -> dict[str, Any]:
        json_guard(request)
        return _metric_charts(request.app.state.services.tracking, [run_id])

    @app.get("/ui/compare", include_in_schema=False)
    def compare(request: Request, runs: list[str] = Query(default=[])) -> Response:
        if (r := _guard(request)) is not None:
            return r
        t = request.app.state.services.tracking
        try:
            _check_compared(runs)
            found = [t.get_run(rid) for rid in runs]
        except ShipyardError as e:
            return error_page(request, "compare.html", e, "Cannot compare these runs")
        keys = sorted({k for x in found for k in x.metrics})
        src = "/ui/compare/metrics.json?" + urlencode({"runs": runs}, doseq=True)
        charts = _chart_specs(src, keys)
        param_keys = sorted({k for x in found for k in x.params})
        return _page(
            request,
            "compare.html",
            runs=found,
            charts=charts,
            param_keys=param_keys,
            metric_keys=keys,
            differing=differing(found, param_keys),
        )

    @app.get("/ui/compare/metrics.json", include_in_schema=False)
    def compare_metrics(request: Request, runs: list[str] = Query(default=[])) -> dict[str, Any]:
        json_guard(request)
        _check_compared(runs)
        return _metric_charts(request.app.state.services.tracking, runs)

    @app.get("/ui/runs/{run_id}/artifact", include_in_schema=False)
    def artifact(request: Request, run_id: str, path: str) -> Response:
        if (r := _guard(request)) is not None:
            return r
        return artifact_response(request.app.state.services.tracking, run_id, path)

    data_routes.mount(app)
    pipeline_routes.mount(app)
    model_routes.mount(app)
    deploy_routes.mount(app)
    monitor_routes.mount(app)
    retrain_routes.mount(app)
    approval_routes.mount(app)
    audit_routes.mount(app)
    token_routes.mount(app)


def _check_compared(runs: list[str]) -> None:
    if len(runs) < 2:
        raise ValidationError("select at least two runs to compare", field="runs")


def _run_inputs(services: Any, run_id: str) -> list[dict[str, str]]:
    """The dataset versions the run read (lineage), and those its parent runs read."""
    catalog = services.catalog
    if catalog is None:
        return []
    out = []
    for i, run in enumerate(services.tracking.run_chain(run_id, limit=5)):
        for link in catalog.inputs_of_run(run.run_id):
            via = "" if i == 0 else run.run_id
            out.append({"ref": link.ref, "context": link.context, "via": via})
    return out


def _chart_specs(src: str, keys: list[str]) -> list[dict[str, str]]:
    """One chart element per metric, all fed by ``src``."""
    return [{"src": src, "key": k, "title": k} for k in keys]


def _metric_charts(tracking: Any, run_ids: list[str]) -> dict[str, Any]:
    """Each metric's history per run (x = step), for the run and compare pages."""
    runs = [tracking.get_run(rid) for rid in run_ids]
    keys = sorted({k for r in runs for k in r.metrics})
    return chart_set(
        {
            k: metric_chart(
                k,
                [
                    (r.info.run_name, tracking.metric_history(r.run_id, k))
                    for r in runs
                    if k in r.metrics
                ],
            )
            for k in keys
        }
    )
