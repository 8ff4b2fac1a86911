"""Experiments in SQL."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.core.entities import Experiment
from shipyard.core.errors import AlreadyExistsError, NotFoundError
from shipyard.core.states import LifecycleStage
from shipyard.core.validation import check_int
from shipyard.stores.sql.rows import experiment_from_row, inserted_id
from shipyard.stores.sql.tables import experiment_tags, experiments

__all__ = ["ExperimentRepo"]


def _parse_id(experiment_id: object) -> int:
    """An experiment id as the database holds it: ASCII digits within a 64-bit integer."""
    return check_int(str(experiment_id), "experiment_id")


class ExperimentRepo:
    """Stateless: every method takes the connection of the caller's unit of work."""

    def create(
        self, conn: Connection, name: str, artifact_location: str, tags: dict[str, str], now: int
    ) -> str:
        exists = conn.execute(sa.select(experiments.c.id).where(experiments.c.name == name))
        if exists.first() is not None:
            raise AlreadyExistsError(f"experiment {name!r} already exists", field="name")
        new_id = inserted_id(
            conn.execute(
                experiments.insert().values(
                    name=name,
                    artifact_location=artifact_location,
                    lifecycle_stage=LifecycleStage.ACTIVE.value,
                    creation_time=now,
                    last_update_time=now,
                )
            )
        )
        if tags:
            conn.execute(
                experiment_tags.insert(),
                [{"experiment_id": new_id, "key": k, "value": v} for k, v in tags.items()],
            )
        return str(new_id)

    def _tags(self, conn: Connection, ids: list[int]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {i: {} for i in ids}
        if ids:
            rows = conn.execute(
                sa.select(experiment_tags).where(experiment_tags.c.experiment_id.in_(ids))
            )
            for r in rows:
                out[r.experiment_id][r.key] = r.value
        return out

    def get(self, conn: Connection, experiment_id: object) -> Experiment:
        eid = _parse_id(experiment_id)
        row = conn.execute(sa.select(experiments).where(experiments.c.id == eid)).first()
        if row is None:
            raise NotFoundError(f"no experiment with id {experiment_id}", field="experiment_id")
        return experiment_from_row(row, self._tags(conn, [eid])[eid])

    def get_by_name(self, conn: Connection, name: str) -> Experiment | None:
        row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).first()
        if row is None:
            return None
        return experiment_from_row(row, self._tags(conn, [row.id])[row.id])

    def search(
        self,
        conn: Connection,
        *,
        stages: tuple[str, ...],
        name_like: str | None,
        max_results: int,
        offset: int,
    ) -> list[Experiment]:
        query = sa.select(experiments).where(experiments.c.lifecycle_stage.in_(stages))
        if name_like:
            query = query.where(experiments.c.name.like(name_like))
        query = query.order_by(experiments.c.id).limit(max_results).offset(offset)
        rows = conn.execute(query).all()
        tags = self._tags(conn, [r.id for r in rows])
        return [experiment_from_row(r, tags[r.id]) for r in rows]

    def update(self, conn: Connection, experiment_id: object, now: int, **values: object) -> None:
        eid = _parse_id(experiment_id)
        if "name" in values:
            taken = conn.execute(
                sa.select(experiments.c.id).where(
                    experiments.c.name == values["name"], experiments.c.id != eid
                )
            ).first()
            if taken is not None:
                raise AlreadyExistsError(
                    f"experiment {values['name']!r} already exists", field="new_name"
                )
        result = conn.execute(
            experiments.update()
            .where(experiments.c.id == eid)
            .values(last_update_time=now, **values)
        )
        if result.rowcount == 0:
            raise NotFoundError(f"no experiment with id {experiment_id}", field="experiment_id")

    def set_tag(self, conn: Connection, experiment_id: object, key: str, value: str) -> None:
        eid = _parse_id(experiment_id)
        self.get(conn, eid)
        conn.execute(
            experiment_tags.delete().where(
                experiment_tags.c.experiment_id == eid, experiment_tags.c.key == key
            )
        )
        conn.execute(experiment_tags.insert().values(experiment_id=eid, key=key, value=value))
