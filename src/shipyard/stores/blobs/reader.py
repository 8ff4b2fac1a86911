"""A streaming reader that checks the bytes against their content address."""

from __future__ import annotations

import io
from typing import BinaryIO

from shipyard.core.errors import ArtifactCorruptedError
from shipyard.stores.blobs.base import storage_errors
from shipyard.stores.blobs.digests import new_hasher, parse_digest

__all__ = ["VerifyingReader", "corrupted"]

CHUNK = 1024 * 1024


def corrupted(digest: str, where: str, actual: str) -> ArtifactCorruptedError:
    return ArtifactCorruptedError(
        f"object {digest} in {where} is corrupted: its stored bytes hash to {actual}. "
        "Restore the object from a backup (`shipyard restore` into a new project, or copy "
        "it from the backup's objects/ folder), or delete it from the store and upload the "
        "original content again.",
        field="digest",
    )


class VerifyingReader(io.RawIOBase):
    """Hashes everything it returns; at end of stream, raises ``ArtifactCorruptedError``
    (and keeps raising on every further read) if the hash is not ``digest``.

    Only a stream read to its end is verified. Not seekable.
    """

    def __init__(self, raw: BinaryIO, digest: str, where: str) -> None:
        super().__init__()
        algorithm, self._expected = parse_digest(digest)
        self._algorithm = algorithm
        self._hasher = new_hasher(algorithm)
        self._raw = raw
        self._digest = digest
        self._where = where
        self._error: ArtifactCorruptedError | None = None
        self._verified = False
        self.bytes_read = 0

    @property
    def digest(self) -> str:
        return self._digest

    @property
    def verified(self) -> bool:
        """True once the stream was read to its end and matched."""
        return self._verified

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._error is not None:
            raise self._error
        view = memoryview(buffer).cast("B")
        if not len(view):
            return 0
        with storage_errors("read", f"object {self._digest} in {self._where}"):
            readinto = getattr(self._raw, "readinto", None)
            if readinto is not None:
                n = readinto(view) or 0
            else:  # pragma: no cover - every backend stream we use has readinto
                data = self._raw.read(len(view))
                n = len(data)
                view[:n] = data
        if n:
            self._hasher.update(view[:n])
            self.bytes_read += n
            return n
        self._finish()
        return 0

    def readall(self) -> bytes:
        parts = []
        while chunk := self.read(CHUNK):
            parts.append(chunk)
        return b"".join(parts)

    def _finish(self) -> None:
        if self._verified:
            return
        actual = self._hasher.hexdigest()
        if actual != self._expected:
            self._error = corrupted(self._digest, self._where, f"{self._algorithm}:{actual}")
            raise self._error
        self._verified = True

    def close(self) -> None:
        if not self.closed:
            try:
                self._raw.close()
            finally:
                super().close()
