"""``CatalogService``: register, find, fetch, validate, compare and trace dataset versions."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from shipyard.core.clock import now_ms
from shipyard.core.datasets import (
    Dataset,
    DatasetKind,
    DatasetRef,
    DatasetVersion,
    ManifestEntry,
    ValidationRecord,
    check_alias,
    check_dataset_name,
    parse_ref,
)
from shipyard.core.errors import AlreadyExistsError, NotFoundError, ValidationError
from shipyard.core.validation import check_key, check_run_id, check_tag_value
from shipyard.services.catalog import builders, tabular
from shipyard.services.catalog import files as folder
from shipyard.services.catalog.diff import diff_manifests, diff_tables
from shipyard.services.formats.tables import frame_from_parquet
from shipyard.services.paging import (
    MAX_WIDE_PAGE,
    Page,
    check_limit,
    check_offset,
    decode_cursor,
    encode_cursor,
)
from shipyard.stores.blobs import ContentStore
from shipyard.stores.ports import AuditLog, DatasetStore, NewEntry
from shipyard.stores.sql.audit_repo import AuditRepo
from shipyard.stores.sql.datasets_repo import DatasetRepo, NewVersion
from shipyard.stores.sql.engine import Database
from shipyard.stores.sql.lineage_repo import LineageRepo, RunInput
from shipyard.stores.sql.packs_repo import PackRepo
from shipyard.stores.statcache import StatCache

__all__ = ["CatalogService", "Progress"]

Progress = folder.Progress
FORMATS = ("auto", "table", "files")


class CatalogService:
    """One unit of work per call over the metadata database and the content store."""

    def __init__(
        self,
        db: Database,
        blobs: ContentStore,
        *,
        pii_key: Callable[[], bytes],
        checkout_dir: Path,
        stat_cache: StatCache | None = None,
        clock: Callable[[], int] = now_ms,
        repo: DatasetStore | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.stat_cache = stat_cache or StatCache(None)
        self._pii_key = pii_key  # called only when a column is tokenized
        self.checkout_dir = checkout_dir
        self.clock = clock
        self.repo: DatasetStore = repo or DatasetRepo()
        self.packs = PackRepo()
        self.audit: AuditLog = audit or AuditRepo()
        self.lineage = LineageRepo()

    # ------------------------------------------------------------------ register
    def register(
        self,
        name: str,
        source: Any,
        *,
        description: str | None = None,
        owner: str | None = None,
        tags: Mapping[str, object] | None = None,
        pii: Mapping[str, object] | None = None,
        allow_pii: bool = False,
        format: str = "auto",
        user: str = "unknown",
        link: bool = False,
        progress: Progress | None = None,
        source_label: str | None = None,
    ) -> DatasetVersion:
        """Store ``source`` (DataFrame, table file, any file, or folder) as an immutable version.

        Content identical to the latest version returns it (``created`` is False).
        ``link=True`` hard-links large raw files into a local store (read-only afterwards).
        ``source_label`` says where a DataFrame came from (default ``DataFrame``).
        """
        check_dataset_name(name)
        _check_text(owner, "owner", 256)
        _check_text(user, "user", 256)
        _check_text(description, "description", 10_000)
        if format not in FORMATS:
            raise ValidationError(
                f"format must be one of {FORMATS}, got {format!r}", field="format"
            )
        clean_tags = {
            check_key(k, "tag key"): check_tag_value(k, v) for k, v in (tags or {}).items()
        }
        _check_text(source_label, "source_label", 1000)
        new = self._build(name, source, pii, allow_pii, format, user, link, progress)
        if source_label and not isinstance(source, str | os.PathLike):
            new = replace(new, source=source_label)
        return self._record(name, new, description, owner or user, clean_tags)

    def _build(
        self,
        name: str,
        source: Any,
        pii: Mapping[str, object] | None,
        allow_pii: bool,
        format: str,
        user: str,
        link: bool,
        progress: Progress | None,
    ) -> NewVersion:
        """Store the objects of ``source`` and describe the version they make."""
        if not isinstance(source, str | os.PathLike):
            if format == "files":
                raise ValidationError("format='files' needs a file or folder path", field="format")
            return builders.table_version(
                self.blobs, source, pii, allow_pii, user, self._pii_key, source_label="DataFrame"
            )
        path = Path(source)
        if not path.exists():
            raise ValidationError(f"{path} does not exist", field="source")
        if format == "table" or (
            format == "auto" and path.is_file() and tabular.is_table_file(path)
        ):
            return builders.table_file_version(
                self.blobs, path, pii, allow_pii, user, self._pii_key
            )
        if pii:
            raise ValidationError("pii policies apply to tables, not raw files", field="pii")
        return builders.folder_version(
            self.blobs,
            self.stat_cache,
            path,
            self._locator(name),
            user,
            progress,
            link=link,
            allow_pii=allow_pii,
        )

    def _locator(self, name: str) -> Callable[[Sequence[str]], dict[str, tuple[str, int]]]:
        """Where packed blobs are: first the latest version of this dataset (one manifest
        read covers every unchanged file), then the global pack index in the database."""
        prior: dict[str, tuple[str, int]] = {}
        try:
            latest = self.get_version(DatasetRef(name))
        except NotFoundError:
            latest = None
        if latest is not None and latest.kind is DatasetKind.FILES:
            prior = {e.digest: (e.pack, e.offset) for e in self._manifest(latest) if e.pack}

        def locate(digests: Sequence[str]) -> dict[str, tuple[str, int]]:
            found = {d: prior[d] for d in digests if d in prior}
            missing = [d for d in digests if d not in found]
            if missing:
                with self.db.read() as conn:
                    found.update(self.packs.locate(conn, missing))
            return found

        return locate

    def _record(
        self,
        name: str,
        new: NewVersion,
        description: str | None,
        owner: str,
        tags: dict[str, str],
    ) -> DatasetVersion:
        for attempt in range(5):  # a concurrent first register of the name may win the insert
            try:
                return self._record_once(name, new, description, owner, tags)
            except AlreadyExistsError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _record_once(
        self, name: str, new: NewVersion, description: str | None, owner: str, tags: dict[str, str]
    ) -> DatasetVersion:
        now = self.clock()
        new = replace(new, creation_time=now, description=description or "")
        with self.db.write() as conn:
            ds = self.repo.ensure_dataset(
                conn, name, description=description or "", owner=owner, user=new.created_by, now=now
            )
            if description is not None and description != ds.description:
                self.repo.update_dataset(conn, ds.id, now, description=description)
            if tags:
                self.repo.set_tags(conn, ds.id, tags)
            # Pack rows land even when identical content already existed: the packs were
            # written, and later registrations should find their blobs.
            self.packs.add(conn, new.packed)
            existing = self.repo.latest_if_same(conn, ds.id, new.content_id)
            if existing is not None:
                return self.repo.get_version(conn, DatasetRef(name, version=existing))
            number = self.repo.add_version(conn, ds.id, new)
            self.repo.update_dataset(conn, ds.id, now)
            found = self.repo.get_version(conn, DatasetRef(name, version=number))
            payload = {
                "version": number,
                "content_id": found.content_id,
                "pii": {c: p.get("policy") for c, p in found.pii.items()},
                "pii_allowed": found.pii_allowed,
            }
            entry = NewEntry(new.created_by, "dataset.register", "dataset", name, payload=payload)
            self.audit.append(conn, [entry], now)
        return replace(found, created=True)

    # ------------------------------------------------------------------ read
    def get_version(self, ref: str | DatasetRef) -> DatasetVersion:
        parsed = ref if isinstance(ref, DatasetRef) else parse_ref(ref)
        with self.db.read() as conn:
            return self.repo.get_version(conn, parsed)

    def get_dataset(self, name: str) -> Dataset:
        with self.db.read() as conn:
            return self.repo.get_dataset(conn, check_dataset_name(name))

    def list_versions(self, name: str) -> list[DatasetVersion]:
        with self.db.read() as conn:
            return self.repo.list_versions(conn, check_dataset_name(name))

    def search(self, text: str | None = None, limit: int = 100, offset: int = 0) -> list[Dataset]:
        if not (0 < limit <= MAX_WIDE_PAGE):
            raise ValidationError(f"limit must be in 1..10000, got {limit}", field="limit")
        if offset < 0:
            raise ValidationError(f"offset must be 0 or more, got {offset}", field="offset")
        with self.db.read() as conn:
            return self.repo.search(conn, (text or "").strip() or None, limit, offset)

    def page(
        self,
        text: str | None = None,
        *,
        cursor: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Page:
        """One page of ``search`` by name, with the total that match: after ``cursor`` (the
        previous page's next_cursor) and/or ``offset`` datasets skipped."""
        after = decode_cursor(cursor, "after", str)
        limit, offset = check_limit(limit, MAX_WIDE_PAGE), check_offset(offset)
        text = (text or "").strip() or None
        with self.db.read() as conn:
            found = self.repo.search(conn, text, limit + 1, offset, after)
            total = self.repo.count(conn, text)
        more = len(found) > limit
        found = found[:limit]
        return Page(found, encode_cursor("after", found[-1].name) if more else None, total)

    def load_frame(
        self, ref: str | DatasetRef, columns: list[str] | None = None, rows: int | None = None
    ) -> Any:
        """The DataFrame of a table version (its bytes verified first); ``rows`` reads only
        the first rows (a preview) without converting the whole table."""
        return self._frame(self.get_version(ref), columns, rows)

    def manifest(self, ref: str | DatasetRef) -> list[ManifestEntry]:
        """The files of a folder version, with where each is stored."""
        return self._manifest(self.get_version(ref))

    def _frame(
        self, version: DatasetVersion, columns: list[str] | None = None, rows: int | None = None
    ) -> Any:
        if version.kind is not DatasetKind.TABLE:
            raise ValidationError(
                f"{version.ref} is a folder dataset; use checkout() for a local path",
                field="dataset",
            )
        data = self.blobs.get_bytes(version.object_digest)
        return frame_from_parquet(data, version.ref, columns, rows)

    def _manifest(self, version: DatasetVersion) -> list[ManifestEntry]:
        if version.kind is not DatasetKind.FILES:
            raise ValidationError(f"{version.ref} is a table, not a folder", field="dataset")
        return folder.decode_manifest(self.blobs.get_bytes(version.object_digest), version.ref)

    def checkout(
        self,
        ref: str | DatasetRef,
        path: str | None = None,
        dest: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
    ) -> Path:
        """Copy a folder version (or one file / sub-folder of it) to a local folder."""
        version = self.get_version(ref)
        chosen = folder.select_entries(self._manifest(version), path)
        target = Path(dest) if dest else self.checkout_dir / version.name / f"v{version.version}"
        root = folder.materialize(self.blobs, chosen, target, progress=progress)
        if path and len(chosen) == 1 and chosen[0].path == path.strip("/"):
            return root / chosen[0].path
        return root

    # ------------------------------------------------------------------ aliases
    def set_alias(self, ref: str, alias: str, user: str = "unknown") -> DatasetVersion:
        parsed = parse_ref(ref)
        check_alias(alias)
        with self.db.write() as conn:
            now = self.clock()
            self.repo.set_alias(conn, parsed, alias, user, now)
            found = self.repo.get_version(conn, DatasetRef(parsed.name, alias=alias))
            payload = {"alias": alias, "version": found.version}
            entry = NewEntry(user, "dataset.alias", "dataset", parsed.name, payload=payload)
            self.audit.append(conn, [entry], now)
            return found

    # ------------------------------------------------------------------ evidence
    def record_validation(self, ref: str | DatasetRef, record: ValidationRecord) -> None:
        parsed = ref if isinstance(ref, DatasetRef) else parse_ref(ref)
        with self.db.write() as conn:
            row = self.repo.version_row(conn, parsed)
            self.repo.add_validation(conn, row.id, record)
            payload = {"ref": str(parsed), "passed": record.passed, "failed": record.failed}
            entry = NewEntry(
                record.created_by, "dataset.validate", "dataset", parsed.name, payload=payload
            )
            self.audit.append(conn, [entry], record.creation_time)

    def validate(
        self, ref: str | DatasetRef, spec: Mapping[str, object] | None, user: str = "unknown"
    ) -> ValidationRecord:
        """Run declarative checks on a table version and store the result as its evidence."""
        from shipyard.services.catalog.validation import validate_frame

        version = self.get_version(ref)
        if not spec:
            raise ValidationError(
                f"no checks declared for {version.name!r}: add [data.{version.name}.checks] "
                "to shipyard.toml or pass checks",
                field="checks",
            )
        # Offending values of personal-data columns are reported by row, never by value.
        report = validate_frame(self._frame(version), spec, redact=tuple(version.pii))
        record = ValidationRecord(
            passed=report.passed,
            checks_run=report.checks_run,
            failed=len(report.failures),
            report={**report.to_dict(), "spec": dict(spec)},
            created_by=user,
            creation_time=self.clock(),
        )
        self.record_validation(version.ref, record)
        return record

    # ------------------------------------------------------------------ compare
    def diff(self, old_ref: str, new_ref: str) -> dict[str, Any]:
        """Schema, row-count and statistic changes (tables) or file changes (folders)."""
        old, new = self.get_version(old_ref), self.get_version(new_ref)
        if old.kind is not new.kind:
            raise ValidationError(
                f"cannot compare a {old.kind.value} version with a {new.kind.value} version",
                field="dataset",
            )
        if old.kind is DatasetKind.TABLE:
            body = diff_tables(old, new)
        else:
            body = diff_manifests(self._manifest(old), self._manifest(new))
        return {
            "old": old.ref,
            "new": new.ref,
            "identical": old.content_id == new.content_id,
            **body,
        }

    def status(self, name: str, source: str | os.PathLike[str]) -> dict[str, Any]:
        """How a folder on disk differs from the latest version of ``name`` (nothing stored)."""
        latest = self.get_version(DatasetRef(check_dataset_name(name)))
        if latest.kind is not DatasetKind.FILES:
            raise ValidationError(
                f"{latest.ref} is a table: status compares folders. Register the file again "
                "(identical data returns the existing version) and `shipyard data diff` them",
                field="dataset",
            )
        scanned = folder.scan_source(Path(source))
        entries = folder.hash_files(self.blobs, self.stat_cache, scanned)
        body = diff_manifests(self._manifest(latest), entries)
        counts = body["counts"]
        body["up_to_date"] = not (counts["added"] or counts["removed"] or counts["changed"])
        return {"dataset": latest.ref, **body}

    # ------------------------------------------------------------------ lineage
    def record_input(self, run_id: str, ref: str, context: str = "input") -> DatasetVersion:
        """Link a run to the dataset version it read (resolving aliases and ``latest`` now)."""
        parsed = parse_ref(ref)
        check_run_id(run_id)
        context = check_key(context, "context")
        if len(context) > 64:
            raise ValidationError("context must be at most 64 characters", field="context")
        with self.db.write() as conn:
            now = self.clock()
            version = self.repo.add_run_input(conn, run_id, parsed, context, now)
            payload = {"dataset": version.ref, "context": context}
            entry = NewEntry("system", "run.input", "run", run_id, payload=payload)
            self.audit.append(conn, [entry], now)  # lineage gates rely on: never silent
            return version

    def runs_reading(self, ref: str) -> list[RunInput]:
        parsed = parse_ref(ref)
        with self.db.read() as conn:
            row = self.repo.version_row(conn, parsed)
            return self.lineage.runs_reading(conn, row.id, f"{parsed.name}@v{row.version}")

    def inputs_of_run(self, run_id: str) -> list[RunInput]:
        with self.db.read() as conn:
            return self.lineage.inputs_of_run(conn, check_run_id(run_id))


def _check_text(value: object, field: str, limit: int) -> None:
    if value is None:
        return
    if not isinstance(value, str) or len(value) > limit:
        shown = f"{len(value)} characters" if isinstance(value, str) else type(value).__name__
        raise ValidationError(
            f"{field} must be text of at most {limit} characters, got {shown}", field=field
        )
