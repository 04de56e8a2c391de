"""Domain events: the append-only record of every change.

Each event names its audience explicitly — the one agent it concerns and/or the
queue (skill) whose watchers must hear of it — so the live stream can route it
without re-deriving who may see what from the current state, which may have moved on.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class EventType(enum.StrEnum):
    CUSTOMER_CREATED = "customer.created"
    CONVERSATION_OPENED = "conversation.opened"
    SESSION_OPENED = "conversation.session_opened"
    QUEUED = "conversation.queued"
    ASSIGNED = "conversation.assigned"
    UNASSIGNED = "conversation.unassigned"
    TRANSFERRED = "conversation.transferred"
    CLOSED = "conversation.closed"
    INACTIVE = "conversation.inactive"
    REACTIVATED = "conversation.reactivated"
    # The respond-by time passed with the customer still waiting: an SLA miss.
    RESPOND_BY_BREACHED = "conversation.respond_by_breached"
    MESSAGE_RECEIVED = "message.received"
    MESSAGE_SENT = "message.sent"
    DELIVERY_STATUS = "message.delivery_status"
    # The holding agent read the thread up to a message (their unread count, the
    # customer's read receipt).
    READ = "conversation.read"
    # A bot passed it on with its context (intent, fields, summary) and the reason.
    HANDED_OFF = "conversation.handed_off"
    # A bot took the conversation (a new or reopened session, or an agent's routine).
    BOT_ENGAGED = "conversation.bot_engaged"
    # The customer proved who they are in the conversation (a bot's step-up code).
    VERIFIED = "conversation.verified"
    AGENT_CREATED = "agent.created"
    AGENT_UPDATED = "agent.updated"
    AGENT_STATUS = "agent.status_changed"
    INBOX_CREATED = "inbox.created"
    CHANNEL_SETTINGS_UPDATED = "channel.settings_updated"
    CANNED_RESPONSE_CREATED = "canned_response.created"
    CANNED_RESPONSE_DELETED = "canned_response.deleted"
    WIDGET_UPDATED = "widget.updated"
    # A customer opted out of, or back in to, messages on a channel (SMS keywords).
    CONSENT_CHANGED = "customer.consent_changed"
    CONNECTION_UPDATED = "inbox.connection_updated"
    BOT_UPDATED = "inbox.bot_updated"


@dataclass(frozen=True)
class Event:
    type: EventType
    occurred_at: datetime
    actor: str
    conversation_id: uuid.UUID | None = None
    agent_id: uuid.UUID | None = None
    queue: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def actor_agent(agent_id: uuid.UUID) -> str:
    return f"agent:{agent_id}"


def actor_bot(name: str) -> str:
    return f"bot:{name}"


ACTOR_CUSTOMER = "customer"
ACTOR_ROUTER = "router"
ACTOR_SYSTEM = "system"
