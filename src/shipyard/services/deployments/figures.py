"""Serving figures: what replicas flush, summed per version, and the canary watcher.

Every serving replica writes one row per (model, version, role) every few seconds. The
watcher (``watcher.CanaryWatcher``) sums a canary's rows since its current step started, for
the candidate and for the live version, and rolls back when the policy's ``rollback_if``
holds — with the figures as evidence — or advances the canary by ``promote_after``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shipyard.core.latency import merge, quantile
from shipyard.services.deployments.watcher import WATCHER, CanaryWatcher
from shipyard.services.ports import QualityFigures
from shipyard.stores.sql.deployments_repo import StatsRow

__all__ = ["WATCHER", "Figures", "FiguresService", "series", "summarize"]

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

    def __init__(self, deployments: Any, *, quality: QualityFigures | None = None) -> None:
        self.deployments = deployments
        self.db = deployments.db
        self.repo = deployments.repo
        self.watcher = CanaryWatcher(deployments, self.by_version, quality)

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

    def recent(
        self, pairs: Sequence[tuple[str, str]], since: int
    ) -> dict[tuple[str, str], dict[tuple[int, str], Figures]]:
        """Per (environment, model) of ``pairs``: its figures by version and role since
        ``since``, read in one query however many pairs."""
        wanted = set(pairs)
        envs, models = sorted({e for e, _ in wanted}), sorted({m for _, m in wanted})
        with self.db.read() as conn:
            rows = self.repo.stats_of(conn, envs, models, since)
        grouped: dict[tuple[str, str], dict[tuple[int, str], list[dict[str, Any]]]] = {}
        for r in rows:
            key = (r["environment"], r["model"])
            if key in wanted:
                grouped.setdefault(key, {}).setdefault((r["version"], r["role"]), []).append(r)
        return {k: {vr: summarize(v) for vr, v in by.items()} for k, by in grouped.items()}

    def watch(self, env: str) -> list[dict[str, Any]]:
        """Judge every canary of ``env`` once: roll back a breach, advance a healthy one."""
        return self.watcher.watch(env)
