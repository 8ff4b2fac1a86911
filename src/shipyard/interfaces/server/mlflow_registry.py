"""MLflow's model registry and logged-model REST calls, over Shipyard's registry.

Logged models (MLflow 3) are backed by a Shipyard run in the ``mlflow-logged-models``
experiment: model ``m-<hex>`` is run ``<hex>``; its metadata are run tags, its params are run
params and its files are run artifacts (uploaded through ``mlflow_artifacts``).

A model version created from ``models:/m-…`` or ``runs:/…`` becomes a Shipyard version with
flavor ``mlflow``: its package lists every file by digest, and its content id is the digest of
that list. Versions are READY at once; their Shipyard status (candidate, gate_passed…) is the
``shipyard.status`` tag.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from shipyard.core.errors import AlreadyExistsError, ConflictError, NotFoundError, ValidationError
from shipyard.core.models import (
    ModelRef,
    ModelVersion,
    RegisteredModel,
    Signature,
    VersionStatus,
    check_alias,
    check_model_name,
)
from shipyard.core.validation import check_run_id, normalize_artifact_path
from shipyard.interfaces.server.mlflow_artifacts import (
    LOGGED_MODEL_TAG,
    backing_run,
    parse_location,
)
from shipyard.interfaces.server.mlflow_compat import _body, _need, _tags
from shipyard.stores.sql.audit_repo import NewEntry
from shipyard.stores.sql.tables import model_aliases, model_versions, registered_models

__all__ = ["mount"]

Handler = Callable[..., dict[str, Any]]
_ROUTES: list[tuple[str, str, Handler]] = []
_EXPERIMENT = "mlflow-logged-models"
_META = "shipyard.mlflow."  # logged-model fields kept as tags of the backing run
_TAG = "shipyard.mlflow.tag."  # the logged model's own tags
_STATUS = {"FINISHED": "LOGGED_MODEL_READY", "FAILED": "LOGGED_MODEL_UPLOAD_FAILED"}
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


def _route(method: str, path: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _ROUTES.append((method, path, fn))
        return fn

    return register


def _user(r: Request) -> str:
    return str(r.state.user.name)


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
    wanted = {str(e) for e in b.get("experiment_ids") or []}
    conditions = _equalities(b.get("filter") or "", {"name", "source_run_id"})
    try:
        backing = s.tracking.get_experiment_by_name(_EXPERIMENT).experiment_id
    except NotFoundError:
        return {"models": []}
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
    for clause in _split_and(text):
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


def _split_and(text: str) -> list[str]:
    return [c for c in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE) if c.strip()]


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
    if not raw.isdigit() or int(raw) < 1:
        raise ValidationError(f"version must be a positive integer, got {raw!r}", field="version")
    return ModelRef(name, version=int(raw))


# ============================================================ registered models
@_route("POST", "/registered-models/create")
def create_registered_model(s: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    name = check_model_name(_need(b, "name"))
    reg = s.registry
    now = reg.clock()
    with reg.db.write() as conn:
        found = conn.execute(
            sa.select(registered_models.c.id).where(registered_models.c.name == name)
        ).scalar()
        if found is not None:
            raise AlreadyExistsError(f"registered model {name!r} already exists", field="name")
        model_id = reg.repo.ensure_model(
            conn, name, str(b.get("description") or ""), _user(r), now, lock=False
        )
        tags = _tags(b.get("tags"))
        if tags:
            reg.repo.set_tags(conn, model_id, tags)
        entry = NewEntry(_user(r), "model.create", "model", name, payload={"via": "mlflow"})
        reg.audit.append(conn, [entry], now)
    return {"registered_model": _registered_json(s, reg.get_model(name))}


@_route("GET", "/registered-models/get")
def get_registered_model(s: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    return {"registered_model": _registered_json(s, s.registry.get_model(_need(b, "name")))}


@_route("GET", "/registered-models/search")
def search_registered_models(s: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    """Filters (AND-ed): ``name = | != | LIKE | ILIKE '…'``, ``tags.<key> = | != '…'``."""
    match = _filter(b.get("filter") or "", {"name"})
    found = [m for m in s.registry.list_models(limit=10_000) if match({"name": m.name}, m.tags)]
    return _page(b, "registered_models", [_registered_json(s, m) for m in found], 100)


def _page(b: dict[str, Any], key: str, items: list[Any], default: int) -> dict[str, Any]:
    try:
        limit = int(b.get("max_results") or default)
        offset = int(b.get("page_token") or 0)
    except ValueError:
        raise ValidationError(
            "max_results and page_token must be integers", field="page_token"
        ) from None
    out: dict[str, Any] = {key: items[offset : offset + limit]}
    if offset + limit < len(items):
        out["next_page_token"] = str(offset + limit)
    return out


_CLAUSE = re.compile(
    r"\s*(?P<key>(?:attributes?\.)?[A-Za-z_]+|tags?\.(?:`[^`]+`|\"[^\"]+\"|[\w.\-/:]+))"
    r"\s*(?P<op>!=|=|I?LIKE)\s*(?P<q>['\"])(?P<value>.*?)(?P=q)\s*",
    re.IGNORECASE,
)


def _filter(text: str, fields: set[str]) -> Callable[[dict[str, Any], dict[str, str]], bool]:
    """A predicate over (fields, tags) for MLflow's registry filter subset, or a 400."""
    tests: list[tuple[str, bool, str, str]] = []  # (op, is_tag, key, value)
    for clause in _split_and(text):
        m = _CLAUSE.fullmatch(clause)
        key = m.group("key") if m else ""
        is_tag = key.lower().startswith(("tag.", "tags."))
        if is_tag:
            key = key.partition(".")[2].strip('`"')
        else:
            key = key.lower().removeprefix("attributes.").removeprefix("attribute.")
        if m is None or (not is_tag and key not in fields):
            raise ValidationError(
                f"unsupported filter clause {clause.strip()!r}; use "
                f"{', '.join(sorted(fields))} or tags.<key> with =, != or LIKE",
                field="filter",
            )
        tests.append((m.group("op").upper(), is_tag, key, m.group("value")))

    def test(values: dict[str, Any], tags: dict[str, str]) -> bool:
        for op, is_tag, key, value in tests:
            have = tags.get(key) if is_tag else values.get(key)
            if op == "=" and have != value:
                return False
            if op == "!=" and have == value:
                return False
            if op in ("LIKE", "ILIKE"):
                pattern = "".join(
                    ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in value
                )
                flags = re.IGNORECASE | re.DOTALL if op == "ILIKE" else re.DOTALL
                if have is None or not re.fullmatch(pattern, str(have), flags):
                    return False
        return True

    return test


@_route("PATCH", "/registered-models/update")
def update_registered_model(s: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    name = check_model_name(_need(b, "name"))
    reg = s.registry
    now = reg.clock()
    with reg.db.write() as conn:
        model_id = reg.repo.model_id(conn, name)
        if "description" in b:
            description = str(b.get("description") or "")
            reg.repo.touch(conn, model_id, now, description=description)
            entry = NewEntry(
                _user(r), "model.update", "model", name, payload={"description": description}
            )
            reg.audit.append(conn, [entry], now)
    return {"registered_model": _registered_json(s, reg.get_model(name))}


@_route("POST", "/registered-models/set-tag")
def set_registered_model_tag(s: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    name = check_model_name(_need(b, "name"))
    reg = s.registry
    with reg.db.write() as conn:
        model_id = reg.repo.model_id(conn, name)
        reg.repo.set_tags(conn, model_id, {_need(b, "key"): str(b.get("value", ""))})
        reg.repo.touch(conn, model_id, reg.clock())
    return {}


@_route("DELETE", "/registered-models/delete")
def delete_registered_model(s: Any, b: dict[str, Any], r: Request) -> dict[str, Any]:
    """Only a model without versions: Shipyard keeps versions (archive them instead)."""
    name = check_model_name(_need(b, "name"))
    reg = s.registry
    now = reg.clock()
    with reg.db.write() as conn:
        model_id = reg.repo.model_id(conn, name)
        count = conn.execute(
            sa.select(sa.func.count()).where(model_versions.c.model_id == model_id)
        ).scalar()
        if count:
            raise ConflictError(
                f"registered model {name!r} has {count} version(s); Shipyard keeps registered "
                "versions for audit, archive them instead of deleting the model",
                field="name",
            )
        conn.execute(registered_models.delete().where(registered_models.c.id == model_id))
        reg.audit.append(conn, [NewEntry(_user(r), "model.delete", "model", name)], now)
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
    now = reg.clock()
    with reg.db.write() as conn:
        reg.repo.model_id(conn, name)
        db_id = reg.repo.ensure_model(conn, name, "", user, now, lock=True)
        number = reg.repo.add_version(
            conn,
            db_id,
            {
                "status": VersionStatus.CANDIDATE.value,
                "status_reason": "",
                "flavor": "mlflow",
                "content_id": digest,
                "signature_json": json.dumps(sig.to_dict()),
                "package_json": json.dumps(package, sort_keys=True),
                "run_id": run_id,
                "description": description,
                "created_by": user,
                "creation_time": now,
            },
        )
        reg.repo.touch(conn, db_id, now)
        payload = {
            "version": number,
            "flavor": "mlflow",
            "content_id": digest,
            "run_id": run_id,
            "inputs": [c for c, _ in sig.inputs],
            "source": source,
        }
        reg.audit.append(
            conn, [NewEntry(user, "model.version.create", "model", name, payload=payload)], now
        )
        return reg.repo.get_version(conn, ModelRef(name, version=number))


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
    for m in s.registry.list_models(limit=10_000):
        for v in s.registry.versions(m.name):
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
    alias = check_alias(_need(b, "alias"))
    reg = s.registry
    now = reg.clock()
    with reg.db.write() as conn:
        model_id = reg.repo.model_id(conn, name)
        before = conn.execute(
            sa.select(model_versions.c.version)
            .join(model_aliases, model_aliases.c.version_id == model_versions.c.id)
            .where(model_aliases.c.model_id == model_id, model_aliases.c.alias == alias)
        ).scalar()
        if before is None:
            raise NotFoundError(f"model {name!r} has no alias {alias!r}", field="alias")
        conn.execute(
            model_aliases.delete().where(
                model_aliases.c.model_id == model_id, model_aliases.c.alias == alias
            )
        )
        payload = {"alias": alias, "from": before, "to": None}
        entry = NewEntry(_user(r), "model.alias", "model", name, "via the MLflow API", payload)
        reg.audit.append(conn, [entry], now)
        reg.repo.touch(conn, model_id, now)
    return {}


@_route("GET", "/registered-models/alias")
def get_by_alias(s: Any, b: dict[str, Any], _r: Request) -> dict[str, Any]:
    name = check_model_name(_need(b, "name"))
    alias = check_alias(_need(b, "alias"))
    return {"model_version": _version_json(s.registry.get_version(ModelRef(name, alias=alias)))}


# ============================================================ mounting
def _endpoint(handler: Handler):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> JSONResponse:
        body = await _body(request)
        if request.method != "GET":  # DELETE calls may carry their fields in the query
            for key, value in request.query_params.items():
                body.setdefault(key, value)
        services = request.app.state.services
        params = dict(request.path_params)
        result = await run_in_threadpool(handler, services, body, request, **params)
        return JSONResponse(result)

    endpoint.__name__ = f"mlflow_{handler.__name__}"
    return endpoint


def mount(app: FastAPI) -> None:
    """Register before ``mlflow_compat.mount``, whose catch-all answers unknown calls."""
    for prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow"):
        for method, path, handler in _ROUTES:
            app.add_api_route(
                prefix + path,
                _endpoint(handler),
                methods=[method],
                include_in_schema=prefix.startswith("/api"),
                tags=["mlflow-compat"],
            )
