"""``shipyard gc``: remove what the ``[retention]`` policy lets go, for good.

One pass: expired rows (runs and experiments deleted, model versions archived, longer ago
than the policy says; the ledger dates each change) are removed in one transaction that
also appends the pass's audit entry; then the prediction-log partitions older than the
policy; then every object no record reaches any more, with ``doctor --repair``'s safety
(listed before the database is read, re-checked, older than the grace period). A dry run
does the same work in a transaction it rolls back. The audit ledger is never collected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shipyard.core.clock import now_ms
from shipyard.core.errors import ShipyardError, ValidationError
from shipyard.core.retention import GcPlan, RetentionPolicy, parse_retention
from shipyard.services.doctor.objects import StoreListing, list_store, reachable
from shipyard.services.doctor.service import collect_orphans, object_age
from shipyard.services.formats.predictions import PREFIX, day_of, parse_key
from shipyard.services.ports import PeriodicJobs
from shipyard.stores.blobs import ContentStore
from shipyard.stores.blobs.base import Refresher
from shipyard.stores.ports import (
    AuditLog,
    Expired,
    IntegrityQueries,
    NewEntry,
    RetentionQueries,
    Transactions,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["GC_JOB", "GarbageCollector", "GcResult"]

log = logging.getLogger(__name__)

GC_JOB = "gc"
DAY_S = 86_400.0
JOB_GRACE_S = 3600.0  # the scheduled pass spares objects younger than an hour
_LISTED = 1000  # ids kept in the audit entry (counts are always complete)


class _DryRun(Exception):
    """Raised inside the unit of work of a dry run so that it rolls back."""


@dataclass
class GcResult:
    """The plan (what expired, what no record reaches) and, after ``--apply``, what went."""

    policy: RetentionPolicy
    plan: GcPlan
    applied: bool
    removed_objects: int = 0
    removed_object_bytes: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "applied": self.applied,
            "policy_ms": self.policy.to_dict(),
            **self.plan.to_dict(),
            "removed_objects": self.removed_objects,
            "removed_object_bytes": self.removed_object_bytes,
        }


class GarbageCollector:
    """Applies the retention policy; ``run(apply=False)`` changes nothing."""

    def __init__(
        self,
        db: Transactions,
        blobs: ContentStore,
        *,
        policy: Mapping[str, object] | None,
        retention: RetentionQueries,
        integrity: IntegrityQueries,
        audit: AuditLog,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.table = policy
        self.retention = retention
        self.integrity = integrity
        self.audit = audit
        self.clock = clock

    def policy(self) -> RetentionPolicy:
        """The parsed ``[retention]`` table; an error saying how to add one if there is none."""
        if self.table is None:
            raise ValidationError(
                "shipyard.toml has no [retention] table, so nothing is ever collected; add "
                'one, e.g. [retention] deleted_runs = "30d" (keys: deleted_runs, '
                "deleted_experiments, archived_model_versions, prediction_logs)",
                field="retention",
            )
        return parse_retention(self.table)

    def run(self, *, apply: bool, grace_s: float, actor: str) -> GcResult:
        """One pass; with ``apply`` it removes rows, log partitions and objects."""
        policy = self.policy()
        now = self.clock()
        result = GcResult(policy, GcPlan(), apply)
        logs = self._expired_logs(policy, now, result.plan)
        listing = list_store(self.blobs)  # before the database is read: see doctor
        try:
            with self.db.write() as conn:
                expired = self._expired(conn, policy, now, result.plan)
                result.plan.rows = self.retention.delete(conn, expired)
                orphans = self._orphans(listing, self.integrity.mentions(conn), grace_s)
                if not isinstance(self.blobs.backend, Refresher):
                    result.plan.skipped.append(
                        f"objects: {self.blobs.url} keeps no object ages, so unreferenced "
                        "objects are never collected there (rows and logs still are)"
                    )
                result.plan.objects = len(orphans)
                result.plan.object_bytes = sum(size for _, size in orphans)
                if not apply:
                    raise _DryRun
                if not result.plan.empty:
                    self.audit.append(conn, [_entry(actor, result.plan)], now)
        except _DryRun:
            return result
        for key in logs:
            self.blobs.backend.delete(key)
        count, size, kept = collect_orphans(self.db, self.blobs, self.integrity, orphans, grace_s)
        result.removed_objects, result.removed_object_bytes = count, size
        result.plan.skipped.extend(kept)
        return result

    def _expired(
        self, conn: Connection, policy: RetentionPolicy, now: int, plan: GcPlan
    ) -> Expired:
        expired = Expired()
        if policy.deleted_runs is not None:
            self.retention.expired_runs(conn, now - policy.deleted_runs, expired)
        if policy.deleted_experiments is not None:
            self.retention.expired_experiments(conn, now - policy.deleted_experiments, expired)
        if policy.archived_model_versions is not None:
            self.retention.expired_versions(conn, now - policy.archived_model_versions, expired)
        plan.runs = list(expired.runs)
        plan.experiments = [str(e) for e in expired.experiments]
        plan.model_versions = [ref for _, ref in expired.versions]
        plan.skipped.extend(expired.skipped)
        plan.artifact_bytes = self.retention.artifact_bytes(conn, expired.runs)
        return expired

    def _orphans(
        self, listing: StoreListing, mentions: set[str], grace_s: float
    ) -> list[tuple[str, int]]:
        """Objects no record, manifest or pointer reaches, older than the grace period."""
        keep = reachable(self.blobs, listing, mentions, []).keep
        backend = self.blobs.backend
        found = []
        for digest, size in sorted(listing.objects.items()):
            if digest in keep:
                continue
            age = object_age(backend, digest) if isinstance(backend, Refresher) else None
            if age is not None and age > grace_s:
                found.append((digest, size))
        return found

    def _expired_logs(self, policy: RetentionPolicy, now: int, plan: GcPlan) -> list[str]:
        """Log files of the days that ended before ``now - prediction_logs``."""
        if policy.prediction_logs is None:
            return []
        first_kept = day_of(now - policy.prediction_logs)
        backend = self.blobs.backend
        keys: list[str] = []
        partitions: set[str] = set()
        for key in backend.list(f"{PREFIX}/"):
            found = parse_key(key)
            if found is None or found.day >= first_kept:
                continue
            try:
                plan.prediction_log_bytes += backend.size(key)
            except ShipyardError:
                continue  # removed meanwhile
            keys.append(key)
            partitions.add("/".join(key.split("/")[1 : 4 if found.env else 3]))
        plan.prediction_logs = len(keys)
        plan.partitions = sorted(partitions)
        return keys

    def register_jobs(self, jobs: PeriodicJobs, interval_s: float = DAY_S) -> list[str]:
        """The daily ``gc`` job, when the project has a ``[retention]`` table (a malformed
        one is logged, not run)."""
        if self.table is None:
            return []
        try:
            self.policy()
        except ValidationError as e:
            log.error("garbage collection not scheduled: %s", e.message)
            return []

        def tick() -> None:
            self.run(apply=True, grace_s=JOB_GRACE_S, actor="shipyard-gc")

        jobs.register(GC_JOB, interval_s, tick, lease_s=6 * 3600.0)
        return [GC_JOB]


def _entry(actor: str, plan: GcPlan) -> NewEntry:
    payload: dict[str, object] = {
        **plan.counts(),
        "rows_by_table": dict(sorted(plan.rows.items())),
        "run_ids": plan.runs[:_LISTED],
        "experiment_ids": plan.experiments[:_LISTED],
        "model_version_refs": plan.model_versions[:_LISTED],
        "partitions": plan.partitions[:_LISTED],
    }
    reason = "retention policy ([retention] in shipyard.toml)"
    return NewEntry(actor, "gc.collect", "project", "gc", reason, payload)
