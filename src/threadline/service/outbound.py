"""The API channel's outbound side: the business collects agents' replies and reports
their delivery, the way provider adapters will report through status callbacks."""

from __future__ import annotations

import uuid
from datetime import datetime

from threadline.core.conversations import Conversation
from threadline.core.errors import Conflict, NotFound
from threadline.core.events import Event, EventType
from threadline.core.inboxes import Inbox
from threadline.core.messages import (
    DeliveryStatus,
    Direction,
    Message,
    SenderType,
    advance_status,
)
from threadline.service.proactive import outcomes as proactive_outcomes
from threadline.service.unit_of_work import UnitOfWork


async def pending(uow: UnitOfWork, inbox: Inbox, *, limit: int) -> list[tuple[Message, str]]:
    """Outbound messages not yet taken by the business, with each customer's address.

    Delivery is at least once: a message stays pending until its status is reported.
    An inbox connected to a provider has its replies sent by the outbox instead.
    """
    await _collects_its_own(uow, inbox)
    found = await uow.messages.pending_outbound(inbox.id, limit=limit)
    out = []
    for msg in found:
        conv = await uow.conversations.get(msg.conversation_id)
        assert conv is not None
        identities = (await uow.customers.identities([conv.customer_id]))[conv.customer_id]
        address = next((i.address for i in identities if i.channel == inbox.channel), "")
        out.append((msg, address))
    return out


async def report_status(
    uow: UnitOfWork,
    inbox: Inbox,
    message_id: uuid.UUID,
    reported: DeliveryStatus,
    now: datetime,
    actor: str,
) -> Message:
    await _collects_its_own(uow, inbox)
    msg = await uow.messages.get(message_id, for_update=True)
    if msg is None or msg.inbox_id != inbox.id or msg.direction is not Direction.OUTBOUND:
        raise NotFound("no such outbound message in this inbox", message_id=str(message_id))
    status = advance_status(msg.delivery_status, reported)
    if status is msg.delivery_status:
        return msg
    return await change_status(uow, msg, status, now, actor)


async def change_status(
    uow: UnitOfWork,
    msg: Message,
    status: DeliveryStatus,
    now: datetime,
    actor: str,
    error: str | None = None,
    conv: Conversation | None = None,
) -> Message:
    """Stores an outbound message's new delivery status and records its event (`conv`,
    its conversation, when the caller has it already)."""
    await uow.messages.set_status(msg.id, status, now, error)
    if conv is None:
        conv = await uow.conversations.get(msg.conversation_id)
        assert conv is not None  # a foreign key guarantees it
    updated = msg.with_status(status, now, error)
    record_status(uow, conv, updated, status, now, actor)
    if msg.sender_type is SenderType.SYSTEM:
        # Notifications are Threadline's own messages: their figures and fallback
        # follow the delivery reports.
        await proactive_outcomes.on_status(uow, updated, status, now, error)
    return updated


def record_status(
    uow: UnitOfWork,
    conv: Conversation,
    msg: Message,
    status: DeliveryStatus,
    now: datetime,
    actor: str,
) -> None:
    """The event of an outbound message's new delivery status, for the desk that holds
    the conversation (its owner's, while inactive), else its sender's."""
    uow.record(
        Event(
            EventType.DELIVERY_STATUS,
            now,
            actor,
            conversation_id=conv.id,
            agent_id=conv.holder or msg.sender_agent_id,
            payload={
                "message_id": str(msg.id),
                "status": str(status),
                **({"error": msg.delivery_error} if msg.delivery_error else {}),
            },
        )
    )


async def _collects_its_own(uow: UnitOfWork, inbox: Inbox) -> None:
    if await uow.connections.for_inbox(inbox.id) is not None:
        raise Conflict(
            "this inbox's replies are sent through its provider connection; its provider "
            "reports their delivery",
            code="provider_delivers",
        )
