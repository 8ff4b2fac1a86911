"""Retraining runs: the once-only start (one active run per model), compare-and-set state
changes, the lease a runner holds while it works, and the history."""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.core.retraining import RetrainRun, RetrainState
from shipyard.stores.sql.tables_retraining import retraining_runs as t

__all__ = ["RetrainingRepo"]

_JSON = ("trigger_detail", "gates", "approval", "deployment", "follow_up")


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _run(row: Any) -> RetrainRun:
    return RetrainRun(
        run_id=int(row.id),
        model=row.model,
        trigger=row.trigger,
        trigger_detail=_loads(row.trigger_detail) or {},
        state=RetrainState(row.state),
        reason=row.reason,
        created=int(row.created),
        updated=int(row.updated),
        created_by=row.created_by,
        register_as=row.register_as,
        environment=row.environment,
        data_ref=row.data_ref,
        holdout_ref=row.holdout_ref,
        pipeline_run_id=row.pipeline_run_id,
        version=row.version,
        gates=_loads(row.gates),
        approval=_loads(row.approval),
        deployment=_loads(row.deployment),
        coalesced=int(row.coalesced),
        failed_step=row.failed_step,
        holder=row.holder,
        lease_until=int(row.lease_until),
        finished=None if row.finished is None else int(row.finished),
        outcome=row.outcome,
        follow_up=_loads(row.follow_up),
    )


def _values(values: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if key in _JSON and value is not None:
            value = json.dumps(value, sort_keys=True, default=str)
        elif isinstance(value, RetrainState):
            value = value.value
        out[key] = value
    return out


class RetrainingRepo:
    """Stateless: every method takes the connection of the caller's unit of work."""

    def add(self, conn: Connection, values: Mapping[str, Any]) -> int:
        """Insert a run; an active one takes ``active_model`` (unique: a second active run
        of the model fails the insert, which the engine reports as AlreadyExistsError)."""
        result = conn.execute(sa.insert(t).values(**_values(values)).returning(t.c.id))
        return int(result.scalar_one())

    def get(self, conn: Connection, run_id: int, *, lock: bool = False) -> RetrainRun | None:
        query = sa.select(t).where(t.c.id == run_id)
        row = conn.execute(query.with_for_update() if lock else query).first()
        return None if row is None else _run(row)

    def active(self, conn: Connection, model: str, *, lock: bool = False) -> RetrainRun | None:
        query = sa.select(t).where(t.c.active_model == model)
        row = conn.execute(query.with_for_update() if lock else query).first()
        return None if row is None else _run(row)

    def actives(self, conn: Connection) -> builtins.list[RetrainRun]:
        query = sa.select(t).where(t.c.active_model.is_not(None)).order_by(t.c.id)
        return [_run(r) for r in conn.execute(query)]

    def last_started(self, conn: Connection, model: str) -> RetrainRun | None:
        """The newest run of ``model`` that was not skipped (what the cooldown counts from)."""
        query = (
            sa.select(t)
            .where(t.c.model == model, t.c.state != RetrainState.SKIPPED.value)
            .order_by(t.c.id.desc())
            .limit(1)
        )
        row = conn.execute(query).first()
        return None if row is None else _run(row)

    def pending_outcomes(self, conn: Connection, model: str) -> builtins.list[RetrainRun]:
        """Deployed runs of ``model`` whose outcome after promotion is not recorded yet."""
        query = (
            sa.select(t)
            .where(
                t.c.model == model,
                t.c.state == RetrainState.DEPLOYED.value,
                t.c.outcome == "pending",
            )
            .order_by(t.c.id)
        )
        return [_run(r) for r in conn.execute(query)]

    def update(
        self,
        conn: Connection,
        run_id: int,
        expected: RetrainState,
        values: Mapping[str, Any],
    ) -> bool:
        """Change the run if it is still in ``expected`` (False when it moved meanwhile)."""
        query = (
            sa.update(t)
            .where(t.c.id == run_id, t.c.state == expected.value)
            .values(**_values(values))
        )
        return conn.execute(query).rowcount == 1

    def claim(self, conn: Connection, run_id: int, holder: str, now: int, lease_until: int) -> bool:
        """Take the run's lease when it is free, expired, or already ``holder``'s."""
        free = sa.or_(t.c.holder.is_(None), t.c.lease_until < now, t.c.holder == holder)
        query = (
            sa.update(t)
            .where(t.c.id == run_id, t.c.active_model.is_not(None), free)
            .values(holder=holder, lease_until=lease_until)
        )
        return conn.execute(query).rowcount == 1

    def renew(self, conn: Connection, run_id: int, holder: str, lease_until: int) -> bool:
        query = (
            sa.update(t)
            .where(t.c.id == run_id, t.c.holder == holder)
            .values(lease_until=lease_until)
        )
        return conn.execute(query).rowcount == 1

    def coalesce(self, conn: Connection, run_id: int, now: int) -> None:
        conn.execute(
            sa.update(t).where(t.c.id == run_id).values(coalesced=t.c.coalesced + 1, updated=now)
        )

    def runs(
        self, conn: Connection, model: str | None, before: int | None, limit: int
    ) -> builtins.list[RetrainRun]:
        query = sa.select(t).order_by(t.c.id.desc()).limit(limit)
        if model is not None:
            query = query.where(t.c.model == model)
        if before is not None:
            query = query.where(t.c.id < before)
        return [_run(r) for r in conn.execute(query)]

    def count(self, conn: Connection, model: str | None) -> int:
        query = sa.select(sa.func.count()).select_from(t)
        if model is not None:
            query = query.where(t.c.model == model)
        return int(conn.execute(query).scalar_one())
