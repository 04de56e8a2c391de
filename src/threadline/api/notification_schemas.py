"""Request and response bodies of the notifications API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from threadline.adapters.repositories.notifications import StoredDecision
from threadline.core.proactive.notification import Notification, WebhookStatus
from threadline.service.proactive.figures import TemplateFigures


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str = Field(max_length=32)
    address: str = Field(max_length=255)


class NotificationIn(BaseModel):
    """One recipient of a template. Name the customer by `customer_id` or by an
    `identity` they have (`{"channel": "sms", "address": "+15551234567"}`)."""

    model_config = ConfigDict(extra="forbid")
    template: str = Field(min_length=1, max_length=64)
    customer_id: uuid.UUID | None = None
    identity: IdentityIn | None = None
    variables: dict[str, str | int | float] = Field(default_factory=dict, max_length=100)
    language: str | None = Field(default=None, max_length=35)
    send_at: datetime | None = Field(default=None, description="With a UTC offset; default now")
    reference: str | None = Field(
        default=None, max_length=128, description="Your id for it: a repeat creates nothing"
    )
    debt_reference: str | None = Field(default=None, max_length=64)
    timezone: str | None = Field(default=None, max_length=64)
    region: str | None = Field(default=None, max_length=8, description="US or US-FL")
    channel: str | None = Field(default=None, max_length=32, description="Only this channel")


class WebhookOut(BaseModel):
    """An expected reply passed to the business's webhook, and the calls made so far."""

    state: str = Field(description="pending, accepted (the endpoint answered 2xx) or failed")
    attempts: int = Field(description="Calls made so far")
    last_error: str | None = Field(description="Why the last call failed")
    next_attempt_at: datetime | None = Field(description="When it is called next, while pending")
    accepted_at: datetime | None
    failed_at: datetime | None = Field(description="When Threadline gave up calling")

    @classmethod
    def of(cls, w: WebhookStatus) -> WebhookOut:
        return cls(
            state=str(w.state),
            attempts=w.attempts,
            last_error=w.last_error,
            next_attempt_at=w.next_attempt_at,
            accepted_at=w.accepted_at,
            failed_at=w.failed_at,
        )


class NotificationOut(BaseModel):
    id: uuid.UUID
    template_id: uuid.UUID
    purpose: str
    customer_id: uuid.UUID
    batch_id: uuid.UUID | None
    reference: str | None
    state: str
    rule: str | None = Field(description="The rule behind its last deferral or suppression")
    due_at: datetime
    expires_at: datetime | None
    channel: str | None = Field(description="The channel it was sent on")
    conversation_id: uuid.UUID | None
    message_id: uuid.UUID | None
    failed_channels: list[str]
    sent_at: datetime | None
    delivered_at: datetime | None
    replied_at: datetime | None
    outcome: str | None
    webhook: WebhookOut | None = Field(
        description="The reply's call to the business's webhook, when it was passed to one"
    )
    created_at: datetime

    @classmethod
    def of(cls, n: Notification) -> NotificationOut:
        webhook = n.webhook_status
        return cls(
            id=n.id,
            template_id=n.template_id,
            purpose=str(n.purpose),
            customer_id=n.customer_id,
            batch_id=n.batch_id,
            reference=n.reference,
            state=str(n.state),
            rule=n.rule,
            due_at=n.due_at,
            expires_at=n.expires_at,
            channel=n.sent_channel,
            conversation_id=n.conversation_id,
            message_id=n.message_id,
            failed_channels=list(n.failed_channels),
            sent_at=n.sent_at,
            delivered_at=n.delivered_at,
            replied_at=n.replied_at,
            outcome=str(n.outcome) if n.outcome else None,
            webhook=WebhookOut.of(webhook) if webhook else None,
            created_at=n.created_at,
        )


class DecisionOut(BaseModel):
    seq: int
    notification_id: uuid.UUID
    customer_id: uuid.UUID
    at: datetime
    decision: str
    channel: str | None
    rule: str | None
    until: datetime | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, d: StoredDecision) -> DecisionOut:
        r = d.record
        return cls(
            seq=d.seq,
            notification_id=r.notification_id,
            customer_id=r.customer_id,
            at=r.at,
            decision=str(r.decision),
            channel=r.channel,
            rule=r.rule,
            until=r.until,
            detail=r.detail,
        )


class NotificationDetailOut(NotificationOut):
    decisions: list[DecisionOut]


class RowErrorOut(BaseModel):
    row: int = Field(description="CSV: the line in the file (the header is 1); JSON: 1-based")
    field: str | None
    message: str
    suggestion: str | None = Field(
        default=None, description="What a misspelt name most likely stands for (did you mean)"
    )


class BatchOut(BaseModel):
    batch_id: uuid.UUID
    rows: int
    accepted: int
    created: int
    existing: int = Field(description="Rows whose reference was stored already")
    errors: list[RowErrorOut]
    states: dict[str, int] | None = Field(
        default=None, description="Its notifications by state (GET only)"
    )


class TemplateFiguresOut(BaseModel):
    template: str
    purpose: str
    notifications: int
    pending: int
    sent: int
    delivered: int
    failed: int
    suppressed: int
    replied: int
    deflected: int = Field(description="Replies that ended it without an agent")
    handed_off: int
    deferrals: int
    fell_back: int
    delivery_rate: float | None = Field(description="delivered / sent")
    reply_rate: float | None = Field(description="replied / delivered")
    deflection_rate: float | None = Field(description="deflected / delivered")
    suppressed_by_rule: dict[str, int]
    deferred_by_rule: dict[str, int]

    @classmethod
    def of(cls, f: TemplateFigures) -> TemplateFiguresOut:
        return cls(
            template=f.template,
            purpose=f.purpose,
            notifications=f.notifications,
            pending=f.pending,
            sent=f.sent,
            delivered=f.delivered,
            failed=f.failed,
            suppressed=f.suppressed,
            replied=f.replied,
            deflected=f.deflected,
            handed_off=f.handed_off,
            deferrals=f.deferrals,
            fell_back=f.fell_back,
            delivery_rate=f.delivery_rate,
            reply_rate=f.reply_rate,
            deflection_rate=f.deflection_rate,
            suppressed_by_rule=f.suppressed_by_rule,
            deferred_by_rule=f.deferred_by_rule,
        )
