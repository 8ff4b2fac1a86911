"""Server-rendered continuous training: every model's retraining runs (``/ui/retraining``) and
one model's page (``/ui/retraining/{model}``): its ``[retrain.<model>]`` policy, a timeline of
its runs (trigger, pipeline run, new version, gates, approval, deployment, outcome, each
linked), a dry-run preview for anyone who may read, and "Retrain now" for deployers.

The POST is re-checked here (same origin, the deployer role): anyone else gets a 403 page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from shipyard.core.entities import Role, User
from shipyard.core.errors import PermissionDeniedError, ShipyardError, ValidationError
from shipyard.interfaces.http.auth import current_user
from shipyard.interfaces.web.charts import chart_set
from shipyard.interfaces.web.pages import error_page, guard, json_guard, page, same_origin
from shipyard.interfaces.web.retrain_views import (
    gates_chart,
    policy_rows,
    retrain_href,
    runs_view,
)

__all__ = ["PAGE_RUNS", "mount"]

PAGE_RUNS = 20
CHART_RUNS = 500  # the newest runs the gates chart draws
_EVENTS = ("started", "coalesced", "skipped")  # what a trigger did (shown after the POST)


def _viewer(request: Request) -> User | None:
    try:
        return current_user(request)
    except ShipyardError:
        return None


def _cursor(text: str) -> str | None:
    """The ``?cursor=`` of a page: the service decodes and checks it; only its size here."""
    text = text.strip()
    if len(text) > 200:
        raise ValidationError("cursor is too long; follow the page's 'older runs' link")
    return text or None


def _older(path: str, cursor: str | None) -> str:
    return f"{path}?{urlencode({'cursor': cursor})}" if cursor else ""


def _index(request: Request, cursor: str) -> Response:
    services = request.app.state.services
    try:
        policies = services.retraining.policies()
        found = services.retraining.runs(None, _cursor(cursor), PAGE_RUNS)
    except ShipyardError as e:
        return error_page(request, "retraining_index.html", e, "Cannot show retraining")
    latest: dict[str, Any] = {}
    for model in policies:
        newest = services.retraining.runs(model, None, 1)
        latest[model] = runs_view(services, newest.items)[0] if newest.items else None
    return page(
        request,
        "retraining_index.html",
        policies=policies,
        latest=latest,
        runs=runs_view(services, found.items),
        total=found.total,
        older_href=_older("/ui/retraining", found.next_cursor),
        hrefs={m: retrain_href(m) for m in policies},
    )


def _model_page(
    request: Request,
    model: str,
    *,
    cursor: str = "",
    preview: bool = False,
    event: str = "",
    action_error: ShipyardError | None = None,
) -> Response:
    services = request.app.state.services
    user = _viewer(request)
    try:
        policy = services.retraining.policy(model)
        found = services.retraining.runs(policy.model, _cursor(cursor), PAGE_RUNS)
    except ShipyardError as e:
        title = "Not found" if e.http_status == 404 else "Cannot show retraining"
        return error_page(request, "retraining.html", e, title)
    plan, plan_error = None, None
    if preview:
        try:
            plan = services.retraining.plan(policy.model, user=user.name if user else "")
        except ShipyardError as e:
            plan_error = e.message
    status = 200
    if action_error is not None:
        status = action_error.http_status if 400 <= action_error.http_status < 600 else 400
    return page(
        request,
        "retraining.html",
        status=status,
        policy=policy,
        policy_rows=policy_rows(policy),
        runs=runs_view(services, found.items),
        total=found.total,
        older_href=_older(retrain_href(policy.model), found.next_cursor),
        href=retrain_href(policy.model),
        chart=_chart_spec(policy.model) if any(r.gates for r in found.items) else None,
        viewer=user,
        can_retrain=user is not None and user.role.allows(Role.DEPLOYER),
        plan=plan,
        plan_error=plan_error,
        event=event if event in _EVENTS else "",
        action_error=action_error,
    )


def _chart_spec(model: str) -> dict[str, str]:
    src = retrain_href(model) + "/gates.json"
    return {"src": src, "key": "gates", "title": "gate metrics of each retrained version"}


def _retrain(request: Request, model: str) -> Response:
    """Start a retraining as the signed-in deployer and carry it as far as it goes now."""
    try:
        user = current_user(request)
    except ShipyardError:
        return RedirectResponse(f"/login?next={retrain_href(model)}", status_code=303)
    try:
        if not same_origin(request):
            raise PermissionDeniedError(
                "a retraining must be started from this server's own retraining page"
            )
        if not user.role.allows(Role.DEPLOYER):
            raise PermissionDeniedError(
                f"user {user.name!r} has role {user.role.value}; starting a retraining needs "
                "deployer or higher (it may deploy what it trains)"
            )
        started = request.app.state.services.retraining.retrain(
            model, user=user.name, kind="manual", detail={"via": "the web UI"}
        )
    except ShipyardError as e:
        return _model_page(request, model, action_error=e)
    query = urlencode({"event": started.event})
    anchor = f"#run-{started.run.run_id}" if started.run is not None else ""
    return RedirectResponse(f"{retrain_href(model)}?{query}{anchor}", status_code=303)


def mount(app: FastAPI) -> None:
    @app.get("/ui/retraining", include_in_schema=False)
    def index(request: Request, cursor: str = "") -> Response:
        if (r := guard(request)) is not None:
            return r
        return _index(request, cursor)

    @app.get("/ui/retraining/{model}", include_in_schema=False)
    def model_page(
        request: Request, model: str, cursor: str = "", preview: str = "", event: str = ""
    ) -> Response:
        if (r := guard(request)) is not None:
            return r
        shown = bool(preview.strip())
        return _model_page(request, model, cursor=cursor, preview=shown, event=event.strip())

    @app.get("/ui/retraining/{model}/gates.json", include_in_schema=False)
    def gates(request: Request, model: str) -> dict[str, Any]:
        json_guard(request)
        service = request.app.state.services.retraining
        runs = service.runs(service.policy(model).model, None, CHART_RUNS).items
        return chart_set({"gates": gates_chart(runs)})

    @app.post("/ui/retraining/{model}/run", include_in_schema=False)
    def run(request: Request, model: str) -> Response:
        return _retrain(request, model)
