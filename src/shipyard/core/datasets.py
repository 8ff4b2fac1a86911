"""Datasets as the catalog sees them: names, references (``loans@v2``), versions, diffs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from shipyard.core.errors import ValidationError

__all__ = [
    "LATEST",
    "MANIFEST_VERSION",
    "Dataset",
    "DatasetKind",
    "DatasetRef",
    "DatasetVersion",
    "ManifestEntry",
    "ValidationRecord",
    "check_alias",
    "check_dataset_name",
    "parse_ref",
]

LATEST = "latest"
MANIFEST_VERSION = 2  # the on-disk format of a folder manifest (2: small files in packs)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
_VERSION_RE = re.compile(r"^v?([0-9]{1,9})$")


class DatasetKind(StrEnum):
    """``table``: one frame stored as Parquet. ``files``: a folder stored file by file."""

    TABLE = "table"
    FILES = "files"


def check_dataset_name(name: object, field: str = "name") -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValidationError(
            f"dataset name must be 1-128 letters, digits, '_', '-' or '.', starting with a "
            f"letter or digit; got {name!r}",
            field=field,
        )
    return name


def check_alias(alias: object, field: str = "alias") -> str:
    """An alias such as ``training``: a letter first, and never ``v<digits>`` or ``latest``."""
    if not isinstance(alias, str) or not _ALIAS_RE.match(alias) or _VERSION_RE.match(alias):
        raise ValidationError(
            f"alias must start with a letter, hold letters, digits, '_' or '-' and not look "
            f"like a version (v3); got {alias!r}",
            field=field,
        )
    if alias == LATEST:
        raise ValidationError(
            "'latest' is reserved: it always means the newest version", field=field
        )
    return alias


@dataclass(frozen=True)
class DatasetRef:
    """``name`` (latest), ``name@v3`` / ``name@3`` (a version) or ``name@training`` (an alias)."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@v{self.version}"
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return self.name


def parse_ref(ref: object, field: str = "dataset") -> DatasetRef:
    """Parse a dataset reference; errors name the expected forms."""
    if not isinstance(ref, str) or not ref.strip():
        raise ValidationError(
            f"dataset reference must be 'name', 'name@vN' or 'name@alias'; got {ref!r}", field=field
        )
    name, sep, tail = ref.strip().partition("@")
    check_dataset_name(name, field)
    if not sep or tail == LATEST:
        return DatasetRef(name)
    if m := _VERSION_RE.match(tail):
        version = int(m.group(1))
        if version < 1:
            raise ValidationError(f"dataset versions start at v1; got {ref!r}", field=field)
        return DatasetRef(name, version=version)
    return DatasetRef(name, alias=check_alias(tail, field))


@dataclass(frozen=True)
class ManifestEntry:
    """One file of a ``files`` dataset version: a loose object, or a blob inside a pack
    object (``pack`` is then the pack's digest and ``offset`` where the blob starts)."""

    path: str
    digest: str
    size: int
    pack: str | None = None
    offset: int = 0


@dataclass(frozen=True)
class ValidationRecord:
    """A stored run of a version's checks: the evidence later gates read."""

    passed: bool
    checks_run: int
    failed: int
    report: dict[str, object]
    created_by: str
    creation_time: int


@dataclass(frozen=True)
class DatasetVersion:
    """An immutable version of a dataset. ``created`` is True only on the value ``register``
    returns when it stored new content (False when identical content already existed)."""

    name: str
    version: int
    content_id: str
    kind: DatasetKind
    size: int
    file_count: int
    row_count: int | None
    columns: tuple[tuple[str, str], ...]  # (name, type) in order; empty for files
    profile: dict[str, object]
    pii: dict[str, dict[str, object]]  # column → {"kind", "policy", "source"}
    pii_allowed: bool
    source: str
    created_by: str
    creation_time: int
    description: str = ""
    aliases: tuple[str, ...] = ()
    validation: ValidationRecord | None = None
    created: bool = False
    object_digest: str = ""  # the stored object: the Parquet (tables) or the manifest (folders)

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"


@dataclass(frozen=True)
class Dataset:
    """A named dataset with its catalog metadata and the number of its latest version."""

    name: str
    description: str
    owner: str
    tags: dict[str, str]
    created_by: str
    creation_time: int
    last_update_time: int
    latest_version: int
    aliases: dict[str, int] = field(default_factory=dict)
