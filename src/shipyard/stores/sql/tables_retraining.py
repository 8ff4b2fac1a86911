"""Tables of continuous training (same metadata as ``tables``): the retraining runs.

``active_model`` holds the model's name while a run is not finished and NULL afterwards; its
unique constraint is the database's guarantee of at most one active retraining per model,
whichever replica tries to start a second one.
"""

from __future__ import annotations

import sqlalchemy as sa

from shipyard.stores.sql.tables import BigId, metadata

__all__ = ["retraining_runs"]

retraining_runs = sa.Table(
    "retraining_runs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("active_model", sa.String(128), nullable=True, unique=True),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("trigger_detail", sa.Text, nullable=False),  # JSON
    sa.Column("state", sa.String(24), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("failed_step", sa.String(24), nullable=True),
    sa.Column("register_as", sa.String(128), nullable=False),
    sa.Column("environment", sa.String(64), nullable=False),
    sa.Column("data_ref", sa.String(300), nullable=True),
    sa.Column("holdout_ref", sa.String(300), nullable=True),
    sa.Column("pipeline_run_id", sa.String(64), nullable=True),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("gates", sa.Text, nullable=True),  # JSON summary of the gate report
    sa.Column("approval", sa.Text, nullable=True),  # JSON: by whom, how, why
    sa.Column("deployment", sa.Text, nullable=True),  # JSON: environment, strategy, state
    sa.Column("coalesced", sa.Integer, nullable=False),
    sa.Column("holder", sa.String(128), nullable=True),
    sa.Column("lease_until", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created", sa.BigInteger, nullable=False),
    sa.Column("updated", sa.BigInteger, nullable=False),
    sa.Column("finished", sa.BigInteger, nullable=True),
    # after promotion: pending | recovered | not_recovered | rolled_back (alert-triggered runs)
    sa.Column("outcome", sa.String(24), nullable=True),
    sa.Column("follow_up", sa.Text, nullable=True),  # JSON: the windows before and after
    sa.Index(None, "model", "id"),
)
