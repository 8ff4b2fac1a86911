"""``ContentStore``: immutable blobs addressed by the hash of their bytes.

Writes stream the input in 1 MiB chunks into a local temporary file while hashing
it, then hand the finished file to the backend, which publishes it atomically at
``v1/<algo>/<hex[:2]>/<hex[2:]>`` (skipped when that object already exists). Reads
stream through a ``VerifyingReader``, so corrupted bytes are always detected by
the time a reader reaches the end of an object.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, Protocol

from shipyard.core.errors import (
    ArtifactCorruptedError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from shipyard.stores.blobs.base import (
    BatchPublisher,
    ByteBackend,
    Refresher,
    storage_errors,
    write_atomically,
)
from shipyard.stores.blobs.digests import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    LAYOUT_VERSION,
    digest_bytes,
    digest_file,
    new_hasher,
    object_key,
    parse_digest,
)
from shipyard.stores.blobs.reader import VerifyingReader
from shipyard.stores.blobs.staging import make_temp_file, owner_prefix, sweep_dead_owners

__all__ = ["CAS_VERSION", "FORMAT_KEY", "ContentStore"]

CHUNK = 1024 * 1024
KERNEL_COPY_MIN = 4 * CHUNK  # files this large are staged by a kernel copy, then hashed
CAS_VERSION = 1
FORMAT_KEY = "FORMAT.json"


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class ContentStore:
    """A content-addressed object store over any ``ByteBackend``. Thread-safe."""

    def __init__(self, backend: ByteBackend, *, algorithm: str = DEFAULT_ALGORITHM) -> None:
        new_hasher(algorithm)  # ValidationError for an unknown algorithm
        self._backend = backend
        self._algorithm = algorithm
        self._format_lock = threading.Lock()
        self._format_checked = False

    def __repr__(self) -> str:
        return f"ContentStore({self._backend!r}, algorithm={self._algorithm!r})"

    @property
    def backend(self) -> ByteBackend:
        return self._backend

    @property
    def algorithm(self) -> str:
        """The algorithm of new writes; digests of every algorithm in ``ALGORITHMS`` read."""
        return self._algorithm

    @property
    def url(self) -> str:
        return self._backend.url

    # ------------------------------------------------------------------ writes
    def put_bytes(self, data: bytes | bytearray | memoryview) -> str:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ValidationError(f"put_bytes needs bytes, got {type(data).__name__}", field="data")
        return self.put_stream(io.BytesIO(data))

    def put_file(self, path: str | os.PathLike[str]) -> str:
        self._ensure_format()
        return self._publish(*self._stage_path(path))

    def put_files(
        self, paths: Sequence[str | os.PathLike[str]], *, workers: int = 4, link: bool = False
    ) -> list[str]:
        """Store many local files; returns their digests in order.

        Each file is staged (copied, then hashed), so the digest is always that of the bytes
        stored. Backends that publish batches (``BatchPublisher``) make the whole batch
        durable with a few syncs instead of two per file.

        ``link=True`` (local stores only, like DVC's ``cache.type = hardlink``): large files
        are hard-linked instead of copied, which is instant, and made read-only, since the
        store and the workspace then share their bytes. Editing such a file in place (as
        root, or after chmod) would alter the stored object; reads detect it and refuse.
        """
        self._ensure_format()
        # Measured on a 2-vCPU VM: threads help remote stores (latency-bound) but slow a
        # local batch down (GIL and directory-lock contention), so local staging runs inline.
        if not isinstance(self._backend, BatchPublisher):
            with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                return list(pool.map(self.put_file, paths))
        staged: list[tuple[Path, str]] = []
        try:
            stage = self._link_path if link else self._stage_path
            staged.extend(stage(p) for p in paths)
            todo: list[tuple[Path, str]] = []
            seen: set[str] = set()
            for tmp, digest in staged:
                key = object_key(digest)
                if digest in seen or self._reuse(key):
                    tmp.unlink(missing_ok=True)
                else:
                    seen.add(digest)
                    todo.append((tmp, key))
                    if link:  # a linked inode is shared with the workspace: protect it
                        os.chmod(tmp, 0o444)
            self._backend.put_many(todo)
        finally:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
        return [digest for _, digest in staged]

    def _stage_path(self, path: str | os.PathLike[str]) -> tuple[Path, str]:
        """Stage a local file. Large files are copied by the kernel (copy_file_range), then
        the copy is hashed: measured 0.9 s for 1 GiB against 1.6-2.7 s for a Python
        read-hash-write loop. Either way the digest is that of the staged bytes."""
        with storage_errors("open", f"local file {os.fspath(path)}"):
            size = os.stat(path).st_size
        if size < KERNEL_COPY_MIN:
            with storage_errors("open", f"local file {os.fspath(path)}"):
                f = open(path, "rb")  # noqa: SIM115 - closed below
            with f:
                return self._stage(f)
        tmp = self._temp_file()
        try:
            with storage_errors("copy", f"local file {os.fspath(path)}"):
                shutil.copyfile(path, tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp, self._hash_staged(tmp, path)

    def _hash_staged(self, tmp: Path, source: str | os.PathLike[str]) -> str:
        """The digest of a staged file (removed again if it cannot be read)."""
        try:
            with storage_errors("read", f"local file {os.fspath(source)}"):
                return digest_file(self._algorithm, tmp, CHUNK)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _link_path(self, path: str | os.PathLike[str]) -> tuple[Path, str]:
        """Stage a large file as a read-only hard link (a copy when linking is impossible:
        another filesystem, a small file, a filesystem without links)."""
        with storage_errors("open", f"local file {os.fspath(path)}"):
            size = os.stat(path).st_size
        staging = self._backend.staging_dir()
        if size < KERNEL_COPY_MIN or staging is None:
            return self._stage_path(path)
        tmp = staging / f"{owner_prefix('link')}{uuid.uuid4().hex}.tmp"
        try:
            os.link(path, tmp)
        except OSError:
            return self._stage_path(path)
        return tmp, self._hash_staged(tmp, path)

    def _temp_file(self) -> Path:
        staging = self._backend.staging_dir()
        with storage_errors("create a temporary file in", f"{staging or tempfile.gettempdir()}"):
            return make_temp_file(staging)

    def put_stream(self, fileobj: _Readable) -> str:
        """Store everything ``fileobj`` yields until EOF; returns its digest.

        If ``fileobj`` raises, nothing is stored and the exception propagates.
        """
        self._ensure_format()
        return self._publish(*self._stage(fileobj))

    def _publish(self, staged: Path, digest: str) -> str:
        """Move a staged file into place unless the object exists already."""
        try:
            key = object_key(digest)
            if not self._reuse(key):
                self._backend.put_file(staged, key, move=True)
        finally:
            staged.unlink(missing_ok=True)
        return digest

    def _stage(self, fileobj: _Readable) -> tuple[Path, str]:
        """Copy ``fileobj`` to a local temporary file, hashing on the way."""
        path = self._temp_file()
        hasher = new_hasher(self._algorithm)
        out = open(path, "wb")  # noqa: SIM115 - closed below
        try:
            while True:
                chunk = fileobj.read(CHUNK)  # the caller's exceptions pass through as they are
                if not chunk:
                    break
                if not isinstance(chunk, bytes | bytearray | memoryview):
                    raise ValidationError(
                        f"put_stream needs a binary file object; read() returned "
                        f"{type(chunk).__name__}",
                        field="fileobj",
                    )
                hasher.update(chunk)
                with storage_errors("write", f"temporary file {path}"):
                    out.write(chunk)
            with storage_errors("write", f"temporary file {path}"):
                out.close()
        except BaseException:
            with contextlib.suppress(OSError):
                out.close()
            path.unlink(missing_ok=True)
            raise
        return path, f"{self._algorithm}:{hasher.hexdigest()}"

    def _reuse(self, key: str) -> bool:
        """Whether ``key`` exists already; if so it is refreshed, so that garbage collection
        (sparing objects younger than its grace period) leaves it to the write linking it."""
        if isinstance(self._backend, Refresher):
            return self._backend.refresh(key)
        return self._backend.exists(key)

    def keep(self, digest: str) -> bool:
        """``exists`` for a write about to link an existing object: refreshes it too."""
        return self._reuse(object_key(digest))

    def _ensure_format(self) -> None:
        """Write ``FORMAT.json`` on the first write, or check the one that is there; remove
        the temporary files that crashed writers of this host left behind."""
        if self._format_checked:
            return
        with self._format_lock:
            if self._format_checked:
                return
            staging = self._backend.staging_dir()
            if staging is not None:
                with storage_errors("clean", f"staging directory {staging}"):
                    sweep_dead_owners(staging)
            if self._backend.exists(FORMAT_KEY):
                with (
                    self._backend.open_read(FORMAT_KEY) as f,
                    storage_errors("read", f"{self.url}/{FORMAT_KEY}"),
                ):
                    raw = f.read(64 * 1024)
                try:
                    version = json.loads(raw)["cas_version"]
                except (ValueError, KeyError, TypeError) as e:
                    raise StorageError(
                        f"{self.url}/{FORMAT_KEY} is not a valid content store marker"
                    ) from e
                if version != CAS_VERSION:
                    raise StorageError(
                        f"the content store at {self.url} has format version {version!r}; "
                        f"this Shipyard reads and writes version {CAS_VERSION}"
                    )
            else:
                marker = json.dumps({"cas_version": CAS_VERSION}).encode() + b"\n"
                staged, _ = self._stage(io.BytesIO(marker))
                try:
                    self._backend.put_file(staged, FORMAT_KEY, move=True)
                finally:
                    staged.unlink(missing_ok=True)
            self._format_checked = True

    # ------------------------------------------------------------------- reads
    def exists(self, digest: str) -> bool:
        return self._backend.exists(object_key(digest))

    def size(self, digest: str) -> int:
        key = object_key(digest)
        try:
            return self._backend.size(key)
        except NotFoundError as e:
            raise self._not_found(digest) from e

    def open(self, digest: str) -> BinaryIO:
        """A buffered, verifying binary reader; use it as a context manager.

        Reading it to the end raises ``ArtifactCorruptedError`` if the bytes do not
        match ``digest``.
        """
        key = object_key(digest)
        try:
            raw = self._backend.open_read(key)
        except NotFoundError as e:
            raise self._not_found(digest) from e
        return io.BufferedReader(VerifyingReader(raw, digest, self.url), buffer_size=CHUNK)

    def read_blob(self, container: str, offset: int, size: int, digest: str) -> bytes:
        """``size`` bytes at ``offset`` of the object ``container`` (a pack), verified
        against the blob's own ``digest``: a corrupted blob raises, never returns."""
        key = object_key(container)
        algorithm, _ = parse_digest(digest)
        try:
            raw = self._backend.open_read(key)
        except NotFoundError as e:
            raise self._not_found(container) from e
        with raw, storage_errors("read", f"{self.url}/{key}"):
            raw.seek(offset)
            data = raw.read(size)
        if len(data) != size or digest_bytes(algorithm, data) != digest:
            raise ArtifactCorruptedError(
                f"blob {digest} at offset {offset} of pack {container} in {self.url} does not "
                "match its content address: the pack is corrupted"
            )
        return data

    def get_bytes(self, digest: str) -> bytes:
        """The whole (verified) object in memory: for small objects only."""
        with self.open(digest) as f:
            return f.read()

    def copy_to(self, digest: str, dest_path: str | os.PathLike[str]) -> None:
        """Stream the object to ``dest_path``; the file appears only once verified."""
        with self.open(digest) as src:
            _write_atomically(Path(dest_path), src)  # the reader raises at EOF if corrupted

    def copy_blob_to(
        self,
        container: str,
        offset: int,
        size: int,
        digest: str,
        dest_path: str | os.PathLike[str],
    ) -> None:
        """``read_blob`` to ``dest_path``: the file appears only once verified."""
        data = self.read_blob(container, offset, size, digest)
        _write_atomically(Path(dest_path), io.BytesIO(data))

    def verify(self, digest: str) -> None:
        """Read the whole object; ``ArtifactCorruptedError`` if it does not match."""
        with self.open(digest) as f:
            while f.read(CHUNK):
                pass

    # -------------------------------------------------------------- management
    def delete(self, digest: str) -> None:
        """Remove an object (garbage collection, or before re-uploading a corrupted one)."""
        key = object_key(digest)
        try:
            self._backend.delete(key)
        except NotFoundError as e:
            raise self._not_found(digest) from e

    def iter_digests(self) -> Iterator[str]:
        """Every digest in the store, in no particular order."""
        for key in self._backend.list(f"{LAYOUT_VERSION}/"):
            parts = key.split("/")
            if len(parts) == 4 and parts[1] in ALGORITHMS:
                candidate = f"{parts[1]}:{parts[2]}{parts[3]}"
                try:
                    parse_digest(candidate)
                except ValidationError:
                    continue  # a stray file that is not an object
                yield candidate

    def _not_found(self, digest: str) -> NotFoundError:
        return NotFoundError(f"no object {digest} in the content store at {self.url}")


def _write_atomically(dest: Path, src: _Readable) -> None:
    with storage_errors("create", f"directory {dest.parent}"):
        dest.parent.mkdir(parents=True, exist_ok=True)
    with storage_errors("write", f"{dest}"):
        write_atomically(dest, src, CHUNK)
