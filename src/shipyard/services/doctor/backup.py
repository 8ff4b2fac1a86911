"""``shipyard backup DEST`` and ``shipyard restore SRC``: a consistent copy of a project
taken while it is in use, and its restore into an empty project.

A backup folder (format version 1)::

    MANIFEST.json            written last: a folder without it is an unfinished backup
    metadata.sqlite | metadata.pgdump   the database snapshot (SQLite backup API / pg_dump)
    objects/v1/<alg>/<xx>/<rest>        every object the snapshot reaches, verified
    files/<key>                         the store's other files (prediction logs, pointers)
    keys/pii.key                        the tokenization key (tokens depend on it)

The object list is read from the snapshot itself, so a write committed after the snapshot
is neither half-copied nor needed. Restore verifies everything before it touches the
target, refuses a target that holds data, and checks the restored row counts and audit
head against the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.core.errors import (
    ArtifactCorruptedError,
    ConflictError,
    StorageError,
    ValidationError,
)
from shipyard.services.doctor.objects import list_store, reachable
from shipyard.stores.blobs import ContentStore, LocalBackend, object_key
from shipyard.stores.blobs.base import check_key
from shipyard.stores.blobs.cas import FORMAT_KEY
from shipyard.stores.ports import DatabaseSnapshots, DbSnapshot

__all__ = ["BACKUP_FORMAT_VERSION", "MANIFEST", "BackupService"]

BACKUP_FORMAT = "shipyard-backup"
BACKUP_FORMAT_VERSION = 1
MANIFEST = "MANIFEST.json"
CHUNK = 1 << 20
# named first when a target is refused: what an operator recognises
_MAIN_TABLES = ("runs", "experiments", "datasets", "registered_models", "deployments")


class BackupService:
    """Backs up and restores one project: its database, object store and secret keys."""

    def __init__(
        self,
        blobs: ContentStore,
        snapshots: DatabaseSnapshots,
        *,
        keys: Mapping[str, Path],
    ) -> None:
        self.blobs = blobs
        self.snapshots = snapshots
        self.keys = dict(keys)  # name in the backup → file in the project

    # ------------------------------------------------------------------ backup
    def backup(self, dest: Path) -> dict[str, Any]:
        """Snapshot into ``dest`` (a new or empty folder); the manifest as written."""
        started = time.monotonic()
        created = _new_folder(dest)
        try:
            return self._backup(dest, started)
        except BaseException:
            _clear(dest, remove=created)  # no half backup left to mistake for one
            raise

    def _backup(self, dest: Path, started: float) -> dict[str, Any]:
        snap = self.snapshots.snapshot(dest)
        listing = list_store(self.blobs)  # after the snapshot: everything it names exists
        roots = set(snap.mentions) | {d for d, _ in snap.references}
        reach = reachable(self.blobs, listing, roots, list(snap.references))
        objects = {d: listing.objects[d] for d in sorted(reach.keep) if d in listing.objects}
        for digest in objects:
            target = dest / "objects" / object_key(digest)
            target.parent.mkdir(parents=True, exist_ok=True)
            self.blobs.copy_to(digest, target)  # verified: a corrupted object raises
        files = {key: self._copy_file(key, dest / "files" / key) for key in listing.others}
        keys = {
            name: _copy_secret(path, dest / "keys" / name)
            for name, path in sorted(self.keys.items())
            if path.is_file()
        }
        db_file = dest / snap.file
        manifest = {
            "format": BACKUP_FORMAT,
            "format_version": BACKUP_FORMAT_VERSION,
            "created_ms": int(time.time() * 1000),
            "database": _db_entry(snap, db_file),
            "counts": dict(snap.counts),
            "objects": objects,
            "files": files,
            "keys": keys,
            "missing": sorted({d for d, _ in reach.missing}),
            "totals": {
                "objects": len(objects),
                "object_bytes": sum(objects.values()),
                "files": len(files),
                "bytes": _folder_bytes(dest),
                "seconds": round(time.monotonic() - started, 3),
            },
        }
        _write_json(dest / MANIFEST, manifest)
        return manifest

    def _copy_file(self, key: str, target: Path) -> dict[str, object]:
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with self.blobs.backend.open_read(key) as src, open(target, "wb") as out:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        return {"sha256": digest.hexdigest(), "size": size}

    # ------------------------------------------------------------------ restore
    def restore(self, src: Path) -> dict[str, Any]:
        """Verify the backup at ``src``, then restore it into this (empty) project."""
        started = time.monotonic()
        manifest = read_manifest(src)
        self._verify(src, manifest)
        self._refuse_occupied()
        database = manifest["database"]
        restored = self.snapshots.restore(src / database["file"], database["kind"])
        backend = self.blobs.backend
        for digest in manifest["objects"]:
            backend.put_file(src / "objects" / object_key(digest), object_key(digest))
            self.blobs.verify(digest)  # the copy in the target store, read back
        for key in manifest["files"]:
            backend.put_file(src / "files" / key, key)
        for name in manifest["keys"]:
            if name in self.keys:
                _copy_secret(src / "keys" / name, self.keys[name])
        _check_restored(manifest, restored)
        return {
            "source": str(src),
            "database": database["kind"],
            "counts": dict(restored.counts),
            "objects": len(manifest["objects"]),
            "files": len(manifest["files"]),
            "keys": sorted(manifest["keys"]),
            "audit_head": list(restored.audit_head) if restored.audit_head else None,
            "seconds": round(time.monotonic() - started, 3),
        }

    def _verify(self, src: Path, manifest: Mapping[str, Any]) -> None:
        database = manifest["database"]
        check_key(database["file"])
        _check_sha256(src / database["file"], database["sha256"], "database snapshot")
        copy = ContentStore(LocalBackend(src / "objects"))
        for digest, size in manifest["objects"].items():
            path = src / "objects" / object_key(digest)
            if not path.is_file() or path.stat().st_size != size:
                raise ArtifactCorruptedError(
                    f"backup {src}: object {digest} is missing or has the wrong size; "
                    "the backup is damaged: restore from another one"
                )
            copy.verify(digest)
        for key, entry in manifest["files"].items():
            check_key(key)  # a tampered manifest must not reach outside the folder
            _check_sha256(src / "files" / key, entry["sha256"], f"file {key}")
        for name, entry in manifest["keys"].items():
            check_key(name)
            _check_sha256(src / "keys" / name, entry["sha256"], f"key {name}")

    def _refuse_occupied(self) -> None:
        occupied = self.snapshots.occupied()
        stored = sum(1 for k in self.blobs.backend.list("") if k != FORMAT_KEY)
        if not occupied and not stored:
            return
        first = {t: i for i, t in enumerate(_MAIN_TABLES)}
        order = sorted(occupied, key=lambda t: (first.get(t, len(first)), t))
        what = [f"{table}: {occupied[table]} row(s)" for table in order]
        if stored:
            what.append(f"{stored} file(s) in the object store {self.blobs.url}")
        raise ConflictError(
            f"the target project is not empty ({'; '.join(what[:6])}): restore only into "
            "a new project (shipyard init NEW_FOLDER, or a project with an empty database "
            "and object store) so that nothing is overwritten",
            field="target",
        )


def read_manifest(src: Path) -> dict[str, Any]:
    """The manifest of the backup at ``src``; a clear error for anything else."""
    path = src / MANIFEST
    if not path.is_file():
        raise ValidationError(
            f"{src} holds no {MANIFEST}: not a Shipyard backup, or one that did not finish "
            "(take a new one with shipyard backup DEST)",
            field="SRC",
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValidationError(f"{path} is not readable JSON: {e}", field="SRC") from e
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise ValidationError(f"{path} is not a Shipyard backup manifest", field="SRC")
    version = manifest.get("format_version")
    if version != BACKUP_FORMAT_VERSION:
        raise ValidationError(
            f"{path} has backup format version {version!r}; this Shipyard restores "
            f"version {BACKUP_FORMAT_VERSION} (use the Shipyard release that wrote it)",
            field="SRC",
        )
    return manifest


def _clear(dest: Path, *, remove: bool) -> None:
    for child in dest.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
    if remove:
        dest.rmdir()


def _new_folder(dest: Path) -> bool:
    """Make ``dest`` (True) or accept it empty (False); refuse anything else."""
    existed = dest.exists()
    if existed and (not dest.is_dir() or any(dest.iterdir())):
        raise ValidationError(
            f"{dest} already exists and is not an empty folder; back up into a new folder",
            field="DEST",
        )
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)  # it holds the tokenization key
    os.chmod(dest, 0o700)
    return not existed


def _db_entry(snap: DbSnapshot, path: Path) -> dict[str, object]:
    return {
        "kind": snap.kind,
        "file": snap.file,
        "tool": snap.tool,
        "schema_revision": snap.revision,
        "sha256": _sha256(path),
        "size": path.stat().st_size,
        "audit_head": list(snap.audit_head) if snap.audit_head else None,
    }


def _check_restored(manifest: Mapping[str, Any], restored: DbSnapshot) -> None:
    expected = manifest["counts"]
    differ = [
        f"{table}: {n} in the backup, {restored.counts.get(table)} restored"
        for table, n in sorted(expected.items())
        if restored.counts.get(table) != n
    ]
    head = manifest["database"]["audit_head"]
    got = list(restored.audit_head) if restored.audit_head else None
    if head != got:
        differ.append(f"audit head {head} in the backup, {got} restored")
    if differ:
        raise StorageError(f"the restored database does not match the backup: {'; '.join(differ)}")


def _copy_secret(src: Path, dest: Path) -> dict[str, object]:
    data = src.read_bytes()
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = dest.with_name(f".{dest.name}.restore")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, dest)
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_sha256(path: Path, expected: str, what: str) -> None:
    if not path.is_file() or _sha256(path) != expected:
        raise ArtifactCorruptedError(
            f"backup {what} at {path} is missing or does not match its digest in {MANIFEST}; "
            "the backup is damaged: restore from another one"
        )


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as out:
        json.dump(data, out, indent=1, sort_keys=True)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
