"""web chat: widgets, visitor sessions, verification and read markers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(
            sa.Column(
                "verification", sa.String(length=16), server_default="identified", nullable=False
            )
        )
        batch.add_column(
            sa.Column("agent_read_seq", sa.Integer(), server_default="0", nullable=False)
        )
    # What the channel proves (core.verification.by_channel); and what was there before
    # counts as read, rather than every old thread turning up unread at once.
    op.execute("UPDATE conversations SET verification = 'anonymous' WHERE channel = 'web'")
    op.execute("UPDATE conversations SET verification = 'verified' WHERE channel = 'app'")
    op.execute("UPDATE conversations SET agent_read_seq = message_count")
    op.create_table(
        "widgets",
        sa.Column("inbox_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("greeting", sa.String(length=500), nullable=False),
        sa.Column("accent_color", sa.String(length=7), nullable=False),
        sa.Column("allowed_origins", sa.JSON(), nullable=False),
        sa.Column("identity_secret", sa.String(length=128), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbox_id"], ["inboxes.id"], name="fk_widgets_inbox_id_inboxes", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("inbox_id", name="pk_widgets"),
        sa.UniqueConstraint("key", name="uq_widgets_key"),
    )
    op.create_table(
        "visitor_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("inbox_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("identity", sa.String(length=300), nullable=False),
        sa.Column("verification", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbox_id"],
            ["inboxes.id"],
            name="fk_visitor_sessions_inbox_id_inboxes",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_visitor_sessions_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_visitor_sessions"),
    )
    op.create_index("ix_visitor_sessions_customer_id", "visitor_sessions", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_visitor_sessions_customer_id", table_name="visitor_sessions")
    op.drop_table("visitor_sessions")
    op.drop_table("widgets")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("agent_read_seq")
        batch.drop_column("verification")
