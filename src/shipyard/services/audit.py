"""The audit trail: read it, filter it by object, verify its hash chain."""

from __future__ import annotations

from shipyard.core.audit import AuditEntry, ChainReport, verify_chain
from shipyard.core.errors import ValidationError
from shipyard.stores.ports import AuditReader
from shipyard.stores.sql.audit_repo import AuditRepo
from shipyard.stores.sql.engine import Database

__all__ = ["OBJECT_TYPES", "AuditService", "parse_object"]

OBJECT_TYPES = (
    "run", "experiment", "dataset", "user", "pipeline", "model", "deployment", "alert",
    "retraining", "project",
)  # fmt: skip


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
    def __init__(self, db: Database, *, repo: AuditReader | None = None) -> None:
        self.db = db
        self.repo: AuditReader = repo or AuditRepo()

    def log(self, obj: str | None = None, limit: int = 100) -> list[AuditEntry]:
        if not 1 <= limit <= 100_000:
            raise ValidationError(f"limit must be 1..100000, got {limit}", field="limit")
        kind, ident = parse_object(obj)
        with self.db.read() as conn:
            return self.repo.entries(conn, object_type=kind, object_id=ident, limit=limit)

    def verify(self) -> ChainReport:
        with self.db.read() as conn:
            # The head first: entries appended while the chain is walked (PostgreSQL reads
            # see new commits) lie beyond it and are left for the next check.
            head = self.repo.head(conn)
            rows = self.repo.stream(conn, upto=None if head is None else head[0])
            report = verify_chain(rows, head)
            last = head[0] if head else 0
            beyond = self.repo.first_after(conn, last) if report.ok else None
            if beyond is not None and self.repo.head(conn) == head:
                # rows past a head that did not move were not appended by Shipyard
                return ChainReport(
                    False,
                    report.checked,
                    beyond,
                    f"entry {beyond} lies beyond the ledger head ({last}): it was added "
                    "outside Shipyard",
                )
            return report
