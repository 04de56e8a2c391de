"""proactive notifications: templates, the outreach policy, batches, notifications and
their decisions, consent history by purpose, conversations about debts

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "debt_conversations",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("debt_reference", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_debt_conversations")),
    )
    with op.batch_alter_table("debt_conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_debt_conversations_customer_debt", ["customer_id", "debt_reference"], unique=False
        )

    op.create_table(
        "notification_templates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_notification_templates_name")),
    )
    op.create_table(
        "proactive_policy",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proactive_policy")),
    )
    op.create_table(
        "consent_records",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_consent_records_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_consent_records")),
    )
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_records_customer_id", ["customer_id", "seq"], unique=False
        )

    op.create_table(
        "notification_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["notification_templates.id"],
            name=op.f("fk_notification_batches_template_id_notification_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_batches")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=True),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=8), nullable=True),
        sa.Column("debt_reference", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("sent_channel", sa.String(length=32), nullable=True),
        sa.Column("inbox_id", sa.Uuid(), nullable=True),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("failed_channels", sa.JSON(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("webhook", sa.JSON(), nullable=True),
        sa.Column("webhook_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["notification_batches.id"],
            name=op.f("fk_notifications_batch_id_notification_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_notifications_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["notification_templates.id"],
            name=op.f("fk_notifications_template_id_notification_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("message_id", name=op.f("uq_notifications_message_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_notifications_reference")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_awaiting_reply",
            ["conversation_id"],
            unique=False,
            sqlite_where=sa.text("reply_until IS NOT NULL"),
            postgresql_where=sa.text("reply_until IS NOT NULL"),
        )
        batch_op.create_index("ix_notifications_batch_id", ["batch_id"], unique=False)
        batch_op.create_index(
            "ix_notifications_customer_sent", ["customer_id", "sent_at"], unique=False
        )
        batch_op.create_index(
            "ix_notifications_due",
            ["due_at"],
            unique=False,
            sqlite_where=sa.text("state = 'pending'"),
            postgresql_where=sa.text("state = 'pending'"),
        )
        batch_op.create_index(
            "ix_notifications_template_created", ["template_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_notifications_webhook_due",
            ["webhook_due_at"],
            unique=False,
            sqlite_where=sa.text("webhook_due_at IS NOT NULL"),
            postgresql_where=sa.text("webhook_due_at IS NOT NULL"),
        )

    op.create_table(
        "notification_decisions",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_decisions_notification_id_notifications"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_notification_decisions")),
    )
    with op.batch_alter_table("notification_decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_decisions_customer_id", ["customer_id", "seq"], unique=False
        )
        batch_op.create_index(
            "ix_notification_decisions_notification_id", ["notification_id"], unique=False
        )
        batch_op.create_index(
            "ix_notification_decisions_template_at", ["template_id", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_decisions_template_at")
        batch_op.drop_index("ix_notification_decisions_notification_id")
        batch_op.drop_index("ix_notification_decisions_customer_id")

    op.drop_table("notification_decisions")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notifications_webhook_due",
            sqlite_where=sa.text("webhook_due_at IS NOT NULL"),
            postgresql_where=sa.text("webhook_due_at IS NOT NULL"),
        )
        batch_op.drop_index("ix_notifications_template_created")
        batch_op.drop_index(
            "ix_notifications_due",
            sqlite_where=sa.text("state = 'pending'"),
            postgresql_where=sa.text("state = 'pending'"),
        )
        batch_op.drop_index("ix_notifications_customer_sent")
        batch_op.drop_index("ix_notifications_batch_id")
        batch_op.drop_index(
            "ix_notifications_awaiting_reply",
            sqlite_where=sa.text("reply_until IS NOT NULL"),
            postgresql_where=sa.text("reply_until IS NOT NULL"),
        )

    op.drop_table("notifications")
    op.drop_table("notification_batches")
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_records_customer_id")

    op.drop_table("consent_records")
    op.drop_table("proactive_policy")
    op.drop_table("notification_templates")
    with op.batch_alter_table("debt_conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_debt_conversations_customer_debt")

    op.drop_table("debt_conversations")
