"""What agents and supervisors do to conversations: read, reply, close, transfer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from threadline.adapters.lexicons import shipped_classifier
from threadline.adapters.repositories.conversations import ConversationFilter
from threadline.adapters.repositories.events import StoredEvent
from threadline.core.access import Principal, can_view, require_manage
from threadline.core.agents import AgentStatus, validate_skill
from threadline.core.bots.outcome import HandoffReason
from threadline.core.classify import Classifier
from threadline.core.conversations import CloseReason, Conversation, ConversationState
from threadline.core.customers import Customer, Identity
from threadline.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from threadline.core.events import actor_agent
from threadline.core.handoff import Handoff
from threadline.core.messages import (
    Message,
    SenderType,
    clean_body,
    to_customer,
)
from threadline.service import bot_turns, outbox
from threadline.service.outbox import Extras
from threadline.service.proactive import replies
from threadline.service.routing import release_and_route, route_waiting
from threadline.service.unit_of_work import UnitOfWork

# A timeline page large enough for months of a busy thread; the API pages beyond it.
TIMELINE_LIMIT = 1000


@dataclass(frozen=True)
class ConversationDetail:
    conversation: Conversation
    customer: Customer
    identities: list[Identity]
    sessions: list[Any]
    messages: list[Message]
    events: list[StoredEvent]


async def visible(
    uow: UnitOfWork, principal: Principal, conversation_id: uuid.UUID, *, lock: bool
) -> Conversation:
    conv = await uow.conversations.get(conversation_id, for_update=lock)
    # Invisible and missing look the same, so ids cannot be probed for existence.
    if conv is None or not can_view(principal, conv):
        raise NotFound("no such conversation", conversation_id=str(conversation_id))
    return conv


async def detail(
    uow: UnitOfWork, principal: Principal, conversation_id: uuid.UUID
) -> ConversationDetail:
    conv = await visible(uow, principal, conversation_id, lock=False)
    customer = await uow.customers.get(conv.customer_id)
    assert customer is not None  # a foreign key guarantees it
    identities = (await uow.customers.identities([customer.id]))[customer.id]
    return ConversationDetail(
        conversation=conv,
        customer=customer,
        identities=identities,
        sessions=await uow.conversations.sessions(conv.id),
        messages=await uow.messages.for_conversation(conv.id, limit=TIMELINE_LIMIT),
        events=await uow.events.for_conversation(conv.id, limit=TIMELINE_LIMIT),
    )


async def messages_before(
    uow: UnitOfWork, principal: Principal, conversation_id: uuid.UUID, before_seq: int, limit: int
) -> list[Message]:
    """Earlier messages of a long thread, for paging back beyond the detail view."""
    conv = await visible(uow, principal, conversation_id, lock=False)
    return await uow.messages.for_conversation(conv.id, limit=limit, before_seq=before_seq)


@dataclass(frozen=True)
class ConversationSummary:
    """A row of an agent's list: the conversation, who it is with, the last word."""

    conversation: Conversation
    customer_name: str | None
    last_message: Message | None
    unread: int


async def list_for(
    uow: UnitOfWork, principal: Principal, filt: ConversationFilter, *, limit: int, offset: int
) -> list[ConversationSummary]:
    if not principal.sees_everything:
        filt = ConversationFilter(
            state=filt.state,
            agent_id=filt.agent_id,
            queue=filt.queue,
            customer_id=filt.customer_id,
            visible_to_agent=principal.agent_id,
            visible_skills=principal.skills,
        )
    found = await uow.conversations.search(filt, limit=limit, offset=offset)
    names = await uow.customers.display_names({c.customer_id for c in found})
    last = await uow.messages.last_of({c.id: c.message_count for c in found})
    # Only where something can be unread: most rows are caught up, and this skips them.
    unread = await uow.messages.unread_counts(
        [c.id for c in found if c.message_count > c.agent_read_seq]
    )
    return [
        ConversationSummary(c, names.get(c.customer_id), last.get(c.id), unread.get(c.id, 0))
        for c in found
    ]


async def mark_read(
    uow: UnitOfWork, principal: Principal, conversation_id: uuid.UUID, up_to_seq: int, now: datetime
) -> None:
    """The agent has read the thread up to `up_to_seq` (their unread count, and the web
    chat visitor's read receipt). Reading someone else's conversation changes nothing."""
    conv = await visible(uow, principal, conversation_id, lock=True)
    if conv.mark_read(principal.agent_id, up_to_seq, now):
        await uow.conversations.save(conv)
        uow.collect(conv)


async def typing_in(
    uow: UnitOfWork, principal: Principal, conversation_id: uuid.UUID
) -> tuple[Conversation, str]:
    """Where the agent's typing notice goes, and the name it shows: only the agent
    who can write in the conversation is ever shown typing."""
    conv = await visible(uow, principal, conversation_id, lock=False)
    if conv.assigned_agent_id != principal.agent_id:
        raise Forbidden("only the assigned agent writes in this conversation")
    agent = await uow.agents.get(principal.agent_id)
    return conv, agent.display_name if agent else "Agent"


async def send_message(
    uow: UnitOfWork,
    principal: Principal,
    conversation_id: uuid.UUID,
    text: str,
    now: datetime,
    classifier: Classifier | None = None,
    extras: Extras | None = None,
) -> Message:
    """`classifier` reads what the message asks of the customer, which decides how
    their reply will be read (the shipped lexicons when None). The channel's rules are
    checked first (consent, its messaging window), and a message to a provider gets
    its outbox row in this same transaction."""
    conv = await visible(uow, principal, conversation_id, lock=True)
    prepared = await outbox.prepare(uow, conv, text, extras or Extras(), now)
    body = clean_body(prepared.body)
    message_id = uuid.uuid4()
    context = (classifier or shipped_classifier()).context_of(body)
    timing = (await uow.timings())(conv.channel)
    seq = conv.record_agent_message(
        agent_id=principal.agent_id, message_id=message_id, now=now, context=context, timing=timing
    )
    message = to_customer(
        conv,
        message_id,
        seq,
        body,
        now,
        sender_type=SenderType.AGENT,
        sender_agent_id=principal.agent_id,
    )
    await uow.messages.add(message)
    await outbox.queue(uow, prepared, message, now)
    await replies.agent_wrote(uow, conv, principal.agent_id, now)
    await uow.conversations.save(conv)
    uow.collect(conv)
    return message


async def close(
    uow: UnitOfWork, principal: Principal, conversation_id: uuid.UUID, now: datetime
) -> Conversation:
    conv = await visible(uow, principal, conversation_id, lock=True)
    require_manage(principal, conv)
    freed = conv.assigned_agent_id if conv.state is ConversationState.ASSIGNED else None
    own = conv.assigned_agent_id or (
        conv.owner_agent_id if conv.state is ConversationState.INACTIVE else None
    )
    reason = CloseReason.AGENT if principal.agent_id == own else CloseReason.SUPERVISOR
    conv.close(now, actor=actor_agent(principal.agent_id), reason=reason)
    await uow.conversations.close_session(conv.session_id, now, str(reason))
    await uow.conversations.save(conv)
    uow.collect(conv)
    if freed is not None:
        await release_and_route(uow, freed, now)
    return conv


async def mark_inactive(
    uow: UnitOfWork, principal: Principal, conversation_id: uuid.UUID, now: datetime
) -> Conversation:
    """The agent sets aside a conversation waiting on the customer before its timeout:
    the slot is free at once, and the customer's next message comes back to them."""
    conv = await visible(uow, principal, conversation_id, lock=True)
    require_manage(principal, conv)
    holder = conv.assigned_agent_id if conv.state is ConversationState.ASSIGNED else None
    timing = (await uow.timings())(conv.channel)
    conv.go_inactive(now, timing, actor=actor_agent(principal.agent_id), cause="agent")
    await uow.conversations.save(conv)
    uow.collect(conv)
    if holder is not None:
        await release_and_route(uow, holder, now)
    return conv


async def transfer(
    uow: UnitOfWork,
    principal: Principal,
    conversation_id: uuid.UUID,
    now: datetime,
    *,
    to_agent_id: uuid.UUID | None = None,
    to_queue: str | None = None,
) -> Conversation:
    if (to_agent_id is None) == (to_queue is None):
        raise InvalidInput("give exactly one of to_agent_id and to_queue")
    conv = await visible(uow, principal, conversation_id, lock=True)
    require_manage(principal, conv)
    previous = conv.assigned_agent_id
    actor = actor_agent(principal.agent_id)
    if to_agent_id is not None:
        target = await uow.agents.get(to_agent_id)
        if target is None:
            raise NotFound("no such agent", agent_id=str(to_agent_id))
        if to_agent_id == previous:
            raise InvalidInput("the conversation is already assigned to that agent")
        if target.status is not AgentStatus.ONLINE:
            raise Conflict(
                f"{target.username} is {target.status}, not online", code="agent_unavailable"
            )
        # A deliberate hand-over may go past the preferred load, never past the maximum.
        load = await uow.agents.claim_slot(target.id, now, limit="max")
        if load is None:
            raise Conflict(f"{target.username} is at their maximum load", code="agent_at_capacity")
        conv.transfer_to_agent(target.id, now, actor=actor, load=load)
        await uow.conversations.save(conv)
        uow.collect(conv)
        if previous is not None:
            await release_and_route(uow, previous, now)
        return conv
    assert to_queue is not None
    queue = validate_skill(to_queue)
    if conv.state is ConversationState.BOT:
        return await _take_from_bot(uow, principal, conv, queue, now)
    conv.transfer_to_skill(queue, now, actor=actor)  # refuses what cannot be transferred
    if not await uow.access.queue_exists(queue):
        # Nobody could ever be routed it: the conversation would be stranded. Raising
        # rolls the transfer back.
        raise NotFound(
            f"no queue {queue!r}: no inbox routes to it and no agent has the skill",
            code="unknown_queue",
            queue=queue,
        )
    await uow.conversations.save(conv)
    uow.collect(conv)
    if previous is not None:
        await uow.agents.release_slot(previous)
    await route_waiting(uow, now, skills=None)
    return conv


async def _take_from_bot(
    uow: UnitOfWork, principal: Principal, conv: Conversation, queue: str, now: datetime
) -> Conversation:
    """A supervisor moves a conversation from its bot to a queue, with what the bot knew
    so far: the same handoff as the bot's own."""
    if not await uow.access.queue_exists(queue):
        raise NotFound(f"no queue {queue!r}", code="unknown_queue", queue=queue)
    found = await uow.bots.session(conv.id)
    fields = dict(found.state.fields) if found else {}
    timing = (await uow.timings())(conv.channel)
    await bot_turns.take_from_bot(
        uow,
        conv,
        Handoff(fields=fields, summary="A supervisor took it from the bot."),
        now,
        actor=actor_agent(principal.agent_id),
        timing=timing,
        reason=HandoffReason.TAKEN_BY_STAFF,
        skill=queue,
        routine=False,
    )
    return conv
