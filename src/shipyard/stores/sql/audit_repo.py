"""The audit ledger in SQL: appends in the caller's transaction, ordered by the head row."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.core.audit import (
    GENESIS,
    ROW_COLUMNS,
    AuditEntry,
    canonical_payload,
    entry_hash,
    payload_hash,
)
from shipyard.core.audit_kinds import GOVERNANCE_ACTIONS
from shipyard.stores.ports import NewEntry
from shipyard.stores.sql.rows import escape_like
from shipyard.stores.sql.tables import audit_checkpoint, audit_head, audit_ledger

__all__ = ["AuditRepo", "NewEntry"]


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        time=row.time,
        actor=row.actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        reason=row.reason,
        payload_hash=row.payload_hash,
        prev_hash=row.prev_hash,
        hash=row.hash,
        payload=row.payload_json,
    )


class AuditRepo:
    """Stateless: every method takes the connection of the caller's unit of work."""

    def append(self, conn: Connection, entries: Sequence[NewEntry], now: int) -> None:
        """Chain ``entries`` after the head, in this transaction (the head row is locked)."""
        if not entries:
            return
        head = conn.execute(
            sa.select(audit_head.c.seq, audit_head.c.hash)
            .where(audit_head.c.id == 1)
            .with_for_update()
        ).first()
        seq, prev = (head.seq, head.hash) if head is not None else (0, GENESIS)
        rows = []
        for e in entries:
            seq += 1
            text = canonical_payload(e.payload)
            digest = payload_hash(text)
            reason = e.reason[:4000]
            h = entry_hash(
                prev, seq, now, e.actor, e.action, e.object_type, e.object_id, reason, digest
            )
            rows.append(
                {
                    "seq": seq,
                    "time": now,
                    "actor": e.actor,
                    "action": e.action,
                    "object_type": e.object_type,
                    "object_id": e.object_id,
                    "reason": reason,
                    "payload_json": text,
                    "payload_hash": digest,
                    "prev_hash": prev,
                    "hash": h,
                }
            )
            prev = h
        conn.execute(audit_ledger.insert(), rows)
        if head is None:
            conn.execute(audit_head.insert().values(id=1, seq=seq, hash=prev))
        else:
            conn.execute(audit_head.update().where(audit_head.c.id == 1).values(seq=seq, hash=prev))

    def head(self, conn: Connection) -> tuple[int, str] | None:
        row = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash)).first()
        return (row.seq, row.hash) if row is not None else None

    def entries(
        self,
        conn: Connection,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        limit: int = 100,
        before: int | None = None,
        offset: int = 0,
        text: str | None = None,
        kind: str | None = None,
    ) -> list[AuditEntry]:
        """Newest first; ``before`` a seq (keyset) and/or ``offset`` entries skipped;
        ``kind`` governance or bookkeeping (``core.audit_kinds``)."""
        query = _filtered(sa.select(audit_ledger), object_type, object_id, text, kind)
        if before is not None:
            query = query.where(audit_ledger.c.seq < before)
        query = query.order_by(audit_ledger.c.seq.desc()).limit(limit).offset(offset)
        return [_entry(r) for r in conn.execute(query)]

    def count(
        self,
        conn: Connection,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        text: str | None = None,
        kind: str | None = None,
    ) -> int:
        """How many entries match. Bookkeeping without a search is counted as all minus
        governance: both counts read indexes (the whole trail's the primary key's, the
        governance one ``ix_audit_ledger_action``'s ranges), where the negated test would
        read every action."""
        if kind == "bookkeeping" and not text:
            every = self.count(conn, object_type=object_type, object_id=object_id)
            return every - self.count(
                conn, object_type=object_type, object_id=object_id, kind="governance"
            )
        query = sa.select(sa.func.count()).select_from(audit_ledger)
        filtered = _filtered(query, object_type, object_id, text, kind)
        return int(conn.execute(filtered).scalar() or 0)

    def hash_at(self, conn: Connection, seq: int) -> str | None:
        """The stored hash of entry ``seq`` (None when there is no such entry)."""
        return conn.execute(
            sa.select(audit_ledger.c.hash).where(audit_ledger.c.seq == seq)
        ).scalar()

    def checkpoint(self, conn: Connection) -> tuple[int, str] | None:
        """The last (seq, hash) a verify found intact, if any."""
        row = conn.execute(sa.select(audit_checkpoint.c.seq, audit_checkpoint.c.hash)).first()
        return (row.seq, row.hash) if row is not None else None

    def set_checkpoint(self, conn: Connection, seq: int, digest: str, now: int) -> None:
        """Move the checkpoint forward to (seq, hash); never back (a slower verify that
        finished later must not undo a newer one)."""
        current = self.checkpoint(conn)
        values = {"seq": seq, "hash": digest, "verified_at": now}
        if current is None:
            conn.execute(audit_checkpoint.insert().values(id=1, **values))
        elif current[0] <= seq:
            conn.execute(audit_checkpoint.update().where(audit_checkpoint.c.id == 1).values(values))

    def clear_checkpoint(self, conn: Connection) -> None:
        """Forget the checkpoint (the chain is broken: every view walks it all again)."""
        conn.execute(audit_checkpoint.delete())

    def first_after(self, conn: Connection, seq: int) -> int | None:
        """The first sequence number after ``seq``, if any."""
        return conn.execute(
            sa.select(sa.func.min(audit_ledger.c.seq)).where(audit_ledger.c.seq > seq)
        ).scalar()

    def stream(
        self, conn: Connection, upto: int | None = None, batch: int = 50_000, after: int = 0
    ) -> Iterator[tuple[Any, ...]]:
        """Every entry after seq ``after`` (up to seq ``upto``) as a plain tuple
        (``ROW_COLUMNS``), in order."""
        columns = [audit_ledger.c[name] for name in ROW_COLUMNS]
        while True:
            query = sa.select(*columns).where(audit_ledger.c.seq > after)
            if upto is not None:
                query = query.where(audit_ledger.c.seq <= upto)
            rows = conn.execute(query.order_by(audit_ledger.c.seq).limit(batch)).all()
            if not rows:
                return
            yield from rows
            after = rows[-1][0]


def _governance() -> Any:
    """The SQL test of ``core.audit_kinds.is_governance``: the action is a governance
    action or one under it."""
    action = audit_ledger.c.action
    return sa.or_(
        *(
            sa.or_(action == p, action.like(f"{escape_like(p)}.%", escape="\\"))
            for p in GOVERNANCE_ACTIONS
        )
    )


def _filtered(
    query: Any,
    object_type: str | None,
    object_id: str | None,
    text: str | None,
    kind: str | None = None,
) -> Any:
    if kind == "governance":
        query = query.where(_governance())
    elif kind == "bookkeeping":
        query = query.where(sa.not_(_governance()))
    if object_type:
        query = query.where(audit_ledger.c.object_type == object_type)
    if object_id:
        query = query.where(audit_ledger.c.object_id == object_id)
    if text:
        pattern = f"%{escape_like(text)}%"
        query = query.where(
            sa.or_(
                audit_ledger.c.actor.ilike(pattern, escape="\\"),
                audit_ledger.c.action.ilike(pattern, escape="\\"),
                audit_ledger.c.object_id.ilike(pattern, escape="\\"),
            )
        )
    return query
