"""Messages and their delivery status."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from threadline.core.classify import MessageKind
from threadline.core.errors import InvalidInput, InvalidTransition

# WhatsApp's limit for one text message, the largest of the channels we serve; a
# longer body would be split or refused by the provider anyway.
MAX_BODY_CHARS = 4096


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class SenderType(enum.StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


class DeliveryStatus(enum.StrEnum):
    RECEIVED = "received"  # inbound, stored
    QUEUED = "queued"  # outbound, stored, not yet taken by the channel
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


# Status callbacks arrive out of order (a "delivered" can overtake "sent"), so a status
# only moves forward; a late "sent" after "read" is ignored rather than refused.
_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
    DeliveryStatus.FAILED: 3,
}


def advance_status(current: DeliveryStatus, reported: DeliveryStatus) -> DeliveryStatus:
    if current is DeliveryStatus.RECEIVED or reported is DeliveryStatus.RECEIVED:
        raise InvalidTransition("inbound messages have no delivery status to report")
    if reported is DeliveryStatus.QUEUED:
        raise InvalidInput("'queued' is set by Threadline, not reported by a channel")
    if current is DeliveryStatus.FAILED or current is DeliveryStatus.READ:
        return current
    return reported if _RANK[reported] >= _RANK[current] else current


def storable(value: str) -> bool:
    """Text a database can hold: no NUL (PostgreSQL refuses it) and no lone surrogate
    (a JSON escape can carry one; it has no UTF-8)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_body(body: str) -> str:
    text = body.strip()
    if not text:
        raise InvalidInput("a message needs some text", field="text")
    if len(text) > MAX_BODY_CHARS:
        raise InvalidInput(f"a message is at most {MAX_BODY_CHARS} characters", field="text")
    if "\x00" in text:
        raise InvalidInput("a message cannot contain NUL characters", field="text")
    return text


@dataclass(frozen=True)
class Attachment:
    """Media a customer sent, by the provider's reference: a URL (Twilio, Messenger,
    RCS) or a media id (WhatsApp). Threadline never fetches it into its database."""

    content_type: str
    url: str | None = None
    media_id: str | None = None
    caption: str | None = None

    def as_dict(self) -> dict[str, str]:
        found = {
            "content_type": self.content_type,
            "url": self.url,
            "media_id": self.media_id,
            "caption": self.caption,
        }
        return {k: v for k, v in found.items() if v is not None}


@dataclass(frozen=True)
class Message:
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    session_id: uuid.UUID
    inbox_id: uuid.UUID
    direction: Direction
    sender_type: SenderType
    body: str
    created_at: datetime
    delivery_status: DeliveryStatus
    status_updated_at: datetime
    sender_agent_id: uuid.UUID | None = None
    external_id: str | None = None
    # Inbound only: what the message meant for the workflow (DESIGN.md §5).
    kind: MessageKind | None = None
    # Outbound: why the provider did not deliver it.
    delivery_error: str | None = None
    attachments: tuple[Attachment, ...] = ()

    def with_status(
        self, status: DeliveryStatus, at: datetime, error: str | None = None
    ) -> Message:
        return replace(self, delivery_status=status, status_updated_at=at, delivery_error=error)


class InThread(Protocol):
    """Where a message goes: a conversation's current session in its inbox."""

    id: uuid.UUID
    session_id: uuid.UUID
    inbox_id: uuid.UUID


def from_customer(
    thread: InThread,
    message_id: uuid.UUID,
    seq: int,
    body: str,
    now: datetime,
    *,
    kind: MessageKind,
    external_id: str | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> Message:
    return Message(
        id=message_id,
        conversation_id=thread.id,
        seq=seq,
        session_id=thread.session_id,
        inbox_id=thread.inbox_id,
        direction=Direction.INBOUND,
        sender_type=SenderType.CUSTOMER,
        body=body,
        created_at=now,
        delivery_status=DeliveryStatus.RECEIVED,
        status_updated_at=now,
        external_id=external_id,
        kind=kind,
        attachments=attachments,
    )


def to_customer(
    thread: InThread,
    message_id: uuid.UUID,
    seq: int,
    body: str,
    now: datetime,
    *,
    sender_type: SenderType,
    sender_agent_id: uuid.UUID | None = None,
) -> Message:
    """An outbound message, queued for its channel."""
    return Message(
        id=message_id,
        conversation_id=thread.id,
        seq=seq,
        session_id=thread.session_id,
        inbox_id=thread.inbox_id,
        direction=Direction.OUTBOUND,
        sender_type=sender_type,
        sender_agent_id=sender_agent_id,
        body=body,
        created_at=now,
        delivery_status=DeliveryStatus.QUEUED,
        status_updated_at=now,
    )
