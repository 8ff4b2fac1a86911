"""The pack index in SQL: where each small file's blob lives (pack digest and offset)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.stores.sql.engine import upsert_insert
from shipyard.stores.sql.tables import packed_blobs

__all__ = ["PackRepo"]

_CHUNK = 500


class PackRepo:
    """Stateless: every method takes the connection of the caller's unit of work."""

    def locate(self, conn: Connection, digests: Sequence[str]) -> dict[str, tuple[str, int]]:
        """digest → (pack digest, offset) for the blobs already stored in a pack."""
        found: dict[str, tuple[str, int]] = {}
        unique = sorted(set(digests))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            for r in conn.execute(sa.select(packed_blobs).where(packed_blobs.c.digest.in_(chunk))):
                found[r.digest] = (r.pack_digest, r.offset)
        return found

    def add(self, conn: Connection, rows: Sequence[tuple[str, str, int, int]]) -> None:
        """Record (digest, pack, offset, size) of blobs just written into packs.

        A row already there is replaced: callers only pack blobs they could not find in an
        existing pack, so the old row names a pack that is gone. Rows go in digest order, so
        two registrations sharing blobs lock them in the same order (no deadlock).
        """
        ordered = sorted({r[0]: r for r in rows}.values())
        for start in range(0, len(ordered), _CHUNK):
            values = [
                {"digest": d, "pack_digest": p, "offset": o, "size": n}
                for d, p, o, n in ordered[start : start + _CHUNK]
            ]
            stmt = upsert_insert(conn, packed_blobs).values(values)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[packed_blobs.c.digest],
                    set_={"pack_digest": stmt.excluded.pack_digest, "offset": stmt.excluded.offset},
                )
            )
