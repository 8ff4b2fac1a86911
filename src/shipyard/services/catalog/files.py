"""Folder datasets: stored file by file in the content store, described by a manifest.

A version of a folder is a manifest (path → digest, size) stored as one JSON object; the
files themselves are content-addressed, so a new version stores only the files that changed,
and one file or sub-folder of a version can be fetched on its own.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from shipyard.core.datasets import MANIFEST_VERSION, ManifestEntry
from shipyard.core.errors import ArtifactCorruptedError, ValidationError
from shipyard.core.validation import normalize_artifact_path
from shipyard.services.catalog.packs import PACK_MAX_FILE, PackWriter
from shipyard.stores.blobs import ContentStore
from shipyard.stores.blobs.digests import digest_bytes, digest_file
from shipyard.stores.statcache import FileStamp, StatCache, stamp_of

__all__ = [
    "Ingested",
    "ScannedFile",
    "check_unchanged",
    "decode_manifest",
    "encode_manifest",
    "hash_files",
    "ingest_files",
    "listing_bytes",
    "materialize",
    "read_entry",
    "scan_source",
    "select_entries",
]

SKIPPED_DIRS = {".git", ".shipyard", ".dvc", "__pycache__"}
Progress = Callable[[int, int], None]  # (files just done, files in all)
ScannedFile = tuple[str, str, FileStamp]  # manifest path, file on disk, stamp at scan time
Locate = Callable[[Sequence[str]], dict[str, tuple[str, int]]]  # digests → (pack, offset)


def scan_source(source: Path) -> list[ScannedFile]:
    """Every file under a folder (or the one file), sorted by manifest path.

    Plain strings and ``os.scandir`` rather than ``pathlib``: on 10,000 files the walk is
    what a no-op re-register costs, and pathlib tripled it.
    """
    if source.is_file():
        return [(source.name, str(source), stamp_of(source.stat()))]
    root = str(source.resolve())
    found: list[ScannedFile] = []
    stack = [("", root)]
    while stack:
        prefix, folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as e:
            raise ValidationError(
                f"cannot read folder {folder}: {e.strerror}", field="source"
            ) from e
        for entry in entries:
            if entry.is_symlink():
                _check_link(entry.path, root, folder)
            rel = prefix + entry.name
            if not rel.isprintable() or _undecodable(rel):
                raise ValidationError(
                    f"folder {folder} holds a file name that is not printable UTF-8 "
                    f"({rel.encode('utf-8', 'backslashreplace').decode()!r}); rename it first",
                    field="source",
                )
            if entry.is_dir():
                if entry.name not in SKIPPED_DIRS:
                    stack.append((rel + "/", entry.path))
            elif entry.is_file():
                found.append((rel, entry.path, stamp_of(entry.stat())))
    if not found:
        raise ValidationError(f"folder {source} holds no files to register", field="source")
    found.sort(key=lambda f: f[0])
    return found


def _undecodable(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.fsdecode's surrogate escapes of non-UTF-8 bytes
        return True
    return False


def _check_link(path: str, root: str, folder: str) -> None:
    """A link must stay inside the folder, end somewhere, and not lead back up (a loop)."""
    try:
        target = Path(path).resolve(strict=True)
    except FileNotFoundError:
        return  # a dangling link: nothing to store, skipped like any non-file
    except (OSError, RuntimeError) as e:  # ELOOP is a RuntimeError before Python 3.13
        raise ValidationError(
            f"{path} is part of a symbolic link loop; remove or fix the link, then register again",
            field="source",
        ) from e
    if target.is_dir() and Path(folder).resolve().is_relative_to(target):
        raise ValidationError(
            f"{path} is a symbolic link to {target}, a folder that contains it (a loop); "
            "remove the link, then register again",
            field="source",
        )
    if not target.is_relative_to(root):
        raise ValidationError(
            f"{path} is a symbolic link to {target}, outside the folder being registered; "
            "copy the file in or register its folder instead",
            field="source",
        )


def check_unchanged(rel: str, path: str, stamp: FileStamp) -> None:
    try:
        after = stamp_of(os.stat(path))
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
COARSE_RACY_NS = 2_000_000_000  # filesystems that keep whole seconds (FAT: two)
BATCH = 512  # loose files published per batch: bounds staged bytes and shows progress
CHUNK_BYTES = 16 * 1024 * 1024  # small files read per round trip to the pack index


@dataclass
class Ingested:
    """The manifest entries of a folder, and the pack rows this registration created."""

    entries: list[ManifestEntry]
    packed: list[tuple[str, str, int, int]] = field(default_factory=list)


def ingest_files(
    blobs: ContentStore,
    cache: StatCache,
    files: Sequence[ScannedFile],
    locate: Locate,
    *,
    link: bool = False,
    progress: Progress | None = None,
) -> Ingested:
    """Store every file not stored yet: small ones into packs, large ones as loose objects.

    ``locate`` answers where already-packed blobs are (any dataset's earlier registration).
    A file that changes while it is read is refused; "racily clean" files (modified within
    one tick of the filesystem clock before being read) are not trusted by stamp next time.
    """
    trusted_before = time.time_ns() - RACY_NS
    known = cache.lookup(blobs.url, {path: stamp for _, path, stamp in files})
    locate = _existing_only(blobs, locate)
    small = [f for f in files if f[2][0] <= PACK_MAX_FILE]
    large = [f for f in files if f[2][0] > PACK_MAX_FILE]
    digests: dict[str, str] = {}
    where: dict[str, tuple[str, int]] = {}
    writer = PackWriter(blobs)
    for chunk in _chunks(small):
        _pack_chunk(chunk, known, locate, writer, digests, where)
        if progress:
            progress(len(chunk), len(files))
    writer.flush()
    for digest in set(digests.values()) - set(where):
        where[digest] = writer.location(digest)
    # A stamp says the bytes are unchanged, not that the store still has them (an object
    # deleted to repair a corruption, another store): check, and store again when missing.
    present = {p for _, p, _ in large if p in known and blobs.keep(known[p])}
    todo = [f for f in large if f[1] not in present]
    digests.update({p: known[p] for p in present})
    for start in range(0, len(todo), BATCH):
        batch = todo[start : start + BATCH]
        for (_, path, _), digest in zip(
            batch, blobs.put_files([f[1] for f in batch], link=link), strict=True
        ):
            digests[path] = digest
        for rel, path, stamp in batch:  # after the copy: a writer must not have been at work
            check_unchanged(rel, path, stamp)
        if progress:
            progress(len(batch), len(files))
    cache.store(
        blobs.url,
        (
            (p, st, digests[p])
            for _, p, st in files
            if p not in known and _trusted(st, trusted_before)
        ),
    )
    entries = []
    for rel, path, st in files:
        digest = digests[path]
        pack, offset = where.get(digest, (None, 0))
        entries.append(ManifestEntry(rel, digest, st[0], pack, offset))
    return Ingested(entries, writer.rows)


def _existing_only(blobs: ContentStore, locate: Locate) -> Locate:
    """``locate`` restricted to packs the store still holds (one check per pack)."""
    exists: dict[str, bool] = {}

    def checked(digests: Sequence[str]) -> dict[str, tuple[str, int]]:
        found = locate(digests)
        for pack, _ in found.values():
            if pack not in exists:
                exists[pack] = blobs.keep(pack)  # refreshed: a later GC spares it
        return {d: loc for d, loc in found.items() if exists[loc[0]]}

    return checked


def _trusted(stamp: FileStamp, trusted_before: int) -> bool:
    """May a later run trust this stamp? Not when the file may have changed within one tick
    of the filesystem's clock after we read it (whole-second clocks need a wider margin)."""
    mtime = stamp[1]
    if mtime % 1_000_000_000 == 0:
        return mtime < trusted_before + RACY_NS - COARSE_RACY_NS
    return mtime < trusted_before


def _chunks(files: Sequence[ScannedFile]) -> Iterator[list[ScannedFile]]:
    chunk: list[ScannedFile] = []
    size = 0
    for f in files:
        chunk.append(f)
        size += f[2][0]
        if size >= CHUNK_BYTES or len(chunk) >= 4096:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _read_small(rel: str, path: str, stamp: FileStamp, algorithm: str) -> tuple[str, bytes]:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        data = b""  # check_unchanged names the file that disappeared
    check_unchanged(rel, path, stamp)
    return digest_bytes(algorithm, data), data


def _pack_chunk(
    chunk: list[ScannedFile],
    known: dict[str, str],
    locate: Locate,
    writer: PackWriter,
    digests: dict[str, str],
    where: dict[str, tuple[str, int]],
) -> None:
    """Find where the chunk's blobs already are; pack the others."""
    algorithm = writer.algorithm
    data: dict[str, bytes] = {}
    for rel, path, stamp in chunk:
        if path in known:
            digests[path] = known[path]
        else:
            digests[path], data[path] = _read_small(rel, path, stamp, algorithm)
    where.update(locate([digests[p] for _, p, _ in chunk]))
    for rel, path, stamp in chunk:
        digest = digests[path]
        if digest in where:
            continue
        blob = data.get(path)
        if blob is None:  # known by stamp, but its pack was never recorded: read it again
            digest, blob = _read_small(rel, path, stamp, algorithm)
            digests[path] = digest
        writer.add(digest, blob)


def hash_files(
    blobs: ContentStore, cache: StatCache, files: Sequence[ScannedFile], workers: int = 4
) -> list[ManifestEntry]:
    """Manifest entries of files on disk without storing anything (for ``status``)."""
    algorithm = blobs.algorithm
    known = cache.lookup(blobs.url, {path: stamp for _, path, stamp in files})
    todo = [f for f in files if f[1] not in known]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        hashed = dict(
            zip(
                [p for _, p, _ in todo],
                pool.map(lambda f: digest_file(algorithm, f[1]), todo),
                strict=True,
            )
        )
    return [ManifestEntry(rel, known.get(path) or hashed[path], st[0]) for rel, path, st in files]


def listing_bytes(entries: Sequence[ManifestEntry]) -> bytes:
    """Canonical JSON of (path, digest, size), sorted: the content id of a folder version is
    its hash, so equal folders get equal ids however their files are stored."""
    rows = sorted([e.path, e.digest, e.size] for e in entries)
    return json.dumps({"listing_version": 1, "files": rows}, separators=(",", ":")).encode()


def encode_manifest(entries: Sequence[ManifestEntry]) -> bytes:
    """The stored manifest: the listing plus where each file is (loose, or a pack and an
    offset; packs are listed once and referred to by position, to keep manifests small)."""
    packs = sorted({e.pack for e in entries if e.pack})
    index = {p: i for i, p in enumerate(packs)}
    rows = sorted(
        [e.path, e.digest, e.size] + ([index[e.pack], e.offset] if e.pack else []) for e in entries
    )
    body = {"manifest_version": MANIFEST_VERSION, "packs": packs, "files": rows}
    return json.dumps(body, separators=(",", ":")).encode()


def decode_manifest(data: bytes, where: str) -> list[ManifestEntry]:
    try:
        body = json.loads(data)
        if body["manifest_version"] != MANIFEST_VERSION:
            raise ValueError(f"manifest version {body['manifest_version']!r}")
        packs = [str(p) for p in body["packs"]]
        return [_entry(row, packs) for row in body["files"]]
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise ArtifactCorruptedError(f"the manifest of {where} is not readable: {e}") from e


def _entry(row: list[object], packs: list[str]) -> ManifestEntry:
    path, digest, size = str(row[0]), str(row[1]), int(row[2])  # type: ignore[call-overload]
    if len(row) == 5:
        return ManifestEntry(path, digest, size, packs[int(row[3])], int(row[4]))  # type: ignore[call-overload]
    if len(row) != 3:
        raise ValueError(f"a manifest row has {len(row)} fields")
    return ManifestEntry(path, digest, size)


def read_entry(blobs: ContentStore, entry: ManifestEntry) -> bytes:
    """The bytes of one packed file, verified (loose files are streamed with ``open``)."""
    assert entry.pack is not None
    return blobs.read_blob(entry.pack, entry.offset, entry.size, entry.digest)


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
        if e.pack is None:
            blobs.copy_to(e.digest, target)
        else:
            blobs.copy_blob_to(e.pack, e.offset, e.size, e.digest, target)
        if progress:
            progress(1, len(entries))
    return root
