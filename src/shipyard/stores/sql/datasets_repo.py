"""Datasets, their immutable versions, aliases, validation evidence and run inputs in SQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.core.datasets import (
    Dataset,
    DatasetKind,
    DatasetRef,
    DatasetVersion,
    ValidationRecord,
)
from shipyard.core.errors import NotFoundError
from shipyard.stores.sql.rows import escape_like, inserted_id
from shipyard.stores.sql.tables import (
    dataset_aliases,
    dataset_columns,
    dataset_tags,
    dataset_validations,
    dataset_versions,
    datasets,
    run_inputs,
    runs,
)

__all__ = ["DatasetRepo", "NewVersion"]


@dataclass(frozen=True)
class NewVersion:
    """Everything a new version row needs (the version number is assigned by the repo)."""

    content_id: str
    kind: DatasetKind
    object_digest: str
    size: int
    file_count: int
    row_count: int | None
    columns: tuple[tuple[str, str], ...]
    profile: dict[str, object]
    pii: dict[str, dict[str, object]]
    pii_allowed: bool
    source: str
    description: str
    created_by: str
    creation_time: int
    packed: tuple[tuple[str, str, int, int], ...] = ()  # new (digest, pack, offset, size)


def _validation_from_row(row: Any) -> ValidationRecord:
    return ValidationRecord(
        passed=row.passed,
        checks_run=row.checks_run,
        failed=row.failed,
        report=json.loads(row.report_json),
        created_by=row.created_by,
        creation_time=row.creation_time,
    )


class DatasetRepo:
    """Stateless: every method takes the connection of the caller's unit of work."""

    # ------------------------------------------------------------------ datasets
    def dataset_row(self, conn: Connection, name: str) -> Any:
        row = conn.execute(sa.select(datasets).where(datasets.c.name == name)).first()
        if row is None:
            raise NotFoundError(
                f"no dataset named {name!r}; `shipyard data ls` lists them", field="dataset"
            )
        return row

    def ensure_dataset(
        self, conn: Connection, name: str, *, description: str, owner: str, user: str, now: int
    ) -> Any:
        """The dataset row, created when missing, and locked until the transaction ends so
        that concurrent registers number their versions one after the other (PostgreSQL;
        SQLite writers are serialized by BEGIN IMMEDIATE already)."""
        locked = sa.select(datasets).where(datasets.c.name == name).with_for_update()
        row = conn.execute(locked).first()
        if row is not None:
            return row
        conn.execute(
            datasets.insert().values(
                name=name,
                description=description,
                owner=owner,
                created_by=user,
                creation_time=now,
                last_update_time=now,
            )
        )
        return conn.execute(locked).one()

    def update_dataset(self, conn: Connection, dataset_id: int, now: int, **values: Any) -> None:
        conn.execute(
            datasets.update()
            .where(datasets.c.id == dataset_id)
            .values(last_update_time=now, **values)
        )

    def set_tags(self, conn: Connection, dataset_id: int, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            conn.execute(
                dataset_tags.delete().where(
                    (dataset_tags.c.dataset_id == dataset_id) & (dataset_tags.c.key == key)
                )
            )
            conn.execute(dataset_tags.insert().values(dataset_id=dataset_id, key=key, value=value))

    def get_dataset(self, conn: Connection, name: str) -> Dataset:
        row = self.dataset_row(conn, name)
        return self._datasets(conn, [row])[0]

    def search(
        self,
        conn: Connection,
        text: str | None,
        limit: int,
        offset: int,
        after: str | None = None,
    ) -> list[Dataset]:
        """Datasets whose name, description, owner, tags or column names contain ``text``,
        by name; ``after`` a name (keyset)."""
        query = _matching(sa.select(datasets), text).order_by(datasets.c.name)
        if after is not None:
            query = query.where(datasets.c.name > after)
        return self._datasets(conn, list(conn.execute(query.limit(limit).offset(offset))))

    def count(self, conn: Connection, text: str | None) -> int:
        """How many datasets ``search`` finds for ``text``."""
        query = sa.select(sa.func.count()).select_from(datasets)
        return int(conn.execute(_matching(query, text)).scalar() or 0)

    def _datasets(self, conn: Connection, rows: Sequence[Any]) -> list[Dataset]:
        ids = [r.id for r in rows]
        if not ids:
            return []
        tags: dict[int, dict[str, str]] = {i: {} for i in ids}
        for t in conn.execute(sa.select(dataset_tags).where(dataset_tags.c.dataset_id.in_(ids))):
            tags[t.dataset_id][t.key] = t.value
        latest = dict(
            conn.execute(
                sa.select(dataset_versions.c.dataset_id, sa.func.max(dataset_versions.c.version))
                .where(dataset_versions.c.dataset_id.in_(ids))
                .group_by(dataset_versions.c.dataset_id)
            ).all()
        )
        aliases: dict[int, dict[str, int]] = {i: {} for i in ids}
        alias_rows = conn.execute(
            sa.select(
                dataset_aliases.c.dataset_id, dataset_aliases.c.alias, dataset_versions.c.version
            )
            .join(dataset_versions, dataset_versions.c.id == dataset_aliases.c.version_id)
            .where(dataset_aliases.c.dataset_id.in_(ids))
        )
        for a in alias_rows:
            aliases[a.dataset_id][a.alias] = a.version
        return [
            Dataset(
                name=r.name,
                description=r.description,
                owner=r.owner,
                tags=tags[r.id],
                created_by=r.created_by,
                creation_time=r.creation_time,
                last_update_time=r.last_update_time,
                latest_version=latest.get(r.id, 0),
                aliases=aliases[r.id],
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ versions
    def latest_if_same(self, conn: Connection, dataset_id: int, content_id: str) -> int | None:
        """The latest version number if it holds exactly this content, else None.

        Only the latest counts: registering v1's content again after v2 makes a v3 (it costs
        no storage), so that "latest" is what was registered last.
        """
        row = conn.execute(
            sa.select(dataset_versions.c.version, dataset_versions.c.content_id)
            .where(dataset_versions.c.dataset_id == dataset_id)
            .order_by(dataset_versions.c.version.desc())
            .limit(1)
        ).first()
        return row.version if row is not None and row.content_id == content_id else None

    def add_version(self, conn: Connection, dataset_id: int, new: NewVersion) -> int:
        """Insert the next version number; returns it."""
        latest = conn.execute(
            sa.select(sa.func.max(dataset_versions.c.version)).where(
                dataset_versions.c.dataset_id == dataset_id
            )
        ).scalar()
        number = (latest or 0) + 1
        result = conn.execute(
            dataset_versions.insert().values(
                dataset_id=dataset_id,
                version=number,
                content_id=new.content_id,
                kind=new.kind.value,
                object_digest=new.object_digest,
                size=new.size,
                file_count=new.file_count,
                row_count=new.row_count,
                profile_json=json.dumps(new.profile, sort_keys=True, default=str),
                pii_json=json.dumps(new.pii, sort_keys=True),
                pii_allowed=new.pii_allowed,
                source=new.source[:1024],
                description=new.description,
                created_by=new.created_by,
                creation_time=new.creation_time,
            )
        )
        version_id = inserted_id(result)
        if new.columns:
            conn.execute(
                dataset_columns.insert(),
                [
                    {"version_id": version_id, "position": i, "name": n[:256], "dtype": t[:64]}
                    for i, (n, t) in enumerate(new.columns)
                ],
            )
        return number

    def version_row(self, conn: Connection, ref: DatasetRef) -> Any:
        """The version row a reference names (latest, ``@vN`` or ``@alias``)."""
        ds = self.dataset_row(conn, ref.name)
        query = sa.select(dataset_versions).where(dataset_versions.c.dataset_id == ds.id)
        if ref.version is not None:
            query = query.where(dataset_versions.c.version == ref.version)
        elif ref.alias is not None:
            target = sa.select(dataset_aliases.c.version_id).where(
                (dataset_aliases.c.dataset_id == ds.id) & (dataset_aliases.c.alias == ref.alias)
            )
            query = query.where(dataset_versions.c.id.in_(target))
        else:
            query = query.order_by(dataset_versions.c.version.desc()).limit(1)
        row = conn.execute(query).first()
        if row is None:
            raise NotFoundError(
                f"dataset {ref.name!r} has no version {str(ref).partition('@')[2] or 'yet'}; "
                f"`shipyard data show {ref.name}` lists its versions",
                field="dataset",
            )
        return row

    def get_version(self, conn: Connection, ref: DatasetRef) -> DatasetVersion:
        return self._versions(conn, [self.version_row(conn, ref)], ref.name)[0]

    def list_versions(self, conn: Connection, name: str) -> list[DatasetVersion]:
        ds = self.dataset_row(conn, name)
        rows = conn.execute(
            sa.select(dataset_versions)
            .where(dataset_versions.c.dataset_id == ds.id)
            .order_by(dataset_versions.c.version.desc())
        ).all()
        return self._versions(conn, rows, name)

    def _versions(self, conn: Connection, rows: Sequence[Any], name: str) -> list[DatasetVersion]:
        """Entities for version rows: three queries whatever the number of versions."""
        ids = [r.id for r in rows]
        columns: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
        aliases: dict[int, list[str]] = {i: [] for i in ids}
        checks: dict[int, ValidationRecord] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for c in conn.execute(
                sa.select(dataset_columns)
                .where(dataset_columns.c.version_id.in_(chunk))
                .order_by(dataset_columns.c.version_id, dataset_columns.c.position)
            ):
                columns[c.version_id].append((c.name, c.dtype))
            for a in conn.execute(
                sa.select(dataset_aliases)
                .where(dataset_aliases.c.version_id.in_(chunk))
                .order_by(dataset_aliases.c.alias)
            ):
                aliases[a.version_id].append(a.alias)
            for v in conn.execute(
                sa.select(dataset_validations)
                .where(dataset_validations.c.version_id.in_(chunk))
                .order_by(
                    dataset_validations.c.creation_time.desc(), dataset_validations.c.id.desc()
                )
            ):
                checks.setdefault(v.version_id, _validation_from_row(v))
        return [
            DatasetVersion(
                name=name,
                version=row.version,
                content_id=row.content_id,
                kind=DatasetKind(row.kind),
                size=row.size,
                file_count=row.file_count,
                row_count=row.row_count,
                columns=tuple(columns[row.id]),
                profile=json.loads(row.profile_json),
                pii=json.loads(row.pii_json),
                pii_allowed=row.pii_allowed,
                source=row.source,
                created_by=row.created_by,
                creation_time=row.creation_time,
                description=row.description,
                aliases=tuple(aliases[row.id]),
                validation=checks.get(row.id),
                object_digest=row.object_digest,
            )
            for row in rows
        ]

    # ------------------------------------------------------------------ aliases
    def set_alias(self, conn: Connection, ref: DatasetRef, alias: str, user: str, now: int) -> None:
        row = self.version_row(conn, ref)
        conn.execute(
            dataset_aliases.delete().where(
                (dataset_aliases.c.dataset_id == row.dataset_id)
                & (dataset_aliases.c.alias == alias)
            )
        )
        conn.execute(
            dataset_aliases.insert().values(
                dataset_id=row.dataset_id,
                alias=alias,
                version_id=row.id,
                updated_by=user,
                update_time=now,
            )
        )

    # ------------------------------------------------------------------ validation evidence
    def add_validation(self, conn: Connection, version_id: int, record: ValidationRecord) -> None:
        conn.execute(
            dataset_validations.insert().values(
                version_id=version_id,
                passed=record.passed,
                checks_run=record.checks_run,
                failed=record.failed,
                report_json=json.dumps(record.report, sort_keys=True, default=str),
                created_by=record.created_by,
                creation_time=record.creation_time,
            )
        )

    # ------------------------------------------------------------------ lineage
    def add_run_input(
        self, conn: Connection, run_id: str, ref: DatasetRef, context: str, now: int
    ) -> DatasetVersion:
        if conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id)).first() is None:
            raise NotFoundError(f"no run with id {run_id}", field="run_id")
        row = self.version_row(conn, ref)
        exists = conn.execute(
            sa.select(run_inputs.c.run_id).where(
                (run_inputs.c.run_id == run_id) & (run_inputs.c.version_id == row.id)
            )
        ).first()
        if exists is None:
            conn.execute(
                run_inputs.insert().values(
                    run_id=run_id, version_id=row.id, context=context, creation_time=now
                )
            )
        return self._versions(conn, [row], ref.name)[0]


def _matching(query: Any, text: str | None) -> Any:
    """``query`` narrowed to datasets whose name, description, owner, a tag or a column name
    contains ``text`` (any case)."""
    if not text:
        return query
    like = f"%{escape_like(text.lower())}%"

    def has(col: Any) -> Any:
        return sa.func.lower(col).like(like, escape="\\")

    by_tag = sa.select(dataset_tags.c.dataset_id).where(
        has(dataset_tags.c.key) | has(dataset_tags.c.value)
    )
    by_column = (
        sa.select(dataset_versions.c.dataset_id)
        .join(dataset_columns, dataset_columns.c.version_id == dataset_versions.c.id)
        .where(has(dataset_columns.c.name))
    )
    return query.where(
        has(datasets.c.name)
        | has(datasets.c.description)
        | has(datasets.c.owner)
        | datasets.c.id.in_(by_tag)
        | datasets.c.id.in_(by_column)
    )
