"""Server-rendered environments and deployments: the overview of every environment
(``deploy_overview``: the versions each serves, traffic split, state, the last five minutes'
request rate, error rate and latency), and one environment's page per model: charts over a
chosen window, the deploy history (automatic rollbacks highlighted with their rule and
evidence) and, for deployers, Promote and Roll back. Those POSTs are re-checked here and by
``DeploymentService``: anyone else gets a 403 page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from shipyard.core.clock import now_ms
from shipyard.core.deployments import Deployment, check_environment, next_step
from shipyard.core.entities import User
from shipyard.core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ShipyardError,
    ValidationError,
)
from shipyard.core.permissions import Action, check, may
from shipyard.interfaces.http.auth import current_user
from shipyard.interfaces.presenters.models import MAX_REASON
from shipyard.interfaces.web.charts import chart_set
from shipyard.interfaces.web.deploy_history import history_row
from shipyard.interfaces.web.deploy_live import live_href, mount_live
from shipyard.interfaces.web.deploy_overview import OverviewPaging, overview_page
from shipyard.interfaces.web.figure_charts import CHARTS, figure_charts, per_second
from shipyard.interfaces.web.pages import error_page, guard, json_guard, page, same_origin
from shipyard.interfaces.web.paging import limit_of, pager, start_of
from shipyard.services.deployments.figures import summarize
from shipyard.services.paging import MAX_WIDE_PAGE

__all__ = ["WINDOWS", "mount", "parse_refresh", "parse_window", "traffic_split"]

SEC, MIN = 1000, 60_000
# name → (span shown, chart step); the step keeps every chart at 30-60 points
WINDOWS: dict[str, tuple[int, int]] = {
    "5m": (5 * MIN, 10 * SEC),
    "30m": (30 * MIN, 30 * SEC),
    "1h": (60 * MIN, MIN),
    "6h": (6 * 60 * MIN, 10 * MIN),
    "24h": (24 * 60 * MIN, 30 * MIN),
}
DEFAULT_WINDOW = "30m"
RECENT_MS = 5 * MIN  # the figures shown next to each version
HISTORY_LIMIT = 50
DEFAULT_REFRESH = 5
ENV_PAGE = 20  # models per page of an environment (each has charts and a history)
MAX_REFRESH = 600


def parse_window(text: str) -> str:
    """The ``?window=`` of the environment page; empty means the default."""
    text = text.strip() or DEFAULT_WINDOW
    if text not in WINDOWS:
        raise ValidationError(
            f"window must be one of {', '.join(WINDOWS)}, got {text!r}", field="window"
        )
    return text


def parse_refresh(text: str) -> int:
    """Seconds between automatic reloads: 0 turns them off."""
    text = text.strip()
    if not text:
        return DEFAULT_REFRESH
    if not text.isdecimal() or (int(text) != 0 and not 2 <= int(text) <= MAX_REFRESH):
        raise ValidationError(
            f"refresh must be 0 (off) or 2..{MAX_REFRESH} seconds, got {text!r}", field="refresh"
        )
    return int(text)


def traffic_split(d: Deployment) -> list[dict[str, Any]]:
    """Who answers requests: one segment per version, its share of traffic and a label."""
    live_share = 100 - d.traffic if d.state == "canary" else 100
    segments = []
    if d.live_version is not None:
        segments.append({"version": d.live_version, "role": "live", "share": live_share})
    if d.candidate_version is not None:
        share = d.traffic if d.state == "canary" else 0  # a shadow sees copies, staged nothing
        segments.append({"version": d.candidate_version, "role": d.state, "share": share})
    for s in segments:
        suffix = f"{s['share']}%" if s["role"] in ("live", "canary") else s["role"]
        s["label"] = f"v{s['version']} {suffix}"
    return segments


def _figure_rows(
    figures: Mapping[tuple[int, str], Mapping[str, Any]], d: Deployment
) -> list[dict[str, Any]]:
    """Per (version, role): the last minutes' rate, error rate and latency; the deployment's
    own versions first, listed even without traffic."""
    keys = [(s["version"], s["role"]) for s in traffic_split(d)]
    keys += sorted(k for k in figures if k not in keys)
    rows = []
    for version, role in keys:
        fig = figures.get((version, role))
        rows.append(
            {
                "version": version,
                "role": role,
                "requests": fig["requests"] if fig else 0,
                "rate": per_second(fig["requests"], RECENT_MS) if fig else None,
                "error_rate": fig["error_rate"] if fig else None,
                "p50": fig["p50_ms"] if fig and fig["requests"] else None,
                "p99": fig["p99_ms"] if fig and fig["requests"] else None,
            }
        )
    return rows


def _summaries(rows: Sequence[dict[str, Any]], since: int) -> dict[tuple[int, str], Any]:
    grouped: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r["window_end"] > since:
            grouped.setdefault((r["version"], r["role"]), []).append(r)
    return {k: summarize(v) for k, v in grouped.items()}


def _view(d: Deployment, figures: Mapping[tuple[int, str], Any]) -> dict[str, Any]:
    return {
        "d": d,
        "split": traffic_split(d),
        "figures": _figure_rows(figures, d),
    }


def _actions(services: Any, d: Deployment, user: User | None) -> dict[str, Any]:
    """Which buttons ``user`` gets for ``d``; the service re-checks every POST."""
    out: dict[str, Any] = {"allowed": False, "promote": None, "rollback": None, "why_not": ""}
    if user is None or not may(user.role, Action.DEPLOY):
        role = user.role.value if user is not None else "not logged in"
        out["why_not"] = f"promoting and rolling back need the deployer role (you are {role})"
        return out
    out["allowed"] = True
    if d.candidate_version is not None:
        to = 100
        if d.state == "canary":
            to = next_step(d.traffic, services.deployments.policy(d.model).steps)
        target = f"to {to}%" if to < 100 else "to live"
        out["promote"] = f"Promote v{d.candidate_version} {target}"
        out["rollback"] = f"Roll back v{d.candidate_version} (keep v{d.live_version} live)"
    elif d.previous_version is not None:
        out["rollback"] = f"Roll back to v{d.previous_version}"
    else:
        out["why_not"] = f"nothing to roll back to: v{d.live_version} is the first version here"
    return out


def _viewer(request: Request) -> User | None:
    try:
        return current_user(request)
    except ShipyardError:
        return None


def _known(services: Any, env: str) -> str:
    """``env`` when anything was ever deployed there, else a 404 naming the known ones."""
    env = check_environment(env)
    deployments = services.deployments
    if env in deployments.environments() or deployments.page(env, limit=1).total:
        return env  # the cheap checks first: an environment of a fleet lists many models
    known = _environment_names(services)
    if env not in known:
        hint = f"known: {', '.join(known)}" if known else "nothing has been deployed anywhere yet"
        raise NotFoundError(
            f"no environment {env!r}: nothing was deployed to it ({hint})", field="env"
        )
    return env


def _environment_names(services: Any) -> list[str]:
    deployments = services.deployments
    return sorted(set(deployments.environments()) | {d.environment for d in deployments.list()})


def _env_href(
    env: str,
    window: str = DEFAULT_WINDOW,
    refresh: int = DEFAULT_REFRESH,
    keep: Mapping[str, str] | None = None,
) -> str:
    """The environment page with this window and refresh (and ``keep``: its search and page)."""
    query = {k: v for k, v in (("window", window), ("refresh", refresh)) if v not in ("", None)}
    query.update({k: v for k, v in (keep or {}).items() if v})
    return f"/ui/environments/{quote(env, safe='')}?{urlencode(query)}"


def _figures_href(env: str, model: str, window: str, now: int) -> str:
    """The environment page's chart data for ``model``, as of the page's ``now``."""
    query = urlencode({"model": model, "window": window, "now": now})
    return f"/ui/environments/{quote(env, safe='')}/figures.json?{query}"


def _figures_json(services: Any, env: str, model: str, window: str, now: str) -> dict:
    """Rate, error rate, p50 and p99 per version and role over ``window`` up to ``now``."""
    d = services.deployments.get(_known(services, env), model or None)
    span, step = WINDOWS[parse_window(window)]
    now = now.strip()
    if now and not (now.isdecimal() and len(now) <= 15):
        raise ValidationError(f"now must be a time in ms since 1970, got {now!r}", field="now")
    end = int(now) if now else now_ms()
    rows = services.figures.rows(d.environment, d.model, end - span)
    return chart_set(figure_charts(rows, end, span, step))


def _model_section(services: Any, d: Deployment, user: User | None, window: str) -> dict:
    now = now_ms()
    span = WINDOWS[window][0]
    rows = services.figures.rows(d.environment, d.model, now - max(span, RECENT_MS))
    view = _view(d, _summaries(rows, now - RECENT_MS))
    if any(r["window_end"] > now - span for r in rows):
        src = _figures_href(d.environment, d.model, window, now)
        view["charts"] = [{"src": src, "key": k, "title": t} for k, t, _, _ in CHARTS]
    else:
        view["charts"] = []
    events = services.deployments.history(d.environment, d.model, HISTORY_LIMIT)
    view["history"] = [history_row(e) for e in events]
    view["actions"] = _actions(services, d, user)
    return view


def _duration_text(ms: int) -> str:
    return f"{ms // MIN} min" if ms >= MIN else f"{ms // SEC} s"


def _named(services: Any, q: str) -> list[str] | None:
    """The models whose name or a tag matches the search box (None: no search)."""
    if not q.strip():
        return None
    return [m.name for m in services.registry.page_models(q, limit=MAX_WIDE_PAGE).items]


def _env_page(
    request: Request,
    env: str,
    window_text: str,
    refresh_text: str,
    action_error: tuple[str, str, ShipyardError] | None = None,
    reason: str = "",
) -> Response:
    services = request.app.state.services
    params = request.query_params
    keep = {k: params.get(k, "") for k in ("q", "limit", "cursor", "start")}
    try:
        env = _known(services, env)
        window, refresh = parse_window(window_text), parse_refresh(refresh_text)
        listed = services.deployments.page(
            env,
            models=_named(services, keep["q"]),
            cursor=keep["cursor"].strip() or None,
            limit=limit_of(keep["limit"], ENV_PAGE),
        )
        paged = pager(request, listed, start_of(keep["start"]))
    except ShipyardError as e:
        title = "Not found" if e.http_status == 404 else "Cannot show this environment"
        return error_page(request, "environment.html", e, title)
    user = _viewer(request)
    models = [_model_section(services, d, user, window) for d in listed.items]
    ctx: dict[str, Any] = {"action_error": None, "reason": reason, "failed_model": ""}
    status = 200
    if action_error is not None:
        ctx["action"], ctx["failed_model"], err = action_error
        ctx["action_error"] = err
        status = err.http_status if 400 <= err.http_status < 600 else 400
        refresh = 0  # a reload would post the form again
    return page(
        request,
        "environment.html",
        status=status,
        env=env,
        protected=services.deployments.is_protected(env),
        models=models,
        recent_minutes=RECENT_MS // MIN,
        window=window,
        step=_duration_text(WINDOWS[window][1]),
        windows=list(WINDOWS),
        refresh=refresh,
        viewer=user,
        hrefs={w: _env_href(env, w, refresh, keep) for w in WINDOWS},
        pause_href=_env_href(env, window, 0 if refresh else DEFAULT_REFRESH, keep),
        live_href=live_href(env, [d.model for d in listed.items]),
        q=keep["q"],
        pager=paged,
        **ctx,
    )


def _check_form(reason: str, generation: str, current: Deployment, action: str) -> None:
    if len(reason) > MAX_REASON:
        raise ValidationError(
            f"a reason holds at most {MAX_REASON} characters, got {len(reason)}", field="reason"
        )
    if action == "rollback" and not reason.strip():
        raise ValidationError(
            "a rollback needs a reason (kept in the audit trail), got an empty one",
            field="reason",
        )
    if generation and generation != str(current.generation):
        raise ConflictError(
            f"{current.model} in {current.environment} changed since the page was loaded "
            f"(now {current.state}, v{current.live_version} live); review it and try again",
            field="generation",
        )


@dataclass(frozen=True)
class _ActionForm:
    model: str
    reason: str
    generation: str  # the deployment's generation the page showed
    window: str
    refresh: str


def _act(request: Request, env: str, action: str, form: _ActionForm) -> Response:
    """Promote or roll back as the logged-in user, then show the environment again."""
    try:
        user = current_user(request)
    except ShipyardError:
        return RedirectResponse(f"/login?next=/ui/environments/{quote(env, safe='')}", 303)
    model, reason, window, refresh = form.model, form.reason, form.window, form.refresh
    try:
        if not same_origin(request):
            raise PermissionDeniedError(
                f"a {action} must be posted from this server's own environment page"
            )
        check(user, Action.DEPLOY)
        deployments = request.app.state.services.deployments
        current = deployments.get(env, model or None)
        _check_form(reason, form.generation, current, action)
        act = deployments.rollback if action == "rollback" else deployments.promote
        seen = int(form.generation) if form.generation.isdecimal() else current.generation
        act(env, user, model=current.model, reason=reason, expected_generation=seen)
    except ShipyardError as e:
        return _env_page(request, env, window, refresh, (action, model, e), reason)
    try:
        target = _env_href(env, parse_window(window), parse_refresh(refresh))
    except ShipyardError:
        target = _env_href(env)
    return RedirectResponse(target, status_code=303)


def mount(app: FastAPI) -> None:
    @app.get("/ui/environments", include_in_schema=False)
    def environments(
        request: Request, q: str = "", cursor: str = "", start: str = "", limit: str = ""
    ) -> Response:
        if (r := guard(request)) is not None:
            return r
        paging = OverviewPaging(q.strip(), cursor, start, limit)
        return overview_page(request, paging, _view, RECENT_MS)

    @app.get("/ui/environments/{env}", include_in_schema=False)
    def environment(request: Request, env: str, window: str = "", refresh: str = "") -> Response:
        if (r := guard(request)) is not None:
            return r
        return _env_page(request, env, window, refresh)

    @app.get("/ui/environments/{env}/figures.json", include_in_schema=False)
    def figures(
        request: Request, env: str, model: str = "", window: str = "", now: str = ""
    ) -> dict:
        json_guard(request)
        return _figures_json(request.app.state.services, env, model.strip(), window, now)

    mount_live(app, lambda services, env: _known(services, env), _view, RECENT_MS)
    for action in ("promote", "rollback"):
        _mount_action(app, action)


def _mount_action(app: FastAPI, action: str) -> None:
    @app.post(f"/ui/environments/{{env}}/{action}", include_in_schema=False)
    def act(
        request: Request,
        env: str,
        model: str = Form(""),
        reason: str = Form(""),
        generation: str = Form(""),
        window: str = Form(""),
        refresh: str = Form(""),
    ) -> Response:
        form = _ActionForm(model.strip(), reason, generation.strip(), window, refresh)
        return _act(request, env, action, form)
