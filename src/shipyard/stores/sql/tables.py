"""Table definitions (SQLAlchemy Core). Alembic migrations must produce exactly this schema."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["metadata"]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# A 64-bit key that is SQLite's rowid alias (fast inserts) and a BIGSERIAL on PostgreSQL.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("artifact_location", sa.String(1024), nullable=False),
    sa.Column("lifecycle_stage", sa.String(16), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Column("last_update_time", sa.BigInteger, nullable=False),
)

experiment_tags = sa.Table(
    "experiment_tags",
    metadata,
    sa.Column(
        "experiment_id",
        sa.BigInteger,
        sa.ForeignKey("experiments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "experiment_id",
        sa.BigInteger,
        sa.ForeignKey("experiments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("user_name", sa.String(256), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("end_time", sa.BigInteger, nullable=True),
    sa.Column("lifecycle_stage", sa.String(16), nullable=False),
    sa.Column("parent_run_id", sa.String(32), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index(None, "experiment_id", "start_time"),
    sa.Index(None, "parent_run_id"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.String(6000), nullable=False),
    sa.Index(None, "key", "run_id"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index(None, "key", "run_id"),
)

# Full metric series: append-only.
metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Float(precision=53), nullable=True),
    sa.Column("is_nan", sa.Boolean, nullable=False),
    sa.Index(None, "run_id", "key", "step"),
)

# Latest value per (run, key), denormalised with experiment_id so that filtered, ordered
# searches walk one index: (experiment_id, key, value).
latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("experiment_id", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Float(precision=53), nullable=True),
    sa.Column("is_nan", sa.Boolean, nullable=False),
    sa.Index(None, "experiment_id", "key", "value"),
    sa.Index(None, "key", "value"),
)

run_artifacts = sa.Table(
    "run_artifacts",
    metadata,
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("path", sa.String(1024), primary_key=True),
    sa.Column("digest", sa.String(80), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Column("expires_time", sa.BigInteger, nullable=True),
    sa.Column("revoked", sa.Boolean, nullable=False),
    sa.Column("prefix", sa.String(16), nullable=True),  # shown in listings; never the token
    sa.Column("last_used_time", sa.BigInteger, nullable=True),  # updated at most once a minute
    sa.Column("revoked_time", sa.BigInteger, nullable=True),
)

# ---------------------------------------------------------------------------- data catalog
datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("owner", sa.String(256), nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Column("last_update_time", sa.BigInteger, nullable=False),
)

dataset_tags = sa.Table(
    "dataset_tags",
    metadata,
    sa.Column(
        "dataset_id",
        sa.BigInteger,
        sa.ForeignKey("datasets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Immutable versions. ``object_digest`` is the Parquet object (table) or the manifest (files).
dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "dataset_id",
        sa.BigInteger,
        sa.ForeignKey("datasets.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_id", sa.String(80), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("object_digest", sa.String(80), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("file_count", sa.Integer, nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=True),
    sa.Column("profile_json", sa.Text, nullable=False),
    sa.Column("pii_json", sa.Text, nullable=False),
    sa.Column("pii_allowed", sa.Boolean, nullable=False),
    sa.Column("source", sa.String(1024), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("dataset_id", "version"),
    sa.Index(None, "dataset_id", "content_id"),
)

# Column names and types per version: the catalog searches them.
dataset_columns = sa.Table(
    "dataset_columns",
    metadata,
    sa.Column(
        "version_id",
        sa.BigInteger,
        sa.ForeignKey("dataset_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("dtype", sa.String(64), nullable=False),
    sa.Index(None, "name"),
)

dataset_aliases = sa.Table(
    "dataset_aliases",
    metadata,
    sa.Column(
        "dataset_id",
        sa.BigInteger,
        sa.ForeignKey("datasets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column(
        "version_id",
        sa.BigInteger,
        sa.ForeignKey("dataset_versions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("updated_by", sa.String(256), nullable=False),
    sa.Column("update_time", sa.BigInteger, nullable=False),
)

dataset_validations = sa.Table(
    "dataset_validations",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "version_id",
        sa.BigInteger,
        sa.ForeignKey("dataset_versions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("checks_run", sa.Integer, nullable=False),
    sa.Column("failed", sa.Integer, nullable=False),
    sa.Column("report_json", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Index(None, "version_id", "creation_time"),
)

# Small files live inside pack objects: where each blob is, so that any later registration
# (of any dataset) finds it and stores it only once.
packed_blobs = sa.Table(
    "packed_blobs",
    metadata,
    sa.Column("digest", sa.String(80), primary_key=True),
    sa.Column("pack_digest", sa.String(80), nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
)

# Lineage: which dataset versions a run read.
run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "version_id",
        sa.BigInteger,
        sa.ForeignKey("dataset_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("context", sa.String(64), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Index(None, "version_id"),
)

# Pipelines: a pipeline run is a run; its DAG and how it was started live here.
pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("pipeline", sa.String(512), nullable=False),
    sa.Column("spec_json", sa.Text, nullable=False),
    sa.Column("params_json", sa.Text, nullable=False),
    sa.Column("executor", sa.String(32), nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Index(None, "pipeline", "creation_time"),
    # Every page of runs walks this order (newest first, ties by run id): no sort of them all.
    sa.Index(None, "creation_time", "run_id"),
)

# One execution of a step (a child run), or its reuse from the cache; several attempts per
# node when a run is resumed. The fingerprint index answers cache lookups.
step_executions = sa.Table(
    "step_executions",
    metadata,
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "pipeline_run_id",
        sa.String(32),
        sa.ForeignKey("pipeline_runs.run_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("node", sa.String(300), nullable=False),
    sa.Column("step", sa.String(255), nullable=False),
    sa.Column("map_index", sa.Integer, nullable=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("cached_from", sa.String(32), nullable=True),
    sa.Column("output_json", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("worker", sa.String(255), nullable=True),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("end_time", sa.BigInteger, nullable=True),
    sa.Index(None, "pipeline_run_id", "node"),
    sa.Index(None, "fingerprint", "status"),
)

# The audit ledger: append-only, each entry chained by hash to the one before it.
audit_ledger = sa.Table(
    "audit_ledger",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("time", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("object_type", sa.String(32), nullable=False),
    sa.Column("object_id", sa.String(300), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload_json", sa.Text, nullable=False),
    sa.Column("payload_hash", sa.String(64), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index(None, "object_type", "object_id"),
    # The kind filter (governance/bookkeeping) tests the action: equal to a governance
    # action or starting with one and a dot. PostgreSQL answers `LIKE 'prefix%'` from a
    # btree only with pattern ops (or the C collation); SQLite does with case_sensitive_like.
    sa.Index(None, "action", postgresql_ops={"action": "varchar_pattern_ops"}),
)

# One row: the last sequence number and hash. Appends lock it, which orders them, and
# `audit verify` compares it with the table (a removed tail shows).
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# One row: the last entry a verify found intact (its seq and hash), so a view checks only
# what was appended since; `audit verify --full` walks the whole chain again.
audit_checkpoint = sa.Table(
    "audit_checkpoint",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("verified_at", sa.BigInteger, nullable=False),
)

# The model registry: registered models, their versions (a status state machine), aliases.
registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Column("last_update_time", sa.BigInteger, nullable=False),
)

model_tags = sa.Table(
    "model_tags",
    metadata,
    sa.Column(
        "model_id",
        sa.BigInteger,
        sa.ForeignKey("registered_models.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "model_id",
        sa.BigInteger,
        sa.ForeignKey("registered_models.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_reason", sa.Text, nullable=False),
    sa.Column("flavor", sa.String(32), nullable=False),
    sa.Column("content_id", sa.String(80), nullable=False),
    sa.Column("signature_json", sa.Text, nullable=False),
    sa.Column("package_json", sa.Text, nullable=False),
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("model_id", "version"),
    sa.Index(None, "run_id"),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column(
        "model_id",
        sa.BigInteger,
        sa.ForeignKey("registered_models.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column(
        "version_id",
        sa.BigInteger,
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("updated_by", sa.String(256), nullable=False),
    sa.Column("update_time", sa.BigInteger, nullable=False),
)

# Gate evidence: every gate run on a model version, with its numbers and thresholds.
gate_results = sa.Table(
    "gate_results",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "version_id",
        sa.BigInteger,
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("holdout", sa.String(300), nullable=False),
    sa.Column("report_json", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Index(None, "version_id", "creation_time"),
)
