"""Registered models as a whole: read them, create, rename, describe, tag, delete, unalias.

``RegistryService`` builds on this class; every change here is one unit of work that appends
its audit entry in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shipyard.core.errors import ConflictError, NotFoundError, ValidationError
from shipyard.core.models import (
    ModelRef,
    ModelVersion,
    RegisteredModel,
    check_alias,
    check_model_name,
    parse_model_ref,
)
from shipyard.core.validation import check_key, check_run_id, check_tag_value
from shipyard.services.paging import (
    MAX_WIDE_PAGE,
    Page,
    check_limit,
    check_offset,
    decode_cursor,
    encode_cursor,
)
from shipyard.stores.ports import AuditLog, ModelStore, NewEntry
from shipyard.stores.sql.engine import Database

__all__ = ["RegisteredModels", "as_ref"]


def as_ref(ref: str | ModelRef) -> ModelRef:
    """``ref`` as a ModelRef (``name``, ``name/3`` or ``name@alias`` when given as text)."""
    return ref if isinstance(ref, ModelRef) else parse_model_ref(ref)


class RegisteredModels:
    """Reads and model-level changes of the registry (the versions' side: ``RegistryService``)."""

    db: Database
    repo: ModelStore
    audit: AuditLog
    clock: Callable[[], int]

    # ------------------------------------------------------------ reading
    def get_model(self, name: str) -> RegisteredModel:
        with self.db.read() as conn:
            return self.repo.get_model(conn, check_model_name(name))

    def list_models(
        self, search: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[RegisteredModel]:
        if not 1 <= limit <= MAX_WIDE_PAGE or offset < 0:
            raise ValidationError("limit must be 1..10000 and offset >= 0", field="limit")
        with self.db.read() as conn:
            return self.repo.list_models(conn, search=search, limit=limit, offset=offset)

    def page_models(
        self,
        search: str | None = None,
        *,
        cursor: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Page:
        """One page of models by name, with the total that match ``search`` (a name or tag
        text, or ``key=value``): after ``cursor`` (the previous page's next_cursor) and/or
        ``offset`` models skipped."""
        after = decode_cursor(cursor, "after", str)
        limit, offset = check_limit(limit, MAX_WIDE_PAGE), check_offset(offset)
        search = (search or "").strip() or None
        with self.db.read() as conn:
            found = self.repo.list_models(
                conn, search=search, limit=limit + 1, offset=offset, after=after
            )
            total = self.repo.count_models(conn, search=search)
        more = len(found) > limit
        found = found[:limit]
        return Page(found, encode_cursor("after", found[-1].name) if more else None, total)

    def versions(self, name: str) -> list[ModelVersion]:
        with self.db.read() as conn:
            return self.repo.versions(conn, check_model_name(name))

    def page_versions(self, name: str, *, cursor: str | None = None, limit: int = 100) -> Page:
        """One page of the model's versions, newest first, with the model's version count:
        those numbered below ``cursor`` (the previous page's next_cursor)."""
        below = decode_cursor(cursor, "below", int)
        limit = check_limit(limit, MAX_WIDE_PAGE)
        with self.db.read() as conn:
            name = check_model_name(name)
            found = self.repo.versions(conn, name, below=below, limit=limit + 1, newest_first=True)
            total = self.repo.count_versions(conn, self.repo.model_id(conn, name))
        more = len(found) > limit
        found = found[:limit]
        return Page(found, encode_cursor("below", found[-1].version) if more else None, total)

    def search_versions(self, names: Sequence[str] | None = None) -> list[ModelVersion]:
        """Every version of the named models (of all models when None), by name and number.

        An unknown name matches nothing (a search, not a lookup).
        """
        if names is not None:
            names = [check_model_name(n) for n in names]
        with self.db.read() as conn:
            return self.repo.all_versions(conn, names)

    def versions_of_runs(self, run_ids: Sequence[str]) -> list[ModelVersion]:
        """The versions registered from one of ``run_ids``, by name and number: the models
        trained by those runs (lineage, read from the data's side)."""
        ids = [check_run_id(r) for r in run_ids]
        with self.db.read() as conn:
            return self.repo.versions_of_runs(conn, ids)

    def get_version(self, ref: str | ModelRef) -> ModelVersion:
        with self.db.read() as conn:
            return self.repo.get_version(conn, as_ref(ref))

    # ------------------------------------------------------------ model-level changes
    def create_model(
        self,
        name: str,
        *,
        user: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        audit_extra: Mapping[str, Any] | None = None,
    ) -> RegisteredModel:
        """A new, empty registered model; AlreadyExistsError when the name is taken."""
        check_model_name(name)
        checked = _checked_tags(tags or {})
        now = self.clock()
        with self.db.write() as conn:
            model_id = self.repo.create_model(conn, name, str(description), user, now)
            if checked:
                self.repo.set_tags(conn, model_id, checked)
            entry = NewEntry(user, "model.create", "model", name, payload=dict(audit_extra or {}))
            self.audit.append(conn, [entry], now)
            return self.repo.get_model(conn, name)

    def rename_model(self, name: str, new_name: str, *, user: str) -> RegisteredModel:
        """Rename a model that has no versions yet.

        Deployments, serving statistics and the audit trail know a model by its name, so a
        model with versions keeps its name (register the versions under a new name instead).
        """
        check_model_name(name)
        if not isinstance(new_name, str) or not new_name:
            raise ValidationError(
                f"new_name must be a model name, got {new_name!r}", field="new_name"
            )
        check_model_name(new_name)
        now = self.clock()
        with self.db.write() as conn:
            model_id = self.repo.model_id(conn, name)
            self._refuse_with_versions(conn, model_id, name, "renaming")
            self.repo.rename_model(conn, model_id, new_name, now)
            payload = {"from": name, "to": new_name}
            entry = NewEntry(user, "model.rename", "model", new_name, payload=payload)
            self.audit.append(conn, [entry], now)
            return self.repo.get_model(conn, new_name)

    def update_model(self, name: str, *, user: str, description: str) -> RegisteredModel:
        """Set the model's description."""
        check_model_name(name)
        if not isinstance(description, str):
            raise ValidationError(
                f"description must be text, got {type(description).__name__}",
                field="description",
            )
        now = self.clock()
        with self.db.write() as conn:
            model_id = self.repo.model_id(conn, name)
            self.repo.touch(conn, model_id, now, description=description)
            payload = {"description": description}
            entry = NewEntry(user, "model.update", "model", name, payload=payload)
            self.audit.append(conn, [entry], now)
            return self.repo.get_model(conn, name)

    def delete_model(self, name: str, *, user: str) -> None:
        """Delete a model without versions: registered versions are kept for audit."""
        check_model_name(name)
        now = self.clock()
        with self.db.write() as conn:
            model_id = self.repo.model_id(conn, name)
            self._refuse_with_versions(conn, model_id, name, "deleting")
            self.repo.delete_model(conn, model_id)
            self.audit.append(conn, [NewEntry(user, "model.delete", "model", name)], now)

    def set_model_tag(self, name: str, key: str, value: str, *, user: str) -> RegisteredModel:
        """Set (or overwrite) one tag of the model."""
        check_model_name(name)
        checked = _checked_tags({key: value}, field="key")
        now = self.clock()
        with self.db.write() as conn:
            model_id = self.repo.model_id(conn, name)
            self.repo.set_tags(conn, model_id, checked)
            self.repo.touch(conn, model_id, now)
            payload = {"key": key, "value": checked[key]}
            entry = NewEntry(user, "model.tag.set", "model", name, payload=payload)
            self.audit.append(conn, [entry], now)
            return self.repo.get_model(conn, name)

    def delete_model_tag(self, name: str, key: str, *, user: str) -> None:
        """Remove one tag of the model; NotFoundError when it has no such tag."""
        check_model_name(name)
        check_key(key, "key")
        now = self.clock()
        with self.db.write() as conn:
            model_id = self.repo.model_id(conn, name)
            if not self.repo.delete_tag(conn, model_id, key):
                raise NotFoundError(f"model {name!r} has no tag {key!r}", field="key")
            self.repo.touch(conn, model_id, now)
            entry = NewEntry(user, "model.tag.delete", "model", name, payload={"key": key})
            self.audit.append(conn, [entry], now)

    def delete_alias(self, name: str, alias: str, *, user: str, reason: str = "") -> None:
        """Remove ``alias``; NotFoundError when the model has no such alias."""
        check_model_name(name)
        check_alias(alias)
        now = self.clock()
        with self.db.write() as conn:
            model_id = self.repo.model_id(conn, name)
            before = self.repo.delete_alias(conn, model_id, alias)
            if before is None:
                raise NotFoundError(f"model {name!r} has no alias {alias!r}", field="alias")
            self.repo.touch(conn, model_id, now)
            payload = {"alias": alias, "from": before, "to": None}
            entry = NewEntry(user, "model.alias", "model", name, reason, payload)
            self.audit.append(conn, [entry], now)

    def _refuse_with_versions(self, conn: Any, model_id: int, name: str, doing: str) -> None:
        count = self.repo.count_versions(conn, model_id)
        if count:
            raise ConflictError(
                f"registered model {name!r} has {count} version(s); Shipyard keeps registered "
                f"versions for audit, archive them instead of {doing} the model",
                field="name",
            )


def _checked_tags(tags: Mapping[str, Any], field: str = "tags") -> dict[str, str]:
    if not isinstance(tags, Mapping):
        raise ValidationError(f"{field} must be a mapping of key to value", field=field)
    return {check_key(k, field): check_tag_value(k, v) for k, v in tags.items()}
