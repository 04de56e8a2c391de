"""The tables of proactive notifications (core.proactive), on the one schema's metadata.

Kept apart from `schema` because they are one concept: templates, the policy, batches,
each notification's life, its decisions (the compliance record), consent history and
conversations about debts. `schema` imports this module at its end, so every table is
on `metadata` wherever the schema is used.
"""

from __future__ import annotations

import sqlalchemy as sa

from threadline.adapters.schema import Id, UTCDateTime, metadata

# Autoincrementing keys that SQLite can alias to its rowid.
Serial = sa.BigInteger().with_variant(sa.Integer, "sqlite")

notification_templates = sa.Table(
    "notification_templates",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("purpose", sa.String(32), nullable=False),
    # core.proactive.templates.template_to_doc: what was validated on save.
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# One row (id 1) when an admin has set the policy; the defaults apply until then.
proactive_policy = sa.Table(
    "proactive_policy",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(64), nullable=False),
)

notification_batches = sa.Table(
    "notification_batches",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("template_id", Id, sa.ForeignKey("notification_templates.id"), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("accepted", sa.Integer, nullable=False),
    # [{"row", "field", "message"}]: the rows refused, as the upload's answer said.
    sa.Column("errors", sa.JSON, nullable=False),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("template_id", Id, sa.ForeignKey("notification_templates.id"), nullable=False),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("batch_id", Id, sa.ForeignKey("notification_batches.id"), nullable=True),
    sa.Column("customer_id", Id, sa.ForeignKey("customers.id"), nullable=False),
    # The business's own id for it: a request repeated with it creates nothing new.
    sa.Column("reference", sa.String(128), nullable=True, unique=True),
    sa.Column("variables", sa.JSON, nullable=False),
    sa.Column("language", sa.String(16), nullable=True),
    # The one channel the business asked for, if it did.
    sa.Column("channel", sa.String(32), nullable=True),
    sa.Column("timezone", sa.String(64), nullable=True),
    sa.Column("region", sa.String(8), nullable=True),
    sa.Column("debt_reference", sa.String(64), nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    # pending: when it is next decided on (due, or the end of its deferral).
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("rule", sa.String(64), nullable=True),
    sa.Column("sent_channel", sa.String(32), nullable=True),
    sa.Column("inbox_id", Id, nullable=True),
    sa.Column("conversation_id", Id, nullable=True),
    sa.Column("message_id", Id, nullable=True, unique=True),
    # Channels it was sent on that failed: the fallback does not try them again.
    sa.Column("failed_channels", sa.JSON, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Column("replied_at", UTCDateTime, nullable=True),
    # Its expected replies are recognised until then.
    sa.Column("reply_until", UTCDateTime, nullable=True),
    sa.Column("outcome", sa.String(16), nullable=True),
    # A reply's webhook: pending until the business's endpoint has taken it.
    sa.Column("webhook", sa.JSON, nullable=True),
    sa.Column("webhook_due_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # The dispatcher's look-up: partial, so it stays the size of the backlog.
    sa.Index(
        "ix_notifications_due",
        "due_at",
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    ),
    sa.Index(
        "ix_notifications_webhook_due",
        "webhook_due_at",
        sqlite_where=sa.text("webhook_due_at IS NOT NULL"),
        postgresql_where=sa.text("webhook_due_at IS NOT NULL"),
    ),
    # Caps and Regulation F count what a customer was sent in a period.
    sa.Index("ix_notifications_customer_sent", "customer_id", "sent_at"),
    # A reply is matched to the notification awaiting one in its conversation.
    sa.Index(
        "ix_notifications_awaiting_reply",
        "conversation_id",
        sqlite_where=sa.text("reply_until IS NOT NULL"),
        postgresql_where=sa.text("reply_until IS NOT NULL"),
    ),
    sa.Index("ix_notifications_batch_id", "batch_id"),
    sa.Index("ix_notifications_template_created", "template_id", "created_at"),
)

# Every decision on a notification, in order: the compliance record ("why did this
# customer get, or not get, this message?"). Append-only.
notification_decisions = sa.Table(
    "notification_decisions",
    metadata,
    sa.Column("seq", Serial, primary_key=True, autoincrement=True),
    sa.Column("notification_id", Id, sa.ForeignKey("notifications.id"), nullable=False),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("template_id", Id, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("channel", sa.String(32), nullable=True),
    sa.Column("rule", sa.String(64), nullable=True),
    sa.Column("until", UTCDateTime, nullable=True),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index("ix_notification_decisions_notification_id", "notification_id"),
    sa.Index("ix_notification_decisions_customer_id", "customer_id", "seq"),
    sa.Index("ix_notification_decisions_template_at", "template_id", "at"),
)

# core.proactive.purposes.ConsentRecord: every consent change, kept. `consents` holds
# the current channel-wide state the outbox checks; this holds the history and the
# per-purpose records.
consent_records = sa.Table(
    "consent_records",
    metadata,
    sa.Column("seq", Serial, primary_key=True, autoincrement=True),
    sa.Column("customer_id", Id, sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("purpose", sa.String(32), nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_consent_records_customer_id", "customer_id", "seq"),
)

# Conversations with a customer about a debt in collection (Regulation F counts 7 days
# from each): a reply to a collections notification, any customer's or agent's message
# in its thread within 30 days of it, or one the business reports.
debt_conversations = sa.Table(
    "debt_conversations",
    metadata,
    sa.Column("seq", Serial, primary_key=True, autoincrement=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("debt_reference", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Index("ix_debt_conversations_customer_debt", "customer_id", "debt_reference"),
)
