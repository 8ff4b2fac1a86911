"""The few byte-level primitives a content store needs from a storage backend."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

from shipyard.core.errors import NotFoundError, ShipyardError, StorageError, ValidationError
from shipyard.stores.blobs.staging import host_tag

__all__ = [
    "BatchPublisher",
    "ByteBackend",
    "Refresher",
    "check_key",
    "storage_errors",
    "write_atomically",
]


@runtime_checkable
class ByteBackend(Protocol):
    """Keys are ``/``-separated relative paths (``v1/blake3/ab/cdef...``).

    Every method raises only Shipyard errors: ``NotFoundError`` for a missing key,
    ``StorageError`` when the storage itself fails.
    """

    @property
    def url(self) -> str:
        """Where the backend stores its keys, for messages."""
        ...

    def staging_dir(self) -> Path | None:
        """A local directory for temporary files that ``put_file(..., move=True)`` can
        rename into place cheaply, or ``None`` for the system temp directory."""
        ...

    def put_file(self, local_path: Path, key: str, *, move: bool = False) -> None:
        """Make the bytes of ``local_path`` visible at ``key`` atomically: readers see
        the old object, no object, or the whole new one, never a partial one.

        With ``move=True`` the caller hands ``local_path`` over: the backend may
        rename it instead of copying, and removes it either way.
        """
        ...

    def open_read(self, key: str) -> BinaryIO:
        """A binary stream over the object at ``key``; read it sequentially."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def delete(self, key: str) -> None:
        """Remove ``key``; ``NotFoundError`` if it is not there."""
        ...

    def list(self, prefix: str) -> Iterator[str]:
        """Every key under ``prefix`` (a key prefix, typically ``"v1/"``), any order."""
        ...


@runtime_checkable
class BatchPublisher(Protocol):
    """A backend that can publish many staged files at once more cheaply than one by one
    (the local backend: two filesystem syncs for the whole batch instead of two per file)."""

    def put_many(self, items: list[tuple[Path, str]]) -> None:
        """Publish each staged ``(local_path, key)`` as ``put_file(..., move=True)`` would:
        atomically, durably once this returns, the staged files removed."""
        ...


@runtime_checkable
class Refresher(Protocol):
    """A backend that can tell how old an object is and make it young again: a write that
    reuses an existing object refreshes it, so that garbage collection (which spares
    objects younger than its grace period) never removes what that write is about to link."""

    def refresh(self, key: str) -> bool:
        """Set ``key``'s modification time to now; ``False`` if it does not exist."""
        ...

    def age_s(self, key: str) -> float:
        """Seconds since ``key`` was written or last refreshed."""
        ...


def check_key(key: str) -> str:
    """Refuse keys that could escape a backend's root (defence in depth under digests)."""
    parts = key.split("/")
    if (
        not key
        or "\\" in key
        or "\x00" in key
        or any(part in {"", ".", ".."} or part.startswith(".") for part in parts)
    ):
        raise ValidationError(f"invalid storage key {key!r}", field="key")
    return key


def write_atomically(dest: Path, src: BinaryIO | Any, chunk: int = 1 << 20) -> None:
    """Copy the stream ``src`` to a temporary file beside ``dest``, fsync it and rename it
    into place: readers of ``dest`` see the old file, no file, or the whole new one."""
    # the owner in the name (see ``staging``) lets ``shipyard doctor`` tell a crashed
    # writer's leftover from a write in progress
    prefix = f".{dest.name}-{host_tag()}-{os.getpid()}-"
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=dest.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(src, out, chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def storage_errors(action: str, where: str) -> Iterator[None]:
    """Translate third-party and OS exceptions into the Shipyard error tree."""
    try:
        yield
    except ShipyardError:
        raise
    except FileNotFoundError as e:
        raise NotFoundError(f"{where} does not exist") from e
    except Exception as e:
        raise StorageError(f"could not {action} {where}: {type(e).__name__}: {e}") from e
