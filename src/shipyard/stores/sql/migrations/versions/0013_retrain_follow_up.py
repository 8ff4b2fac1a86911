"""retraining follow-up (outcome after promotion) and deliveries without an alert

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("retraining_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("follow_up", sa.Text(), nullable=True))
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model", sa.String(length=128), nullable=True))
        batch_op.alter_column("alert_id", existing_type=sa.BigInteger(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM alert_deliveries WHERE alert_id IS NULL")  # notices of no alert
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.alter_column("alert_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column("model")
    with op.batch_alter_table("retraining_runs", schema=None) as batch_op:
        batch_op.drop_column("follow_up")
        batch_op.drop_column("outcome")
