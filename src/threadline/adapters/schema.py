"""The relational schema (SQLAlchemy Core). Alembic migrations create it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores aware UTC datetimes; SQLite keeps no zone, so one is attached on read."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

Id = sa.Uuid(as_uuid=True)

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(128), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("preferred_concurrency", sa.Integer, nullable=False),
    sa.Column("max_load", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_since", UTCDateTime, nullable=False),
    # Denormalised count of assigned conversations, changed only by conditional UPDATEs
    # so that two routers can never push an agent past their limit.
    sa.Column("active_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_assigned_at", UTCDateTime, nullable=True),
    # When a desk (a live WebSocket) of this agent was last known connected; null for an
    # agent who never had one (API-only use), whom presence never sets away.
    sa.Column("desk_seen_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("active_count >= 0", name="active_nonnegative"),
    sa.CheckConstraint(
        "preferred_concurrency >= 1 AND max_load >= preferred_concurrency", name="limits"
    ),
)

agent_skills = sa.Table(
    "agent_skills",
    metadata,
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("skill", sa.String(64), primary_key=True),
    sa.Index("ix_agent_skills_skill", "skill"),
)

auth_tokens = sa.Table(
    "auth_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("agent_id", Id, sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)

inboxes = sa.Table(
    "inboxes",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("skill", sa.String(64), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("display_name", sa.String(128), nullable=True),
    sa.Column("timezone", sa.String(64), nullable=True),
    sa.Column("preferred_channel", sa.String(32), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

customer_identities = sa.Table(
    "customer_identities",
    metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("address", sa.String(255), primary_key=True),
    sa.Column("customer_id", Id, sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_customer_identities_customer_id", "customer_id"),
)

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("customer_id", Id, sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("inbox_id", Id, sa.ForeignKey("inboxes.id"), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("skill", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("session_id", Id, nullable=False),
    sa.Column("session_seq", sa.Integer, nullable=False),
    sa.Column("waiting_on", sa.String(16), nullable=False),
    sa.Column("respond_by", UTCDateTime, nullable=True),
    sa.Column("pace", sa.Float, nullable=False),
    sa.Column("assigned_agent_id", Id, sa.ForeignKey("agents.id"), nullable=True),
    sa.Column("owner_agent_id", Id, sa.ForeignKey("agents.id"), nullable=True),
    sa.Column("enqueued_at", UTCDateTime, nullable=True),
    sa.Column("last_customer_message_at", UTCDateTime, nullable=True),
    sa.Column("last_outbound_at", UTCDateTime, nullable=True),
    sa.Column("message_count", sa.Integer, nullable=False, server_default="0"),
    # core.classify.OutboundContext of the last agent/bot message: how a reply is read.
    sa.Column("last_outbound", sa.String(24), nullable=False, server_default="none"),
    sa.Column("inactive_since", UTCDateTime, nullable=True),
    # Reactivated and waiting: the queue serves it ahead of new work.
    sa.Column("reactivated", sa.Boolean, nullable=False, server_default=sa.false()),
    # core.verification.Verification of this session's customer.
    sa.Column("verification", sa.String(16), nullable=False, server_default="identified"),
    # The holding agent has read up to this message seq; later inbound ones are unread.
    sa.Column("agent_read_seq", sa.Integer, nullable=False, server_default="0"),
    # core.handoff.Handoff of this session, as JSON; null when no bot handed it over.
    sa.Column("handoff", sa.JSON, nullable=True),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # One persistent thread per customer per inbox (DESIGN.md §1).
    sa.UniqueConstraint("customer_id", "inbox_id"),
    sa.Index("ix_conversations_state_skill", "state", "skill"),
    sa.Index("ix_conversations_assigned_agent_id", "assigned_agent_id"),
)

conversation_sessions = sa.Table(
    "conversation_sessions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime, nullable=True),
    sa.Column("close_reason", sa.String(64), nullable=True),
    sa.UniqueConstraint("conversation_id", "seq"),
)

# The durable timers (core.lifecycle.TimerKind): one row per running timer. A row is
# written only under its conversation's lock, which is also what the scheduler takes to
# fire it, so a timer fires once even with several processes.
conversation_timers = sa.Table(
    "conversation_timers",
    metadata,
    sa.Column(
        "conversation_id",
        Id,
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Index("ix_conversation_timers_due_at", "due_at"),
)

# Per-channel pacing and timeouts (core.pacing.ChannelTiming); a channel without a row
# uses the shipped defaults.
channel_settings = sa.Table(
    "channel_settings",
    metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", Id, sa.ForeignKey("agents.id"), nullable=True),
)

canned_responses = sa.Table(
    "canned_responses",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("shortcut", sa.String(32), nullable=False, unique=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# The web chat widget of a web inbox (core.widgets.Widget).
widgets = sa.Table(
    "widgets",
    metadata,
    sa.Column("inbox_id", Id, sa.ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("title", sa.String(60), nullable=False),
    sa.Column("greeting", sa.String(500), nullable=False),
    sa.Column("accent_color", sa.String(7), nullable=False),
    sa.Column("allowed_origins", sa.JSON, nullable=False),
    # The HMAC key of the business's signed identities: verification needs the key
    # itself, so it is stored, like any shared webhook secret (see docs/decisions.md).
    sa.Column("identity_secret", sa.String(128), nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# A web chat visitor's browser: its token (hashed) names the customer it writes as.
visitor_sessions = sa.Table(
    "visitor_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("inbox_id", Id, sa.ForeignKey("inboxes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("customer_id", Id, sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    # The customer's identity the visitor writes as ("web:<id>", or "app:<id>" signed).
    sa.Column("identity", sa.String(300), nullable=False),
    sa.Column("verification", sa.String(16), nullable=False),
    # When the signed identity behind a verified token expires (core.widgets.Visitor).
    sa.Column("verified_until", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Index("ix_visitor_sessions_customer_id", "customer_id"),
)

# How an inbox reaches its provider (adapters.providers): which provider, the account
# and the business's address there (the number, page or agent webhooks name), and the
# name of the secrets the environment holds for it. Secrets never enter the database.
channel_connections = sa.Table(
    "channel_connections",
    metadata,
    sa.Column("inbox_id", Id, sa.ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("account", sa.String(128), nullable=False),
    sa.Column("address", sa.String(255), nullable=False),
    sa.Column("secret_name", sa.String(64), nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # A webhook names the business's address: it must lead to one inbox.
    sa.UniqueConstraint("provider", "address"),
)

# core.outbox.OutboxItem: one row per message to a provider, written with the message.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("message_id", Id, sa.ForeignKey("messages.id"), nullable=False, unique=True),
    sa.Column("inbox_id", Id, sa.ForeignKey("inboxes.id"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("provider_id", sa.String(255), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # The worker's two look-ups: rows due, and rows whose lease ran out. Partial, so
    # they stay the size of the backlog, not of every message ever sent.
    sa.Index(
        "ix_outbox_due",
        "next_attempt_at",
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    ),
    sa.Index(
        "ix_outbox_leased",
        "lease_until",
        sqlite_where=sa.text("state = 'sending'"),
        postgresql_where=sa.text("state = 'sending'"),
    ),
)

# core.consent.Consent: no row is consent by default (the customer wrote to us).
consents = sa.Table(
    "consents",
    metadata,
    sa.Column(
        "customer_id", Id, sa.ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# An in-app chat inbox: how the business's back end signs its customers' identities
# (HS256 with a secret the environment holds, or RS256 with a public key), and the
# public key apps name the inbox by.
app_channels = sa.Table(
    "app_channels",
    metadata,
    sa.Column("inbox_id", Id, sa.ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("algorithm", sa.String(8), nullable=False),
    sa.Column("secret_name", sa.String(64), nullable=True),
    sa.Column("public_key", sa.Text, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# The bot serving an inbox (issue 6): the built-in virtual agent running a flow (its
# YAML source, validated when set), or the business's own bot behind a webhook.
inbox_bots = sa.Table(
    "inbox_bots",
    metadata,
    sa.Column("inbox_id", Id, sa.ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("flow", sa.Text, nullable=True),
    sa.Column("url", sa.String(2048), nullable=True),
    sa.Column("timeout_seconds", sa.Float, nullable=True),
    sa.Column("secret_name", sa.String(64), nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# core.bots.hours.BusinessHours of a queue, as JSON; a queue without a row is always
# staffed.
queue_hours = sa.Table(
    "queue_hours",
    metadata,
    sa.Column("queue", sa.String(64), primary_key=True),
    sa.Column("hours", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# A conversation's time with a bot: where the flow is (core.bots.state.BotState), the
# customer messages it has read, and the work waiting for the bot worker, claimed under
# a lease like the outbox so a dead worker's turn is taken over.
conversation_bots = sa.Table(
    "conversation_bots",
    metadata,
    sa.Column(
        "conversation_id",
        Id,
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("state", sa.JSON, nullable=False),
    # The thread's last customer message the bot has answered.
    sa.Column("read_seq", sa.Integer, nullable=False),
    # Something for the bot to do (customer messages past read_seq, or a routine).
    sa.Column("pending", sa.Boolean, nullable=False),
    sa.Column("routine", sa.String(64), nullable=True),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    # The field kind of a secure question the bot is waiting on: the answer is stored
    # masked, and its clear text kept here (by message seq) only until the bot reads it.
    sa.Column("secure_kind", sa.String(16), nullable=True),
    sa.Column("secure_input", sa.JSON, nullable=True),
    # A bot's time with the conversation, from its start to its handoff or close: a
    # turn computed in another is discarded, and external calls are keyed by it.
    sa.Column("token", sa.String(32), nullable=False),
    # Bumped by every change: a turn computed from an older version is discarded.
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
sa.Index(
    "ix_conversation_bots_pending",
    conversation_bots.c.updated_at,
    sqlite_where=conversation_bots.c.pending.is_(True),
    postgresql_where=conversation_bots.c.pending.is_(True),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("session_id", Id, nullable=False),
    sa.Column("inbox_id", Id, sa.ForeignKey("inboxes.id"), nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("sender_type", sa.String(16), nullable=False),
    sa.Column("sender_agent_id", Id, sa.ForeignKey("agents.id"), nullable=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("external_id", sa.String(255), nullable=True),
    sa.Column("delivery_status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("status_updated_at", UTCDateTime, nullable=False),
    # Inbound only: core.classify.MessageKind, what the message meant for the workflow.
    sa.Column("kind", sa.String(16), nullable=True),
    # Outbound: the provider's reason when delivery failed, shown to the agent.
    sa.Column("delivery_error", sa.Text, nullable=True),
    # Inbound media: [{"url"|"media_id", "content_type", "caption"?}], the provider's
    # references, never fetched into the database.
    sa.Column("attachments", sa.JSON, nullable=True),
    # A provider retry carries the same id: the second insert fails and nothing changes.
    sa.UniqueConstraint("inbox_id", "external_id"),
    sa.UniqueConstraint("conversation_id", "seq"),
    # Only the outbox's pending messages: small, and unusable for any other look-up
    # (a full (inbox_id, delivery_status) index lured PostgreSQL's planner into scanning
    # an inbox's every message to find one external id).
    sa.Index(
        "ix_messages_pending_outbound",
        "inbox_id",
        "created_at",
        sqlite_where=sa.text("delivery_status = 'queued'"),
        postgresql_where=sa.text("delivery_status = 'queued'"),
    ),
)

events = sa.Table(
    "events",
    metadata,
    # Assigned from event_sequence inside the writing transaction, so commit order and
    # sequence order agree and a reader resuming after N misses nothing.
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("conversation_id", Id, nullable=True),
    sa.Column("agent_id", Id, nullable=True),
    sa.Column("queue", sa.String(64), nullable=True),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Index("ix_events_conversation_id", "conversation_id"),
    # Reports read one type of event over a period (bot episodes begun in a day).
    sa.Index("ix_events_type_occurred_at", "type", "occurred_at"),
)

event_sequence = sa.Table(
    "event_sequence",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)

# Proactive notifications' tables, defined on `metadata` by their own module; imported
# last because it builds on the types above.
from threadline.adapters import schema_proactive as _proactive  # noqa: E402, F401
