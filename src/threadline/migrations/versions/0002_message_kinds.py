"""message kinds: what each inbound message meant, and what the last outbound asked

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch_alter_table keeps the downgrade possible on SQLite (no DROP COLUMN there
    # before 3.35); the upgrade is a plain ADD COLUMN on both databases.
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(
            sa.Column("last_outbound", sa.String(length=24), server_default="none", nullable=False)
        )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("last_outbound")
