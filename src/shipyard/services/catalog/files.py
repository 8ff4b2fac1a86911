"""Folder datasets: stored file by file in the content store, described by a manifest.

A version of a folder is a manifest (path → digest, size) stored as one JSON object; the
files themselves are content-addressed, so a new version stores only the files that changed,
and one file or sub-folder of a version can be fetched on its own.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from shipyard.core.datasets import MANIFEST_VERSION, ManifestEntry
from shipyard.core.errors import ArtifactCorruptedError, ValidationError
from shipyard.core.validation import normalize_artifact_path
from shipyard.stores.blobs import ContentStore
from shipyard.stores.blobs.digests import new_hasher
from shipyard.stores.statcache import FileStamp, StatCache, stamp_of

__all__ = [
    "ScannedFile",
    "decode_manifest",
    "encode_manifest",
    "hash_files",
    "ingest_files",
    "materialize",
    "scan_source",
    "select_entries",
]

SKIPPED_DIRS = {".git", ".shipyard", ".dvc", "__pycache__"}
Progress = Callable[[int, int], None]  # (files just done, files in all)
ScannedFile = tuple[str, Path, FileStamp]  # manifest path, file on disk, stamp at scan time


def scan_source(source: Path) -> list[ScannedFile]:
    """Every file under a folder (or the one file), sorted by manifest path."""
    if source.is_file():
        return [(source.name, source, stamp_of(source.stat()))]
    root = source.resolve()
    found: list[ScannedFile] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as e:
            raise ValidationError(
                f"cannot read folder {folder}: {e.strerror}", field="source"
            ) from e
        for entry in entries:
            path = Path(entry.path)
            if entry.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(root):
                    raise ValidationError(
                        f"{path} is a symbolic link to {target}, outside the folder being "
                        "registered; copy the file in or register its folder instead",
                        field="source",
                    )
            if entry.is_dir():
                if entry.name not in SKIPPED_DIRS:
                    stack.append(path)
            elif entry.is_file():
                rel = path.relative_to(root).as_posix()
                found.append((rel, path, stamp_of(entry.stat())))
    if not found:
        raise ValidationError(f"folder {source} holds no files to register", field="source")
    found.sort(key=lambda f: f[0])
    return found


def _check_unchanged(rel: str, path: Path, stamp: FileStamp) -> None:
    try:
        after = stamp_of(path.stat())
    except FileNotFoundError as e:
        raise ValidationError(
            f"{rel} disappeared while it was being registered", field="source"
        ) from e
    if after[:2] != stamp[:2]:
        raise ValidationError(
            f"{rel} changed while it was being registered (size or modification time moved); "
            "register again once nothing is writing to it",
            field="source",
        )


RACY_NS = 50_000_000  # well above the coarse kernel clock tick (1-10 ms) that stamps mtime
BATCH = 512  # files published per batch: bounds staged bytes and makes progress visible


def ingest_files(
    blobs: ContentStore,
    cache: StatCache,
    files: Sequence[ScannedFile],
    *,
    progress: Progress | None = None,
) -> list[ManifestEntry]:
    """Store every file not already known by its stamp; returns the manifest entries."""
    stamps = {str(path): stamp for _, path, stamp in files}
    known = cache.lookup(blobs.url, stamps)
    todo = [f for f in files if str(f[1]) not in known]
    if progress:
        progress(len(files) - len(todo), len(files))
    digests: dict[str, str] = {}
    # "Racily clean" files (as git calls them): a file modified within one tick of the
    # filesystem clock before we read it could change again without its mtime moving, so
    # its stamp is not trusted for later runs; it is simply hashed again next time.
    trusted_before = time.time_ns() - RACY_NS
    for start in range(0, len(todo), BATCH):
        batch = todo[start : start + BATCH]
        for (_, path, _), digest in zip(batch, blobs.put_files([f[1] for f in batch]), strict=True):
            digests[str(path)] = digest
        for rel, path, stamp in batch:  # after the copy: a writer must not have been at work
            _check_unchanged(rel, path, stamp)
        cache.store(
            blobs.url,
            ((str(p), st, digests[str(p)]) for _, p, st in batch if st[1] < trusted_before),
        )
        if progress:
            progress(len(batch), len(files))
    return [
        ManifestEntry(rel, known.get(str(path)) or digests[str(path)], st[0])
        for rel, path, st in files
    ]


def _hash_one(algorithm: str, path: Path) -> str:
    hasher = new_hasher(algorithm)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            hasher.update(chunk)
    return f"{algorithm}:{hasher.hexdigest()}"


def hash_files(
    blobs: ContentStore, cache: StatCache, files: Sequence[ScannedFile], workers: int = 4
) -> list[ManifestEntry]:
    """Manifest entries of files on disk without storing anything (for ``status``)."""
    algorithm = blobs.algorithm
    known = cache.lookup(blobs.url, {str(path): stamp for _, path, stamp in files})
    todo = [f for f in files if str(f[1]) not in known]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        hashed = dict(
            zip(
                [str(p) for _, p, _ in todo],
                pool.map(lambda f: _hash_one(algorithm, f[1]), todo),
                strict=True,
            )
        )
    return [
        ManifestEntry(rel, known.get(str(path)) or hashed[str(path)], st[0])
        for rel, path, st in files
    ]


def encode_manifest(entries: Sequence[ManifestEntry]) -> bytes:
    """Canonical JSON (sorted paths): equal folders give equal bytes and so equal ids."""
    rows = sorted([e.path, e.digest, e.size] for e in entries)
    body = {"manifest_version": MANIFEST_VERSION, "files": rows}
    return json.dumps(body, separators=(",", ":")).encode()


def decode_manifest(data: bytes, where: str) -> list[ManifestEntry]:
    try:
        body = json.loads(data)
        if body["manifest_version"] != MANIFEST_VERSION:
            raise ValueError(f"manifest version {body['manifest_version']!r}")
        return [ManifestEntry(str(p), str(d), int(s)) for p, d, s in body["files"]]
    except (ValueError, KeyError, TypeError) as e:
        raise ArtifactCorruptedError(f"the manifest of {where} is not readable: {e}") from e


def select_entries(entries: Sequence[ManifestEntry], path: str | None) -> list[ManifestEntry]:
    """The whole version, one file, or one sub-folder (``path`` relative to the version)."""
    prefix = normalize_artifact_path(path, "path") if path else ""
    if not prefix:
        return list(entries)
    chosen = [e for e in entries if e.path == prefix or e.path.startswith(prefix + "/")]
    if not chosen:
        raise ValidationError(f"no file or folder {prefix!r} in this version", field="path")
    return chosen


def materialize(
    blobs: ContentStore,
    entries: Sequence[ManifestEntry],
    dest: Path,
    *,
    progress: Progress | None = None,
) -> Path:
    """Copy entries under ``dest`` (each verified against its digest before it appears)."""
    root = dest.resolve()
    for e in entries:
        target = (root / PurePosixPath(e.path)).resolve()
        if not target.is_relative_to(root):  # defence in depth: manifests are ours
            raise ArtifactCorruptedError(f"manifest path {e.path!r} escapes the checkout")
        blobs.copy_to(e.digest, target)
        if progress:
            progress(1, len(entries))
    return root
