"""The object store as ``shipyard doctor`` sees it: objects, temporary files, and which
objects are reachable from the database (through manifests and pointers)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.core.errors import ShipyardError, ValidationError
from shipyard.stores.blobs import ContentStore, LocalBackend
from shipyard.stores.blobs.cas import FORMAT_KEY
from shipyard.stores.blobs.digests import LAYOUT_VERSION, object_key, parse_digest
from shipyard.stores.blobs.staging import TempFile, iter_temp_files

__all__ = ["StoreListing", "list_store", "reachable", "temp_files"]

DIGEST = re.compile(rb"(?:blake3|sha256):[0-9a-f]{64}")
JSON_SCAN_LIMIT = 64 * 1024 * 1024  # manifests and bundles above this are not expected
POINTER_SCAN_LIMIT = 1024 * 1024


@dataclass
class StoreListing:
    """Every object (digest → size) and every other key (profile pointers, prediction logs)."""

    objects: dict[str, int] = field(default_factory=dict)
    others: list[str] = field(default_factory=list)


def list_store(blobs: ContentStore) -> StoreListing:
    """One walk of the whole store."""
    listing = StoreListing()
    backend = blobs.backend
    for key in backend.list(""):
        parts = key.split("/")
        if parts[0] == LAYOUT_VERSION:
            digest = _digest_of(parts)
            if digest is not None:
                listing.objects[digest] = backend.size(key)
        elif key != FORMAT_KEY:
            listing.others.append(key)
    return listing


def _digest_of(parts: list[str]) -> str | None:
    if len(parts) != 4:
        return None
    try:
        return ":".join(parse_digest(f"{parts[1]}:{parts[2]}{parts[3]}"))
    except ValidationError:
        return None


def temp_files(blobs: ContentStore) -> list[TempFile]:
    """Temporary files of unfinished writes: in the staging directory, and (local stores)
    the hidden ``.*.tmp`` files an interrupted rename leaves beside objects."""
    backend = blobs.backend
    found: list[TempFile] = []
    if isinstance(backend, LocalBackend):
        staging = backend.root / ".tmp"  # not staging_dir(): a check must not create it
        found.extend(iter_temp_files(staging))
        objects = backend.root / LAYOUT_VERSION
        for dirpath, _dirs, files in os.walk(objects):
            if any(n.startswith(".") and n.endswith(".tmp") for n in files):
                found.extend(iter_temp_files(Path(dirpath), hidden_only=True))
    else:
        remote_staging = backend.staging_dir()
        if remote_staging is not None:
            found.extend(iter_temp_files(remote_staging))
    return found


@dataclass
class Reach:
    """What the database reaches: kept digests, and named objects that are missing."""

    keep: set[str] = field(default_factory=set)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (digest, where)


def reachable(
    blobs: ContentStore, listing: StoreListing, roots: set[str], named: list[tuple[str, str]]
) -> Reach:
    """Every object reachable from ``roots`` (the database's mentions, plus the digests in
    pointer files), following digests inside JSON objects (dataset manifests, pipeline
    bundles, reference profiles); and the objects ``named`` or listed by a dataset
    manifest that are not in the store."""
    reach = Reach()
    present = listing.objects
    reach.missing.extend((d, where) for d, where in named if d not in present)
    frontier = set(roots) | set(_pointer_mentions(blobs, listing.others))
    while frontier:
        digest = frontier.pop()
        if digest in reach.keep:
            continue
        reach.keep.add(digest)
        if digest not in present or present[digest] > JSON_SCAN_LIMIT:
            continue
        body = _json_body(blobs, digest)
        if body is None:
            continue
        frontier.update(m.decode() for m in DIGEST.findall(body))
        reach.missing.extend(
            (d, f"dataset manifest {digest}") for d in _manifest_objects(body) if d not in present
        )
    return reach


def _json_body(blobs: ContentStore, digest: str) -> bytes | None:
    """The bytes of a JSON object (``None`` for anything else, or a corrupted object: the
    objects check reports that one)."""
    try:
        with blobs.backend.open_read(object_key(digest)) as f:
            if f.read(1) not in (b"{", b"["):
                return None
        return blobs.get_bytes(digest)
    except ShipyardError:
        return None


def _manifest_objects(body: bytes) -> Iterator[str]:
    """The loose files and packs a dataset manifest needs (format: catalog ``files``)."""
    try:
        data = json.loads(body)
    except ValueError:
        return
    if not isinstance(data, dict) or "manifest_version" not in data:
        return
    packs = data.get("packs")
    if isinstance(packs, list):
        yield from (p for p in packs if isinstance(p, str))
    rows = data.get("files")
    if isinstance(rows, list):
        yield from (r[1] for r in rows if isinstance(r, list) and len(r) == 3)


def _pointer_mentions(blobs: ContentStore, keys: list[str]) -> Iterator[str]:
    """Digests in the store's small non-object files (a model's reference-profile pointer)."""
    backend = blobs.backend
    for key in keys:
        if not key.endswith(".json"):  # prediction logs (Parquet) name no objects
            continue
        try:
            if backend.size(key) > POINTER_SCAN_LIMIT:
                continue
            with backend.open_read(key) as f:
                body = f.read(POINTER_SCAN_LIMIT)
        except ShipyardError:
            continue
        if body[:1] == b"{":
            yield from (m.decode() for m in DIGEST.findall(body))
