"""Tables of the job scheduler (same metadata as ``tables``): leases and the run history."""

from __future__ import annotations

import sqlalchemy as sa

from shipyard.stores.sql.tables import BigId, metadata

__all__ = ["job_leases", "job_runs"]

# One row per job: who holds it until when (epoch ms), when it is next due, and a claim
# counter that every claim compares and sets, so exactly one replica wins a due slot.
job_leases = sa.Table(
    "job_leases",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=True),
    sa.Column("lease_until", sa.BigInteger, nullable=False),
    sa.Column("next_due", sa.BigInteger, nullable=False),
    sa.Column("interval_ms", sa.BigInteger, nullable=False),
    sa.Column("lease_ms", sa.BigInteger, nullable=False),
    sa.Column("tick", sa.BigInteger, nullable=False),
)

# Every run (bounded: the newest few hundred per job are kept).
job_runs = sa.Table(
    "job_runs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("due", sa.BigInteger, nullable=False),
    sa.Column("started", sa.BigInteger, nullable=False),
    sa.Column("finished", sa.BigInteger, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index(None, "name", "id"),
)
