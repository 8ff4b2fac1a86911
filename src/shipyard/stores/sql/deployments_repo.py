"""Deployments, their history, and the serving figures replicas flush."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.core.deployments import Deployment, DeploymentEvent, EnvironmentSummary, Strategy
from shipyard.stores.sql.rows import escape_like, inserted_id
from shipyard.stores.sql.tables_serving import deployment_events, deployments, serving_stats

__all__ = ["DeploymentsRepo", "StatsRow"]

StatsRow = tuple[str, int, str, int, int, float, list[int]]  # model, version, role, …


def _deployment(row: Any) -> Deployment:
    return Deployment(
        environment=row.environment,
        model=row.model_name,
        live_version=row.live_version,
        candidate_version=row.candidate_version,
        strategy=Strategy(row.strategy),
        traffic=int(row.traffic),
        previous_version=row.previous_version,
        updated_by=row.updated_by,
        update_time=int(row.update_time),
        generation=int(row.generation),
    )


def _event(row: Any) -> DeploymentEvent:
    return DeploymentEvent(
        event_id=int(row.id),
        environment=row.environment,
        model=row.model_name,
        action=row.action,
        from_version=row.from_version,
        to_version=row.to_version,
        strategy=row.strategy,
        traffic=int(row.traffic),
        actor=row.actor,
        reason=row.reason,
        time=int(row.creation_time),
        evidence=json.loads(row.evidence_json),
    )


class DeploymentsRepo:
    """Stateless: every method takes the connection of the caller's unit of work."""

    def get(
        self, conn: Connection, env: str, model: str, *, lock: bool = False
    ) -> Deployment | None:
        query = sa.select(deployments).where(
            deployments.c.environment == env, deployments.c.model_name == model
        )
        row = conn.execute(query.with_for_update() if lock else query).first()
        return None if row is None else _deployment(row)

    def list(
        self,
        conn: Connection,
        env: str | None = None,
        *,
        text: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        models: Sequence[str] | None = None,
    ) -> builtins.list[Deployment]:
        """By environment and model; ``text`` a part of the model name (any case), ``models``
        only these; ``after`` an (environment, model) key (keyset)."""
        query = _matching(sa.select(deployments), env, text, models).order_by(
            deployments.c.environment, deployments.c.model_name
        )
        if after is not None:
            query = query.where(
                sa.tuple_(deployments.c.environment, deployments.c.model_name) > sa.tuple_(*after)
            )
        return [_deployment(r) for r in conn.execute(query.limit(limit).offset(offset))]

    def count(
        self,
        conn: Connection,
        env: str | None = None,
        *,
        text: str | None = None,
        models: Sequence[str] | None = None,
    ) -> int:
        """How many deployments ``list`` finds."""
        query = sa.select(sa.func.count()).select_from(deployments)
        return int(conn.execute(_matching(query, env, text, models)).scalar() or 0)

    def environment_page(
        self, conn: Connection, *, text: str | None, after: str | None, limit: int
    ) -> builtins.list[EnvironmentSummary]:
        """Environments by name after ``after`` (keyset), ``text`` a part of the name, each
        with its counts: one grouped query, however many environments and models."""
        d = deployments.c
        query = sa.select(
            d.environment,
            sa.func.count().label("models"),
            sa.func.count(d.candidate_version).label("rolling_out"),
            sa.func.max(d.update_time).label("update_time"),
        )
        query = _env_text(query, text).group_by(d.environment).order_by(d.environment)
        if after is not None:
            query = query.where(d.environment > after)
        return [
            EnvironmentSummary(r.environment, int(r.models), int(r.rolling_out), int(r.update_time))
            for r in conn.execute(query.limit(limit))
        ]

    def count_environments(self, conn: Connection, *, text: str | None) -> int:
        """How many environments ``environment_page`` walks through in all."""
        query = sa.select(sa.func.count(sa.distinct(deployments.c.environment)))
        return int(conn.execute(_env_text(query, text)).scalar() or 0)

    def first_per_environment(
        self, conn: Connection, envs: Sequence[str], per_env: int
    ) -> builtins.list[Deployment]:
        """The first ``per_env`` deployments (by model) of each of ``envs``, in one query."""
        if not envs:
            return []
        rank = (
            sa.func.row_number()
            .over(partition_by=deployments.c.environment, order_by=deployments.c.model_name)
            .label("rank")
        )
        ranked = sa.select(deployments, rank).where(deployments.c.environment.in_(envs)).subquery()
        query = (
            sa.select(ranked)
            .where(ranked.c.rank <= per_env)
            .order_by(ranked.c.environment, ranked.c.model_name)
        )
        return [_deployment(r) for r in conn.execute(query)]

    def serving(self, conn: Connection, model: str, version: int) -> builtins.list[str]:
        """Where ``model`` v``version`` takes traffic now: ``["production (live)", …]``."""
        query = (
            sa.select(deployments)
            .where(deployments.c.model_name == model)
            .where(
                sa.or_(
                    deployments.c.live_version == version,
                    deployments.c.candidate_version == version,
                )
            )
            .order_by(deployments.c.environment)
        )
        return [
            f"{r.environment} ({'live' if r.live_version == version else r.strategy})"
            for r in conn.execute(query)
        ]

    def environments(self, conn: Connection) -> builtins.list[str]:
        query = sa.select(deployment_events.c.environment).distinct()
        return sorted(r[0] for r in conn.execute(query))

    def record(self, conn: Connection, state: Deployment, event: DeploymentEvent) -> Deployment:
        """Append ``event`` and store ``state`` with the event's id as its generation."""
        result = conn.execute(
            deployment_events.insert().values(
                environment=event.environment,
                model_name=event.model,
                action=event.action,
                from_version=event.from_version,
                to_version=event.to_version,
                strategy=event.strategy,
                traffic=event.traffic,
                actor=event.actor,
                reason=event.reason[:4000],
                evidence_json=json.dumps(event.evidence, sort_keys=True, default=str),
                creation_time=event.time,
            )
        )
        generation = inserted_id(result)
        values = {
            "live_version": state.live_version,
            "candidate_version": state.candidate_version,
            "strategy": state.strategy.value,
            "traffic": state.traffic,
            "previous_version": state.previous_version,
            "updated_by": state.updated_by,
            "update_time": state.update_time,
            "generation": generation,
        }
        updated = conn.execute(
            deployments.update()
            .where(
                deployments.c.environment == state.environment,
                deployments.c.model_name == state.model,
            )
            .values(**values)
        )
        if updated.rowcount == 0:
            conn.execute(
                deployments.insert().values(
                    environment=state.environment, model_name=state.model, **values
                )
            )
        return Deployment(**{**state.__dict__, "generation": generation})

    def events(
        self, conn: Connection, env: str | None, model: str | None, limit: int
    ) -> builtins.list[DeploymentEvent]:
        query = sa.select(deployment_events).order_by(deployment_events.c.id.desc()).limit(limit)
        if env is not None:
            query = query.where(deployment_events.c.environment == env)
        if model is not None:
            query = query.where(deployment_events.c.model_name == model)
        return [_event(r) for r in conn.execute(query)]

    def last_live_change_to(
        self, conn: Connection, env: str, model: str, version: int, before: int
    ) -> DeploymentEvent | None:
        """The latest event before ``before`` that made ``version`` live (for rollback chains).

        A promote to 100 % (by hand or by the watcher) and a deploy that replaced (or found
        nothing live) did; a shadow or a canary deploy, even at 100 % of the traffic, left the
        live version in place.
        """
        e = deployment_events.c
        made_live = _made_live()
        query = (
            sa.select(deployment_events)
            .where(
                e.environment == env,
                e.model_name == model,
                e.to_version == version,
                e.id < before,
                made_live,
            )
            .order_by(deployment_events.c.id.desc())
            .limit(1)
        )
        row = conn.execute(query).first()
        return None if row is None else _event(row)

    def live_since(self, conn: Connection, env: str, model: str) -> int | None:
        """When the live version of ``model`` in ``env`` last changed: the time of the newest
        event that made a version live (a replacing or first deploy, a promote to 100 %, a
        rollback). Canary steps and shadow or canary deploys leave the live version as it
        was. A rollback that only dropped a candidate counts too (the event does not say
        which kind it was), so the time is never earlier than the true one."""
        e = deployment_events.c
        made_live = sa.or_(_made_live(), e.action.in_(("rollback", "auto_rollback")))
        query = (
            sa.select(e.creation_time)
            .where(e.environment == env, e.model_name == model, made_live)
            .order_by(e.id.desc())
            .limit(1)
        )
        found = conn.execute(query).scalar()
        return None if found is None else int(found)

    def generation(self, conn: Connection, env: str) -> int:
        """The id of the environment's last change (0 when it has none)."""
        query = sa.select(sa.func.max(deployment_events.c.id)).where(
            deployment_events.c.environment == env
        )
        return int(conn.execute(query).scalar() or 0)

    # ------------------------------------------------------------ serving figures
    def add_stats(
        self, conn: Connection, env: str, replica: str, window_end: int, rows: Sequence[StatsRow]
    ) -> None:
        if not rows:
            return
        conn.execute(
            serving_stats.insert(),
            [
                {
                    "environment": env,
                    "model_name": model,
                    "version": version,
                    "role": role,
                    "replica": replica,
                    "window_end": window_end,
                    "requests": requests,
                    "errors": errors,
                    "latency_sum_ms": latency_sum,
                    "buckets_json": json.dumps(buckets),
                }
                for model, version, role, requests, errors, latency_sum, buckets in rows
            ],
        )

    def stats(
        self, conn: Connection, env: str, model: str | None, since: int
    ) -> builtins.list[dict[str, Any]]:
        query = (
            sa.select(serving_stats)
            .where(serving_stats.c.environment == env, serving_stats.c.window_end > since)
            .order_by(serving_stats.c.window_end)
        )
        if model is not None:
            query = query.where(serving_stats.c.model_name == model)
        return [_stats_row(r) for r in conn.execute(query)]

    def stats_of(
        self, conn: Connection, envs: Sequence[str], models: Sequence[str], since: int
    ) -> builtins.list[dict[str, Any]]:
        """The figures of ``models`` in ``envs`` since ``since``, in one query (each row also
        names its environment)."""
        if not envs or not models:
            return []
        s = serving_stats.c
        query = (
            sa.select(serving_stats)
            .where(s.environment.in_(envs), s.model_name.in_(models), s.window_end > since)
            .order_by(s.window_end)
        )
        return [{"environment": r.environment, **_stats_row(r)} for r in conn.execute(query)]


def _stats_row(r: Any) -> dict[str, Any]:
    return {
        "model": r.model_name,
        "version": int(r.version),
        "role": r.role,
        "replica": r.replica,
        "window_end": int(r.window_end),
        "requests": int(r.requests),
        "errors": int(r.errors),
        "latency_sum_ms": float(r.latency_sum_ms),
        "buckets": json.loads(r.buckets_json),
    }


def _made_live() -> Any:
    """Events that made their ``to_version`` live: a promote to 100 % and a deploy that
    replaced (or found nothing live)."""
    e = deployment_events.c
    return sa.or_(
        sa.and_(e.action.in_(("promote", "auto_promote")), e.traffic == 100),
        sa.and_(e.action == "deploy", sa.or_(e.strategy == "replace", e.from_version.is_(None))),
    )


def _env_text(query: Any, text: str | None) -> Any:
    if not text:
        return query
    pattern = f"%{escape_like(text)}%"
    return query.where(deployments.c.environment.ilike(pattern, escape="\\"))


def _matching(
    query: Any, env: str | None, text: str | None, models: Sequence[str] | None = None
) -> Any:
    if models is not None:
        query = query.where(deployments.c.model_name.in_(models))
    if env is not None:
        query = query.where(deployments.c.environment == env)
    if text:
        pattern = f"%{escape_like(text)}%"
        query = query.where(deployments.c.model_name.ilike(pattern, escape="\\"))
    return query
