"""Ground-truth labels: which of a batch's ids are stored, the upsert, labels by time window."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.core.feedback import FeedbackLabel
from shipyard.stores.sql.engine import upsert_insert
from shipyard.stores.sql.tables_monitoring import feedback

__all__ = ["FeedbackRepo"]

_CHUNK = 500  # keys per IN (...) query: well under every backend's parameter limit


def _label(row: Any) -> FeedbackLabel:
    return FeedbackLabel(
        model=row.model,
        prediction_id=row.prediction_id,
        row=int(row.row_no),
        label=json.loads(row.label),
        label_time=int(row.label_time),
        prediction_time=None if row.prediction_time is None else int(row.prediction_time),
        version=None if row.version is None else int(row.version),
        matched=bool(row.matched),
    )


class FeedbackRepo:
    """Stateless: every method takes the connection of the caller's unit of work."""

    def existing(
        self, conn: Connection, model: str, keys: Sequence[tuple[str, int]]
    ) -> builtins.set[tuple[str, int]]:
        """The (prediction id, row) pairs of ``keys`` that already have a label."""
        c = feedback.c
        found: set[tuple[str, int]] = set()
        ids = sorted({pid for pid, _ in keys})
        for at in range(0, len(ids), _CHUNK):
            query = sa.select(c.prediction_id, c.row_no).where(
                c.model == model, c.prediction_id.in_(ids[at : at + _CHUNK])
            )
            found.update((r.prediction_id, int(r.row_no)) for r in conn.execute(query))
        return found & set(keys)

    def upsert(
        self, conn: Connection, labels: Sequence[FeedbackLabel], recorded: int, user: str
    ) -> None:
        """Insert the labels; an existing (model, id, row) gets the new label and times."""
        if not labels:
            return
        rows = [
            {
                "model": x.model,
                "prediction_id": x.prediction_id,
                "row_no": x.row,
                "label": json.dumps(x.label),
                "label_time": x.label_time,
                "prediction_time": x.prediction_time,
                "version": x.version,
                "matched": x.matched,
                "recorded": recorded,
                "recorded_by": user,
            }
            for x in labels
        ]
        stmt = upsert_insert(conn, feedback)
        excluded = stmt.excluded
        changed = ("label", "label_time", "prediction_time", "version", "matched", "recorded")
        stmt = stmt.on_conflict_do_update(
            index_elements=["model", "prediction_id", "row_no"],
            set_={**{k: excluded[k] for k in changed}, "recorded_by": excluded.recorded_by},
        )
        conn.execute(stmt, rows)

    def labels(
        self, conn: Connection, model: str, start_ms: int | None, end_ms: int | None
    ) -> builtins.list[FeedbackLabel]:
        """The labels of predictions made in ``[start_ms, end_ms)``, and those whose
        prediction time is not known yet (their rows in the logs decide)."""
        c = feedback.c
        query = sa.select(feedback).where(c.model == model)
        inside = []
        if start_ms is not None:
            inside.append(c.prediction_time >= start_ms)
        if end_ms is not None:
            inside.append(c.prediction_time < end_ms)
        if inside:
            query = query.where(sa.or_(sa.and_(*inside), c.prediction_time.is_(None)))
        return [_label(r) for r in conn.execute(query)]

    def changes(self, conn: Connection, model: str) -> tuple[int, int]:
        c = feedback.c
        query = sa.select(sa.func.count(), sa.func.max(c.recorded)).where(c.model == model)
        count, latest = conn.execute(query).one()
        return int(count or 0), int(latest or 0)

    def count(self, conn: Connection, model: str) -> int:
        query = sa.select(sa.func.count()).select_from(feedback).where(feedback.c.model == model)
        return int(conn.execute(query).scalar() or 0)
