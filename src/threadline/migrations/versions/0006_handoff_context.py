"""a bot's handoff context on conversations; how long a visitor's proof holds

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("handoff", sa.JSON(), nullable=True))
    with op.batch_alter_table("visitor_sessions") as batch:
        batch.add_column(sa.Column("verified_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visitor_sessions") as batch:
        batch.drop_column("verified_until")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("handoff")
