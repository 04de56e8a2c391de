"""A bot's turn in a conversation, in two transactions around the bot's thinking.

`load` reads what the bot needs (its session, the customer messages it has not read,
the context); the worker then runs the bot outside any transaction (lookups and an
external bot take network time); `apply` writes the outcome: the bot's replies, the
fields it learned, and a handoff or a close. A turn computed from a session that has
moved on (an agent took the conversation, another worker applied first) is dropped.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from threadline.adapters.repositories.bots import BotSession
from threadline.core.bots.config import InboxBot
from threadline.core.bots.flow import Messages
from threadline.core.bots.hours import BusinessHours, describe_reopening, is_open, next_open
from threadline.core.bots.outcome import BotAnswer, Finish, HandoffReason, HandTo, Reply
from threadline.core.bots.state import Awaiting, BotState
from threadline.core.bots.summary import summarize
from threadline.core.classify import Classifier
from threadline.core.conversations import CloseReason, Conversation, ConversationState
from threadline.core.errors import DomainError
from threadline.core.events import actor_bot
from threadline.core.handoff import MAX_FIELDS, MAX_VALUE, Handoff
from threadline.core.messages import Direction, SenderType, clean_body, to_customer
from threadline.core.pacing import ChannelTiming
from threadline.core.verification import Verification
from threadline.service import outbox
from threadline.service.outbox import Extras
from threadline.service.routing import OwnerOffer, release_slots, route_waiting
from threadline.service.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# The thread the external bot is shown, and the first words a summary quotes: enough
# for context, bounded so a months-long thread does not travel with every message.
TRANSCRIPT_MESSAGES = 20
# Customer messages one turn reads: a burst is read whole; a customer pasting hundreds
# of lines is read in rounds rather than in one long transaction.
UNREAD_LIMIT = 50


@dataclass(frozen=True)
class Job:
    """What one turn of the bot works from."""

    conversation: Conversation
    session: BotSession
    bot: InboxBot
    # The customer messages the bot has not read: (number, text, received), the clear
    # text of a secure answer.
    unread: tuple[tuple[int, str, datetime], ...]
    transcript: tuple[tuple[str, str, datetime], ...]
    hours: dict[str, BusinessHours]
    customer_name: str | None


@dataclass(frozen=True)
class Outcome:
    state: BotState
    answer: BotAnswer
    # The last customer message this turn read.
    through_seq: int
    # The kind of the secure question the bot now waits on, if it does.
    secure_kind: str | None = None


async def load(uow: UnitOfWork, conversation_id: uuid.UUID) -> Job | None:
    conv = await uow.conversations.get(conversation_id)
    session = await uow.bots.session(conversation_id)
    if conv is None or session is None or conv.state is not ConversationState.BOT:
        return None
    bot = await uow.bots.for_inbox(conv.inbox_id)
    if bot is None:
        return None
    recent = await uow.messages.for_conversation(conv.id, limit=TRANSCRIPT_MESSAGES)
    unread = tuple(
        (m.seq, session.secure_input.get(str(m.seq), m.body), m.created_at)
        for m in await uow.messages.after(conv.id, after_seq=session.read_seq, limit=UNREAD_LIMIT)
        if m.direction is Direction.INBOUND
    )
    customer = await uow.customers.get(conv.customer_id)
    return Job(
        conversation=conv,
        session=session,
        bot=bot,
        unread=unread,
        transcript=tuple(
            (str(m.sender_type), m.body, m.created_at) for m in sorted(recent, key=lambda m: m.seq)
        ),
        hours=await uow.bots.hours(),
        customer_name=customer.display_name if customer else None,
    )


async def apply(
    uow: UnitOfWork, job: Job, outcome: Outcome, now: datetime, classifier: Classifier
) -> bool:
    """Writes the turn; returns False when it was dropped (the session moved on)."""
    conv = await uow.conversations.get(job.conversation.id, for_update=True)
    session = await uow.bots.session(job.conversation.id, for_update=True)
    if session is None or conv is None:
        return False
    if conv.state is not ConversationState.BOT:
        # Someone else has the conversation now: nothing is left for the bot.
        await uow.bots.end(conv.id)
        return False
    if (session.token, session.version) != (job.session.token, job.session.version):
        return False  # another worker applied it, or this is another time with the bot
    name = job.bot.name
    timing = (await uow.timings())(conv.channel)
    replies = list(outcome.answer.replies)
    end = outcome.answer.end
    if isinstance(end, HandTo) and not replies and job.session.routine is None:
        # A bot that failed, or handed over in silence: the customer is told all the
        # same that a person is coming, or when the team is back.
        replies.append(Reply(_silent_handoff(job, end, conv, now)))
    await _send(uow, conv, replies, name, now, classifier)
    state = outcome.state
    if outcome.answer.fields:
        state = state.with_fields(**outcome.answer.fields)
    if outcome.answer.verified:
        conv.step_up(now, actor=actor_bot(name))
    newer = await _unread_after(uow, conv, outcome)
    if isinstance(end, Finish) and newer:
        # The customer wrote again while the bot was saying goodbye ("no thanks… oh
        # wait"): not the end after all. What they wrote next is the next request.
        end = None
        state = replace(state, awaiting=Awaiting.REQUEST, step=0)
    if isinstance(end, Finish):
        conv.close(now, actor=actor_bot(name), reason=CloseReason.BOT)
        await uow.conversations.close_session(conv.session_id, now, str(CloseReason.BOT))
        await uow.bots.end(conv.id)
        await uow.conversations.save(conv)
        uow.collect(conv)
    elif isinstance(end, HandTo):
        handoff = handoff_context(job, end, state, conv.verification)
        await take_from_bot(
            uow,
            conv,
            handoff,
            now,
            actor=actor_bot(name),
            timing=timing,
            reason=end.reason,
            detail=end.detail,
            skill=end.skill,
            hours=job.hours,
            routine=job.session.routine is not None,
        )
    else:
        conv.bot_waits(now, timing)
        await uow.bots.save(
            replace(
                session,
                state=state,
                read_seq=outcome.through_seq,
                pending=newer,
                lease_until=None,
                attempts=0,
                secure_kind=outcome.secure_kind,
                secure_input={
                    k: v for k, v in session.secure_input.items() if int(k) > outcome.through_seq
                },
            ),
            now,
        )
        await uow.conversations.save(conv)
        uow.collect(conv)
    return True


def _silent_handoff(job: Job, end: HandTo, conv: Conversation, now: datetime) -> str:
    said = Messages(greeting="")
    hours = job.hours.get(end.skill or conv.skill)
    if hours is not None and not is_open(hours, now):
        return said.out_of_hours.replace("{reopens}", describe_reopening(hours, now))
    return said.handoff


async def _send(
    uow: UnitOfWork,
    conv: Conversation,
    replies: list[Reply],
    name: str,
    now: datetime,
    classifier: Classifier,
) -> None:
    for reply in replies:
        try:
            prepared = await outbox.prepare(
                uow, conv, reply.text, Extras(suggestions=reply.suggestions), now
            )
            body = clean_body(prepared.body)
        except DomainError as refused:
            # The channel will not take it (the customer opted out meanwhile). The turn
            # still applies, and the close timer runs whatever the bot could say.
            log.info("bot reply in %s not sent: %s", conv.id, refused)
            continue
        message_id = uuid.uuid4()
        seq = conv.record_bot_message(
            message_id, now, bot=name, context=classifier.context_of(body)
        )
        message = to_customer(conv, message_id, seq, body, now, sender_type=SenderType.BOT)
        await uow.messages.add(message)
        await outbox.queue(uow, prepared, message, now)


async def take_from_bot(
    uow: UnitOfWork,
    conv: Conversation,
    handoff: Handoff,
    now: datetime,
    *,
    actor: str,
    timing: ChannelTiming,
    reason: HandoffReason = HandoffReason.BOT_UNAVAILABLE,
    detail: str | None = None,
    skill: str | None = None,
    hours: dict[str, BusinessHours] | None = None,
    routine: bool | None = None,
) -> None:
    """The bot's part ends with a human taking over: the agent who lent it for a
    routine gets it back (up to their maximum load, else first in line), anyone else's
    goes to its queue, its respond-by counted from when the queue's humans are back.
    The bot's row goes, with anything secure it held."""
    if routine is None:
        session = await uow.bots.session(conv.id)
        routine = session is not None and session.routine is not None
    if routine and conv.owner_agent_id is not None:
        conv.return_from_bot(
            handoff, now, actor=actor, timing=timing, reason=str(reason), detail=detail
        )
        await release_slots(uow, [], [OwnerOffer(conv, now, "max", "returned_from_bot")])
    else:
        queue = skill if skill and await uow.access.queue_exists(skill) else None
        if hours is None:
            hours = await uow.bots.hours()
        open_hours = hours.get(queue or conv.skill)
        reopens = None
        if open_hours is not None and not is_open(open_hours, now):
            reopens = next_open(open_hours, now)
        conv.hand_off(
            handoff,
            now,
            actor=actor,
            timing=timing,
            skill=queue,
            reason=str(reason),
            detail=detail,
            not_before=reopens,
        )
    await uow.bots.end(conv.id)
    await uow.conversations.save(conv)
    uow.collect(conv)
    if conv.assigned_agent_id is None:
        await route_waiting(uow, now, skills={conv.skill})


async def orphaned(uow: UnitOfWork, conversation_id: uuid.UUID, now: datetime) -> None:
    """Work for a bot that is not there any more (its inbox's bot was removed as the
    message arrived): the conversation goes to a human rather than wait for nobody."""
    conv = await uow.conversations.get(conversation_id, for_update=True)
    if conv is None or conv.state is not ConversationState.BOT:
        await uow.bots.end(conversation_id)
        return
    timing = (await uow.timings())(conv.channel)
    await take_from_bot(
        uow,
        conv,
        Handoff(summary="The inbox's bot was removed before it could answer."),
        now,
        actor="system",
        timing=timing,
        detail="the inbox has no bot any more",
    )


async def _unread_after(uow: UnitOfWork, conv: Conversation, outcome: Outcome) -> bool:
    """Whether the customer wrote more while the bot was thinking."""
    if conv.message_count <= outcome.through_seq:
        return False
    found = await uow.messages.after(conv.id, after_seq=outcome.through_seq, limit=UNREAD_LIMIT)
    return any(m.direction is Direction.INBOUND for m in found)


def handoff_context(job: Job, end: HandTo, state: BotState, verification: Verification) -> Handoff:
    """What the agent gets: intent, confidence, the fields, and a summary of them."""
    fields = dict(list(state.fields.items())[:MAX_FIELDS])
    fields = {k: v[:MAX_VALUE] for k, v in fields.items()}
    first = next((text for sender, text, _ in job.transcript if sender == "customer"), None)
    summary = end.summary or summarize(
        end, fields=fields, verification=verification, first_words=first
    )
    return Handoff(
        bot=job.bot.name,
        intent=end.intent,
        confidence=end.confidence,
        fields=fields,
        summary=summary[:2000],
    )


def failed_answer(detail: str) -> BotAnswer:
    """A turn that could not run (the bot kept failing): a human takes over."""
    return BotAnswer(end=HandTo(HandoffReason.BOT_UNAVAILABLE, detail=detail))
