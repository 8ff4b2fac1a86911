"""A backend on the local filesystem with crash-safe writes.

A write goes to a hidden temporary file in the destination directory, is flushed
and fsynced, renamed over the final name with ``os.replace`` (atomic on POSIX and
Windows) and the directory is fsynced. A crash at any point leaves either no
object or the complete one at the final path, plus at worst a hidden ``.*.tmp``
file that ``list`` ignores.
"""

from __future__ import annotations

import ctypes
import errno
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from shipyard.core.errors import NotFoundError
from shipyard.stores.blobs.base import check_key, storage_errors, write_atomically

__all__ = ["LocalBackend"]

CHUNK = 1024 * 1024
STAGING = ".tmp"


def fsync_dir(path: Path) -> None:
    """Persist a directory entry change (rename, create, unlink); a no-op on Windows."""
    if os.name == "nt":  # pragma: no cover - directories cannot be opened there
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path) -> None:
    """``mkdir -p`` that also fsyncs the parent of every directory it creates."""
    missing: list[Path] = []
    current = path
    while not current.is_dir():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            continue  # a concurrent writer made it
        fsync_dir(directory.parent)


def _load_syncfs():  # type: ignore[no-untyped-def]
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.syncfs
    except (OSError, AttributeError):  # not Linux/glibc: fall back to per-file fsync
        return None


_SYNCFS = _load_syncfs()


def syncfs(path: Path) -> bool:
    """Flush every dirty page and directory entry of the filesystem holding ``path``
    (Linux ``syncfs(2)``); ``False`` when the platform has no such call."""
    if _SYNCFS is None:
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        if _SYNCFS(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(path))
    finally:
        os.close(fd)
    return True


class LocalBackend:
    """Keys map to files under ``root``; the root is created on first write."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root).absolute()

    def __repr__(self) -> str:
        return f"LocalBackend({str(self._root)!r})"

    @property
    def root(self) -> Path:
        return self._root

    @property
    def url(self) -> str:
        return str(self._root)

    def path(self, key: str) -> Path:
        """The file that holds ``key``."""
        return self._root.joinpath(*check_key(key).split("/"))

    def staging_dir(self) -> Path:
        staging = self._root / STAGING
        with storage_errors("create", f"staging directory {staging}"):
            make_dirs(staging)
        return staging

    def put_file(self, local_path: Path, key: str, *, move: bool = False) -> None:
        dest = self.path(key)
        with storage_errors("write", f"{dest}"):
            make_dirs(dest.parent)
            try:
                if move and self._move(Path(local_path), dest):
                    return
                self._copy(Path(local_path), dest)
            finally:
                if move:
                    Path(local_path).unlink(missing_ok=True)
            fsync_dir(dest.parent)

    def put_many(self, items: list[tuple[Path, str]]) -> None:
        """Publish staged files (in ``staging_dir()``) with two syncs for the whole batch:
        one makes every file's bytes durable before any rename, one makes the renames
        durable. Atomicity is the same as ``put_file``: each key shows all or nothing."""
        staging = self.staging_dir()
        if not items:
            return
        with storage_errors("write", f"{self._root}"):
            if any(p.parent != staging for p, _ in items) or not syncfs(staging):
                for path, key in items:
                    self.put_file(path, key, move=True)
                return
            made: set[Path] = set()
            for path, key in items:
                dest = self.path(key)
                if dest.parent not in made:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    made.add(dest.parent)
                os.replace(path, dest)
            syncfs(self._root)

    @staticmethod
    def _move(src: Path, dest: Path) -> bool:
        """Rename an fsynced ``src`` onto ``dest``; ``False`` if on another filesystem."""
        with open(src, "rb") as f:
            os.fsync(f.fileno())
        try:
            os.replace(src, dest)
        except OSError as e:
            if e.errno == errno.EXDEV:
                return False
            raise
        fsync_dir(dest.parent)
        return True

    @staticmethod
    def _copy(src: Path, dest: Path) -> None:
        with open(src, "rb") as inp:
            write_atomically(dest, inp, CHUNK)

    def open_read(self, key: str) -> BinaryIO:
        path = self.path(key)
        with storage_errors("open", f"{path}"):
            if path.is_dir():
                raise NotFoundError(f"{path} does not exist")
            return open(path, "rb")

    def exists(self, key: str) -> bool:
        path = self.path(key)
        with storage_errors("check", f"{path}"):
            return path.is_file()

    def size(self, key: str) -> int:
        path = self.path(key)
        with storage_errors("stat", f"{path}"):
            if not path.is_file():
                raise NotFoundError(f"{path} does not exist")
            return path.stat().st_size

    def refresh(self, key: str) -> bool:
        """Bump the object's change time (a chmod to its own mode), not its modification
        time: a hard-linked object shares its inode, and its mtime, with a workspace file
        whose stamp must not move."""
        path = self.path(key)
        with storage_errors("refresh", f"{path}"):
            try:
                st = path.stat()
                os.chmod(path, st.st_mode & 0o7777)
            except FileNotFoundError:
                return False
            except PermissionError:  # another user's object: exists, but its age stays
                return path.is_file()
            return path.is_file()

    def age_s(self, key: str) -> float:
        """Seconds since the object was published or last refreshed (its change time)."""
        path = self.path(key)
        with storage_errors("stat", f"{path}"):
            return max(0.0, time.time() - path.stat().st_ctime)

    def delete(self, key: str) -> None:
        path = self.path(key)
        with storage_errors("delete", f"{path}"):
            path.unlink()
            fsync_dir(path.parent)

    def list(self, prefix: str) -> Iterator[str]:
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.path(base) if base else self._root
        with storage_errors("list", f"{start}"):
            for dirpath, dirnames, filenames in os.walk(start):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                rel = Path(dirpath).relative_to(self._root).as_posix()
                for name in filenames:
                    if name.startswith("."):
                        continue
                    key = name if rel == "." else f"{rel}/{name}"
                    if key.startswith(prefix):
                        yield key
