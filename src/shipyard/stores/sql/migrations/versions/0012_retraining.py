"""retraining runs

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retraining_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("active_model", sa.String(length=128), nullable=True),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("trigger_detail", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("failed_step", sa.String(length=24), nullable=True),
        sa.Column("register_as", sa.String(length=128), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("data_ref", sa.String(length=300), nullable=True),
        sa.Column("holdout_ref", sa.String(length=300), nullable=True),
        sa.Column("pipeline_run_id", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("gates", sa.Text(), nullable=True),
        sa.Column("approval", sa.Text(), nullable=True),
        sa.Column("deployment", sa.Text(), nullable=True),
        sa.Column("coalesced", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column("finished", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retraining_runs")),
        sa.UniqueConstraint("active_model", name=op.f("uq_retraining_runs_active_model")),
    )
    with op.batch_alter_table("retraining_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retraining_runs_model_id"), ["model", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("retraining_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retraining_runs_model_id"))
    op.drop_table("retraining_runs")
