"""Contract suite of ``ContentStore``: every test runs on each backend.

``local`` (a tmp_path), ``s3`` (a real moto server through s3fs) and ``memory``
(fsspec's in-memory filesystem: the generic, non-S3 ``FsspecBackend`` path).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import threading
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blake3
import pytest

from shipyard.core.errors import (
    ArtifactCorruptedError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from shipyard.stores.blobs import (
    ContentStore,
    FsspecBackend,
    LocalBackend,
    object_key,
    open_content_store,
)
from shipyard.stores.blobs.cas import KERNEL_COPY_MIN

MIB = 1024 * 1024
DIGEST_RE = re.compile(r"blake3:[0-9a-f]{64}")


class Backend:
    """How a test reaches one backend: the store's URL and options, plus helpers."""

    def __init__(self, kind: str, url: str, options: dict[str, Any] | None) -> None:
        self.kind = kind
        self.url = url
        self.options = options

    def open(self, **kwargs: Any) -> ContentStore:
        return open_content_store(self.url, self.options, **kwargs)


def _backend(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Backend:
    # Staging files of fsspec stores go to the system temp dir: make it observable.
    sys_tmp = tmp_path / "sys-tmp"
    sys_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(sys_tmp))
    if kind == "local":
        return Backend("local", str(tmp_path / "objects"), None)
    if kind == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        endpoint = request.getfixturevalue("moto_endpoint")
        return Backend(
            "s3", f"s3://{bucket}/objects", {"client_kwargs": {"endpoint_url": endpoint}}
        )
    return Backend("memory", f"memory://shipyard-test-{uuid.uuid4().hex}/objects", None)


S3 = pytest.param("s3", marks=pytest.mark.s3)


@pytest.fixture(params=["local", S3, "memory"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Backend:
    return _backend(request.param, request, tmp_path, monkeypatch)


@pytest.fixture(params=["local", S3])
def durable_backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Backend:
    """Backends that outlive the writing process (not the in-memory filesystem)."""
    return _backend(request.param, request, tmp_path, monkeypatch)


@pytest.fixture
def store(backend: Backend) -> ContentStore:
    return backend.open()


def b3(data: bytes) -> str:
    return "blake3:" + blake3.blake3(data).hexdigest()


def object_keys(store: ContentStore) -> list[str]:
    return sorted(store.backend.list("v1/"))


def leftovers(store: ContentStore) -> list[str]:
    """Temporary files the store left behind (staging area and system temp dir)."""
    staging = store.backend.staging_dir() or Path(tempfile.gettempdir())
    return sorted(p.name for p in staging.iterdir())


def corrupt(store: ContentStore, digest: str) -> None:
    """Change the stored bytes of ``digest`` behind the store's back."""
    key = object_key(digest)
    backend = store.backend
    if isinstance(backend, LocalBackend):  # bit rot in place, as a disk would do it
        path = backend.path(key)
        data = bytearray(path.read_bytes())
        if data:
            data[len(data) // 2] ^= 0x01
        else:
            data = bytearray(b"!")
        path.write_bytes(bytes(data))
        return
    with backend.open_read(key) as f:
        data = bytearray(f.read())
    if data:
        data[len(data) // 2] ^= 0x01
    else:
        data = bytearray(b"!")
    with tempfile.NamedTemporaryFile(delete=False) as tmp:
        tmp.write(bytes(data))
    backend.put_file(Path(tmp.name), key, move=True)


class GeneratedStream:
    """``size`` random bytes produced on demand; records how it was read."""

    def __init__(self, size: int, *, fail_at: int | None = None) -> None:
        self.remaining = size
        self.fail_at = fail_at
        self.produced = 0
        self.largest_request = 0
        self.reads = 0
        self.hasher = blake3.blake3()

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        self.largest_request = max(self.largest_request, size if size >= 0 else 1 << 62)
        if self.fail_at is not None and self.produced >= self.fail_at:
            raise RuntimeError("stream broke halfway")
        n = min(self.remaining, size if size >= 0 else self.remaining)
        data = os.urandom(n)
        self.remaining -= n
        self.produced += n
        self.hasher.update(data)
        return data

    @property
    def digest(self) -> str:
        return "blake3:" + self.hasher.hexdigest()


# ---------------------------------------------------------------- round trip
def test_round_trip(store: ContentStore, tmp_path: Path) -> None:
    data = b"hello, shipyard\n" * 1000
    digest = store.put_bytes(data)
    assert DIGEST_RE.fullmatch(digest)
    assert digest == b3(data)
    assert store.exists(digest)
    assert store.size(digest) == len(data)
    assert store.get_bytes(digest) == data
    store.verify(digest)

    with store.open(digest) as f:
        assert f.read(5) == b"hello"
        assert f.readline() == b", shipyard\n"
        rest = f.read()
    assert b"hello" + b", shipyard\n" + rest == data
    assert f.closed

    dest = tmp_path / "out" / "sub" / "file.bin"
    store.copy_to(digest, dest)
    assert dest.read_bytes() == data

    src = tmp_path / "src.bin"
    src.write_bytes(data)
    assert store.put_file(src) == digest
    assert store.put_stream(io.BytesIO(data)) == digest
    assert list(store.iter_digests()) == [digest]


def test_layout_and_format_marker(store: ContentStore) -> None:
    assert list(store.backend.list("")) == []  # nothing written before the first put
    digest = store.put_bytes(b"layout")
    hexpart = digest.split(":")[1]
    assert object_keys(store) == [f"v1/blake3/{hexpart[:2]}/{hexpart[2:]}"]
    with store.backend.open_read("FORMAT.json") as f:
        assert json.loads(f.read()) == {"cas_version": 1}


def test_format_marker_from_the_future_is_refused(backend: Backend) -> None:
    store = backend.open()
    with tempfile.NamedTemporaryFile(delete=False) as tmp:
        tmp.write(b'{"cas_version": 2}')
    store.backend.put_file(Path(tmp.name), "FORMAT.json", move=True)
    with pytest.raises(StorageError, match="format version 2"):
        store.put_bytes(b"x")


def test_sha256_objects_are_readable_by_a_blake3_store(backend: Backend) -> None:
    writer = backend.open(algorithm="sha256")
    digest = writer.put_bytes(b"older algorithm")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    reader = backend.open()
    assert reader.algorithm == "blake3"
    assert reader.get_bytes(digest) == b"older algorithm"
    assert reader.put_bytes(b"older algorithm") == b3(b"older algorithm")
    assert sorted(k.split("/")[1] for k in object_keys(reader)) == ["blake3", "sha256"]


# --------------------------------------------------------------------- dedup
def test_same_content_is_stored_once(
    store: ContentStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(3 * MIB + 17)
    first = store.put_bytes(data)
    uploads: list[str] = []
    real_put = store.backend.put_file

    def counting_put(local_path: Path, key: str, *, move: bool = False) -> None:
        uploads.append(key)
        real_put(local_path, key, move=move)

    monkeypatch.setattr(store.backend, "put_file", counting_put)
    src = tmp_path / "again.bin"
    src.write_bytes(data)
    assert store.put_bytes(data) == first
    assert store.put_file(src) == first
    assert store.put_stream(io.BytesIO(data)) == first
    assert uploads == []  # existing object: no write at all
    assert len(object_keys(store)) == 1
    assert leftovers(store) == []

    other = store.put_bytes(data + b"!")
    assert other != first
    assert uploads == [object_key(other)]
    assert len(object_keys(store)) == 2


def test_empty_object(store: ContentStore, tmp_path: Path) -> None:
    digest = store.put_bytes(b"")
    assert digest == b3(b"")
    assert store.size(digest) == 0
    assert store.get_bytes(digest) == b""
    store.verify(digest)
    store.copy_to(digest, tmp_path / "empty")
    assert (tmp_path / "empty").read_bytes() == b""
    assert store.put_stream(io.BytesIO()) == digest


# ------------------------------------------------------------ large objects
def test_large_object_is_streamed(store: ContentStore, backend: Backend, tmp_path: Path) -> None:
    size = 64 * MIB
    stream = GeneratedStream(size)
    tracemalloc.start()
    try:
        digest = store.put_stream(stream)
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        store.verify(digest)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert digest == stream.digest
    assert stream.largest_request <= MIB  # read in chunks, never read() to the end
    assert stream.reads >= size // MIB
    assert store.size(digest) == size
    # Peak Python memory, whatever the object size: the store itself holds ~1 MiB
    # at a time; on S3, s3fs adds 2 upload parts of 8 MiB in flight and an 8 MiB
    # read-ahead block, ~30 MiB each way with botocore's and aiohttp's copies
    # (measured the same for 64 and 160 MiB objects).
    if backend.kind == "local":
        assert put_peak < 4 * MIB, put_peak
        assert read_peak < 4 * MIB, read_peak
    elif backend.kind == "s3":
        assert put_peak < 40 * MIB, put_peak
        assert read_peak < 40 * MIB, read_peak
    # (the in-memory filesystem keeps whole objects in RAM by nature)

    dest = tmp_path / "big.bin"
    store.copy_to(digest, dest)
    assert dest.stat().st_size == size
    hasher = blake3.blake3()
    with store.open(digest) as f:
        while chunk := f.read(MIB):
            hasher.update(chunk)
    assert "blake3:" + hasher.hexdigest() == digest
    assert leftovers(store) == []


# --------------------------------------------------------------- corruption
@pytest.mark.parametrize("size", [0, 10, 2 * MIB + 3])
def test_corruption_is_detected(store: ContentStore, tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    digest = store.put_bytes(data)
    corrupt(store, digest)

    def check(excinfo: pytest.ExceptionInfo[ArtifactCorruptedError]) -> None:
        message = str(excinfo.value)
        assert digest in message
        assert "backup" in message and "upload" in message
        assert excinfo.value.code == "ARTIFACT_CORRUPTED"

    with pytest.raises(ArtifactCorruptedError) as excinfo:
        store.get_bytes(digest)
    check(excinfo)
    with pytest.raises(ArtifactCorruptedError) as excinfo:
        store.verify(digest)
    check(excinfo)
    with store.open(digest) as f, pytest.raises(ArtifactCorruptedError):
        while f.read(64 * 1024):
            pass

    fresh = tmp_path / "restore" / "fresh.bin"
    with pytest.raises(ArtifactCorruptedError):
        store.copy_to(digest, fresh)
    assert not fresh.exists()
    assert list(fresh.parent.iterdir()) == []  # no temp file left either

    existing = tmp_path / "restore" / "existing.bin"
    existing.write_bytes(b"previous good content")
    with pytest.raises(ArtifactCorruptedError):
        store.copy_to(digest, existing)
    assert existing.read_bytes() == b"previous good content"
    assert sorted(p.name for p in existing.parent.iterdir()) == ["existing.bin"]

    # A put of the original content does not repair it (dedup sees the key) ...
    store.put_bytes(data)
    with pytest.raises(ArtifactCorruptedError):
        store.verify(digest)
    # ... deleting the bad object and uploading again does.
    store.delete(digest)
    assert store.put_bytes(data) == digest
    assert store.get_bytes(digest) == data


def test_partial_read_is_not_judged(store: ContentStore) -> None:
    digest = store.put_bytes(b"abcdef" * 100)
    corrupt(store, digest)
    with store.open(digest) as f:
        assert len(f.read(10)) == 10  # no verdict before the end of the stream


# ---------------------------------------------------------- invalid / unknown
BAD_DIGESTS: list[object] = [
    "../../etc/passwd",
    "blake3:../../etc/passwd",
    "blake3:" + "../" * 21 + "a",
    "md5:" + "a" * 32,
    "sha1:" + "a" * 40,
    "sha512:" + "a" * 64,
    "blake3:" + "a" * 63,
    "blake3:" + "a" * 65,
    "blake3:" + "A" * 64,
    "BLAKE3:" + "a" * 64,
    "a" * 64,
    "blake3:" + "g" * 64,
    "blake3:" + "a" * 64 + "\n",
    " blake3:" + "a" * 64,
    "blake3/" + "a" * 64,
    "",
    None,
    b"blake3:" + b"a" * 64,
]


@pytest.mark.parametrize("bad", BAD_DIGESTS, ids=repr)
def test_invalid_digest_is_refused(store: ContentStore, tmp_path: Path, bad: Any) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.exists(bad),
        lambda: store.size(bad),
        lambda: store.open(bad),
        lambda: store.get_bytes(bad),
        lambda: store.copy_to(bad, tmp_path / "dest"),
        lambda: store.verify(bad),
        lambda: store.delete(bad),
    ]
    for call in calls:
        with pytest.raises(ValidationError) as excinfo:
            call()
        assert repr(bad)[:40] in str(excinfo.value)
        assert excinfo.value.field == "digest"
    assert not (tmp_path / "dest").exists()


@pytest.mark.parametrize("algorithm", ["blake3", "sha256"])
def test_unknown_digest_is_not_found(store: ContentStore, tmp_path: Path, algorithm: str) -> None:
    store.put_bytes(b"something else")
    missing = f"{algorithm}:" + "0" * 64
    assert not store.exists(missing)
    for call in [
        lambda: store.size(missing),
        lambda: store.open(missing),
        lambda: store.get_bytes(missing),
        lambda: store.copy_to(missing, tmp_path / "dest"),
        lambda: store.verify(missing),
        lambda: store.delete(missing),
    ]:
        with pytest.raises(NotFoundError, match=missing):
            call()
    assert not (tmp_path / "dest").exists()


def test_non_binary_input_is_refused(store: ContentStore) -> None:
    with pytest.raises(ValidationError):
        store.put_bytes("text")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="binary"):
        store.put_stream(io.StringIO("text"))
    assert object_keys(store) == []
    assert leftovers(store) == []


# --------------------------------------------------------------- atomicity
def test_stream_failing_halfway_leaves_nothing(store: ContentStore) -> None:
    store.put_bytes(b"unrelated")
    stream = GeneratedStream(10 * MIB, fail_at=3 * MIB)
    with pytest.raises(RuntimeError, match="halfway"):
        store.put_stream(stream)
    assert object_keys(store) == [object_key(b3(b"unrelated"))]
    assert leftovers(store) == []


def test_backend_failing_mid_upload_leaves_nothing(
    store: ContentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = store.backend
    with monkeypatch.context() as patch:
        if isinstance(backend, LocalBackend):
            # Fail between writing the bytes and publishing them.
            def failing_fsync(fd: int) -> None:
                raise OSError(5, "simulated I/O error")

            patch.setattr(os, "fsync", failing_fsync)
        else:
            assert isinstance(backend, FsspecBackend)

            def failing_put(lpath: str, rpath: str, **kwargs: Any) -> None:
                raise ConnectionError("simulated network failure")

            patch.setattr(backend.fs, "put_file", failing_put)
        with pytest.raises(StorageError, match="simulated"):
            store.put_bytes(os.urandom(2 * MIB))
    assert object_keys(store) == []
    assert leftovers(store) == []


CRASHING_WRITER = textwrap.dedent(
    """
    import json, os, sys
    from shipyard.stores.blobs import open_content_store

    store = open_content_store(sys.argv[1], json.loads(sys.argv[2]))
    store.put_bytes(b"survivor")

    class Dying:
        reads = 0
        def read(self, size=-1):
            self.reads += 1
            if self.reads > 3:
                os._exit(17)  # no cleanup, no finally: like a kill -9
            return os.urandom(size)

    if sys.argv[3] == "stream":
        store.put_stream(Dying())
    else:  # die while the backend publishes: after its first write to storage
        backend = store.backend
        if hasattr(backend, "fs"):
            real = backend.fs._call_s3
            async def dying_call(method, *args, **kwargs):
                if method == "upload_part" and kwargs.get("PartNumber") == 2:
                    os._exit(17)
                return await real(method, *args, **kwargs)
            backend.fs._call_s3 = dying_call
        else:
            os.fsync = lambda fd: os._exit(17)
        store.put_bytes(os.urandom(20 * 1024 * 1024))
    """
)


@pytest.mark.parametrize("phase", ["stream", "publish"])
def test_hard_crash_mid_write_leaves_no_object(durable_backend: Backend, phase: str) -> None:
    backend = durable_backend
    env = {**os.environ, "TMPDIR": tempfile.gettempdir()}
    result = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, backend.url, json.dumps(backend.options), phase],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 17, result.stderr
    store = backend.open()
    assert object_keys(store) == [object_key(b3(b"survivor"))]
    assert list(store.iter_digests()) == [b3(b"survivor")]
    assert store.get_bytes(b3(b"survivor")) == b"survivor"
    if isinstance(store.backend, LocalBackend):  # the rest is hidden temp files
        root = store.backend.root
        visible = [
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
        ]
        assert sorted(visible) == ["FORMAT.json", object_key(b3(b"survivor"))]


# ------------------------------------------------------------- concurrency
def test_concurrent_puts_of_the_same_content(store: ContentStore) -> None:
    data = os.urandom(3 * MIB)
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results.append(store.put_bytes(data))
            results.append(store.put_bytes(data if i % 2 else data[:MIB]))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert set(results) == {b3(data), b3(data[:MIB])}
    assert len(object_keys(store)) == 2
    assert store.get_bytes(b3(data)) == data
    store.verify(b3(data[:MIB]))
    assert leftovers(store) == []


def test_concurrent_stores_share_one_location(backend: Backend) -> None:
    stores = [backend.open() for _ in range(4)]
    data = b"shared" * 1000
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda s=s: results.append(s.put_bytes(data))) for s in stores
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == [b3(data)] * 4
    assert len(object_keys(stores[0])) == 1


@pytest.mark.parametrize("size", [KERNEL_COPY_MIN - 1, KERNEL_COPY_MIN, 3 * KERNEL_COPY_MIN + 7])
def test_put_file_and_put_files_on_both_sides_of_the_kernel_copy_threshold(
    store: ContentStore, tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    expected = "blake3:" + blake3.blake3(data).hexdigest()
    assert store.put_file(src) == expected
    twin = tmp_path / "twin.bin"
    twin.write_bytes(data[::-1])
    digests = store.put_files([src, twin, src])
    assert digests == [expected, "blake3:" + blake3.blake3(data[::-1]).hexdigest(), expected]
    assert store.get_bytes(expected) == data
    assert leftovers(store) == []
