"""audit action index: the trail's kind filter (governance/bookkeeping) counts from it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_ledger", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_ledger_action"),
            ["action"],
            unique=False,
            postgresql_ops={"action": "varchar_pattern_ops"},  # LIKE 'prefix%' uses it
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_ledger_action"))
