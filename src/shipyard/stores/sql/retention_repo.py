"""What garbage collection asks and removes: runs and experiments deleted, and model
versions archived, before a cutoff (the time of the change is the ledger's, the one record
of it), and their rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.stores.ports import Expired
from shipyard.stores.sql import tables as t
from shipyard.stores.sql.tables_serving import deployments

__all__ = ["RetentionRepo"]

_CHUNK = 500  # ids per IN list (well under every driver's parameter limit)


def _chunks(items: Sequence[object]) -> Iterator[list[object]]:
    for start in range(0, len(items), _CHUNK):
        yield list(items[start : start + _CHUNK])


def _last_times(conn: Connection, object_type: str, action: str, ids: list[str]) -> dict[str, int]:
    """The latest time of ``action`` on each object of ``ids`` in the ledger."""
    led = t.audit_ledger
    found: dict[str, int] = {}
    for part in _chunks(ids):
        q = (
            sa.select(led.c.object_id, sa.func.max(led.c.time))
            .where(led.c.object_type == object_type, led.c.action == action)
            .where(led.c.object_id.in_(part))
            .group_by(led.c.object_id)
        )
        found.update({str(oid): int(when) for oid, when in conn.execute(q)})
    return found


class RetentionRepo:
    """Stateless: every method takes the caller's unit of work."""

    def expired_runs(self, conn: Connection, cutoff_ms: int, out: Expired) -> None:
        """Runs deleted (and not restored) at or before ``cutoff_ms``."""
        q = sa.select(t.runs.c.id).where(t.runs.c.lifecycle_stage == "deleted")
        ids = [str(r) for r in conn.execute(q).scalars()]
        when = _last_times(conn, "run", "run.delete", ids)
        trained = _training_runs(conn)
        for run_id in ids:
            if run_id in trained:
                out.skipped.append(
                    f"run {run_id}: model {trained[run_id]} was trained by it (kept)"
                )
            elif run_id not in when:
                out.skipped.append(f"run {run_id}: no run.delete entry in the ledger (kept)")
            elif when[run_id] <= cutoff_ms:
                out.runs.append(run_id)

    def expired_experiments(self, conn: Connection, cutoff_ms: int, out: Expired) -> None:
        """Experiments deleted at or before ``cutoff_ms``; their runs join ``out.runs``."""
        ex = t.experiments
        q = sa.select(ex.c.id).where(ex.c.lifecycle_stage == "deleted")
        ids = [str(r) for r in conn.execute(q).scalars()]
        when = _last_times(conn, "experiment", "experiment.delete", ids)
        expired = [int(i) for i in ids if i in when and when[i] <= cutoff_ms]
        out.skipped.extend(
            f"experiment {i}: no experiment.delete entry in the ledger (kept)"
            for i in ids
            if i not in when
        )
        trained = _training_runs(conn)
        runs = set(out.runs)
        for exp_id in expired:
            q = sa.select(t.runs.c.id).where(t.runs.c.experiment_id == exp_id)
            members = [str(r) for r in conn.execute(q).scalars()]
            lineage = sorted(trained[r] for r in members if r in trained)
            if lineage:
                out.skipped.append(
                    f"experiment {exp_id}: its runs trained {', '.join(lineage[:3])} (kept)"
                )
                continue
            out.experiments.append(exp_id)
            runs.update(members)
        out.runs[:] = sorted(runs)

    def expired_versions(self, conn: Connection, cutoff_ms: int, out: Expired) -> None:
        """Versions archived at or before ``cutoff_ms`` that no deployment names."""
        mv, rm = t.model_versions, t.registered_models
        q = (
            sa.select(mv.c.id, rm.c.name, mv.c.version)
            .join_from(mv, rm)
            .where(mv.c.status == "archived")
        )
        rows = [(int(i), str(n), int(v)) for i, n, v in conn.execute(q)]
        served = _deployed(conn)
        archived = _archive_times(conn, sorted({n for _, n, _ in rows}))
        for vid, name, version in rows:
            ref = f"{name}@v{version}"
            if (name, version) in served:
                out.skipped.append(f"model {ref}: archived but a deployment names it (kept)")
                continue
            when = archived.get((name, version))
            if when is None:
                out.skipped.append(f"model {ref}: no archive entry in the ledger (kept)")
            elif when <= cutoff_ms:
                out.versions.append((vid, ref))

    def artifact_bytes(self, conn: Connection, run_ids: Sequence[str]) -> int:
        total = 0
        ra = t.run_artifacts
        for part in _chunks(run_ids):
            q = sa.select(sa.func.coalesce(sa.func.sum(ra.c.size), 0)).where(ra.c.run_id.in_(part))
            total += int(conn.execute(q).scalar_one())
        return total

    def delete(self, conn: Connection, expired: Expired) -> dict[str, int]:
        """Remove the expired rows (children first); rows removed per table."""
        removed: dict[str, int] = {}

        def drop(table: sa.Table, cond: sa.ColumnElement[bool]) -> None:
            n = conn.execute(table.delete().where(cond)).rowcount or 0
            if n:
                removed[table.name] = removed.get(table.name, 0) + n

        for part in _chunks(expired.runs):
            mv = t.model_versions
            conn.execute(mv.update().where(mv.c.run_id.in_(part)).values(run_id=None))
            se = t.step_executions
            drop(se, se.c.run_id.in_(part) | se.c.pipeline_run_id.in_(part))
            for table in _RUN_CHILDREN:
                drop(table, table.c.run_id.in_(part))
            drop(t.runs, t.runs.c.id.in_(part))
        for part in _chunks(expired.experiments):
            drop(t.experiment_tags, t.experiment_tags.c.experiment_id.in_(part))
            drop(t.experiments, t.experiments.c.id.in_(part))
        for part in _chunks([vid for vid, _ in expired.versions]):
            drop(t.model_aliases, t.model_aliases.c.version_id.in_(part))
            drop(t.gate_results, t.gate_results.c.version_id.in_(part))
            drop(t.model_versions, t.model_versions.c.id.in_(part))
        return removed


_RUN_CHILDREN = (
    t.pipeline_runs,
    t.params,
    t.tags,
    t.metrics,
    t.latest_metrics,
    t.run_artifacts,
    t.run_inputs,
)


def _training_runs(conn: Connection) -> dict[str, str]:
    """Run id → the model version it produced: lineage a deleted run keeps alive."""
    mv, rm = t.model_versions, t.registered_models
    q = sa.select(mv.c.run_id, rm.c.name, mv.c.version).join_from(mv, rm)
    return {str(r): f"{n}@v{v}" for r, n, v in conn.execute(q.where(mv.c.run_id.is_not(None)))}


def _deployed(conn: Connection) -> set[tuple[str, int]]:
    """(model, version) of every live, candidate and previous (rollback) version."""
    d = deployments
    names: set[tuple[str, int]] = set()
    q = sa.select(d.c.model_name, d.c.live_version, d.c.candidate_version, d.c.previous_version)
    for name, *versions in conn.execute(q):
        names.update((str(name), int(v)) for v in versions if v is not None)
    return names


def _archive_times(conn: Connection, names: Iterable[str]) -> dict[tuple[str, int], int]:
    """When each version of ``names`` became archived (the latest such ledger entry)."""
    led = t.audit_ledger
    found: dict[tuple[str, int], int] = {}
    for part in _chunks(list(names)):
        q = sa.select(led.c.object_id, led.c.time, led.c.payload_json).where(
            led.c.object_type == "model", led.c.object_id.in_(part)
        )
        for name, when, payload in conn.execute(q):
            try:
                data = json.loads(payload)
            except ValueError:
                continue
            if not isinstance(data, dict) or data.get("to") != "archived":
                continue
            version = data.get("version")
            if isinstance(version, int):
                key = (str(name), version)
                found[key] = max(found.get(key, 0), int(when))
    return found
