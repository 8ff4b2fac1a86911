"""Server-rendered monitoring: the fleet (every deployed model per environment with its
latest window, worst drift, estimated and realized metrics and open alerts) and one deployed
model's page (drift per feature over time, drift share and performance over time, reference
vs current distribution of a feature, its alerts and its windows).

Charts come from JSON next to the pages. Acknowledge and Resolve are POST forms for deployers,
re-checked here (same origin, role) and by ``AlertService``: anyone else gets a 403 page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from shipyard.core.alerts import MonitorWindow, WindowStatus
from shipyard.core.clock import format_ms
from shipyard.core.deployments import Deployment, check_environment
from shipyard.core.entities import User
from shipyard.core.errors import (
    NotFoundError,
    PermissionDeniedError,
    ShipyardError,
    ValidationError,
)
from shipyard.core.models import check_model_name
from shipyard.core.permissions import Action, check, may
from shipyard.core.profiles import NumericProfile, Profile
from shipyard.interfaces.http.auth import current_user
from shipyard.interfaces.web import monitor_charts as mc
from shipyard.interfaces.web.monitor_views import (
    check_feature,
    fleet_page,
    model_href,
    policy_of,
    window_row,
)
from shipyard.interfaces.web.pages import error_page, guard, json_guard, page, same_origin
from shipyard.interfaces.web.retrain_views import policy_for, retrain_href
from shipyard.services.formats.prediction_reader import PredictionLogReader

__all__ = ["ACTIONS", "MAX_CURRENT_ROWS", "mount"]

CHART_WINDOWS = 500  # the newest windows the charts draw
TABLE_WINDOWS = 50
ALERTS_SHOWN = 100
MAX_CURRENT_ROWS = 200_000  # a window's logged values read for the distribution chart
ACTIONS = {"ack": "acknowledge", "resolve": "resolve"}


def _viewer(request: Request) -> User | None:
    try:
        return current_user(request)
    except ShipyardError:
        return None


def _deployment(services: Any, env: str, model: str) -> Deployment:
    """The deployment of ``model`` in ``env``; 400 for a malformed name, 404 when unknown."""
    env, model = check_environment(env), check_model_name(model)
    if not any(d.model == model for d in services.deployments.list(env)):
        raise NotFoundError(
            f"{model!r} is not deployed to {env!r}; see /ui/monitoring for what is", field="model"
        )
    return services.deployments.get(env, model)  # type: ignore[no-any-return]


def _profile(services: Any, model: str, version: int | None) -> tuple[Profile | None, str]:
    """The reference profile of the version, or None and why not."""
    if version is None:
        return None, "no version is live"
    try:
        return services.profiles.for_model(f"{model}@{version}"), ""
    except ShipyardError as e:
        return None, e.message


def _latest_with_rows(windows: list[MonitorWindow]) -> MonitorWindow | None:
    """The newest computed window, else the newest window with any rows."""
    computed = [w for w in windows if w.status is WindowStatus.COMPUTED]
    return next(iter(computed or [w for w in windows if w.rows]), None)


def _chart_windows(services: Any, d: Deployment) -> list[MonitorWindow]:
    page = services.alerts.windows(model=d.model, env=d.environment, limit=CHART_WINDOWS)
    return list(page.items)


def _reference_version(d: Deployment, latest: MonitorWindow | None) -> int | None:
    return latest.version if latest is not None and latest.version else d.live_version


def _href(d: Deployment, suffix: str = "", **query: str) -> str:
    base = model_href(d.environment, d.model) + suffix
    kept = {k: v for k, v in query.items() if v}
    return f"{base}?{urlencode(kept)}" if kept else base


def _distribution_spec(d: Deployment, feature: str) -> dict[str, str] | None:
    if not feature:
        return None
    src = _href(d, "/distribution.json", feature=feature)
    return {"src": src, "key": "distribution", "title": f"{feature}: reference vs current"}


def _model_view(services: Any, env: str, model: str, feature: str, cursor: str) -> dict:
    """What the model page shows; a ShipyardError for an unknown model or bad parameters."""
    d = _deployment(services, env, model)
    table = services.alerts.windows(
        model=d.model, env=d.environment, cursor=cursor or None, limit=TABLE_WINDOWS
    )
    windows = _chart_windows(services, d)
    latest = _latest_with_rows(windows)
    version = _reference_version(d, latest)
    profile, no_profile = _profile(services, d.model, version)
    chosen = check_feature(feature, profile, latest)
    columns = list(profile.columns) if profile is not None else []
    charts = _href(d, "/charts.json")
    specs = [
        {"src": charts, "key": "heatmap", "title": "drift per feature"},
        {"src": charts, "key": "drift_share", "title": "share of drifted features"},
    ]
    if mc.metric_names(windows):
        specs.append({"src": charts, "key": "metrics", "title": "performance"})
    policy, policy_error = policy_of(services, d.model)
    older = table.next_cursor or ""
    return {
        "d": d,
        "policy": policy,
        "policy_error": policy_error,
        "charts": specs,
        "has_windows": bool(windows),
        "feature": chosen,
        "features": columns,
        "feature_hrefs": {c: _href(d, feature=c) for c in columns},
        "distribution": _distribution_spec(d, chosen),
        "version": version,
        "no_profile": no_profile,
        "latest": latest,
        "alerts": services.alerts.alerts(model=d.model, env=d.environment, limit=ALERTS_SHOWN),
        "table": [window_row(w) for w in table.items],
        "table_total": table.total,
        "older_href": _href(d, feature=feature, cursor=older) if older else "",
    }


def _model_page(
    request: Request,
    env: str,
    model: str,
    feature: str = "",
    cursor: str = "",
    action_error: ShipyardError | None = None,
) -> Response:
    try:
        view = _model_view(request.app.state.services, env, model, feature, cursor)
    except ShipyardError as e:
        title = "Not found" if e.http_status == 404 else "Cannot show this model"
        return error_page(request, "monitor_model.html", e, title)
    user = _viewer(request)
    status = 200
    if action_error is not None:
        status = action_error.http_status if 400 <= action_error.http_status < 600 else 400
    retrain = policy_for(request.app.state.services, view["d"].model)
    return page(
        request,
        "monitor_model.html",
        retrain_href=None if retrain is None else retrain_href(retrain.model),
        status=status,
        viewer=user,
        can_act=user is not None and may(user.role, Action.OPERATE_ALERTS),
        action_error=action_error,
        **view,
    )


def _charts_json(services: Any, env: str, model: str) -> dict[str, Any]:
    windows = _chart_windows(services, _deployment(services, env, model))
    return {
        "charts": {
            "heatmap": mc.drift_heatmap(windows),
            "drift_share": mc.drift_share_chart(windows),
            "metrics": mc.metric_chart(windows),
        }
    }


def _distribution_json(services: Any, env: str, model: str, feature: str) -> dict[str, Any]:
    d = _deployment(services, env, model)
    latest = _latest_with_rows(_chart_windows(services, d))
    version = _reference_version(d, latest)
    profile, why = _profile(services, d.model, version)
    if profile is None:
        raise NotFoundError(f"no reference profile to compare with: {why}", field="feature")
    chosen = check_feature(feature, profile, latest)
    col = profile.columns[chosen]
    if latest is None:
        return {"charts": {"distribution": mc.distribution_chart(chosen, col, None, "")}}
    values = _current_values(services, latest, chosen, isinstance(col, NumericProfile))
    label = f"window from {format_ms(latest.start)[:16]}"
    if len(values) >= MAX_CURRENT_ROWS:
        label += f", its first {MAX_CURRENT_ROWS} rows"
    return {"charts": {"distribution": mc.distribution_chart(chosen, col, values, label)}}


def _current_values(services: Any, w: MonitorWindow, feature: str, numeric: bool) -> Any:
    """The window's logged values of ``feature`` (at most ``MAX_CURRENT_ROWS``), as floats
    (missing as NaN) for a numeric column, else as a list."""
    import numpy as np
    import pyarrow as pa

    reader = PredictionLogReader(services.blobs.backend)
    parts: list[Any] = []
    taken = 0
    batches = reader.batches(
        w.model, version=w.version, env=w.env, start_ms=w.start, end_ms=w.end, columns=[feature]
    )
    for batch in batches:
        col = batch.column(0).slice(0, MAX_CURRENT_ROWS - taken)
        taken += len(col)
        if numeric:
            try:
                parts.append(col.cast(pa.float64()).to_numpy(zero_copy_only=False))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise _not_numeric(feature, str(col.type)) from None
        else:
            parts.extend(col.to_pylist())
        if taken >= MAX_CURRENT_ROWS:
            break
    if numeric:
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.float64)
    return parts


def _not_numeric(feature: str, kind: str) -> ShipyardError:
    return ValidationError(
        f"feature {feature!r} is numeric in the reference but logged as {kind}; "
        "the distribution cannot be compared",
        field="feature",
    )


def _act(
    request: Request, env: str, model: str, alert_id: int, action: str, reason: str
) -> Response:
    """Acknowledge or resolve an alert as the logged-in user, then show the page again."""
    try:
        user = current_user(request)
    except ShipyardError:
        target = f"/ui/monitoring/{quote(env, safe='')}/{quote(model, safe='')}"
        return RedirectResponse(f"/login?next={target}", 303)
    services = request.app.state.services
    try:
        if not same_origin(request):
            raise PermissionDeniedError(
                f"an alert can be {ACTIONS[action]}d only from this server's own monitoring page"
            )
        check(user, Action.OPERATE_ALERTS)
        d = _deployment(services, env, model)
        alert = services.alerts.get(alert_id)
        if (alert.model, alert.env) != (d.model, d.environment):
            raise NotFoundError(
                f"alert {alert_id} is not an alert of {d.model} in {d.environment}", field="id"
            )
        change = getattr(services.alerts, ACTIONS[action])
        change(alert_id, user, reason)
    except ShipyardError as e:
        return _model_page(request, env, model, action_error=e)
    return RedirectResponse(_href(d) + f"#alert-{alert_id}", status_code=303)


def mount(app: FastAPI) -> None:
    @app.get("/ui/monitoring", include_in_schema=False)
    def fleet(request: Request, env: str = "", after: str = "", limit: str = "") -> Response:
        if (r := guard(request)) is not None:
            return r
        return fleet_page(request, env.strip(), after.strip(), limit.strip())

    @app.get("/ui/monitoring/{env}/{model}", include_in_schema=False)
    def model_page(
        request: Request, env: str, model: str, feature: str = "", cursor: str = ""
    ) -> Response:
        if (r := guard(request)) is not None:
            return r
        return _model_page(request, env, model, feature.strip(), cursor.strip())

    @app.get("/ui/monitoring/{env}/{model}/charts.json", include_in_schema=False)
    def charts(request: Request, env: str, model: str) -> dict[str, Any]:
        json_guard(request)
        return _charts_json(request.app.state.services, env, model)

    @app.get("/ui/monitoring/{env}/{model}/distribution.json", include_in_schema=False)
    def distribution(request: Request, env: str, model: str, feature: str = "") -> dict[str, Any]:
        json_guard(request)
        return _distribution_json(request.app.state.services, env, model, feature.strip())

    for action in ACTIONS:
        _mount_action(app, action)


def _mount_action(app: FastAPI, action: str) -> None:
    path = f"/ui/monitoring/{{env}}/{{model}}/alerts/{{alert_id}}/{action}"

    @app.post(path, include_in_schema=False)
    def act(
        request: Request, env: str, model: str, alert_id: int, reason: str = Form("")
    ) -> Response:
        return _act(request, env, model, alert_id, action, reason)
