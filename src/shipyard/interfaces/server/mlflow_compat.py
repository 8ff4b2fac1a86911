"""The subset of MLflow's REST API (/api/2.0/mlflow) that the stock mlflow client uses."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from shipyard.core.errors import NotFoundError, ValidationError
from shipyard.core.states import LifecycleStage
from shipyard.core.validation import check_metric
from shipyard.interfaces.presenters.records import experiment_json, file_json, metric_json
from shipyard.interfaces.presenters.records import run_json as _run_json
from shipyard.interfaces.server.mlflow_fields import id_list
from shipyard.interfaces.server.mlflow_fields import key_values as _tags
from shipyard.interfaces.server.mlflow_fields import need as _need
from shipyard.interfaces.server.mlflow_routes import RouteTable

__all__ = ["ROUTES", "run_json"]

# Tracking calls: handlers receive the tracking service; fields come from the body only.
ROUTES = RouteTable(lambda services: services.tracking, query_into_body=False)
_route = ROUTES.route


def run_json(run: Any) -> dict[str, Any]:
    """MLflow clients reach run artifacts through the mlflow-artifacts proxy."""
    out = _run_json(run)
    out["info"]["artifact_uri"] = f"mlflow-artifacts:/runs/{run.info.run_id}/artifacts"
    return out


def _run_id(body: dict[str, Any]) -> str:
    return _need(body, "run_id") if body.get("run_id") else _need(body, "run_uuid")


@_route("POST", "/experiments/create")
def create_experiment(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    eid = t.create_experiment(
        _need(b, "name"), _tags(b.get("tags")), b.get("artifact_location") or ""
    )
    return {"experiment_id": eid}


@_route("GET", "/experiments/get")
def get_experiment(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    return {"experiment": experiment_json(t.get_experiment(_need(b, "experiment_id")))}


@_route("GET", "/experiments/get-by-name")
def get_experiment_by_name(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    return {"experiment": experiment_json(t.get_experiment_by_name(_need(b, "experiment_name")))}


@_route("POST", "/experiments/search")
@_route("GET", "/experiments/search")
def search_experiments(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    name_like = None
    flt = (b.get("filter") or "").strip()
    if flt:
        key, _, value = flt.partition("=")
        if key.strip().lower() not in ("name", "attribute.name") or not value.strip():
            raise ValidationError(
                f"unsupported experiment filter {flt!r}; use name = '...'", field="filter"
            )
        name_like = value.strip().strip("'\"")
    found, token = t.search_experiments(
        view_type=b.get("view_type") or "ACTIVE_ONLY",
        name_like=name_like,
        max_results=b.get("max_results") or 1000,
        page_token=b.get("page_token"),
    )
    out: dict[str, Any] = {"experiments": [experiment_json(e) for e in found]}
    if token:
        out["next_page_token"] = token
    return out


@_route("POST", "/experiments/delete")
def delete_experiment(t: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    t.set_experiment_lifecycle(
        _need(b, "experiment_id"), LifecycleStage.DELETED, actor=r.state.user.name
    )
    return {}


@_route("POST", "/experiments/restore")
def restore_experiment(t: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    t.set_experiment_lifecycle(
        _need(b, "experiment_id"), LifecycleStage.ACTIVE, actor=r.state.user.name
    )
    return {}


@_route("POST", "/experiments/update")
def update_experiment(t: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    t.rename_experiment(_need(b, "experiment_id"), _need(b, "new_name"), actor=r.state.user.name)
    return {}


@_route("POST", "/experiments/set-experiment-tag")
def set_experiment_tag(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    t.set_experiment_tag(_need(b, "experiment_id"), _need(b, "key"), b.get("value", ""))
    return {}


@_route("POST", "/runs/create")
def create_run(t: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    tags = _tags(b.get("tags"))
    if b.get("user_id"):  # what the client claims; the run belongs to the authenticated user
        tags.setdefault("mlflow.user", str(b["user_id"])[:256])
    run = t.create_run(
        str(b.get("experiment_id") or "0") if b.get("experiment_id") else _default_experiment(t),
        run_name=b.get("run_name") or None,
        user=r.state.user.name,
        start_time=b.get("start_time"),
        tags=tags,
        parent_run_id=tags.get("mlflow.parentRunId"),
    )
    return {"run": run_json(run)}


def _default_experiment(t: Any) -> str:
    return t.get_or_create_experiment("Default").experiment_id


@_route("POST", "/runs/update")
def update_run(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    run = t.update_run(
        _run_id(b), status=b.get("status"), end_time=b.get("end_time"), run_name=b.get("run_name")
    )
    return {"run_info": run_json(run)["info"]}


@_route("POST", "/runs/delete")
def delete_run(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    t.set_run_lifecycle(_run_id(b), LifecycleStage.DELETED)
    return {}


@_route("POST", "/runs/restore")
def restore_run(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    t.set_run_lifecycle(_run_id(b), LifecycleStage.ACTIVE)
    return {}


@_route("GET", "/runs/get")
def get_run(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    return {"run": run_json(t.get_run(_run_id(b)))}


@_route("POST", "/runs/search")
def search_runs(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    page = t.search_runs(
        id_list(b, "experiment_ids"),
        b.get("filter") or None,
        b.get("order_by") or None,
        b.get("max_results") or 1000,
        b.get("page_token") or None,
        b.get("run_view_type") or "ACTIVE_ONLY",
    )
    out: dict[str, Any] = {"runs": [run_json(x) for x in page.runs]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


@_route("POST", "/runs/log-metric")
def log_metric(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    point = check_metric(b.get("key"), b.get("value"), b.get("timestamp"), b.get("step") or 0)
    t.log_batch(_run_id(b), [point])
    return {}


@_route("POST", "/runs/log-parameter")
def log_param(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    t.log_batch(_run_id(b), params={_need(b, "key"): b.get("value", "")})
    return {}


@_route("POST", "/runs/set-tag")
def set_tag(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    run_id, key, value = _run_id(b), _need(b, "key"), b.get("value", "")
    if key == "mlflow.runName":
        t.update_run(run_id, run_name=value)
    else:
        t.log_batch(run_id, tags={key: value})
    return {}


@_route("POST", "/runs/delete-tag")
def delete_tag(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    t.delete_tag(_run_id(b), _need(b, "key"))
    return {}


@_route("POST", "/runs/log-batch")
def log_batch(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    points = [
        check_metric(m.get("key"), m.get("value"), m.get("timestamp"), m.get("step") or 0)
        for m in b.get("metrics") or []
    ]
    t.log_batch(_run_id(b), points, _tags(b.get("params"), "params"), _tags(b.get("tags")))
    return {}


@_route("POST", "/runs/log-inputs")
def log_inputs(t: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    """Inputs naming a Shipyard dataset version become lineage; other datasets are ignored."""
    run_id = _run_id(b)
    t.get_run(run_id)
    catalog = r.app.state.services.catalog
    for item in b.get("datasets") or []:
        ds = item.get("dataset") if isinstance(item, dict) else None
        ref = _catalog_ref(catalog, ds) if isinstance(ds, dict) else None
        if ref is not None:
            context = _tags(item.get("tags")).get("mlflow.data.context") or "input"
            catalog.record_input(run_id, ref, context)
    return {}


def _catalog_ref(catalog: Any, ds: dict[str, Any]) -> str | None:
    """``loans@v2``, or ``loans`` whose digest is a version's content id; else None."""
    name, digest = ds.get("name"), ds.get("digest")
    try:
        if isinstance(name, str) and "@" in name:
            return str(catalog.get_version(name).ref)
        if digest:
            found = [v.ref for v in catalog.list_versions(name) if v.content_id == digest]
            return found[0] if found else None
    except (NotFoundError, ValidationError):
        pass  # an MLflow dataset that is not in the catalog
    return None


@_route("GET", "/metrics/get-history")
def get_history(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    return {
        "metrics": [metric_json(m) for m in t.metric_history(_run_id(b), _need(b, "metric_key"))]
    }


@_route("GET", "/artifacts/list")
def list_artifacts(t: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    run_id = _run_id(b)
    files = t.list_artifacts(run_id, b.get("path") or "")
    return {
        "root_uri": f"shipyard-artifacts:/runs/{run_id}",
        "files": [file_json(f) for f in files],
    }
