"""Serving figures: what replicas flush, summed per version, and the canary watcher.

Every serving replica writes one row per (model, version, role) every few seconds. The
watcher sums a canary's rows since it started, for the candidate and for the live version,
and rolls back when the policy's ``rollback_if`` holds — with the figures as evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shipyard.core.entities import Role, User
from shipyard.core.errors import ConflictError
from shipyard.core.latency import merge, quantile
from shipyard.stores.sql.deployments_repo import StatsRow

__all__ = ["WATCHER", "Figures", "FiguresService", "series", "summarize"]

WATCHER = User(0, "shipyard-watcher", Role.DEPLOYER, 0)

Figures = dict[str, Any]


def summarize(rows: Sequence[dict[str, Any]]) -> Figures:
    requests = sum(r["requests"] for r in rows)
    errors = sum(r["errors"] for r in rows)
    buckets = merge(r["buckets"] for r in rows)
    return {
        "requests": requests,
        "errors": errors,
        "error_rate": errors / requests if requests else 0.0,
        "p50_ms": quantile(buckets, 0.5) or 0.0,
        "p99_ms": quantile(buckets, 0.99) or 0.0,
        "mean_ms": sum(r["latency_sum_ms"] for r in rows) / requests if requests else 0.0,
    }


def series(rows: Sequence[dict[str, Any]], step_ms: int) -> dict[str, list[Figures]]:
    """Per ``version/role``: figures per time bucket of ``step_ms`` (for charts)."""
    grouped: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for r in rows:
        key = f"v{r['version']} {r['role']}"
        grouped.setdefault(key, {}).setdefault(r["window_end"] // step_ms * step_ms, []).append(r)
    out: dict[str, list[Figures]] = {}
    for key, buckets in grouped.items():
        points = []
        for t in sorted(buckets):
            fig = summarize(buckets[t])
            fig["time"] = t
            fig["rate"] = fig["requests"] / (step_ms / 1000)
            points.append(fig)
        out[key] = points
    return out


class FiguresService:
    """Reads and writes the serving figures; judges canaries."""

    def __init__(self, deployments: Any) -> None:
        self.deployments = deployments
        self.db = deployments.db
        self.repo = deployments.repo

    def flush(self, env: str, replica: str, window_end: int, rows: Sequence[StatsRow]) -> None:
        with self.db.write() as conn:
            self.repo.add_stats(conn, env, replica, window_end, rows)

    def rows(self, env: str, model: str | None, since: int) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            return self.repo.stats(conn, env, model, since)

    def by_version(self, env: str, model: str, since: int) -> dict[tuple[int, str], Figures]:
        grouped: dict[tuple[int, str], list[dict[str, Any]]] = {}
        for r in self.rows(env, model, since):
            grouped.setdefault((r["version"], r["role"]), []).append(r)
        return {k: summarize(v) for k, v in grouped.items()}

    def watch(self, env: str) -> list[dict[str, Any]]:
        """Judge every canary of ``env`` once; roll back those that breach their rule."""
        actions = []
        for d in self.deployments.list(env):
            if d.state != "canary" or d.candidate_version is None:
                continue
            policy = self.deployments.policy(d.model)
            if policy.rollback_if is None:
                continue
            figures = self.by_version(env, d.model, d.update_time)
            candidate = figures.get((d.candidate_version, "canary"))
            if candidate is None or candidate["requests"] < policy.min_requests:
                continue
            live = figures.get((d.live_version or 0, "live"), {})
            judged = {**candidate, **{f"live_{k}": v for k, v in live.items()}}
            if not policy.rollback_if.breached(judged):
                continue
            evidence = {
                "rule": policy.rollback_if.text,
                "candidate": candidate,
                "live": live,
                "since": d.update_time,
            }
            try:
                self.deployments.rollback(
                    env,
                    WATCHER,
                    model=d.model,
                    reason=f"automatic rollback: {policy.rollback_if.text}",
                    evidence=evidence,
                    expected_generation=d.generation,
                    automatic=True,
                )
            except ConflictError:
                continue  # someone else acted first (another replica's watcher, an operator)
            actions.append({"model": d.model, "version": d.candidate_version, **evidence})
        return actions
