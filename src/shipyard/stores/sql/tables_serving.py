"""Tables of deployments and serving figures (same metadata as ``tables``)."""

from __future__ import annotations

import sqlalchemy as sa

from shipyard.stores.sql.tables import BigId, metadata

__all__ = ["deployment_events", "deployments", "serving_stats"]

# One row per (environment, model): what serves now. Every change also appends an event.
deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("environment", sa.String(64), primary_key=True),
    sa.Column("model_name", sa.String(256), primary_key=True),
    sa.Column("live_version", sa.Integer, nullable=True),
    sa.Column("candidate_version", sa.Integer, nullable=True),
    sa.Column("strategy", sa.String(16), nullable=False),
    sa.Column("traffic", sa.Integer, nullable=False),
    sa.Column("previous_version", sa.Integer, nullable=True),
    sa.Column("updated_by", sa.String(256), nullable=False),
    sa.Column("update_time", sa.BigInteger, nullable=False),
    sa.Column("generation", sa.BigInteger, nullable=False),
)

# The deploy history; servers poll max(id) per environment to notice a change.
deployment_events = sa.Table(
    "deployment_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("environment", sa.String(64), nullable=False),
    sa.Column("model_name", sa.String(256), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("from_version", sa.Integer, nullable=True),
    sa.Column("to_version", sa.Integer, nullable=True),
    sa.Column("strategy", sa.String(16), nullable=False),
    sa.Column("traffic", sa.Integer, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("evidence_json", sa.Text, nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Index(None, "environment", "id"),
)

# Figures each serving replica flushes every few seconds: one row per model version and role.
serving_stats = sa.Table(
    "serving_stats",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("environment", sa.String(64), nullable=False),
    sa.Column("model_name", sa.String(256), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("replica", sa.String(64), nullable=False),
    sa.Column("window_end", sa.BigInteger, nullable=False),
    sa.Column("requests", sa.Integer, nullable=False),
    sa.Column("errors", sa.Integer, nullable=False),
    sa.Column("latency_sum_ms", sa.Float, nullable=False),
    sa.Column("buckets_json", sa.Text, nullable=False),
    sa.Index(None, "environment", "model_name", "window_end"),
)
