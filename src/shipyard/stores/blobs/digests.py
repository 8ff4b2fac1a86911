"""Content addresses: ``"<algorithm>:<64 lowercase hex>"`` and where they live in a store.

The algorithm is part of the address, so a store can hold (and readers can check)
objects written with any supported algorithm; new writes use ``DEFAULT_ALGORITHM``.
``bench/hashing.py`` measured blake3 at ~4.6x sha256 on large streams (single thread,
~9 GB/s vs ~2 GB/s) and ~1.2x on 10 KiB objects, hence the default.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Protocol

import blake3

from shipyard.core.errors import ValidationError

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "Hasher",
    "digest_bytes",
    "digest_file",
    "new_hasher",
    "object_key",
    "parse_digest",
]

ALGORITHMS = ("blake3", "sha256")
DEFAULT_ALGORITHM = "blake3"
LAYOUT_VERSION = "v1"

_DIGEST = re.compile(r"(blake3|sha256):([0-9a-f]{64})")


class Hasher(Protocol):
    """What hashlib's and blake3's hashers have in common."""

    def update(self, data: bytes | bytearray | memoryview, /) -> object: ...

    def hexdigest(self) -> str: ...


def new_hasher(algorithm: str) -> Hasher:
    """A fresh incremental hasher; ``ValidationError`` for an unknown algorithm."""
    if algorithm == "blake3":
        # One thread: extra threads speed up hashing of in-memory 1 MiB chunks, but
        # not once a file is read alongside (bench/hashing.py --file), and end to end
        # put_file is bound by disk writes either way.
        return blake3.blake3(max_threads=1)
    if algorithm == "sha256":
        return hashlib.sha256()
    raise ValidationError(
        f"unknown hash algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}",
        field="algorithm",
    )


def digest_bytes(algorithm: str, data: bytes | bytearray | memoryview) -> str:
    """The content address of ``data``: ``"<algorithm>:<hex>"``."""
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return f"{algorithm}:{hasher.hexdigest()}"


def digest_file(algorithm: str, path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """The content address of a local file, read in ``chunk``-sized pieces."""
    hasher = new_hasher(algorithm)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            hasher.update(block)
    return f"{algorithm}:{hasher.hexdigest()}"


def parse_digest(digest: object) -> tuple[str, str]:
    """Split a digest into ``(algorithm, hex)``, refusing anything not exactly well-formed.

    Strict on purpose: digests become storage keys, so a forged one such as
    ``"blake3:../../etc/passwd"`` must never reach a backend.
    """
    if isinstance(digest, str):
        match = _DIGEST.fullmatch(digest)
        if match is not None:
            return match.group(1), match.group(2)
    shown = repr(digest) if len(repr(digest)) <= 120 else repr(digest)[:117] + "..."
    raise ValidationError(
        f"invalid content digest {shown}: expected '<algorithm>:<64 lowercase hex>' "
        f"with algorithm one of {', '.join(ALGORITHMS)}",
        field="digest",
    )


def object_key(digest: str) -> str:
    """The backend key of a (validated) digest: ``v1/<algo>/<hex[:2]>/<hex[2:]>``."""
    algorithm, hexpart = parse_digest(digest)
    return f"{LAYOUT_VERSION}/{algorithm}/{hexpart[:2]}/{hexpart[2:]}"
