"""``sy.data`` through a Shipyard server: the catalog's read side and lineage over /api/v1.

Every downloaded byte is checked against its content id here, on the client, so a
corrupted object or a wrong answer from a proxy is an error, never a silently bad frame.
Registering is not offered: PII policies must run before any byte leaves the machine, so
registration talks to the shared stores (``SHIPYARD_DB_URL`` + ``SHIPYARD_ARTIFACTS``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from shipyard.core.datasets import (
    Dataset,
    DatasetKind,
    DatasetRef,
    DatasetVersion,
    ManifestEntry,
    ValidationRecord,
    parse_ref,
)
from shipyard.core.errors import ArtifactCorruptedError, ValidationError
from shipyard.stores.blobs.digests import new_hasher, parse_digest

__all__ = ["RemoteCatalog"]

Call = Callable[..., Any]


def _validation(d: Mapping[str, Any] | None) -> ValidationRecord | None:
    if not d:
        return None
    return ValidationRecord(
        d["passed"], d["checks_run"], d["failed"], d["report"], d["created_by"], d["creation_time"]
    )


def _version(d: Mapping[str, Any]) -> DatasetVersion:
    return DatasetVersion(
        name=d["name"],
        version=d["version"],
        content_id=d["content_id"],
        kind=DatasetKind(d["kind"]),
        size=d["size"],
        file_count=d["file_count"],
        row_count=d["row_count"],
        columns=tuple((c["name"], c["type"]) for c in d["schema"]),
        profile=d["profile"],
        pii=d["pii"],
        pii_allowed=d["pii_allowed"],
        source=d["source"],
        created_by=d["created_by"],
        creation_time=d["creation_time"],
        description=d["description"],
        aliases=tuple(d["aliases"]),
        validation=_validation(d.get("validation")),
        object_digest=d["object_digest"],
    )


def _dataset(d: Mapping[str, Any]) -> Dataset:
    return Dataset(
        name=d["name"],
        description=d["description"],
        owner=d["owner"],
        tags=dict(d["tags"]),
        created_by=d["created_by"],
        creation_time=d["creation_time"],
        last_update_time=d["last_update_time"],
        latest_version=d["latest_version"],
        aliases=dict(d["aliases"]),
    )


def _url(ref: DatasetRef) -> str:
    tail = f"v{ref.version}" if ref.version is not None else ref.alias or "latest"
    return f"/datasets/{quote(ref.name)}/versions/{quote(tail)}"


class RemoteCatalog:
    """The subset of ``CatalogService`` the SDK needs, over HTTP."""

    def __init__(self, call: Call, stream: Call, checkout_dir: Path) -> None:
        self._call = call  # (method, path, **httpx kwargs) -> JSON, errors mapped
        self._stream = stream  # (path, params) -> context manager yielding byte chunks
        self.checkout_dir = checkout_dir

    def register(self, *_args: Any, **_kw: Any) -> DatasetVersion:
        raise ValidationError(
            "datasets cannot be registered through SHIPYARD_TRACKING_URI: PII policies must be "
            "applied before any byte leaves this machine; set SHIPYARD_DB_URL and "
            "SHIPYARD_ARTIFACTS to the team's shared stores to register",
            field="SHIPYARD_TRACKING_URI",
        )

    def get_version(self, ref: str | DatasetRef) -> DatasetVersion:
        parsed = ref if isinstance(ref, DatasetRef) else parse_ref(ref)
        return _version(self._call("GET", _url(parsed))["version"])

    def list_versions(self, name: str) -> list[DatasetVersion]:
        body = self._call("GET", f"/datasets/{quote(name)}")
        return [_version(v) for v in body["versions"]]

    def search(self, text: str | None = None, limit: int = 100, offset: int = 0) -> list[Dataset]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if text:
            params["q"] = text
        return [_dataset(d) for d in self._call("GET", "/datasets", params=params)["datasets"]]

    def set_alias(self, ref: str, alias: str, user: str = "") -> DatasetVersion:
        parsed = parse_ref(ref)
        version = self.get_version(parsed)
        path = f"/datasets/{quote(parsed.name)}/aliases/{quote(alias)}"
        return _version(self._call("PUT", path, json={"version": f"v{version.version}"})["version"])

    def record_input(self, run_id: str, ref: str, context: str = "input") -> DatasetVersion:
        body = {"dataset": ref, "context": context}
        return _version(self._call("POST", f"/runs/{quote(run_id)}/inputs", json=body)["version"])

    def validate(
        self, ref: str, spec: Mapping[str, object] | None, user: str = ""
    ) -> ValidationRecord:
        """Run checks on the server (``spec`` None: the server project's declared checks)."""
        parsed = parse_ref(ref)
        body = {"checks": dict(spec)} if spec else {}
        got = self._call("POST", _url(parsed) + "/validate", json=body)
        return _validation(got)  # type: ignore[return-value]

    def load_frame(self, ref: str, columns: list[str] | None = None) -> Any:
        from shipyard.services.formats.tables import frame_from_parquet

        version = self.get_version(ref)
        if version.kind is not DatasetKind.TABLE:
            raise ValidationError(f"{version.ref} is a folder dataset", field="dataset")
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "table.parquet"
            self._download(parse_ref(version.ref), None, version.object_digest, target)
            return frame_from_parquet(target.read_bytes(), version.ref, columns)

    def checkout(
        self, ref: str, path: str | None = None, dest: str | os.PathLike[str] | None = None
    ) -> Path:
        version = self.get_version(ref)
        parsed = parse_ref(version.ref)
        params = {"path": path} if path else {}
        files = self._call("GET", _url(parsed) + "/files", params=params)["files"]
        entries = [ManifestEntry(f["path"], f["digest"], f["size"]) for f in files]
        root = Path(dest) if dest else self.checkout_dir / version.name / f"v{version.version}"
        root = root.resolve()
        for e in entries:
            target = (root / PurePosixPath(e.path)).resolve()
            if not target.is_relative_to(root):
                raise ArtifactCorruptedError(f"the server listed a path {e.path!r} outside")
            self._download(parsed, e.path, e.digest, target)
        if path and len(entries) == 1 and entries[0].path == path.strip("/"):
            return root / entries[0].path
        return root

    def _download(self, ref: DatasetRef, path: str | None, digest: str, target: Path) -> None:
        """Stream to a temporary file beside ``target``; it appears only once verified."""
        algorithm, expected = parse_digest(digest)
        hasher = new_hasher(algorithm)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with (
                os.fdopen(fd, "wb") as out,
                self._stream(_url(ref) + "/download", {"path": path} if path else {}) as chunks,
            ):
                for chunk in chunks:
                    hasher.update(chunk)
                    out.write(chunk)
            if hasher.hexdigest() != expected:
                raise ArtifactCorruptedError(
                    f"the bytes downloaded for {ref}{'/' + path if path else ''} do not match "
                    f"their content id {digest}"
                )
            os.replace(name, target)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
