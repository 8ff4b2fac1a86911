"""Which action of the permission table (``core.permissions``) each API route takes.

Every route that is not a GET is listed here by method and path template (a test compares
this table with the app's route list both ways, so a new route cannot go unclassified);
a GET reads. A route missing from the table is refused to all but admins (fail closed).
The services check their own actions again, with the object's state (a version that
serves traffic, who trained it), so every surface gets the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request

from shipyard.core.permissions import Action

__all__ = ["ROUTE_ACTIONS", "authorize_route", "is_api_path", "route_action"]

_A = Action
_V1 = "/api/v1"
_ML = "/api/2.0/mlflow"  # the UI's /ajax-api/2.0/mlflow routes share these entries

ROUTE_ACTIONS: Mapping[tuple[str, str], Action] = {
    # tracking
    ("POST", f"{_V1}/experiments"): _A.TRACK,
    ("POST", f"{_V1}/runs"): _A.TRACK,
    ("PATCH", f"{_V1}/runs/{{run_id}}"): _A.TRACK,
    ("POST", f"{_V1}/runs/{{run_id}}/batch"): _A.TRACK,
    ("POST", f"{_V1}/runs/search"): _A.READ,
    ("PUT", f"{_V1}/runs/{{run_id}}/artifacts/{{path:path}}"): _A.TRACK,
    ("POST", f"{_V1}/runs/{{run_id}}/inputs"): _A.TRACK,
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{path:path}"): _A.TRACK,
    # data
    ("POST", f"{_V1}/datasets/{{name}}/versions/{{version}}/validate"): _A.WRITE_DATA,
    ("PUT", f"{_V1}/datasets/{{name}}/aliases/{{alias}}"): _A.WRITE_DATA,
    # models
    ("PUT", f"{_V1}/models/{{name}}/aliases/{{alias}}"): _A.WRITE_MODEL,
    ("POST", f"{_V1}/models/{{name}}/versions/{{version}}/archive"): _A.ARCHIVE,
    ("POST", f"{_V1}/models/{{name}}/versions/{{version}}/approve"): _A.DECIDE,
    ("POST", f"{_V1}/models/{{name}}/versions/{{version}}/reject"): _A.DECIDE,
    # deployments and monitoring
    ("POST", f"{_V1}/deployments"): _A.DEPLOY,
    ("POST", f"{_V1}/deployments/promote"): _A.DEPLOY,
    ("POST", f"{_V1}/deployments/rollback"): _A.DEPLOY,
    ("POST", f"{_V1}/monitoring/alerts/{{alert_id}}/ack"): _A.OPERATE_ALERTS,
    ("POST", f"{_V1}/monitoring/alerts/{{alert_id}}/resolve"): _A.OPERATE_ALERTS,
    ("POST", f"{_V1}/feedback"): _A.LABEL,
    ("POST", f"{_V1}/monitoring/export"): _A.WRITE_DATA,
    ("POST", f"{_V1}/retraining/{{model}}"): _A.RETRAIN,
    # tokens: one's own (the service lets an admin act on anyone's)
    ("POST", f"{_V1}/users/{{name}}/tokens"): _A.OWN_TOKENS,
    ("POST", f"{_V1}/users/{{name}}/tokens/revoke"): _A.OWN_TOKENS,
    ("POST", f"{_V1}/tokens/{{token_id}}/revoke"): _A.OWN_TOKENS,
    # MLflow: logged models
    ("POST", f"{_ML}/logged-models"): _A.TRACK,
    ("PATCH", f"{_ML}/logged-models/{{model_id}}"): _A.TRACK,
    ("DELETE", f"{_ML}/logged-models/{{model_id}}"): _A.TRACK,
    ("PATCH", f"{_ML}/logged-models/{{model_id}}/tags"): _A.TRACK,
    ("DELETE", f"{_ML}/logged-models/{{model_id}}/tags/{{tag_key:path}}"): _A.TRACK,
    ("POST", f"{_ML}/logged-models/{{model_id}}/params"): _A.TRACK,
    ("POST", f"{_ML}/logged-models/search"): _A.READ,
    ("POST", f"{_ML}/runs/outputs"): _A.TRACK,
    # MLflow: model registry
    ("POST", f"{_ML}/registered-models/create"): _A.WRITE_MODEL,
    ("PATCH", f"{_ML}/registered-models/update"): _A.WRITE_MODEL,
    ("POST", f"{_ML}/registered-models/rename"): _A.WRITE_MODEL,
    ("POST", f"{_ML}/registered-models/set-tag"): _A.WRITE_MODEL,
    ("DELETE", f"{_ML}/registered-models/delete-tag"): _A.WRITE_MODEL,
    ("DELETE", f"{_ML}/registered-models/delete"): _A.WRITE_MODEL,
    ("POST", f"{_ML}/registered-models/get-latest-versions"): _A.READ,
    ("POST", f"{_ML}/model-versions/create"): _A.WRITE_MODEL,
    ("POST", f"{_ML}/registered-models/alias"): _A.WRITE_MODEL,
    ("DELETE", f"{_ML}/registered-models/alias"): _A.WRITE_MODEL,
    # MLflow: tracking
    ("POST", f"{_ML}/experiments/create"): _A.TRACK,
    ("POST", f"{_ML}/experiments/search"): _A.READ,
    ("POST", f"{_ML}/experiments/delete"): _A.TRACK,
    ("POST", f"{_ML}/experiments/restore"): _A.TRACK,
    ("POST", f"{_ML}/experiments/update"): _A.TRACK,
    ("POST", f"{_ML}/experiments/set-experiment-tag"): _A.TRACK,
    ("POST", f"{_ML}/runs/create"): _A.TRACK,
    ("POST", f"{_ML}/runs/update"): _A.TRACK,
    ("POST", f"{_ML}/runs/delete"): _A.TRACK,
    ("POST", f"{_ML}/runs/restore"): _A.TRACK,
    ("POST", f"{_ML}/runs/search"): _A.READ,
    ("POST", f"{_ML}/runs/log-metric"): _A.TRACK,
    ("POST", f"{_ML}/runs/log-parameter"): _A.TRACK,
    ("POST", f"{_ML}/runs/set-tag"): _A.TRACK,
    ("POST", f"{_ML}/runs/delete-tag"): _A.TRACK,
    ("POST", f"{_ML}/runs/log-batch"): _A.TRACK,
    ("POST", f"{_ML}/runs/log-inputs"): _A.TRACK,
    # MLflow calls Shipyard does not offer: a 404 (or a 405) for anyone who may read
    **{(m, f"{_ML}/{{rest:path}}"): _A.READ for m in ("POST", "PATCH", "DELETE")},
}
"""Every API route that is not a GET, and the action it takes."""

_PUBLIC = ("/api/v1/health",)


def is_api_path(path: str) -> bool:
    """Whether ``path`` is an API route (token auth, JSON errors) rather than a page."""
    return path.startswith(("/api/", "/ajax-api/"))


def route_action(method: str, template: str) -> Action:
    """The action a request to the route ``template`` takes; a GET reads, and a write
    route missing from the table needs what only admins have (fail closed)."""
    if template.startswith("/ajax-api/"):
        template = "/api/" + template.removeprefix("/ajax-api/")
    if method in ("GET", "HEAD"):
        return Action.READ
    return ROUTE_ACTIONS.get((method, template), Action.MANAGE_USERS)


async def authorize_route(request: Request) -> None:
    """The app-wide dependency: refuse the matched API route's action unless the caller's
    role is granted it; runs after authentication (the middleware) and before the body is
    read or validated, so a refused caller learns nothing from validation errors."""
    path = request.url.path
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    if not is_api_path(path) or path.startswith(_PUBLIC) or template is None:
        return
    user = request.state.user
    request.app.state.services.access.authorize(user, route_action(request.method, template))
