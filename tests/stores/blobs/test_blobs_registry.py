"""``open_content_store`` URL handling, digest parsing and backend key safety."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from shipyard.core.errors import ValidationError
from shipyard.stores.blobs import (
    FsspecBackend,
    LocalBackend,
    object_key,
    open_content_store,
    parse_digest,
)

HEX = "0123456789abcdef" * 4


def test_plain_path_and_file_url_are_local(tmp_path: Path) -> None:
    plain = open_content_store(str(tmp_path / "a"))
    url = open_content_store((tmp_path / "b").as_uri())
    for store, name in [(plain, "a"), (url, "b")]:
        assert isinstance(store.backend, LocalBackend)
        assert store.backend.root == tmp_path / name
    digest = url.put_bytes(b"via file url")
    assert (tmp_path / "b" / object_key(digest)).read_bytes() == b"via file url"


def test_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_content_store("objects")
    assert isinstance(store.backend, LocalBackend)
    assert store.backend.root == tmp_path / "objects"


def test_other_schemes_use_fsspec() -> None:
    store = open_content_store("memory://shipyard-registry-test/objects")
    assert isinstance(store.backend, FsspecBackend)
    assert store.url.endswith("shipyard-registry-test/objects")


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("", None),
        ("   ", None),
        ("file://otherhost/data", None),
        ("file:///data?x=1", None),
        ("/data/objects", {"anon": True}),
        ("nosuchprotocol-xyz://bucket/objects", None),
    ],
)
def test_bad_urls_are_refused(url: str, options: dict[str, object] | None) -> None:
    with pytest.raises(ValidationError):
        open_content_store(url, options)


def test_unknown_algorithm_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="md5"):
        open_content_store(str(tmp_path), algorithm="md5")


class _RecordingEnvironment(Mapping[str, str]):
    """``os.environ`` stand-in that records every read."""

    def __init__(self, real: Mapping[str, str]) -> None:
        self.real = dict(real)
        self.reads: list[str] = []

    def __getitem__(self, key: str) -> str:
        self.reads.append(key)
        return self.real[key]

    def __iter__(self) -> Iterator[str]:
        self.reads.append("<iter>")
        return iter(self.real)

    def __len__(self) -> int:
        self.reads.append("<len>")
        return len(self.real)


def test_local_store_reads_no_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _RecordingEnvironment(os.environ)
    with monkeypatch.context() as patch:
        patch.setattr(os, "environ", env)
        patch.setattr(os, "getenv", env.get)
        store = open_content_store(str(tmp_path / "objects"))
        digest = store.put_bytes(b"no env")
        data = store.get_bytes(digest)
    assert data == b"no env"
    assert env.reads == []


def test_parse_digest_and_object_key() -> None:
    assert parse_digest(f"blake3:{HEX}") == ("blake3", HEX)
    assert parse_digest(f"sha256:{HEX}") == ("sha256", HEX)
    assert object_key(f"sha256:{HEX}") == f"v1/sha256/01/{HEX[2:]}"


@pytest.mark.parametrize(
    "key", ["", "/abs", "a//b", "../x", "a/../b", "a/./b", ".hidden", "a\\b", "a\x00b", "a/"]
)
def test_backends_refuse_unsafe_keys(tmp_path: Path, key: str) -> None:
    local = LocalBackend(tmp_path)
    memory = open_content_store("memory://shipyard-keys-test/objects").backend
    for backend in (local, memory):
        with pytest.raises(ValidationError):
            backend.exists(key)


def test_local_listing_ignores_temporary_files(tmp_path: Path) -> None:
    store = open_content_store(str(tmp_path))
    digest = store.put_bytes(b"listed")
    key_path = tmp_path / object_key(digest)
    (key_path.parent / f".{key_path.name}.abc.tmp").write_bytes(b"partial")
    (tmp_path / ".tmp" / "cas-xyz.tmp").write_bytes(b"partial")
    assert list(store.iter_digests()) == [digest]
    assert sorted(store.backend.list("")) == ["FORMAT.json", object_key(digest)]
