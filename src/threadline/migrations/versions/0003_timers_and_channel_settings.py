"""durable timers, per-channel settings, inactive conversations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("inactive_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("reactivated", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "conversation_timers",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_conversation_timers_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "kind", name="pk_conversation_timers"),
    )
    op.create_index("ix_conversation_timers_due_at", "conversation_timers", ["due_at"])
    # Conversations open before this upgrade get the timers they would have had. A due
    # time that is early does no harm: a timer re-reads the conversation when it fires
    # and waits for its real time (core.timers.fire).
    op.execute(
        "INSERT INTO conversation_timers (conversation_id, kind, due_at) "
        "SELECT id, 'inactivity', COALESCE(last_outbound_at, updated_at) FROM conversations "
        "WHERE state IN ('assigned', 'queued') AND waiting_on = 'customer'"
    )
    op.execute(
        "INSERT INTO conversation_timers (conversation_id, kind, due_at) "
        "SELECT id, 'respond_by', respond_by FROM conversations "
        "WHERE state IN ('assigned', 'queued') AND waiting_on = 'agent' "
        "AND respond_by IS NOT NULL"
    )
    op.create_table(
        "channel_settings",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["agents.id"], name="fk_channel_settings_updated_by_agents"
        ),
        sa.PrimaryKeyConstraint("channel", name="pk_channel_settings"),
    )


def downgrade() -> None:
    op.drop_table("channel_settings")
    op.drop_index("ix_conversation_timers_due_at", table_name="conversation_timers")
    op.drop_table("conversation_timers")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("reactivated")
        batch.drop_column("inactive_since")
