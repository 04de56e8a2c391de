"""SMS compliance keywords: STOP, START and HELP, and the consent they change.

A keyword message is stored in the customer's thread like any message (so the agent
sees it), but it never wakes an agent or reopens a conversation: it is read as
ineffectual. STOP closes an open conversation, since nothing can be sent in it any
more, and is confirmed once; after it, nothing is sent on that channel, agents'
replies included, until START. HELP is always answered, opted out or not, as carriers
require.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from threadline.core.classify import MessageKind
from threadline.core.consent import Consent, ConsentState, Keyword, KeywordReplies
from threadline.core.conversations import CloseReason, Conversation, ConversationState
from threadline.core.customers import make_identity
from threadline.core.events import ACTOR_CUSTOMER, Event, EventType
from threadline.core.inboxes import Inbox
from threadline.core.messages import DeliveryStatus, Direction, Message, SenderType, clean_body
from threadline.core.outbox import OutboxItem, OutboxState
from threadline.service.inbound import InboundMessage, register_customer
from threadline.service.routing import release_and_route
from threadline.service.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class KeywordOutcome:
    duplicate: bool
    consent: ConsentState
    replied: bool


async def handle_keyword(
    uow: UnitOfWork,
    inbox: Inbox,
    inbound: InboundMessage,
    keyword: Keyword,
    now: datetime,
    replies: KeywordReplies,
) -> KeywordOutcome:
    identity = make_identity(inbox.channel, inbound.address)
    text = clean_body(inbound.text)
    owners = await uow.customers.owners_of(identity.channel, {identity.address})
    customer_id = owners.get(identity.address)
    if customer_id is None:
        customer_id = await register_customer(
            uow, inbox.channel, identity, inbound.display_name, now
        )
    conv = (await uow.conversations.for_customers(inbox.id, {customer_id}, for_update=True)).get(
        customer_id
    )
    if inbound.external_id is not None:
        # After the lock, as in ingest: a concurrent delivery of the same webhook has
        # committed by now and is seen.
        stored = await uow.messages.stored_external_ids(inbox.id, {inbound.external_id})
        if stored:
            current = await uow.consents.get(customer_id, inbox.channel)
            state = current.state if current else ConsentState.OPTED_IN
            return KeywordOutcome(True, state, False)
    timing = (await uow.timings())(inbox.channel)
    if conv is None:
        # A first message that is a keyword: the thread exists to record it, closed at
        # once, since nobody is to answer it.
        conv = Conversation.open(
            id=uuid.uuid4(),
            customer_id=customer_id,
            inbox_id=inbox.id,
            channel=inbox.channel,
            skill=inbox.skill,
            session_id=uuid.uuid4(),
            now=now,
            timing=timing,
        )
        conv.close(now, actor=ACTOR_CUSTOMER, reason=_close_reason(keyword))
        await uow.conversations.add(conv)
        await uow.conversations.close_session(conv.session_id, now, str(_close_reason(keyword)))
    message_id = uuid.uuid4()
    seq = conv.receive_customer_message(
        message_id=message_id,
        now=now,
        new_session_id=conv.session_id,
        timing=timing,
        kind=MessageKind.INEFFECTUAL,
    )
    await uow.messages.add(
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
            kind=MessageKind.INEFFECTUAL,
        )
    )
    current = await uow.consents.get(customer_id, inbox.channel)
    was = current.state if current else ConsentState.OPTED_IN
    state = {
        Keyword.OPT_OUT: ConsentState.OPTED_OUT,
        Keyword.OPT_IN: ConsentState.OPTED_IN,
        Keyword.HELP: was,
    }[keyword]
    changed = state is not was
    if changed:
        await uow.consents.put(Consent(customer_id, inbox.channel, state, now, text.upper()))
        uow.record(
            Event(
                EventType.CONSENT_CHANGED,
                now,
                ACTOR_CUSTOMER,
                conversation_id=conv.id,
                agent_id=conv.holder,
                queue=None if conv.holder else conv.skill,
                payload={
                    "customer_id": str(customer_id),
                    "channel": inbox.channel,
                    "state": str(state),
                    "keyword": text.upper(),
                },
            )
        )
    holder = conv.assigned_agent_id if conv.state is ConversationState.ASSIGNED else None
    if keyword is Keyword.OPT_OUT and conv.state.is_open:
        conv.close(now, actor=ACTOR_CUSTOMER, reason=CloseReason.CUSTOMER_OPTED_OUT)
        await uow.conversations.close_session(
            conv.session_id, now, str(CloseReason.CUSTOMER_OPTED_OUT)
        )
    # STOP is confirmed once; a repeated STOP gets silence. HELP always gets an answer.
    reply = changed or keyword is Keyword.HELP
    if reply:
        await _reply(uow, conv, replies.for_keyword(keyword), now)
    await uow.conversations.save(conv)
    uow.collect(conv)
    if holder is not None and not conv.state.is_open:
        await release_and_route(uow, holder, now)
    return KeywordOutcome(False, state, reply)


def _close_reason(keyword: Keyword) -> CloseReason:
    return (
        CloseReason.CUSTOMER_OPTED_OUT
        if keyword is Keyword.OPT_OUT
        else CloseReason.COMPLIANCE_KEYWORD
    )


async def _reply(uow: UnitOfWork, conv: Conversation, text: str, now: datetime) -> None:
    message_id = uuid.uuid4()
    seq = conv.record_system_message(message_id, now)
    await uow.messages.add(
        Message(
            id=message_id,
            conversation_id=conv.id,
            seq=seq,
            session_id=conv.session_id,
            inbox_id=conv.inbox_id,
            direction=Direction.OUTBOUND,
            sender_type=SenderType.SYSTEM,
            body=text,
            created_at=now,
            delivery_status=DeliveryStatus.QUEUED,
            status_updated_at=now,
        )
    )
    # Marked as a compliance reply: the one message an opted-out customer still gets
    # (the confirmation of their STOP, and answers to HELP).
    await uow.outbox.add(
        OutboxItem(
            id=uuid.uuid4(),
            message_id=message_id,
            inbox_id=conv.inbox_id,
            state=OutboxState.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            payload={"compliance": True},
        )
    )
