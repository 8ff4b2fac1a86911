"""MLflow 3's logged models over Shipyard runs.

A logged model is backed by a Shipyard run in the ``mlflow-logged-models`` experiment: model
``m-<hex>`` is run ``<hex>``; its metadata are run tags, its params are run params and its
files are run artifacts (uploaded through ``mlflow_artifacts``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from shipyard.core.errors import NotFoundError, ValidationError
from shipyard.core.validation import check_run_id, normalize_artifact_path
from shipyard.interfaces.server.mlflow_artifacts import LOGGED_MODEL_TAG, backing_run
from shipyard.interfaces.server.mlflow_fields import id_list, split_and
from shipyard.interfaces.server.mlflow_fields import key_values as _tags
from shipyard.interfaces.server.mlflow_fields import need as _need
from shipyard.interfaces.server.mlflow_routes import RouteTable
from shipyard.interfaces.server.mlflow_routes import page as _page
from shipyard.interfaces.server.mlflow_routes import user_of as _user

__all__ = ["META", "ROUTES"]

ROUTES = RouteTable()  # handlers receive the services
_route = ROUTES.route

_EXPERIMENT = "mlflow-logged-models"
META = _META = "shipyard.mlflow."  # logged-model fields kept as tags of the backing run
_TAG = "shipyard.mlflow.tag."  # the logged model's own tags
_STATUS = {"FINISHED": "LOGGED_MODEL_READY", "FAILED": "LOGGED_MODEL_UPLOAD_FAILED"}


# ============================================================ logged models
def _model_json(s: Any, run_id: str) -> dict[str, Any]:
    run = s.tracking.get_run(run_id)
    t = run.tags
    model_id = f"m-{run_id}"
    info: dict[str, Any] = {
        "model_id": model_id,
        "experiment_id": t.get(_META + "experiment_id", ""),
        "name": t.get(_META + "name", run.info.run_name),
        "artifact_uri": f"mlflow-artifacts:/models/{model_id}/artifacts",
        "creation_timestamp_ms": run.info.start_time,
        "last_updated_timestamp_ms": run.info.end_time or run.info.start_time,
        "status": _STATUS.get(run.info.status.value, "LOGGED_MODEL_PENDING"),
        "status_message": t.get(_META + "status_message", ""),
        "tags": [
            {"key": k[len(_TAG) :], "value": v} for k, v in sorted(t.items()) if k.startswith(_TAG)
        ],
    }
    for key in ("source_run_id", "model_type"):
        if t.get(_META + key):
            info[key] = t[_META + key]
    params = [{"key": k, "value": v} for k, v in sorted(run.params.items())]
    return {"info": info, "data": {"params": params, "metrics": []}}


def _experiment_id(s: Any, raw: Any) -> str:
    if not raw or str(raw) == "0":
        return str(s.tracking.get_or_create_experiment("Default").experiment_id)
    return str(s.tracking.get_experiment(str(raw)).experiment_id)


@_route("POST", "/logged-models")
def create_logged_model(s: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    experiment_id = _experiment_id(s, b.get("experiment_id"))
    source_run_id = b.get("source_run_id") or ""
    if source_run_id:
        s.tracking.get_run(check_run_id(source_run_id))
    name = b.get("name") or "model"
    normalize_artifact_path(name, "name")
    tags = {
        LOGGED_MODEL_TAG: "true",
        _META + "experiment_id": experiment_id,
        _META + "name": name,
        _META + "source_run_id": source_run_id,
        _META + "model_type": b.get("model_type") or "",
    }
    tags.update({_TAG + k: v for k, v in _tags(b.get("tags")).items()})
    backing = s.tracking.get_or_create_experiment(_EXPERIMENT).experiment_id
    run = s.tracking.create_run(backing, run_name=name, user=_user(r), tags=tags)
    run_id = run.info.run_id
    params = _tags(b.get("params"), "params")
    if params:
        s.tracking.log_batch(run_id, params=params)
    return {"model": _model_json(s, run_id)}


@_route("GET", "/logged-models/{model_id}")
def get_logged_model(s: Any, b: dict[str, Any], _r: Request, model_id: str) -> dict[str, Any]:
    run_id = backing_run(s, model_id)
    deleted = s.tracking.get_run(run_id).info.lifecycle_stage != "active"
    if deleted and str(b.get("allow_deleted")).lower() != "true":
        raise NotFoundError(f"logged model {model_id} is deleted", field="model_id")
    return {"model": _model_json(s, run_id)}


@_route("PATCH", "/logged-models/{model_id}")
def finalize_logged_model(s: Any, b: dict[str, Any], r: Request, model_id: str) -> dict[str, Any]:
    run_id = backing_run(s, model_id)
    status = str(b.get("status") or "")
    wanted = {"LOGGED_MODEL_READY": "FINISHED", "LOGGED_MODEL_UPLOAD_FAILED": "FAILED"}
    if status not in wanted:
        raise ValidationError(
            f"status must be LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED, got {status!r}",
            field="status",
        )
    current = s.tracking.get_run(run_id).info.status.value
    if current != wanted[status]:
        s.tracking.update_run(run_id, status=wanted[status], actor=_user(r))
    return {"model": _model_json(s, run_id)}


@_route("DELETE", "/logged-models/{model_id}")
def delete_logged_model(s: Any, _b: dict[str, Any], r: Request, model_id: str) -> dict[str, Any]:
    from shipyard.core.states import LifecycleStage

    s.tracking.set_run_lifecycle(backing_run(s, model_id), LifecycleStage.DELETED, _user(r))
    return {}


@_route("PATCH", "/logged-models/{model_id}/tags")
def set_logged_model_tags(s: Any, b: dict[str, Any], _r: Request, model_id: str) -> dict[str, Any]:
    tags = {_TAG + k: v for k, v in _tags(b.get("tags")).items()}
    s.tracking.log_batch(backing_run(s, model_id), tags=tags)
    return {}


@_route("DELETE", "/logged-models/{model_id}/tags/{tag_key:path}")
def delete_logged_model_tag(
    s: Any, _b: dict[str, Any], _r: Request, model_id: str, tag_key: str
) -> dict[str, Any]:
    s.tracking.delete_tag(backing_run(s, model_id), _TAG + tag_key)
    return {}


@_route("POST", "/logged-models/{model_id}/params")
def log_logged_model_params(
    s: Any, b: dict[str, Any], _r: Request, model_id: str
) -> dict[str, Any]:
    s.tracking.log_batch(backing_run(s, model_id), params=_tags(b.get("params"), "params"))
    return {}


@_route("POST", "/logged-models/search")
def search_logged_models(s: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    """Experiments, plus ``name = '…'`` / ``source_run_id = '…'`` filters (AND-ed)."""
    wanted = set(id_list(b, "experiment_ids"))
    conditions = _equalities(b.get("filter") or "", {"name", "source_run_id"})
    try:
        backing = s.tracking.get_experiment_by_name(_EXPERIMENT).experiment_id
    except NotFoundError:
        return _page(b, "models", [], 100)  # paging fields are checked all the same
    found = []
    for run in s.tracking.search_runs([backing], max_results=10_000).runs:
        t = run.tags
        if t.get(LOGGED_MODEL_TAG) != "true" or (
            wanted and t.get(_META + "experiment_id") not in wanted
        ):
            continue
        if all(t.get(_META + k) == v for k, v in conditions.items()):
            found.append(run.info.run_id)
    out = _page(b, "models", found, 100)
    out["models"] = [_model_json(s, run_id) for run_id in out["models"]]
    return out


@_route("POST", "/runs/outputs")
def log_outputs(s: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    """Accepted: a logged model already names its source run."""
    run_id = _need(b, "run_id")
    s.tracking.get_run(check_run_id(run_id))
    for item in b.get("models") or []:
        backing_run(s, item.get("model_id") if isinstance(item, dict) else None)
    return {}


def _equalities(text: str, allowed: set[str]) -> dict[str, str]:
    """``a = 'x' AND b = "y"`` → {a: x, b: y}; anything else is a 400."""
    out: dict[str, str] = {}
    if not text.strip():
        return out
    for clause in split_and(text):
        key, op, value = clause.partition("=")
        key = key.strip().removeprefix("attributes.").removeprefix("attribute.")
        value = value.strip()
        if (
            not op
            or key not in allowed
            or len(value) < 2
            or value[0] != value[-1]
            or value[0] not in "'\""
        ):
            raise ValidationError(
                f"unsupported filter {text!r}; use {' / '.join(sorted(allowed))} = '...' "
                "joined with AND",
                field="filter",
            )
        out[key] = value[1:-1]
    return out
