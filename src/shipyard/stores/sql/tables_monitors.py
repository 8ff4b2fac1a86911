"""Tables of monitoring (same metadata as ``tables``): computed windows, alerts, deliveries."""

from __future__ import annotations

import sqlalchemy as sa

from shipyard.stores.sql.tables import BigId, metadata

__all__ = ["alert_deliveries", "alerts", "monitor_windows"]

# One row per computed window of a model in an environment; the unique key makes a second
# computation of the same window a no-op (two runners racing both see one row).
monitor_windows = sa.Table(
    "monitor_windows",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("env", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("start_ms", sa.BigInteger, nullable=False),
    sa.Column("end_ms", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("figures", sa.Text, nullable=False),  # JSON {name: number}
    sa.Column("verdicts", sa.Text, nullable=False),  # JSON {rule: true|false|null}
    sa.Column("computed", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("model", "env", "start_ms", "end_ms"),
)

# Alerts: dedup key (model, env, rule); at most one active (open|acknowledged) per key.
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("env", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("rule", sa.String(1000), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("first_window", sa.BigInteger, nullable=False),
    sa.Column("last_window", sa.BigInteger, nullable=False),
    sa.Column("fired", sa.Integer, nullable=False),
    sa.Column("figures", sa.Text, nullable=False),
    sa.Column("created", sa.BigInteger, nullable=False),
    sa.Column("updated", sa.BigInteger, nullable=False),
    sa.Column("acknowledged_by", sa.String(256), nullable=True),
    sa.Column("resolved_by", sa.String(256), nullable=True),
    sa.Column("resolved_at", sa.BigInteger, nullable=True),
    sa.Column("note", sa.Text, nullable=False),
    sa.Index(None, "model", "env", "status"),
    sa.Index(None, "status", "id"),
)

# Each notification of an alert to a sink: attempts, backoff, the receiver's answer. A
# notification of no alert (a retraining waiting for its approver) names its model instead.
alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "alert_id", sa.BigInteger, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=True
    ),
    sa.Column("model", sa.String(128), nullable=True),
    sa.Column("sink", sa.String(32), nullable=False),
    sa.Column("target", sa.String(2048), nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the JSON sent, the same on every attempt
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("next_retry", sa.BigInteger, nullable=True),
    sa.Column("response_code", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created", sa.BigInteger, nullable=False),
    sa.Column("updated", sa.BigInteger, nullable=False),
    sa.Index(None, "status", "next_retry"),
    sa.Index(None, "alert_id"),
)
