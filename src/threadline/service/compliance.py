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
from threadline.core.messages import (
    SenderType,
    clean_body,
    from_customer,
    to_customer,
)
from threadline.core.outbox import OutboxItem
from threadline.core.proactive.purposes import ConsentRecord
from threadline.service.inbound import (
    InboundMessage,
    customer_and_conversation,
    new_conversation,
)
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
    customer_id, conv = await customer_and_conversation(
        uow, inbox, identity, inbound.display_name, now
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
        conv = new_conversation(inbox, customer_id, now, timing)
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
        from_customer(
            conv,
            message_id,
            seq,
            text,
            now,
            kind=MessageKind.INEFFECTUAL,
            external_id=inbound.external_id,
        )
    )
    wanted = {Keyword.OPT_OUT: ConsentState.OPTED_OUT, Keyword.OPT_IN: ConsentState.OPTED_IN}
    change = await _change_consent(
        uow, customer_id, conv, wanted.get(keyword), text.upper(), now, inbox.channel
    )
    # STOP is confirmed once; a repeated STOP gets silence. HELP always gets an answer.
    reply = change.changed or keyword is Keyword.HELP
    if reply:
        await _reply(uow, conv, replies.for_keyword(keyword), now)
    await _settle(uow, conv, change, now)
    return KeywordOutcome(False, change.state, reply)


async def record_consent(
    uow: UnitOfWork, inbox: Inbox, address: str, opted_out: bool, source: str, now: datetime
) -> bool:
    """The platform reports the customer's opt-out or opt-in itself (RCS's UNSUBSCRIBE):
    the same consent, with no message to store and nothing to confirm (the platform
    has). Returns whether the consent changed; a report repeated changes nothing."""
    identity = make_identity(inbox.channel, address)
    customer_id, conv = await customer_and_conversation(uow, inbox, identity, None, now)
    state = ConsentState.OPTED_OUT if opted_out else ConsentState.OPTED_IN
    change = await _change_consent(uow, customer_id, conv, state, source, now, inbox.channel)
    if conv is not None:
        await _settle(uow, conv, change, now)
    return change.changed


async def change_channel_consent(
    uow: UnitOfWork,
    customer_id: uuid.UUID,
    channel: str,
    state: ConsentState,
    source: str,
    now: datetime,
) -> bool:
    """A channel-wide consent change the business reports (through the API): the same
    change a keyword makes. Returns whether it changed anything."""
    change = await _change_consent(uow, customer_id, None, state, source, now, channel)
    return change.changed


async def _change_consent(
    uow: UnitOfWork,
    customer_id: uuid.UUID,
    conv: Conversation | None,
    wanted: ConsentState | None,
    source: str,
    now: datetime,
    channel: str,
) -> _ConsentChange:
    """Sets the customer's consent on the channel (None: leaves it) and tells the desk
    that holds their conversation. An opt-out closes an open conversation, since
    nothing can be sent in it any more."""
    current = await uow.consents.get(customer_id, channel)
    was = current.state if current else ConsentState.OPTED_IN
    state = wanted or was
    if state is was:
        return _ConsentChange(False, state)
    await uow.consents.put(Consent(customer_id, channel, state, now, source))
    # The history, for outreach's consent rules and the compliance record.
    await uow.outreach.add_consent(ConsentRecord(customer_id, channel, None, state, source, now))
    uow.record(
        Event(
            EventType.CONSENT_CHANGED,
            now,
            ACTOR_CUSTOMER,
            conversation_id=conv.id if conv else None,
            agent_id=conv.holder if conv else None,
            queue=conv.skill if conv and conv.holder is None else None,
            payload={
                "customer_id": str(customer_id),
                "channel": channel,
                "state": str(state),
                "keyword": source,
            },
        )
    )
    if conv is not None and state is ConsentState.OPTED_OUT and conv.state.is_open:
        holder = conv.assigned_agent_id if conv.state is ConversationState.ASSIGNED else None
        conv.close(now, actor=ACTOR_CUSTOMER, reason=CloseReason.CUSTOMER_OPTED_OUT)
        await uow.conversations.close_session(
            conv.session_id, now, str(CloseReason.CUSTOMER_OPTED_OUT)
        )
        return _ConsentChange(True, state, freed=holder)
    return _ConsentChange(True, state)


@dataclass(frozen=True)
class _ConsentChange:
    changed: bool
    state: ConsentState
    # The agent whose slot an opt-out freed by closing their conversation.
    freed: uuid.UUID | None = None


async def _settle(
    uow: UnitOfWork, conv: Conversation, change: _ConsentChange, now: datetime
) -> None:
    await uow.conversations.save(conv)
    uow.collect(conv)
    if change.freed is not None:
        await release_and_route(uow, change.freed, now)


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
        to_customer(conv, message_id, seq, text, now, sender_type=SenderType.SYSTEM)
    )
    # Marked as a compliance reply: the one message an opted-out customer still gets
    # (the confirmation of their STOP, and answers to HELP).
    await uow.outbox.add(
        OutboxItem.pending(uuid.uuid4(), message_id, conv.inbox_id, now, {"compliance": True})
    )
