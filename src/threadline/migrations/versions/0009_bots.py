"""bots: each inbox's bot, queues' business hours, conversations' time with a bot, and
an index for reports over a period

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_bots",
        sa.Column("inbox_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("flow", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("timeout_seconds", sa.Float(), nullable=True),
        sa.Column("secret_name", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbox_id"],
            ["inboxes.id"],
            name=op.f("fk_inbox_bots_inbox_id_inboxes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("inbox_id", name=op.f("pk_inbox_bots")),
    )
    op.create_table(
        "queue_hours",
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("queue", name=op.f("pk_queue_hours")),
    )
    op.create_table(
        "conversation_bots",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("read_seq", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("routine", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("secure_kind", sa.String(length=16), nullable=True),
        sa.Column("secure_input", sa.JSON(), nullable=True),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_bots_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_conversation_bots")),
    )
    op.create_index(
        "ix_conversation_bots_pending",
        "conversation_bots",
        ["updated_at"],
        sqlite_where=sa.text("pending = 1"),
        postgresql_where=sa.text("pending = true"),
    )
    op.create_index("ix_events_type_occurred_at", "events", ["type", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_events_type_occurred_at", table_name="events")
    op.drop_index("ix_conversation_bots_pending", table_name="conversation_bots")
    op.drop_table("conversation_bots")
    op.drop_table("queue_hours")
    op.drop_table("inbox_bots")
