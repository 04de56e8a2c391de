"""Customer messages coming in through an inbox (the API channel, later the adapters)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from threadline.core.conversations import Conversation, ConversationState
from threadline.core.customers import Customer, Identity, make_identity
from threadline.core.errors import DuplicateExternalId
from threadline.core.events import ACTOR_CUSTOMER, Event, EventType
from threadline.core.inboxes import Inbox
from threadline.core.messages import DeliveryStatus, Direction, Message, SenderType, clean_body
from threadline.service.routing import route_waiting
from threadline.service.unit_of_work import RetryTransaction, UnitOfWork


@dataclass(frozen=True)
class InboundMessage:
    address: str
    text: str
    external_id: str | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class IngestResult:
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    state: ConversationState
    assigned_agent_id: uuid.UUID | None


async def ingest(
    uow: UnitOfWork, inbox: Inbox, inbound: InboundMessage, now: datetime
) -> IngestResult:
    """Store a customer's message once, in their conversation, and route it.

    A message whose external id this inbox has already stored is refused with
    `DuplicateExternalId` (naming the stored message) and changes nothing.

    Every refusal happens before the first write, so a refused message leaves the
    transaction clean: group commit (`IngestBatcher`) relies on this.
    """
    text = clean_body(inbound.text)
    identity = make_identity(inbox.channel, inbound.address)
    if inbound.external_id is not None:
        existing = await uow.messages.by_external_id(inbox.id, inbound.external_id)
        if existing is not None:
            raise DuplicateExternalId(
                "a message with this external_id was already stored",
                message_id=str(existing.id),
                conversation_id=str(existing.conversation_id),
            )
    # The common case, a customer with a conversation here, is one query.
    conv = await uow.conversations.find_for_identity(
        identity.channel, identity.address, inbox.id, for_update=True
    )
    if conv is not None:
        customer_id = conv.customer_id
    else:
        customer_id = await uow.customers.owner_of(identity) or await _new_customer(
            uow, inbox, identity, inbound.display_name, now
        )

    message_id = uuid.uuid4()
    if conv is None:
        conv = Conversation.open(
            id=uuid.uuid4(),
            customer_id=customer_id,
            inbox_id=inbox.id,
            channel=inbox.channel,
            skill=inbox.skill,
            session_id=uuid.uuid4(),
            now=now,
        )
        seq = conv.receive_customer_message(
            message_id=message_id, now=now, new_session_id=conv.session_id
        )
        await uow.conversations.add(conv)
    else:
        previous_session = conv.session_id
        seq = conv.receive_customer_message(
            message_id=message_id, now=now, new_session_id=uuid.uuid4()
        )
        if conv.session_id != previous_session:
            await uow.conversations.add_session(conv)
        await uow.conversations.save(conv)

    stored = await uow.messages.add_unless_duplicate(
        Message(
            id=message_id,
            conversation_id=conv.id,
            seq=seq,
            session_id=conv.session_id,
            inbox_id=inbox.id,
            direction=Direction.INBOUND,
            sender_type=SenderType.CUSTOMER,
            body=text,
            created_at=now,
            delivery_status=DeliveryStatus.RECEIVED,
            status_updated_at=now,
            external_id=inbound.external_id,
        )
    )
    if not stored:
        # Another transaction stored the same external id since our check: roll back
        # and run again, when the check above will see it.
        raise RetryTransaction("concurrent duplicate external_id")
    uow.collect(conv)
    assigned = conv.assigned_agent_id
    state = conv.state
    if conv.state is ConversationState.QUEUED:
        for assignment in await route_waiting(uow, now, skills=[conv.skill]):
            if assignment.conversation_id == conv.id:
                state, assigned = ConversationState.ASSIGNED, assignment.agent_id
    return IngestResult(
        message_id=message_id,
        conversation_id=conv.id,
        customer_id=customer_id,
        state=state,
        assigned_agent_id=assigned,
    )


async def _new_customer(
    uow: UnitOfWork, inbox: Inbox, identity: Identity, name: str | None, now: datetime
) -> uuid.UUID:
    customer = Customer(
        id=uuid.uuid4(),
        display_name=name,
        timezone=None,
        preferred_channel=inbox.channel,
        created_at=now,
    )
    await uow.customers.add(customer)
    await uow.customers.add_identity(customer.id, identity, now)
    uow.record(
        Event(
            EventType.CUSTOMER_CREATED,
            now,
            ACTOR_CUSTOMER,
            # No queue audience: agents meet the customer through the conversation.
            payload={"customer_id": str(customer.id), "identity": str(identity)},
        )
    )
    return customer.id
