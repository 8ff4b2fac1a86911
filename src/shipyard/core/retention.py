"""Retention policy (``[retention]`` in shipyard.toml) and what one ``shipyard gc`` did.

Each key is a lifecycle state that exists today and how long data stays in it before
garbage collection removes it for good::

    [retention]
    deleted_runs = "30d"             # runs deleted (MLflow-style lifecycle) 30 days ago
    deleted_experiments = "30d"      # experiments deleted 30 days ago, with all their runs
    archived_model_versions = "90d"  # versions archived 90 days ago (never a served one)
    prediction_logs = "90d"          # daily prediction-log partitions older than this

A missing key keeps that kind of data forever. The audit ledger is never collected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shipyard.core.errors import ValidationError
from shipyard.core.monitor_policy import parse_duration

__all__ = ["RETENTION_KEYS", "GcPlan", "RetentionPolicy", "parse_retention"]

RETENTION_KEYS = (
    "archived_model_versions",
    "deleted_experiments",
    "deleted_runs",
    "prediction_logs",
)


@dataclass(frozen=True)
class RetentionPolicy:
    """How long (ms) each kind of data is kept; None keeps it forever."""

    deleted_runs: int | None = None
    deleted_experiments: int | None = None
    archived_model_versions: int | None = None
    prediction_logs: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        return {k: getattr(self, k) for k in RETENTION_KEYS}


def parse_retention(table: object) -> RetentionPolicy:
    """The ``[retention]`` table as a policy; a ValidationError naming the bad key."""
    if not isinstance(table, Mapping):
        raise ValidationError("[retention] in shipyard.toml must be a table", field="retention")
    unknown = sorted(set(table) - set(RETENTION_KEYS))
    if unknown:
        raise ValidationError(
            f"retention.{unknown[0]} is not a retention key; known keys: "
            f"{', '.join(RETENTION_KEYS)} (datasets cannot be deleted, so they have none)",
            field=f"retention.{unknown[0]}",
        )
    values = {
        key: parse_duration(table[key], f"retention.{key}", allow_zero=True)
        for key in RETENTION_KEYS
        if key in table
    }
    return RetentionPolicy(**values)


@dataclass
class GcPlan:
    """What one gc pass collects (a dry run) or collected (``--apply``)."""

    runs: list[str] = field(default_factory=list)
    experiments: list[str] = field(default_factory=list)
    model_versions: list[str] = field(default_factory=list)  # "name@vN"
    rows: dict[str, int] = field(default_factory=dict)  # table → rows removed
    artifact_bytes: int = 0  # sizes recorded for the removed runs' artifacts
    objects: int = 0  # objects no record reaches any more (older than the grace period)
    object_bytes: int = 0
    prediction_logs: int = 0  # log files in expired partitions
    prediction_log_bytes: int = 0
    partitions: list[str] = field(default_factory=list)  # "model=…/date=…/env=…"
    skipped: list[str] = field(default_factory=list)  # why something old was kept

    @property
    def empty(self) -> bool:
        return not (self.runs or self.experiments or self.model_versions or self.objects) and (
            not self.prediction_logs
        )

    def counts(self) -> dict[str, int]:
        """The figures of the audit entry and the summary line."""
        return {
            "runs": len(self.runs),
            "experiments": len(self.experiments),
            "model_versions": len(self.model_versions),
            "rows": sum(self.rows.values()),
            "objects": self.objects,
            "object_bytes": self.object_bytes,
            "prediction_logs": self.prediction_logs,
            "prediction_log_bytes": self.prediction_log_bytes,
        }

    def to_dict(self) -> dict[str, object]:
        return {
            **self.counts(),
            "run_ids": self.runs,
            "experiment_ids": self.experiments,
            "model_version_refs": self.model_versions,
            "rows_by_table": dict(sorted(self.rows.items())),
            "artifact_bytes": self.artifact_bytes,
            "partitions": self.partitions,
            "skipped": self.skipped,
        }
