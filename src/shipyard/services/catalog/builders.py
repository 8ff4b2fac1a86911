"""How a source becomes a new dataset version: read, PII policies, encode, store objects.

Objects are written here, before any metadata: a version row never points at nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shipyard.core.datasets import DatasetKind, ManifestEntry
from shipyard.core.pii import PiiPolicy
from shipyard.services.catalog import files as folder
from shipyard.services.catalog import tabular
from shipyard.services.catalog.privacy import apply_plan, plan_pii, scan_folder_tables
from shipyard.services.formats.tables import encode_table
from shipyard.stores.blobs import ContentStore
from shipyard.stores.blobs.digests import digest_bytes
from shipyard.stores.sql.datasets_repo import NewVersion
from shipyard.stores.statcache import StatCache, stamp_of

__all__ = [
    "files_profile",
    "folder_version",
    "hide_kept_values",
    "table_file_version",
    "table_version",
]


def table_file_version(
    blobs: ContentStore,
    path: Path,
    pii: Mapping[str, object] | None,
    allow_pii: bool,
    user: str,
    pii_key: Callable[[], bytes],
) -> NewVersion:
    """A table version from a CSV, Parquet or JSON-lines file (refused if it changes meanwhile)."""
    before = stamp_of(path.stat())
    df = tabular.read_table_file(path)
    folder.check_unchanged(path.name, str(path), before)
    return table_version(blobs, df, pii, allow_pii, user, pii_key, source_label=str(path))


def table_version(
    blobs: ContentStore,
    df: Any,
    pii: Mapping[str, object] | None,
    allow_pii: bool,
    user: str,
    pii_key: Callable[[], bytes],
    *,
    source_label: str,
) -> NewVersion:
    """A table version: PII policies applied before anything is written, then Parquet."""
    frame = tabular.normalize_frame(df)
    plan = plan_pii(frame, pii, allow_pii)
    needs_key = PiiPolicy.TOKENIZE in plan.policies.values()
    clean = apply_plan(frame, plan, pii_key() if needs_key else None)
    record = plan.record()
    encoded = encode_table(clean, blobs.algorithm)
    schema = encoded.schema
    digest = blobs.put_bytes(encoded.parquet)  # objects first: never point at nothing
    return NewVersion(
        content_id=encoded.content_id,
        kind=DatasetKind.TABLE,
        object_digest=digest,
        size=len(encoded.parquet),
        file_count=1,
        row_count=len(clean),
        columns=tuple(schema),
        profile=hide_kept_values(tabular.profile_frame(clean, schema), record),
        pii=record,
        pii_allowed=plan.allowed,
        source=source_label,
        description="",  # description and time are set when the version is recorded
        created_by=user,
        creation_time=0,
    )


def folder_version(
    blobs: ContentStore,
    cache: StatCache,
    path: Path,
    locate: folder.Locate,
    user: str,
    progress: folder.Progress | None,
    link: bool = False,
    allow_pii: bool = False,
) -> NewVersion:
    """A folder version: small files packed, large ones loose (or hard-linked), a manifest.

    Table files in it are scanned for personal data first (nothing is stored if refused).
    """
    scanned = folder.scan_source(path)
    tables = [(rel, p) for rel, p, _ in scanned if tabular.is_table_file(Path(rel))]
    pii = scan_folder_tables(tables, tabular.read_sample, allow_pii)
    done = folder.ingest_files(blobs, cache, scanned, locate, link=link, progress=progress)
    content_id = digest_bytes(blobs.algorithm, folder.listing_bytes(done.entries))
    manifest = blobs.put_bytes(folder.encode_manifest(done.entries))
    return NewVersion(
        content_id=content_id,
        kind=DatasetKind.FILES,
        object_digest=manifest,
        size=sum(e.size for e in done.entries),
        file_count=len(done.entries),
        row_count=None,
        columns=(),
        profile=files_profile(done.entries),
        pii=pii,
        pii_allowed=bool(pii),
        source=str(path),
        description="",  # description and time are set when the version is recorded
        created_by=user,
        creation_time=0,
        packed=tuple(done.packed),
    )


def files_profile(entries: list[ManifestEntry]) -> dict[str, object]:
    suffixes: dict[str, int] = {}
    for e in entries:
        suffix = os.path.splitext(e.path)[1].lower() or "(none)"
        suffixes[suffix] = suffixes.get(suffix, 0) + 1
    top = sorted(suffixes.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return {"files": len(entries), "bytes": sum(e.size for e in entries), "suffixes": top}


def hide_kept_values(
    profile: dict[str, object], pii: dict[str, dict[str, object]]
) -> dict[str, object]:
    """Personal data kept as it is must not leak into catalog metadata: drop the statistics
    that quote values (top categories, min, max, quantiles) of those columns."""
    columns = profile.get("columns")
    assert isinstance(columns, dict)
    for column, rec in pii.items():
        if rec.get("policy") == PiiPolicy.KEEP.value and column in columns:
            stats = columns[column]
            for key in ("top", "min", "max", "quantiles", "mean", "std"):
                stats.pop(key, None)
            stats["hidden"] = "personal data kept as is: values are not profiled"
    return profile
