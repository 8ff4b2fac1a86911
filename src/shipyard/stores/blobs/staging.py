"""Temporary files that name their owner, so a crashed writer's leftovers are recognisable.

A write stages its bytes in a temporary file before publishing them. ``kill -9`` (or a
power cut) leaves that file behind. Its name carries the writer's host and process id,
``<kind>-<host>-<pid>-<random>.tmp``, so that a later process can tell that it is stale:
its writer is gone (same host, the pid is not alive) or it is older than a grace period
(another host, a recycled pid). Nothing else ever reads these files; they are safe to
remove once stale, and later writes never open a name that exists (``mkstemp``).
"""

from __future__ import annotations

import functools
import os
import socket
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "TempFile",
    "host_tag",
    "iter_temp_files",
    "make_temp_file",
    "owner_prefix",
    "sweep_dead_owners",
]

SUFFIX = ".tmp"


@functools.cache
def host_tag() -> str:
    """Eight hex digits naming this host (a checksum of its name: names may hold dashes)."""
    return f"{zlib.crc32(socket.gethostname().encode()):08x}"


def owner_prefix(kind: str) -> str:
    """``<kind>-<host>-<pid>-``: the start of a temporary file name this process owns."""
    return f"{kind}-{host_tag()}-{os.getpid()}-"


def make_temp_file(directory: Path | None, kind: str = "cas", suffix: str = SUFFIX) -> Path:
    """A new, empty temporary file in ``directory`` (the system's when None) named for its
    owner; the caller removes or renames it."""
    fd, name = tempfile.mkstemp(prefix=owner_prefix(kind), suffix=suffix, dir=directory)
    os.close(fd)
    return Path(name)


@dataclass(frozen=True)
class TempFile:
    """A temporary file found in a store, with what its name and stat say about it."""

    path: Path
    size: int
    age_s: float
    pid: int | None  # None: a name without an owner (older Shipyard, another tool)
    same_host: bool

    @property
    def owner_alive(self) -> bool | None:
        """Whether the writing process still runs; None when that cannot be known here."""
        if self.pid is None or not self.same_host:
            return None
        return _pid_alive(self.pid)

    def is_stale(self, grace_s: float) -> bool:
        """Its writer is gone; or, when that cannot be known (another host, no owner in the
        name), it is older than ``grace_s``. A live writer's file is never stale (a recycled
        pid only delays the sweep until that process ends)."""
        alive = self.owner_alive
        return not alive if alive is not None else self.age_s > grace_s


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's live process
        return True
    except OSError:
        return True
    return True


def _owner(name: str) -> tuple[int | None, bool]:
    """(pid, same host) from ``<kind>-<host>-<pid>-<random>``; (None, False) otherwise."""
    stem = name.lstrip(".")
    parts = stem.split("-")
    for i in range(len(parts) - 2):
        host, pid = parts[i], parts[i + 1]
        if len(host) == 8 and all(c in "0123456789abcdef" for c in host) and pid.isdigit():
            return int(pid), host == host_tag()
    return None, False


def iter_temp_files(directory: Path, *, hidden_only: bool = False) -> Iterator[TempFile]:
    """The temporary files directly in ``directory`` (``hidden_only``: only ``.*.tmp`` ones,
    the renamed-into-place leftovers beside objects)."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return
    now = time.time()
    for entry in entries:
        name = entry.name
        if hidden_only and not (name.startswith(".") and name.endswith(SUFFIX)):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue  # its writer finished meanwhile
        if not entry.is_file(follow_symlinks=False):
            continue
        pid, same_host = _owner(name)
        yield TempFile(Path(entry.path), st.st_size, max(0.0, now - st.st_mtime), pid, same_host)


def sweep_dead_owners(directory: Path) -> int:
    """Remove the temporary files whose writer (on this host) is gone; how many."""
    removed = 0
    for temp in iter_temp_files(directory):
        if temp.owner_alive is False:
            try:
                temp.path.unlink()
            except FileNotFoundError:
                continue
            removed += 1
    return removed
