"""REST API of the data catalog under /api/v1: find, inspect, download, validate, trace.

Registering is not offered over HTTP: PII policies are applied on the client before any
byte leaves it, so the SDK registers against the shared stores itself.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from shipyard.core.datasets import DatasetKind, check_alias, check_dataset_name, parse_ref
from shipyard.core.errors import ValidationError
from shipyard.core.validation import normalize_artifact_path
from shipyard.interfaces.http.artifacts import DOWNLOAD, stream_verified
from shipyard.interfaces.http.params import Count, Offset
from shipyard.interfaces.presenters.lineage import lineage_graph
from shipyard.interfaces.presenters.records import (
    dataset_json,
    dataset_version_json,
    validation_json,
)
from shipyard.services.catalog.files import read_entry, select_entries

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["data"])


def _catalog(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.services.catalog


def _ref(name: str, version: str, field: str = "version") -> str:
    """``name@version`` (``v2``, ``2``, an alias or ``latest``); errors name the bad part."""
    check_dataset_name(name, "name")
    return str(parse_ref(f"{name}@{version}", field))


class ValidateIn(BaseModel):
    checks: dict[str, Any] | None = None  # None: the project's [data.NAME.checks]


class AliasIn(BaseModel):
    version: str


class InputIn(BaseModel):
    dataset: str
    context: str = "input"


@router.get("/datasets")
def search_datasets(
    request: Request,
    q: str | None = Query(
        None, description="Only datasets whose name, description, owner, tag or column has it."
    ),
    limit: Annotated[Count, Query(le=10_000)] = 100,
    offset: Annotated[Offset, Query()] = 0,
    cursor: str | None = Query(None, description="The next_cursor of the previous page."),
) -> dict[str, Any]:
    page = _catalog(request).page(q, cursor=cursor or None, limit=limit, offset=offset)
    return {
        "datasets": [dataset_json(d) for d in page.items],
        "next_cursor": page.next_cursor,
        "total": page.total,
    }


@router.get("/datasets/diff")  # before /datasets/{name}, which would otherwise match "diff"
def diff_versions(request: Request, old: str, new: str) -> dict[str, Any]:
    return _catalog(request).diff(str(parse_ref(old, "old")), str(parse_ref(new, "new")))


@router.get("/datasets/{name}")
def get_dataset(request: Request, name: str) -> dict[str, Any]:
    catalog = _catalog(request)
    dataset = catalog.get_dataset(check_dataset_name(name))
    return {
        "dataset": dataset_json(dataset),
        "versions": [dataset_version_json(v) for v in catalog.list_versions(name)],
    }


@router.get("/datasets/{name}/versions/{version}")
def get_version(request: Request, name: str, version: str) -> dict[str, Any]:
    return {"version": dataset_version_json(_catalog(request).get_version(_ref(name, version)))}


@router.get("/datasets/{name}/versions/{version}/files")
def list_files(
    request: Request, name: str, version: str, path: str | None = None
) -> dict[str, Any]:
    entries = select_entries(_catalog(request).manifest(_ref(name, version)), path)
    return {
        "files": [
            {"path": e.path, "digest": e.digest, "size": e.size, "pack": e.pack, "offset": e.offset}
            for e in entries
        ]
    }


@router.get("/datasets/{name}/versions/{version}/download", **DOWNLOAD)
def download(
    request: Request, name: str, version: str, path: str | None = None
) -> StreamingResponse:
    catalog = _catalog(request)
    found = catalog.get_version(_ref(name, version))
    clean = normalize_artifact_path(path, "path")
    if found.kind is DatasetKind.TABLE:
        if clean:
            raise ValidationError(
                f"{found.ref} is a table: it downloads as one Parquet file; drop 'path'",
                field="path",
            )
        filename = f"{found.name}-v{found.version}.parquet"
        return stream_verified(catalog.blobs, found.object_digest, filename)
    if not clean:
        raise ValidationError(
            f"{found.ref} is a folder: name one of its files with 'path' (…/files lists them)",
            field="path",
        )
    chosen = select_entries(catalog.manifest(found.ref), clean)
    entry = next((e for e in chosen if e.path == clean), None)
    if entry is None:
        raise ValidationError(
            f"{clean!r} is a sub-folder of {found.ref}; download its files one by one or use "
            "`shipyard data get REF --path FOLDER`",
            field="path",
        )
    name = entry.path.rsplit("/", 1)[-1]
    if entry.pack is not None:
        data = read_entry(catalog.blobs, entry)  # verified against the blob's own digest
        return stream_verified(catalog.blobs, entry.digest, name, verified=data)
    return stream_verified(catalog.blobs, entry.digest, name)


@router.post("/datasets/{name}/versions/{version}/validate")
def validate(
    request: Request, name: str, version: str, body: ValidateIn | None = None
) -> dict[str, Any]:
    ref = _ref(name, version)
    checks = body.checks if body is not None else None
    if checks is None:
        checks = request.app.state.services.settings.data_checks(name)
    else:
        _refuse_server_side_code(name, checks)
    record = _catalog(request).validate(ref, checks, user=request.state.user.name)
    return validation_json(record)


def _refuse_server_side_code(name: str, checks: dict[str, Any]) -> None:
    """Custom checks import and call code, and regular expressions can be written to
    backtrack for minutes: both belong to the project's own TOML, not to any request."""
    if checks.get("custom"):
        raise ValidationError(
            "custom checks run code on the server: declare them in the project's "
            f"[data.{name}.checks] instead of the request",
            field="checks.custom",
        )
    columns = checks.get("columns")
    for column, spec in (columns or {}).items() if isinstance(columns, dict) else ():
        if isinstance(spec, dict) and "regex" in spec:
            raise ValidationError(
                "regex checks run on the server and can be made to backtrack for minutes: "
                f"declare them in the project's [data.{name}.checks] instead of the request",
                field=f"checks.columns.{column}.regex",
            )


@router.put("/datasets/{name}/aliases/{alias}")
def set_alias(request: Request, name: str, alias: str, body: AliasIn) -> dict[str, Any]:
    ref = _ref(name, body.version)
    moved = _catalog(request).set_alias(ref, check_alias(alias), user=request.state.user.name)
    return {"version": dataset_version_json(moved)}


@router.post("/runs/{run_id}/inputs")
def record_input(request: Request, run_id: str, body: InputIn) -> dict[str, Any]:
    services = request.app.state.services
    ref = str(parse_ref(body.dataset, "dataset"))
    services.tracking.get_run(run_id)  # an unknown run is a 404, not a foreign-key failure
    version = services.catalog.record_input(run_id, ref, body.context)
    return {"version": dataset_version_json(version)}


class LineageEdge(BaseModel):
    source: str = Field(description="A node id: 'dataset:NAME@vN' or 'run:RUN_ID'.")
    target: str = Field(description="A node id.")
    relation: str = Field(description="How the run used the data ('training', …) or 'parent_of'.")
    direction: str = Field(description="'upstream' or 'downstream' of the root.")


class LineageModel(BaseModel):
    """A model version registered from a run of the graph or from one of its descendants."""

    id: str = Field(description="'model:NAME@vN'.")
    ref: str
    name: str
    version: int
    status: str
    aliases: list[str]
    run_id: str = Field(description="The run the version was registered from.")
    run_name: str
    via: str = Field(
        description="The graph's run node it descends from ('run:RUN_ID'): the reading run "
        "(a dataset's lineage) or the root run; the same as run_id's node unless the version "
        "came from a step of it."
    )
    creation_time: int = Field(description="Milliseconds since the epoch.")


class LineageGraph(BaseModel):
    """One hop of lineage around an object, and the model versions trained downstream."""

    root: str = Field(description="The object's node id.")
    nodes: list[dict[str, Any]] = Field(description="Datasets and runs, the root first.")
    edges: list[LineageEdge]
    models: list[LineageModel] = Field(
        description="Model versions registered from the reading runs of a dataset version "
        "(or from the run itself), including from their step runs."
    )


@router.get("/lineage/{obj:path}", response_model=LineageGraph)
def lineage(request: Request, obj: str) -> dict[str, Any]:
    return lineage_graph(request.app.state.services, obj)
