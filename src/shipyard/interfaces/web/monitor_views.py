"""What the monitoring pages show, built from the services: the fleet page's rows (paged by
environment and model), a window's row in a table, the model's monitor policy, and which
feature the distribution chart compares."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import Response

from shipyard.core.alerts import MonitorWindow, WindowStatus
from shipyard.core.deployments import Deployment, check_environment
from shipyard.core.errors import ShipyardError, ValidationError
from shipyard.core.monitor_policy import MonitorPolicy
from shipyard.core.profiles import Profile
from shipyard.interfaces.web.monitor_charts import BAND_SUFFIXES, METRIC_PREFIXES, most_drifted
from shipyard.interfaces.web.pages import error_page, page
from shipyard.services.monitoring.profile_store import OUTPUT_COLUMNS

__all__ = [
    "FLEET_PAGE",
    "check_feature",
    "fleet_page",
    "metric_figures",
    "model_href",
    "policy_of",
    "window_row",
]

FLEET_PAGE = 100
MAX_FLEET_PAGE = 500
RECENT_WINDOWS = 24  # looked through for the newest computed window of a fleet row


def model_href(env: str, model: str) -> str:
    return f"/ui/monitoring/{quote(env, safe='')}/{quote(model, safe='')}"


def policy_of(services: Any, model: str) -> tuple[MonitorPolicy | None, str]:
    """The model's ``[monitor.<model>]`` policy (None without one) and a parse error, if any."""
    try:
        return services.monitor_runner.policies().get(model), ""
    except ShipyardError as e:
        return None, e.message


def metric_figures(figures: Any) -> list[tuple[str, float]]:
    """The ``estimated.*`` and ``realized.*`` figures of a window (bands apart), by name."""
    return sorted(
        (k, float(v))
        for k, v in figures.items()
        if k.startswith(METRIC_PREFIXES) and not k.endswith(BAND_SUFFIXES)
    )


def check_feature(feature: str, profile: Profile | None, latest: MonitorWindow | None) -> str:
    """The feature the distribution chart compares: ``feature`` when given (it must be a
    column of the reference profile), else the most drifted column of the latest window,
    else the profile's first feature (its first column when it holds only the model's
    output); "" without a profile."""
    if profile is None or not profile.columns:
        return ""
    if feature:
        if feature not in profile.columns:
            raise ValidationError(
                f"feature {feature!r} is not a column of the reference profile; "
                f"choose one of {', '.join(profile.columns)}",
                field="feature",
            )
        return feature
    worst = most_drifted(latest.figures) if latest is not None else None
    if worst is not None and worst[0] in profile.columns:
        return worst[0]
    features = [c for c in profile.columns if c not in OUTPUT_COLUMNS]  # the model's output last
    return (features or list(profile.columns))[0]


def window_row(w: MonitorWindow) -> dict[str, Any]:
    """One row of the windows table."""
    worst = most_drifted(w.figures)
    share = w.figures.get("drift_share")
    return {
        "w": w,
        "drift_share": share,
        "worst": worst,
        "metrics": metric_figures(w.figures),
        "verdicts": sorted(w.verdicts.items()),
        "fired": sum(1 for v in w.verdicts.values() if v is True),
    }


def _fleet_row(services: Any, d: Deployment, policies: dict[str, MonitorPolicy]) -> dict:
    recent = services.alerts.windows(model=d.model, env=d.environment, limit=RECENT_WINDOWS)
    latest = recent.items[0] if recent.items else None
    computed = next((w for w in recent.items if w.status is WindowStatus.COMPUTED), None)
    count = services.alerts.alerts
    policy = policies.get(d.model)
    return {
        "d": d,
        "href": model_href(d.environment, d.model),
        "monitored": policy is not None and policy.watches(d.environment),
        "latest": latest,
        "windows": recent.total,
        "drift_share": computed.figures.get("drift_share") if computed else None,
        "worst": most_drifted(computed.figures) if computed else None,
        "metrics": metric_figures(computed.figures) if computed else [],
        "open": count(model=d.model, env=d.environment, status="open", limit=1).total,
        "acknowledged": count(
            model=d.model, env=d.environment, status="acknowledged", limit=1
        ).total,
    }


def _after(text: str) -> tuple[str, str] | None:
    if not text:
        return None
    env, sep, model = text.partition("/")
    if not sep or not env or not model:
        raise ValidationError(
            f"after must be <environment>/<model> (the next-page link's), got {text!r}",
            field="after",
        )
    return env, model


def _limit(text: str) -> int:
    if not text:
        return FLEET_PAGE
    if not text.isdecimal() or not 1 <= int(text) <= MAX_FLEET_PAGE:
        raise ValidationError(
            f"limit must be 1..{MAX_FLEET_PAGE} models a page, got {text!r}", field="limit"
        )
    return int(text)


def fleet_page(request: Request, env: str, after: str, limit_text: str = "") -> Response:
    """Every deployed model per environment, ``limit`` (default ``FLEET_PAGE``) at a time,
    ordered by environment and model; the next page starts after the last one shown."""
    services = request.app.state.services
    try:
        chosen = check_environment(env) if env else None
        start, limit = _after(after), _limit(limit_text)
        listed = services.deployments.list(chosen)
    except ShipyardError as e:
        return error_page(request, "monitoring.html", e, "Cannot show the monitoring fleet")
    policies, policy_error = _policies(services)
    ordered = sorted(listed, key=lambda d: (d.environment, d.model))
    rest = [d for d in ordered if start is None or (d.environment, d.model) > start]
    shown = rest[:limit]
    rows = [_fleet_row(services, d, policies) for d in shown]
    by_env: dict[str, list[dict]] = {}
    for r in rows:
        by_env.setdefault(r["d"].environment, []).append(r)
    next_href = ""
    if len(rest) > limit:
        last = shown[-1]
        query = {
            "env": chosen or "",
            "limit": limit_text,
            "after": f"{last.environment}/{last.model}",
        }
        next_href = "/ui/monitoring?" + urlencode({k: v for k, v in query.items() if v})
    return page(
        request,
        "monitoring.html",
        by_env=by_env,
        shown=len(rows),
        total=len(ordered),
        env=chosen or "",
        next_href=next_href,
        policy_error=policy_error,
        open_total=sum(r["open"] for r in rows),
    )


def _policies(services: Any) -> tuple[dict[str, MonitorPolicy], str]:
    try:
        return services.monitor_runner.policies(), ""
    except ShipyardError as e:
        return {}, e.message
