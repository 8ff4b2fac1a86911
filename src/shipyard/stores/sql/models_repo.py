"""The model registry in SQL: models, versions (numbered under a row lock), aliases, tags."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.core.errors import AlreadyExistsError, NotFoundError
from shipyard.core.models import (
    ModelRef,
    ModelVersion,
    RegisteredModel,
    Signature,
    VersionStatus,
)
from shipyard.stores.sql.rows import escape_like, inserted_id
from shipyard.stores.sql.tables import (
    gate_results,
    model_aliases,
    model_tags,
    model_versions,
    registered_models,
)

__all__ = ["ModelsRepo"]

_CHUNK = 500  # ids per IN list: well under every database's parameter limit


class ModelsRepo:
    """Stateless: every method takes the connection of the caller's unit of work."""

    # ------------------------------------------------------------ models
    def ensure_model(
        self, conn: Connection, name: str, description: str, user: str, now: int, *, lock: bool
    ) -> int:
        """The model's id, creating it when new; ``lock`` holds its row (version numbering)."""
        query = sa.select(registered_models.c.id).where(registered_models.c.name == name)
        found = conn.execute(query.with_for_update() if lock else query).scalar()
        if found is not None:
            return int(found)
        result = conn.execute(
            registered_models.insert().values(
                name=name,
                description=description,
                created_by=user,
                creation_time=now,
                last_update_time=now,
            )
        )
        return inserted_id(result)

    def create_model(
        self, conn: Connection, name: str, description: str, user: str, now: int
    ) -> int:
        """A new model's id; AlreadyExistsError when the name is taken."""
        if self._find_model(conn, name) is not None:
            raise AlreadyExistsError(f"registered model {name!r} already exists", field="name")
        return self.ensure_model(conn, name, description, user, now, lock=False)

    def rename_model(self, conn: Connection, model_id: int, new_name: str, now: int) -> None:
        if self._find_model(conn, new_name) is not None:
            raise AlreadyExistsError(
                f"registered model {new_name!r} already exists", field="new_name"
            )
        self.touch(conn, model_id, now, name=new_name)

    def delete_model(self, conn: Connection, model_id: int) -> None:
        """The model row and its tags (the caller checked it has no versions)."""
        conn.execute(model_tags.delete().where(model_tags.c.model_id == model_id))
        conn.execute(registered_models.delete().where(registered_models.c.id == model_id))

    def count_versions(self, conn: Connection, model_id: int) -> int:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(model_versions.c.model_id == model_id)
            ).scalar()
            or 0
        )

    def _find_model(self, conn: Connection, name: str) -> int | None:
        found = conn.execute(
            sa.select(registered_models.c.id).where(registered_models.c.name == name)
        ).scalar()
        return None if found is None else int(found)

    def model_id(self, conn: Connection, name: str) -> int:
        found = self._find_model(conn, name)
        if found is None:
            raise NotFoundError(f"no registered model named {name!r}", field="name")
        return found

    def get_model(self, conn: Connection, name: str) -> RegisteredModel:
        found = self.list_models(conn, names=[name])
        if not found:
            raise NotFoundError(f"no registered model named {name!r}", field="name")
        return found[0]

    def list_models(
        self,
        conn: Connection,
        *,
        search: str | None = None,
        names: list[str] | None = None,
        limit: int = 100,
        offset: int = 0,
        after: str | None = None,
    ) -> list[RegisteredModel]:
        """By name; ``search`` matches the name or a tag (``key=value`` one tag exactly,
        else any key or value containing it); ``after`` a name (keyset)."""
        query = _matching(sa.select(registered_models), search).order_by(registered_models.c.name)
        if names is not None:
            query = query.where(registered_models.c.name.in_(names))
        if after is not None:
            query = query.where(registered_models.c.name > after)
        rows = conn.execute(query.limit(limit).offset(offset)).all()
        ids = [r.id for r in rows]
        latest = dict(
            conn.execute(
                sa.select(model_versions.c.model_id, sa.func.max(model_versions.c.version))
                .where(model_versions.c.model_id.in_(ids))
                .group_by(model_versions.c.model_id)
            ).all()
        )
        aliases: dict[int, dict[str, int]] = {}
        for model_id, alias, version in conn.execute(
            sa.select(model_aliases.c.model_id, model_aliases.c.alias, model_versions.c.version)
            .join(model_versions, model_versions.c.id == model_aliases.c.version_id)
            .where(model_aliases.c.model_id.in_(ids))
        ):
            aliases.setdefault(model_id, {})[alias] = version
        tags: dict[int, dict[str, str]] = {}
        for model_id, key, value in conn.execute(
            sa.select(model_tags).where(model_tags.c.model_id.in_(ids))
        ):
            tags.setdefault(model_id, {})[key] = value
        return [
            RegisteredModel(
                name=r.name,
                description=r.description,
                created_by=r.created_by,
                creation_time=r.creation_time,
                last_update_time=r.last_update_time,
                latest_version=latest.get(r.id),
                aliases=aliases.get(r.id, {}),
                tags=tags.get(r.id, {}),
            )
            for r in rows
        ]

    def count_models(self, conn: Connection, *, search: str | None = None) -> int:
        """How many models ``list_models`` would find with this search."""
        query = sa.select(sa.func.count()).select_from(registered_models)
        return int(conn.execute(_matching(query, search)).scalar() or 0)

    def touch(self, conn: Connection, model_id: int, now: int, **values: Any) -> None:
        conn.execute(
            registered_models.update()
            .where(registered_models.c.id == model_id)
            .values(last_update_time=now, **values)
        )

    def set_tags(self, conn: Connection, model_id: int, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            conn.execute(
                model_tags.delete().where(
                    model_tags.c.model_id == model_id, model_tags.c.key == key
                )
            )
            conn.execute(model_tags.insert().values(model_id=model_id, key=key, value=value))

    def delete_tag(self, conn: Connection, model_id: int, key: str) -> bool:
        """Whether the model had the tag."""
        result = conn.execute(
            model_tags.delete().where(model_tags.c.model_id == model_id, model_tags.c.key == key)
        )
        return bool(result.rowcount)

    # ------------------------------------------------------------ versions
    def add_version(self, conn: Connection, model_id: int, values: Mapping[str, Any]) -> int:
        """The next version number; the caller holds the model row's lock."""
        last = conn.execute(
            sa.select(sa.func.max(model_versions.c.version)).where(
                model_versions.c.model_id == model_id
            )
        ).scalar()
        number = int(last or 0) + 1
        conn.execute(model_versions.insert().values(model_id=model_id, version=number, **values))
        return number

    def _version_row(self, conn: Connection, ref: ModelRef, *, lock: bool = False) -> Any:
        model_id = self.model_id(conn, ref.name)
        query = sa.select(model_versions).where(model_versions.c.model_id == model_id)
        if lock:  # decisions on a version are serialized (PostgreSQL; SQLite writes already are)
            query = query.with_for_update(of=model_versions)
        if ref.version is not None:
            query = query.where(model_versions.c.version == ref.version)
        elif ref.alias is not None:
            query = query.join(
                model_aliases,
                sa.and_(  # model_id + alias: the primary key, whatever the registry's size
                    model_aliases.c.model_id == model_id,
                    model_aliases.c.alias == ref.alias,
                    model_aliases.c.version_id == model_versions.c.id,
                ),
            )
        else:
            query = query.order_by(model_versions.c.version.desc()).limit(1)
        row = conn.execute(query).first()
        if row is None:
            what = f"alias {ref.alias!r}" if ref.alias else f"version {ref.version}"
            if ref.alias is None and ref.version is None:
                what = "any version"
            raise NotFoundError(f"model {ref.name!r} has no {what}", field="ref")
        return row

    def get_version(self, conn: Connection, ref: ModelRef, *, lock: bool = False) -> ModelVersion:
        row = self._version_row(conn, ref, lock=lock)
        aliases = conn.execute(
            sa.select(model_aliases.c.alias)
            .where(model_aliases.c.version_id == row.id)
            .order_by(model_aliases.c.alias)
        ).scalars()
        return _version(ref.name, row, tuple(aliases))

    def versions(
        self,
        conn: Connection,
        name: str,
        *,
        below: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[ModelVersion]:
        """The model's versions by number (``newest_first``: a page of them, numbered below
        ``below``), each with its aliases."""
        model_id = self.model_id(conn, name)
        order = model_versions.c.version
        query = sa.select(model_versions).where(model_versions.c.model_id == model_id)
        if below is not None:
            query = query.where(model_versions.c.version < below)
        query = query.order_by(order.desc() if newest_first else order).limit(limit)
        rows = conn.execute(query).all()
        aliases: dict[int, list[str]] = {}
        query = sa.select(model_aliases.c.version_id, model_aliases.c.alias).where(
            model_aliases.c.model_id == model_id
        )
        if limit is not None:  # a page: the aliases of its versions only
            query = query.where(model_aliases.c.version_id.in_([r.id for r in rows]))
        for version_id, alias in conn.execute(query):
            aliases.setdefault(version_id, []).append(alias)
        return [_version(name, r, tuple(sorted(aliases.get(r.id, [])))) for r in rows]

    def all_versions(
        self, conn: Connection, names: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """Every version of the named models (of all models when None), by name and number."""
        query = (
            sa.select(model_versions, registered_models.c.name.label("model_name"))
            .join(registered_models, registered_models.c.id == model_versions.c.model_id)
            .order_by(registered_models.c.name, model_versions.c.version)
        )
        if names is not None:
            query = query.where(registered_models.c.name.in_(list(names)))
        rows = conn.execute(query).all()
        aliases: dict[int, list[str]] = {}
        query = sa.select(model_aliases.c.version_id, model_aliases.c.alias)
        if names is not None:
            query = query.where(model_aliases.c.version_id.in_([r.id for r in rows]))
        for version_id, alias in conn.execute(query):
            aliases.setdefault(version_id, []).append(alias)
        return [_version(r.model_name, r, tuple(sorted(aliases.get(r.id, [])))) for r in rows]

    def versions_of_runs(self, conn: Connection, run_ids: Sequence[str]) -> list[ModelVersion]:
        """The versions registered from one of ``run_ids``, by name and number."""
        rows: list[Any] = []
        for start in range(0, len(run_ids), _CHUNK):
            chunk = list(run_ids[start : start + _CHUNK])
            rows += conn.execute(
                sa.select(model_versions, registered_models.c.name.label("model_name"))
                .join(registered_models, registered_models.c.id == model_versions.c.model_id)
                .where(model_versions.c.run_id.in_(chunk))
            ).all()
        rows.sort(key=lambda r: (r.model_name, r.version))
        aliases: dict[int, list[str]] = {}
        ids = [r.id for r in rows]
        for start in range(0, len(ids), _CHUNK):
            query = sa.select(model_aliases.c.version_id, model_aliases.c.alias).where(
                model_aliases.c.version_id.in_(ids[start : start + _CHUNK])
            )
            for version_id, alias in conn.execute(query):
                aliases.setdefault(version_id, []).append(alias)
        return [_version(r.model_name, r, tuple(sorted(aliases.get(r.id, [])))) for r in rows]

    def set_status(
        self, conn: Connection, ref: ModelRef, status: VersionStatus, reason: str, now: int
    ) -> list[str]:
        """Set the status; archiving also drops the version's aliases (returned)."""
        row = self._version_row(conn, ref)
        conn.execute(
            model_versions.update()
            .where(model_versions.c.id == row.id)
            .values(status=status.value, status_reason=reason)
        )
        dropped: list[str] = []
        if status == VersionStatus.ARCHIVED:
            dropped = list(
                conn.execute(
                    sa.select(model_aliases.c.alias).where(model_aliases.c.version_id == row.id)
                ).scalars()
            )
            conn.execute(model_aliases.delete().where(model_aliases.c.version_id == row.id))
        self.touch(conn, row.model_id, now)
        return dropped

    # ------------------------------------------------------------ gate evidence
    def add_gate_result(
        self,
        conn: Connection,
        ref: ModelRef,
        *,
        passed: bool,
        holdout: str,
        report: Mapping[str, Any],
        user: str,
        now: int,
    ) -> None:
        row = self._version_row(conn, ref)
        conn.execute(
            gate_results.insert().values(
                version_id=row.id,
                passed=passed,
                holdout=holdout,
                report_json=json.dumps(report, sort_keys=True, default=str),
                created_by=user,
                creation_time=now,
            )
        )

    def gate_results(self, conn: Connection, ref: ModelRef) -> list[dict[str, Any]]:
        """Every gate run of the version, newest first."""
        row = self._version_row(conn, ref)
        found = conn.execute(
            sa.select(gate_results)
            .where(gate_results.c.version_id == row.id)
            .order_by(gate_results.c.creation_time.desc(), gate_results.c.id.desc())
        )
        return [
            {
                "passed": r.passed,
                "holdout": r.holdout,
                "created_by": r.created_by,
                "creation_time": r.creation_time,
                **json.loads(r.report_json),
            }
            for r in found
        ]

    # ------------------------------------------------------------ aliases
    def set_alias(
        self, conn: Connection, ref: ModelRef, alias: str, user: str, now: int
    ) -> int | None:
        """Point ``alias`` at the version; returns the version it pointed at before."""
        row = self._version_row(conn, ref)
        before = self.delete_alias(conn, row.model_id, alias)
        conn.execute(
            model_aliases.insert().values(
                model_id=row.model_id,
                alias=alias,
                version_id=row.id,
                updated_by=user,
                update_time=now,
            )
        )
        return before

    def delete_alias(self, conn: Connection, model_id: int, alias: str) -> int | None:
        """Remove ``alias``; returns the version it pointed at (None: there was no such alias)."""
        before = conn.execute(
            sa.select(model_versions.c.version)
            .join(model_aliases, model_aliases.c.version_id == model_versions.c.id)
            .where(model_aliases.c.model_id == model_id, model_aliases.c.alias == alias)
        ).scalar()
        if before is not None:
            conn.execute(
                model_aliases.delete().where(
                    model_aliases.c.model_id == model_id, model_aliases.c.alias == alias
                )
            )
        return before


def _matching(query: Any, search: str | None) -> Any:
    """``query`` narrowed to models whose name or a tag matches ``search``.

    The tags are searched in one uncorrelated subquery (``id IN (…)``), which databases run
    once, rather than an EXISTS per model: at 10,000 models that is ~10x faster on SQLite.
    """
    if not search:
        return query
    key, sep, value = search.partition("=")
    tagged = sa.select(model_tags.c.model_id)
    if sep and key.strip():
        exact = tagged.where(model_tags.c.key == key.strip(), model_tags.c.value == value.strip())
        return query.where(registered_models.c.id.in_(exact))
    pattern = f"%{escape_like(search)}%"
    tagged = tagged.where(
        sa.or_(
            model_tags.c.key.ilike(pattern, escape="\\"),
            model_tags.c.value.ilike(pattern, escape="\\"),
        )
    )
    return query.where(
        sa.or_(
            registered_models.c.name.ilike(pattern, escape="\\"),
            registered_models.c.id.in_(tagged),
        )
    )


def _version(name: str, row: Any, aliases: tuple[str, ...]) -> ModelVersion:
    return ModelVersion(
        name=name,
        version=row.version,
        status=VersionStatus(row.status),
        flavor=row.flavor,
        content_id=row.content_id,
        signature=Signature.from_dict(json.loads(row.signature_json)),
        run_id=row.run_id,
        created_by=row.created_by,
        creation_time=row.creation_time,
        description=row.description,
        package=json.loads(row.package_json),
        aliases=aliases,
        status_reason=row.status_reason,
    )
