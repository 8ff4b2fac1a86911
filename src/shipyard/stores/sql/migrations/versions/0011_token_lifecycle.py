"""token lifecycle: a display prefix, when a token was last used and when it was revoked

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-12
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prefix", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("last_used_time", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("revoked_time", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("revoked_time")
        batch_op.drop_column("last_used_time")
        batch_op.drop_column("prefix")
