"""What a compacted prediction-log file replaces, as its manifest says (``formats.predictions``).

Readers use it two ways: a listing that holds a compacted file and files it replaces (the
compactor wrote the one and has not yet removed the others, or stopped in between) keeps
only the compacted file; and a file that vanished after the listing is found again inside
the compacted file that replaced it, from which only the rows not already read are taken.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

from shipyard.core.errors import NotFoundError, StorageError
from shipyard.services.formats.predictions import SOURCES_KEY, LogFile, parse_key
from shipyard.stores.blobs.base import ByteBackend

__all__ = ["Entry", "manifest_of", "read_manifest", "replacement", "resolve", "sibling"]

Entry = tuple[str, int, int]  # a replaced file's name, its first row here, its rows


def manifest_of(metadata: Mapping[bytes, bytes] | None, where: str) -> list[Entry]:
    """The files a compacted file holds the rows of ([] for any other file)."""
    raw = (metadata or {}).get(SOURCES_KEY.encode())
    if raw is None:
        return []
    try:
        return [(str(name), int(start), int(rows)) for name, start, rows in json.loads(raw)]
    except (ValueError, TypeError) as e:
        raise StorageError(f"{where} has an unreadable {SOURCES_KEY}: {e}") from e


def read_manifest(backend: ByteBackend, key: str) -> list[Entry]:
    """The manifest in ``key``'s footer (NotFoundError when the file is gone)."""
    import pyarrow.parquet as pq

    with backend.open_read(key) as raw:
        stream: Any = raw if raw.seekable() else io.BytesIO(raw.read())
        metadata = pq.read_metadata(stream).metadata
    return manifest_of(metadata, f"{backend.url}/{key}")


def sibling(f: LogFile, name: str) -> str:
    """The key of file ``name`` in ``f``'s folder (manifests name files, not keys)."""
    return f"{f.key.rsplit('/', 1)[0]}/{name}"


def resolve(
    backend: ByteBackend, files: Iterable[LogFile]
) -> tuple[list[LogFile], dict[str, list[Entry]]] | None:
    """``files`` without those a listed compacted file replaces, and the compacted files'
    manifests by key; None when a compacted file vanished meanwhile (list again)."""
    files = list(files)
    manifests: dict[str, list[Entry]] = {}
    for f in files:
        if f.compacted is not None:
            try:
                manifests[f.key] = read_manifest(backend, f.key)
            except NotFoundError:
                return None
    by_key = {f.key: f for f in files}
    covered = {sibling(by_key[k], e[0]) for k, entries in manifests.items() for e in entries}
    kept = [f for f in files if f.key not in covered]
    return kept, {k: v for k, v in manifests.items() if k not in covered}


def replacement(backend: ByteBackend, missing: LogFile) -> tuple[LogFile, list[Entry]] | None:
    """The compacted file that now holds the rows of ``missing``, with its manifest."""
    folder = missing.key.rsplit("/", 1)[0] + "/"
    found = [parse_key(k) for k in backend.list(folder)]
    candidates = [f for f in found if f and f.compacted and f.partition == missing.partition]
    for f in candidates:
        try:
            entries = read_manifest(backend, f.key)
        except NotFoundError:
            continue
        if any(name == missing.name for name, _, _ in entries):
            return f, entries
    return None
