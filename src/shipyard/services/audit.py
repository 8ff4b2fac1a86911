"""The audit trail: read it, filter it by object, verify its hash chain."""

from __future__ import annotations

from shipyard.core.audit import AuditEntry, ChainReport, verify_chain
from shipyard.core.errors import ValidationError
from shipyard.stores.sql.audit_repo import AuditRepo
from shipyard.stores.sql.engine import Database

__all__ = ["OBJECT_TYPES", "AuditService", "parse_object"]

OBJECT_TYPES = ("run", "experiment", "dataset", "user", "pipeline", "model")


def parse_object(text: str | None) -> tuple[str | None, str | None]:
    """``run:abc…`` / ``dataset:loans`` → (type, id); a bare id matches any type."""
    if not text:
        return None, None
    kind, sep, ident = text.partition(":")
    if not sep:
        return None, text
    if kind not in OBJECT_TYPES:
        raise ValidationError(
            f"object type {kind!r} is unknown; use one of {', '.join(OBJECT_TYPES)} "
            "(e.g. run:<id>, dataset:<name>)",
            field="object",
        )
    return kind, ident or None


class AuditService:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.repo = AuditRepo()

    def log(self, obj: str | None = None, limit: int = 100) -> list[AuditEntry]:
        if not 1 <= limit <= 100_000:
            raise ValidationError(f"limit must be 1..100000, got {limit}", field="limit")
        kind, ident = parse_object(obj)
        with self.db.read() as conn:
            return self.repo.entries(conn, object_type=kind, object_id=ident, limit=limit)

    def verify(self) -> ChainReport:
        with self.db.read() as conn:
            return verify_chain(self.repo.stream(conn), self.repo.head(conn))
