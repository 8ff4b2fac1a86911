"""Runs, params, tags, metrics and artifact manifests in SQL."""

from __future__ import annotations

import math
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.core.entities import FileInfo, Metric, Run, RunInfo
from shipyard.core.errors import ConflictError, NotFoundError
from shipyard.core.states import LifecycleStage
from shipyard.stores.ports import RunQuery
from shipyard.stores.sql.engine import upsert_insert
from shipyard.stores.sql.rows import escape_like, metric_from_row, run_info_from_row
from shipyard.stores.sql.run_search import search_run_ids
from shipyard.stores.sql.tables import latest_metrics, metrics, params, run_artifacts, runs, tags

__all__ = ["RunRepo"]

_CHUNK = 500


def _latest_per_key(points: Sequence[Metric]) -> dict[str, Metric]:
    """The point that wins per key: highest step, then newest timestamp (MLflow's rule)."""
    best: dict[str, Metric] = {}
    for m in points:
        cur = best.get(m.key)
        if cur is None or (m.step, m.timestamp) >= (cur.step, cur.timestamp):
            best[m.key] = m
    return best


class RunRepo:
    """Stateless: every method takes the connection of the caller's unit of work."""

    def create(self, conn: Connection, info: RunInfo, run_tags: dict[str, str]) -> None:
        conn.execute(
            runs.insert().values(
                id=info.run_id,
                experiment_id=int(info.experiment_id),
                name=info.run_name,
                user_name=info.user,
                status=info.status.value,
                start_time=info.start_time,
                end_time=info.end_time,
                lifecycle_stage=info.lifecycle_stage,
                parent_run_id=info.parent_run_id,
            )
        )
        if run_tags:
            conn.execute(
                tags.insert(),
                [{"run_id": info.run_id, "key": k, "value": v} for k, v in run_tags.items()],
            )

    def create_many(
        self, conn: Connection, entries: Sequence[tuple[RunInfo, dict[str, str], dict[str, str]]]
    ) -> None:
        """New runs with their tags and params, three statements whatever their number."""
        if not entries:
            return
        conn.execute(
            runs.insert(),
            [
                {
                    "id": info.run_id,
                    "experiment_id": int(info.experiment_id),
                    "name": info.run_name,
                    "user_name": info.user,
                    "status": info.status.value,
                    "start_time": info.start_time,
                    "end_time": info.end_time,
                    "lifecycle_stage": info.lifecycle_stage,
                    "parent_run_id": info.parent_run_id,
                }
                for info, _, _ in entries
            ],
        )
        tag_rows = [(info.run_id, t) for info, t, _ in entries]
        param_rows = [(info.run_id, p) for info, _, p in entries]
        for table, pairs in ((tags, tag_rows), (params, param_rows)):
            rows = [
                {"run_id": run_id, "key": k, "value": v}
                for run_id, values in pairs
                for k, v in values.items()
            ]
            if rows:
                conn.execute(table.insert(), rows)

    def infos(self, conn: Connection, run_ids: Sequence[str]) -> dict[str, RunInfo]:
        """The infos of existing runs among ``run_ids`` (missing ones are absent)."""
        out: dict[str, RunInfo] = {}
        for start in range(0, len(run_ids), _CHUNK):
            chunk = list(run_ids[start : start + _CHUNK])
            for row in conn.execute(sa.select(runs).where(runs.c.id.in_(chunk))):
                out[row.id] = run_info_from_row(row)
        return out

    def child_infos(self, conn: Connection, parent_ids: Sequence[str]) -> list[RunInfo]:
        """The runs whose parent is one of ``parent_ids``, oldest first (one query a chunk)."""
        out: list[RunInfo] = []
        for start in range(0, len(parent_ids), _CHUNK):
            chunk = list(parent_ids[start : start + _CHUNK])
            query = sa.select(runs).where(runs.c.parent_run_id.in_(chunk))
            out.extend(
                run_info_from_row(r) for r in conn.execute(query.order_by(runs.c.start_time))
            )
        return out

    def get_info(self, conn: Connection, run_id: str) -> RunInfo:
        row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
        if row is None:
            raise NotFoundError(f"no run with id {run_id}", field="run_id")
        return run_info_from_row(row)

    def get(self, conn: Connection, run_id: str) -> Run:
        found = self.load(conn, [run_id])
        if not found:
            raise NotFoundError(f"no run with id {run_id}", field="run_id")
        return found[0]

    def load(self, conn: Connection, run_ids: Sequence[str]) -> list[Run]:
        """Whole runs for ``run_ids``, in the given order (missing ids are left out)."""
        infos: dict[str, RunInfo] = {}
        data: dict[str, tuple[dict, dict, dict]] = {}
        for start in range(0, len(run_ids), _CHUNK):
            chunk = list(run_ids[start : start + _CHUNK])
            for row in conn.execute(sa.select(runs).where(runs.c.id.in_(chunk))):
                infos[row.id] = run_info_from_row(row)
                data[row.id] = ({}, {}, {})
            for row in conn.execute(sa.select(params).where(params.c.run_id.in_(chunk))):
                data[row.run_id][0][row.key] = row.value
            for row in conn.execute(
                sa.select(latest_metrics).where(latest_metrics.c.run_id.in_(chunk))
            ):
                data[row.run_id][1][row.key] = metric_from_row(row)
            for row in conn.execute(sa.select(tags).where(tags.c.run_id.in_(chunk))):
                data[row.run_id][2][row.key] = row.value
        return [
            Run(info=infos[i], params=data[i][0], metrics=data[i][1], tags=data[i][2])
            for i in run_ids
            if i in infos
        ]

    def search_ids(self, conn: Connection, query: RunQuery) -> list[str]:
        return search_run_ids(conn, query)

    def activity(
        self, conn: Connection, experiment_ids: Sequence[int], stages: Sequence[str]
    ) -> dict[int, tuple[int, int]]:
        last = sa.func.max(sa.func.coalesce(runs.c.end_time, runs.c.start_time))
        query = (
            sa.select(runs.c.experiment_id, sa.func.count(), last)
            .where(runs.c.experiment_id.in_(list(experiment_ids)))
            .where(runs.c.lifecycle_stage.in_(list(stages)))
            .group_by(runs.c.experiment_id)
        )
        return {int(e): (int(n), int(t)) for e, n, t in conn.execute(query)}

    def update(self, conn: Connection, run_id: str, **values: object) -> None:
        result = conn.execute(runs.update().where(runs.c.id == run_id).values(**values))
        if result.rowcount == 0:
            raise NotFoundError(f"no run with id {run_id}", field="run_id")

    def require_active(self, conn: Connection, run_id: str) -> RunInfo:
        info = self.get_info(conn, run_id)
        if info.lifecycle_stage != LifecycleStage.ACTIVE.value:
            raise ConflictError(
                f"run {run_id} is deleted; restore it before logging to it", field="run_id"
            )
        return info

    def log_batch(
        self,
        conn: Connection,
        info: RunInfo,
        points: Sequence[Metric],
        new_params: dict[str, str],
        new_tags: dict[str, str],
    ) -> None:
        """Append metric points, set params (immutable) and tags, in the caller's transaction."""
        if new_params:
            self._set_params(conn, info.run_id, new_params)
        if new_tags:
            stmt = upsert_insert(conn, tags)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[tags.c.run_id, tags.c.key], set_={"value": stmt.excluded.value}
                ),
                [{"run_id": info.run_id, "key": k, "value": v} for k, v in new_tags.items()],
            )
        if points:
            self._append_metrics(conn, info, points)

    def _set_params(self, conn: Connection, run_id: str, new_params: dict[str, str]) -> None:
        existing: dict[str, str] = {}
        keys = list(new_params)
        for start in range(0, len(keys), _CHUNK):
            rows = conn.execute(
                sa.select(params.c.key, params.c.value).where(
                    params.c.run_id == run_id, params.c.key.in_(keys[start : start + _CHUNK])
                )
            )
            existing.update({r.key: r.value for r in rows})
        for key, value in new_params.items():
            if key in existing and existing[key] != value:
                raise ConflictError(
                    f"param {key!r} of run {run_id} is already {existing[key]!r}; params are "
                    f"immutable, so it cannot become {value!r} — start a new run instead",
                    field=f"params.{key}",
                )
        fresh = [
            {"run_id": run_id, "key": k, "value": v}
            for k, v in new_params.items()
            if k not in existing
        ]
        if fresh:
            conn.execute(params.insert(), fresh)

    def _append_metrics(self, conn: Connection, info: RunInfo, points: Sequence[Metric]) -> None:
        conn.execute(
            metrics.insert(),
            [
                {
                    "run_id": info.run_id,
                    "key": m.key,
                    "step": m.step,
                    "timestamp": m.timestamp,
                    "value": None if math.isnan(m.value) else m.value,
                    "is_nan": math.isnan(m.value),
                }
                for m in points
            ],
        )
        latest = _latest_per_key(points)
        stmt = upsert_insert(conn, latest_metrics)
        ex = stmt.excluded
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[latest_metrics.c.run_id, latest_metrics.c.key],
                set_={
                    "step": ex.step,
                    "timestamp": ex.timestamp,
                    "value": ex.value,
                    "is_nan": ex.is_nan,
                },
                where=sa.or_(
                    ex.step > latest_metrics.c.step,
                    sa.and_(
                        ex.step == latest_metrics.c.step, ex.timestamp >= latest_metrics.c.timestamp
                    ),
                ),
            ),
            [
                {
                    "run_id": info.run_id,
                    "key": m.key,
                    "experiment_id": int(info.experiment_id),
                    "step": m.step,
                    "timestamp": m.timestamp,
                    "value": None if math.isnan(m.value) else m.value,
                    "is_nan": math.isnan(m.value),
                }
                for m in latest.values()
            ],
        )

    def metric_history(self, conn: Connection, run_id: str, key: str) -> list[Metric]:
        self.get_info(conn, run_id)
        rows = conn.execute(
            sa.select(metrics)
            .where(metrics.c.run_id == run_id, metrics.c.key == key)
            .order_by(metrics.c.step, metrics.c.timestamp, metrics.c.id)
        )
        return [metric_from_row(r) for r in rows]

    def metric_keys(self, conn: Connection, run_id: str) -> list[str]:
        rows = conn.execute(
            sa.select(latest_metrics.c.key)
            .where(latest_metrics.c.run_id == run_id)
            .order_by(latest_metrics.c.key)
        )
        return [r.key for r in rows]

    def delete_tag(self, conn: Connection, run_id: str, key: str) -> None:
        result = conn.execute(tags.delete().where(tags.c.run_id == run_id, tags.c.key == key))
        if result.rowcount == 0:
            raise NotFoundError(f"run {run_id} has no tag {key!r}", field="key")

    # ------------------------------------------------------------------ artifacts
    def add_artifacts(
        self, conn: Connection, run_id: str, files: Sequence[tuple[str, str, int]], now: int
    ) -> None:
        stmt = upsert_insert(conn, run_artifacts)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[run_artifacts.c.run_id, run_artifacts.c.path],
                set_={"digest": stmt.excluded.digest, "size": stmt.excluded.size},
            ),
            [
                {"run_id": run_id, "path": p, "digest": d, "size": s, "creation_time": now}
                for p, d, s in files
            ],
        )

    def artifact(self, conn: Connection, run_id: str, path: str) -> FileInfo:
        row = conn.execute(
            sa.select(run_artifacts).where(
                run_artifacts.c.run_id == run_id, run_artifacts.c.path == path
            )
        ).first()
        if row is None:
            raise NotFoundError(f"run {run_id} has no artifact file {path!r}", field="path")
        return FileInfo(path=row.path, is_dir=False, size=row.size, digest=row.digest)

    def list_artifacts(self, conn: Connection, run_id: str, prefix: str) -> list[FileInfo]:
        """Immediate children of ``prefix`` (files and folders), like ``ls``."""
        like = escape_like(prefix) + "/%"
        query = sa.select(run_artifacts).where(run_artifacts.c.run_id == run_id)
        if prefix:
            query = query.where(run_artifacts.c.path.like(like, escape="\\"))
        children: dict[str, FileInfo] = {}
        cut = len(prefix) + 1 if prefix else 0
        for row in conn.execute(query.order_by(run_artifacts.c.path)):
            rest = row.path[cut:]
            head, sep, _ = rest.partition("/")
            child = f"{prefix}/{head}" if prefix else head
            if sep:
                children.setdefault(child, FileInfo(path=child, is_dir=True))
            else:
                children[child] = FileInfo(
                    path=child, is_dir=False, size=row.size, digest=row.digest
                )
        if prefix and not children:
            self.artifact(conn, run_id, prefix)  # a file path: raises NotFound unless it exists
            return []
        return list(children.values())

    def all_artifacts(self, conn: Connection, run_id: str, prefix: str) -> list[FileInfo]:
        query = sa.select(run_artifacts).where(run_artifacts.c.run_id == run_id)
        rows = conn.execute(query.order_by(run_artifacts.c.path))
        return [
            FileInfo(path=r.path, is_dir=False, size=r.size, digest=r.digest)
            for r in rows
            if not prefix or r.path == prefix or r.path.startswith(prefix + "/")
        ]
