"""The audit trail: read it (paged, newest first, by object or text), verify its hash chain.

Verifying is incremental by default where asked (a page view): a checkpoint keeps the last
(seq, hash) found intact, and only the entries after it are walked, after checking the
checkpoint's entry still carries that hash. ``verify(full=True)`` walks the whole chain again
(an edit before the checkpoint is only seen that way); a broken chain clears the checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Connection

from shipyard.core.audit import GENESIS, AuditEntry, ChainReport, verify_chain
from shipyard.core.audit_kinds import check_kind
from shipyard.core.clock import now_ms
from shipyard.core.errors import ValidationError
from shipyard.services.paging import (
    MAX_AUDIT_PAGE,
    Page,
    check_limit,
    check_offset,
    decode_cursor,
    encode_cursor,
)
from shipyard.stores.ports import AuditLedger
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
    def __init__(
        self,
        db: Database,
        *,
        repo: AuditLedger | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.db = db
        self.repo: AuditLedger = repo or AuditRepo()
        self.clock = clock

    def log(self, obj: str | None = None, limit: int = 100) -> list[AuditEntry]:
        if not 1 <= limit <= MAX_AUDIT_PAGE:
            raise ValidationError(f"limit must be 1..{MAX_AUDIT_PAGE}, got {limit}", field="limit")
        kind, ident = parse_object(obj)
        with self.db.read() as conn:
            return self.repo.entries(conn, object_type=kind, object_id=ident, limit=limit)

    def page(
        self,
        obj: str | None = None,
        *,
        text: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
        offset: int = 0,
        kind: str | None = None,
    ) -> Page:
        """One page of entries, newest first, with the total that match: after ``cursor``
        (the next_cursor of the previous page) and/or ``offset`` entries skipped; ``text``
        matches the actor, action or object id; ``kind`` keeps the governance or the
        bookkeeping entries (``core.audit_kinds``; empty or ``all``: both)."""
        otype, ident = parse_object(obj)
        which = check_kind(kind)
        before = decode_cursor(cursor, "before", int)
        limit = check_limit(limit, MAX_AUDIT_PAGE)
        offset = check_offset(offset)
        text = (text or "").strip() or None
        with self.db.read() as conn:
            found = self.repo.entries(
                conn, object_type=otype, object_id=ident, text=text, kind=which,
                before=before, offset=offset, limit=limit + 1,
            )  # fmt: skip
            total = self.repo.count(conn, object_type=otype, object_id=ident, text=text, kind=which)
        more = len(found) > limit
        found = found[:limit]
        return Page(found, encode_cursor("before", found[-1].seq) if more else None, total)

    def verify(self, *, full: bool = True) -> ChainReport:
        """Check the hash chain: all of it (``full``), or from the verified checkpoint on.
        An intact chain moves the checkpoint to the head; a broken one clears it."""
        with self.db.read() as conn:
            # The head first: entries appended while the chain is walked (PostgreSQL reads
            # see new commits) lie beyond it and are left for the next check.
            head = self.repo.head(conn)
            start = (0, GENESIS) if full else self._start(conn, head)
            rows = self.repo.stream(conn, upto=None if head is None else head[0], after=start[0])
            report = verify_chain(rows, head, start)
            last = head[0] if head else 0
            beyond = self.repo.first_after(conn, last) if report.ok else None
            if beyond is not None and self.repo.head(conn) == head:
                # rows past a head that did not move were not appended by Shipyard
                report = ChainReport(
                    False,
                    report.checked,
                    beyond,
                    f"entry {beyond} lies beyond the ledger head ({last}): it was added "
                    "outside Shipyard",
                    start[0],
                )
        self._record(report, head)
        return report

    def _start(self, conn: Connection, head: tuple[int, str] | None) -> tuple[int, str]:
        """Where an incremental walk starts: just before the checkpoint's entry (so the walk
        checks that entry's content too), if it still carries the checkpoint's hash and lies
        within the head; else the beginning (a full walk names the break)."""
        point = self.repo.checkpoint(conn)
        if point is None or head is None or point[0] > head[0]:
            return 0, GENESIS
        if self.repo.hash_at(conn, point[0]) != point[1]:
            return 0, GENESIS
        before = point[0] - 1
        digest = self.repo.hash_at(conn, before) if before else GENESIS
        return (before, digest) if digest is not None else (0, GENESIS)

    def _record(self, report: ChainReport, head: tuple[int, str] | None) -> None:
        with self.db.write() as conn:
            if not report.ok:
                self.repo.clear_checkpoint(conn)
            elif head is not None:
                self.repo.set_checkpoint(conn, head[0], head[1], self.clock())
