"""MLflow's model registry REST calls, over Shipyard's registry (logged models:
``mlflow_logged_models``; the route table: ``mlflow_routes``).

A model version created from ``models:/m-…`` or ``runs:/…`` becomes a Shipyard version with
flavor ``mlflow``: its package lists every file by digest, and its content id is the digest of
that list. Versions are READY at once; their Shipyard status (candidate, gate_passed…) is the
``shipyard.status`` tag.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from shipyard.core.errors import ValidationError
from shipyard.core.models import (
    MAX_VERSION,
    ModelRef,
    ModelVersion,
    RegisteredModel,
    Signature,
    check_alias,
    check_model_name,
)
from shipyard.core.validation import check_run_id, normalize_artifact_path
from shipyard.interfaces.server.mlflow_artifacts import (
    backing_run,
    parse_location,
)
from shipyard.interfaces.server.mlflow_fields import key_values as _tags
from shipyard.interfaces.server.mlflow_fields import need as _need
from shipyard.interfaces.server.mlflow_fields import registry_filter as _filter
from shipyard.interfaces.server.mlflow_logged_models import META as _META
from shipyard.interfaces.server.mlflow_routes import RouteTable
from shipyard.interfaces.server.mlflow_routes import page as _page
from shipyard.interfaces.server.mlflow_routes import user_of as _user

__all__ = ["ROUTES"]

ROUTES = RouteTable()  # handlers receive the services
_route = ROUTES.route

_COLTYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "object",
    "binary": "object",
    "datetime": "datetime64[ns]",
}


# ============================================================ registry: JSON shapes
def _version_json(v: ModelVersion) -> dict[str, Any]:
    meta = v.package.get("mlflow") if isinstance(v.package, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    tags = dict(meta.get("tags") or {})
    tags["shipyard.status"] = v.status.value
    out: dict[str, Any] = {
        "name": v.name,
        "version": str(v.version),
        "creation_timestamp": v.creation_time,
        "last_updated_timestamp": v.creation_time,
        "user_id": v.created_by,
        "current_stage": "None",
        "description": v.description,
        "source": meta.get("source") or f"models:/{v.name}/{v.version}",
        "run_id": v.run_id or "",
        "status": "READY",
        "status_message": v.status_reason,
        "tags": [{"key": k, "value": str(x)} for k, x in sorted(tags.items())],
        "aliases": list(v.aliases),
    }
    if meta.get("model_id"):
        out["model_id"] = meta["model_id"]
    return out


def _registered_json(s: Any, m: RegisteredModel) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": m.name,
        "creation_timestamp": m.creation_time,
        "last_updated_timestamp": m.last_update_time,
        "user_id": m.created_by,
        "description": m.description,
        "tags": [{"key": k, "value": v} for k, v in sorted(m.tags.items())],
        "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(m.aliases.items())],
    }
    if m.latest_version is not None:
        latest = s.registry.get_version(ModelRef(m.name, version=m.latest_version))
        out["latest_versions"] = [_version_json(latest)]
    return out


def _version_ref(b: dict[str, Any]) -> ModelRef:
    name = check_model_name(_need(b, "name"))
    raw = str(_need(b, "version", object))
    if not raw.isdecimal() or not 1 <= int(raw) <= MAX_VERSION:
        raise ValidationError(f"version must be a positive integer, got {raw!r}", field="version")
    return ModelRef(name, version=int(raw))


# ============================================================ registered models
@_route("POST", "/registered-models/create")
def create_registered_model(s: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    model = s.registry.create_model(
        check_model_name(_need(b, "name")),
        user=_user(r),
        description=str(b.get("description") or ""),
        tags=_tags(b.get("tags")),
        audit_extra={"via": "mlflow"},
    )
    return {"registered_model": _registered_json(s, model)}


@_route("GET", "/registered-models/get")
def get_registered_model(s: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    return {"registered_model": _registered_json(s, s.registry.get_model(_need(b, "name")))}


@_route("GET", "/registered-models/search")
def search_registered_models(s: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    """Filters (AND-ed): ``name = | != | LIKE | ILIKE '…'``, ``tags.<key> = | != '…'``."""
    match = _filter(b.get("filter") or "", {"name"})
    found = [m for m in s.registry.list_models(limit=10_000) if match({"name": m.name}, m.tags)]
    return _page(b, "registered_models", [_registered_json(s, m) for m in found], 100)


@_route("PATCH", "/registered-models/update")
def update_registered_model(s: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    name = check_model_name(_need(b, "name"))
    if "description" not in b:
        return {"registered_model": _registered_json(s, s.registry.get_model(name))}
    description = str(b.get("description") or "")
    model = s.registry.update_model(name, user=_user(r), description=description)
    return {"registered_model": _registered_json(s, model)}


@_route("POST", "/registered-models/rename")
def rename_registered_model(s: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    """Only a model without versions (deployments and the audit trail know it by name)."""
    name = check_model_name(_need(b, "name"))
    model = s.registry.rename_model(name, _need(b, "new_name"), user=_user(r))
    return {"registered_model": _registered_json(s, model)}


@_route("POST", "/registered-models/set-tag")
def set_registered_model_tag(s: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    name = check_model_name(_need(b, "name"))
    s.registry.set_model_tag(name, _need(b, "key"), str(b.get("value", "")), user=_user(r))
    return {}


@_route("DELETE", "/registered-models/delete-tag")
def delete_registered_model_tag(s: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    name = check_model_name(_need(b, "name"))
    s.registry.delete_model_tag(name, _need(b, "key"), user=_user(r))
    return {}


@_route("DELETE", "/registered-models/delete")
def delete_registered_model(s: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    """Only a model without versions: Shipyard keeps versions (archive them instead)."""
    s.registry.delete_model(check_model_name(_need(b, "name")), user=_user(r))
    return {}


@_route("POST", "/registered-models/get-latest-versions")
@_route("GET", "/registered-models/get-latest-versions")
def get_latest_versions(s: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    model = s.registry.get_model(_need(b, "name"))
    if model.latest_version is None:
        return {"model_versions": []}
    latest = s.registry.get_version(ModelRef(model.name, version=model.latest_version))
    return {"model_versions": [_version_json(latest)]}


# ============================================================ model versions
@_route("POST", "/model-versions/create")
def create_model_version(s: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    name = check_model_name(_need(b, "name"))
    source = _need(b, "source")
    s.registry.get_model(name)  # MLflow: the registered model must exist first
    files, model_id, run_id = _source_files(s, source, b.get("model_id") or None)
    run_id = b.get("run_id") or run_id or None
    if run_id is not None:
        s.tracking.get_run(check_run_id(run_id))
    version = _record_version(
        s,
        name,
        files,
        source=source,
        model_id=model_id,
        run_id=run_id,
        tags=_tags(b.get("tags")),
        description=str(b.get("description") or ""),
        user=_user(r),
    )
    return {"model_version": _version_json(version)}


def _source_files(
    s: Any, source: str, model_id: str | None
) -> tuple[list[dict[str, Any]], str | None, str | None]:
    """(files with digests, logged model id, source run id) of a version's source."""
    run_id: str | None
    if source.startswith("models:/m-") or (model_id and source.startswith("models:/")):
        model_id = model_id or source.removeprefix("models:/").strip("/")
        backing, prefix = backing_run(s, model_id), ""
        run_id = s.tracking.get_run(backing).tags.get(_META + "source_run_id") or None
    elif source.startswith("runs:/"):
        head, _, prefix = source.removeprefix("runs:/").partition("/")
        backing = run_id = check_run_id(head)
    elif source.startswith(("mlflow-artifacts:", "shipyard-artifacts:")):
        path = source.partition(":")[2].lstrip("/")
        if source.startswith("shipyard-artifacts:") and path.startswith("runs/"):
            _, rid, rest = [*path.split("/", 2), "", ""][:3]
            path = f"runs/{rid}/artifacts/{rest}"
        loc = parse_location(path, "source")
        if loc.kind == "registry":
            raise ValidationError("source must be a logged model or run artifacts", field="source")
        if loc.kind == "model":
            model_id = loc.owner
            backing = backing_run(s, model_id)
            run_id = s.tracking.get_run(backing).tags.get(_META + "source_run_id") or None
        else:
            backing = run_id = loc.owner
        prefix = loc.path
    else:
        raise ValidationError(
            f"source {source!r} must be models:/m-<id>, runs:/<run id>/<path> or an "
            "mlflow-artifacts: URI of a logged model or run",
            field="source",
        )
    prefix = normalize_artifact_path(prefix, "source")
    cut = len(prefix) + 1 if prefix else 0
    files = [
        {"path": f.path[cut:], "digest": f.digest, "size": f.size}
        for f in s.tracking.all_artifacts(backing)
        if not prefix or f.path.startswith(prefix + "/")
    ]
    if not any(f["path"] == "MLmodel" for f in files):
        raise ValidationError(f"source {source!r} holds no MLmodel file", field="source")
    return files, model_id, run_id


def _mlmodel(s: Any, files: list[dict[str, Any]]) -> dict[str, Any]:
    import yaml

    digest = next(f["digest"] for f in files if f["path"] == "MLmodel")
    try:
        parsed = yaml.safe_load(s.registry.blobs.get_bytes(digest))
    except yaml.YAMLError as e:
        raise ValidationError(f"the MLmodel file does not parse: {e}", field="source") from None
    return parsed if isinstance(parsed, dict) else {}


def _signature(mlmodel: dict[str, Any]) -> Signature:
    sig = mlmodel.get("signature") or {}
    inputs: list[tuple[str, str]] = []
    output = ""
    try:
        for col in json.loads(sig.get("inputs") or "[]"):
            if col.get("name"):
                inputs.append((str(col["name"]), _COLTYPES.get(str(col.get("type")), "object")))
        outs = json.loads(sig.get("outputs") or "[]")
        if outs:
            first = outs[0]
            output = str((first.get("tensor-spec") or {}).get("dtype") or first.get("type") or "")
    except (ValueError, TypeError, AttributeError):
        pass  # an unusual signature: the version records no columns
    return Signature(tuple(inputs), _COLTYPES.get(output, output))


def _record_version(
    s: Any,
    name: str,
    files: list[dict[str, Any]],
    *,
    source: str,
    model_id: str | None,
    run_id: str | None,
    tags: dict[str, str],
    description: str,
    user: str,
) -> ModelVersion:
    reg = s.registry
    files = sorted(files, key=lambda f: f["path"])
    manifest = json.dumps(files, sort_keys=True, separators=(",", ":")).encode()
    digest = reg.blobs.put_bytes(manifest)
    mlmodel = _mlmodel(s, files)
    sig = _signature(mlmodel)
    package: dict[str, Any] = {
        "file": {"digest": digest, "size": len(manifest)},
        "files": files,
        "flavors": sorted((mlmodel.get("flavors") or {}).keys()),
        "python": ((mlmodel.get("flavors") or {}).get("python_function") or {}).get(
            "python_version", ""
        ),
        "mlflow": {"source": source, "model_id": model_id, "tags": tags},
    }
    lock = next((f for f in files if f["path"] == "requirements.txt"), None)
    if lock is not None:
        package["lock"] = lock["digest"]
    return reg.record_version(
        name,
        "mlflow",
        digest,
        sig,
        package,
        run_id,
        description,
        user,
        existing_model=True,
        audit_extra={"source": source},
    )


@_route("GET", "/model-versions/get")
def get_model_version(s: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    return {"model_version": _version_json(s.registry.get_version(_version_ref(b)))}


@_route("GET", "/model-versions/get-download-uri")
def get_download_uri(s: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    version = s.registry.get_version(_version_ref(b))
    if version.flavor != "mlflow":
        raise ValidationError(
            f"{version.ref} is a Shipyard {version.flavor} model, not an MLflow-format model; "
            "load it with Shipyard's SDK",
            field="version",
        )
    return {"artifact_uri": f"mlflow-artifacts:/registry/{version.name}/{version.version}"}


@_route("GET", "/model-versions/search")
def search_model_versions(s: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    """Filters (AND-ed) on name, run_id, source_path and tags, as for registered models."""
    match = _filter(b.get("filter") or "", {"name", "run_id", "version_number", "source_path"})
    found = []
    for v in s.registry.search_versions():
        out = _version_json(v)
        values = {
            "name": v.name,
            "run_id": v.run_id or "",
            "version_number": str(v.version),
            "source_path": out["source"],
        }
        tags = {t["key"]: t["value"] for t in out["tags"]}
        if match(values, tags):
            found.append(out)
    found.sort(key=lambda v: (v["name"], -int(v["version"])))
    return _page(b, "model_versions", found, 10_000)


# ============================================================ aliases
@_route("POST", "/registered-models/alias")
def set_alias(s: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    ref = _version_ref(b)
    s.registry.set_alias(ref, _need(b, "alias"), user=_user(r), reason="via the MLflow API")
    return {}


@_route("DELETE", "/registered-models/alias")
def delete_alias(s: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    name = check_model_name(_need(b, "name"))
    s.registry.delete_alias(name, _need(b, "alias"), user=_user(r), reason="via the MLflow API")
    return {}


@_route("GET", "/registered-models/alias")
def get_by_alias(s: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    name = check_model_name(_need(b, "name"))
    alias = check_alias(_need(b, "alias"))
    return {"model_version": _version_json(s.registry.get_version(ModelRef(name, alias=alias)))}
