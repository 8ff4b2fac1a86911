"""MLflow's artifact proxy (/api/2.0/mlflow-artifacts/artifacts), over Shipyard's content store.

Every file lands in the content store; its path → digest index is kept as run artifacts:

- ``models/m-<hex>/artifacts/<path>``: a logged model (MLflow 3), indexed on the run that
  backs it (see ``mlflow_registry``; the run id is ``<hex>``);
- ``runs/<run id>/artifacts/<path>``: a run's artifacts;
- ``registry/<name>/<version>/<path>``: the files of a registered version, read-only, served
  from the version's package (each file verified against its digest).

Other paths are refused; so are paths that climb out of their tree (400).
"""

from __future__ import annotations

import posixpath
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from shipyard.core.errors import NotFoundError, ValidationError
from shipyard.core.models import ModelRef, check_model_name
from shipyard.core.validation import check_run_id, normalize_artifact_path
from shipyard.interfaces.http.artifacts import DOWNLOAD

__all__ = ["LOGGED_MODEL_TAG", "Location", "backing_run", "mount", "parse_location"]

ROOT = "/api/2.0/mlflow-artifacts/artifacts"
LOGGED_MODEL_TAG = "shipyard.mlflow.logged_model"
_SPOOL = 8 * 1024 * 1024


@dataclass(frozen=True)
class Location:
    kind: str  # "model" (logged model), "run" or "registry"
    owner: str  # the run id (model, run) or "name@vN" (registry)
    path: str  # inside the owner's tree ('' is its root)


def backing_run(services: Any, model_id: object) -> str:
    """The id of the run that backs logged model ``m-<hex>`` (NotFoundError if none)."""
    if not isinstance(model_id, str) or not model_id.startswith("m-"):
        raise NotFoundError(f"no logged model {model_id!r}", field="model_id")
    run_id = model_id[2:]
    try:
        run = services.tracking.get_run(check_run_id(run_id))
    except (NotFoundError, ValidationError):
        raise NotFoundError(f"no logged model {model_id!r}", field="model_id") from None
    if run.tags.get(LOGGED_MODEL_TAG) != "true":
        raise NotFoundError(f"no logged model {model_id!r}", field="model_id")
    return run_id


def parse_location(raw: str, field: str = "path") -> Location:
    """Split an artifact path (as the client sends it) into its owner and inner path."""
    if "\x00" in raw or "\\" in raw or any(p == ".." for p in raw.split("/")):
        raise ValidationError(f"{field} {raw!r} climbs out of the artifact tree", field=field)
    clean = normalize_artifact_path(raw.lstrip("/"), field)
    parts = clean.split("/") if clean else []
    if len(parts) >= 3 and parts[0] == "models" and parts[2] == "artifacts":
        return Location("model", parts[1], "/".join(parts[3:]))
    if len(parts) >= 3 and parts[0] == "runs" and parts[2] == "artifacts":
        return Location("run", check_run_id(parts[1]), "/".join(parts[3:]))
    if len(parts) >= 3 and parts[0] == "registry" and parts[2].isdecimal():
        name = check_model_name(parts[1])
        return Location("registry", f"{name}@v{int(parts[2])}", "/".join(parts[3:]))
    raise ValidationError(
        f"{field} {raw!r} is not under models/<id>/artifacts, runs/<id>/artifacts or "
        "registry/<name>/<version>",
        field=field,
    )


def _run_of(services: Any, loc: Location) -> str:
    return backing_run(services, loc.owner) if loc.kind == "model" else loc.owner


def _package_files(services: Any, owner: str) -> list[dict[str, Any]]:
    name, _, version = owner.partition("@v")
    found = services.registry.get_version(ModelRef(name, version=int(version)))
    files = found.package.get("files") if isinstance(found.package, dict) else None
    if found.flavor != "mlflow" or not isinstance(files, list):
        raise NotFoundError(f"{found.ref} is not an MLflow-format model", field="path")
    return files


def _list(services: Any, loc: Location) -> list[dict[str, Any]]:
    """Immediate children of ``loc.path``, named relative to it (as MLflow's server does)."""
    if loc.kind == "registry":
        prefix = loc.path + "/" if loc.path else ""
        children: dict[str, dict[str, Any]] = {}
        for f in _package_files(services, loc.owner):
            if not str(f["path"]).startswith(prefix):
                continue
            head, sep, _ = str(f["path"])[len(prefix) :].partition("/")
            if sep:
                children.setdefault(head, {"path": head, "is_dir": True})
            else:
                children[head] = {"path": head, "is_dir": False, "file_size": int(f["size"])}
        return [children[k] for k in sorted(children)]
    try:
        files = services.tracking.list_artifacts(_run_of(services, loc), loc.path)
    except NotFoundError:
        return []
    out = []
    for f in files:
        rel = posixpath.relpath(f.path, loc.path) if loc.path else f.path
        item: dict[str, Any] = {"path": rel, "is_dir": f.is_dir}
        if not f.is_dir:
            item["file_size"] = f.size
        out.append(item)
    return out


def _open(services: Any, loc: Location) -> Any:
    if not loc.path:
        raise ValidationError("name a file to download", field="path")
    if loc.kind == "registry":
        for f in _package_files(services, loc.owner):
            if f["path"] == loc.path:
                return services.registry.blobs.open(str(f["digest"]))
        raise NotFoundError(f"{loc.owner} has no file {loc.path!r}", field="path")
    _info, stream = services.tracking.open_artifact(_run_of(services, loc), loc.path)
    return stream


def _chunks(stream: Any) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(1024 * 1024):
            yield chunk


def _store(services: Any, loc: Location, spool: Any, size: int) -> None:
    if loc.kind == "registry":
        raise ValidationError("registered versions are read-only", field="path")
    if not loc.path:
        raise ValidationError("name a file to upload", field="path")
    run_id = _run_of(services, loc)
    spool.seek(0)
    digest = services.tracking.blobs.put_stream(spool)
    services.tracking.link_artifacts(run_id, [(loc.path, digest, size)])


def mount(app: FastAPI) -> None:
    @app.get(ROOT, tags=["mlflow-compat"])
    async def list_artifacts(request: Request) -> JSONResponse:
        loc = parse_location(request.query_params.get("path") or "")
        files = await run_in_threadpool(_list, request.app.state.services, loc)
        return JSONResponse({"files": files})

    @app.get(ROOT + "/{path:path}", tags=["mlflow-compat"], **DOWNLOAD)
    async def download_artifact(path: str, request: Request) -> StreamingResponse:
        stream = await run_in_threadpool(_open, request.app.state.services, parse_location(path))
        return StreamingResponse(_chunks(stream), media_type="application/octet-stream")

    @app.put(ROOT + "/{path:path}", tags=["mlflow-compat"])
    async def upload_artifact(path: str, request: Request) -> JSONResponse:
        loc = parse_location(path)
        size = 0
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool:
            async for chunk in request.stream():
                spool.write(chunk)
                size += len(chunk)
            await run_in_threadpool(_store, request.app.state.services, loc, spool, size)
        return JSONResponse({})
