"""A customer answers a notification. An expected reply does what its template says:
resolve the matter (nobody is woken), open the conversation to a queue with the
notification as context (a fraud alert's "NO" reaches the fraud team), or pass it to
the business's webhook. Any other reply is an ordinary message in the customer's
conversation, below the notification, so the agent sees what is being answered.

Inbound ingestion asks `before` how to read a message (it may be an answer), lets
`redirect` point the conversation at the answer's queue before the message is received,
and calls `after` once the message is in the thread.

Regulation F's seven quiet days after a conversation about a debt (12 CFR
1006.14(b)(2)(i)(B)) start from every message, the customer's or an agent's, in a
conversation a collections notice about that debt was sent into recently (`DebtTalk`),
not only from an expected answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from threadline.core.classify import MessageKind
from threadline.core.conversations import Conversation, ConversationState
from threadline.core.handoff import Handoff
from threadline.core.messages import SenderType, to_customer
from threadline.core.outbox import OutboxItem
from threadline.core.proactive.notification import Notification, ReplyOutcome
from threadline.core.proactive.purposes import Purpose
from threadline.core.proactive.templates import (
    ExpectedReply,
    NotificationTemplate,
    ReplyAction,
    match_reply,
)
from threadline.service.outbox import channel_of
from threadline.service.proactive.setup import template_by_id
from threadline.service.unit_of_work import UnitOfWork

# How long after a collections notice was sent into a conversation a message there
# counts as a conversation about its debt. Thirty days is the validation period a
# consumer has to answer a debt collector's notice (12 CFR 1006.34(b)(5)), so a message
# then most plausibly is about it; and reading more messages as conversations only adds
# quiet days, which is the direction Regulation F cannot fault.
DEBT_TALK_AFTER_NOTICE = timedelta(days=30)

_OUTCOMES = {
    ReplyAction.RESOLVE: ReplyOutcome.RESOLVED,
    ReplyAction.HANDOFF: ReplyOutcome.HANDED_OFF,
    ReplyAction.WEBHOOK: ReplyOutcome.WEBHOOK,
}


@dataclass(frozen=True)
class Answering:
    notification: Notification
    template: NotificationTemplate
    expected: ExpectedReply | None

    @property
    def kind(self) -> MessageKind | None:
        """How the message reads for the workflow, when the answer decides it: a reply
        the business's rules settle wakes nobody."""
        if self.expected is None:
            return None
        if self.expected.action is ReplyAction.HANDOFF:
            return MessageKind.SUBSTANTIVE
        return MessageKind.INEFFECTUAL

    @property
    def skill(self) -> str | None:
        if self.expected is not None and self.expected.action is ReplyAction.HANDOFF:
            return self.expected.queue
        return None


async def awaiting(
    uow: UnitOfWork, conversations: list[Conversation], now: datetime
) -> dict[uuid.UUID, Notification]:
    return await uow.notifications.awaiting_reply([c.id for c in conversations], now)


async def before(
    uow: UnitOfWork,
    notices: dict[uuid.UUID, Notification],
    conv: Conversation,
    text: str,
) -> Answering | None:
    """Whether this message answers the notification awaiting a reply here: it does
    while the notification is the last thing the customer was sent (a later agent
    message is what they answer then), and never while a bot has the conversation."""
    n = notices.pop(conv.id, None)
    if n is None or conv.state is ConversationState.BOT:
        return None
    if (
        conv.last_outbound_at is not None
        and n.sent_at is not None
        and conv.last_outbound_at > n.sent_at
    ):
        return None
    template = (await template_by_id(uow, n.template_id)).template
    return Answering(n, template, match_reply(template, text))


def redirect(answer: Answering, conv: Conversation, now: datetime) -> bool:
    """Before the answer is received: whether it goes to the humans of the queue its
    template names (not to the inbox's bot). A closed conversation reopens there. An
    inactive one in another queue gives up its owner's claim on it:
    the business declared who handles this answer, so the answer must not reactivate to
    the owner by stickiness; it reactivates ownerless and `after` moves it to the
    queue."""
    queue = answer.skill
    if queue is None:
        return False
    if conv.state is ConversationState.CLOSED:
        conv.reopen_in(queue)
    elif (
        conv.state is ConversationState.INACTIVE
        and conv.skill != queue
        and conv.owner_agent_id is not None
    ):
        conv.release_owner(now, actor=_actor(answer), cause="notification_reply")
    return True


async def after(
    uow: UnitOfWork, answer: Answering, conv: Conversation, now: datetime, talk: DebtTalk
) -> uuid.UUID | None:
    """Applies the answer; returns the agent whose slot a handoff freed, if one did (the
    caller gives slots back and routes in one pass)."""
    n, expected = answer.notification, answer.expected
    freed = None
    detail: dict[str, Any] = {"conversation_id": str(conv.id)}
    if expected is None:
        n.answered(ReplyOutcome.REPLIED, now, **detail)
    else:
        detail["reply"] = expected.words[0]
        n.answered(_OUTCOMES[expected.action], now, **detail)
        if expected.action is ReplyAction.HANDOFF:
            freed = _to_queue(answer, conv, now)
        if expected.action is ReplyAction.WEBHOOK:
            n.pass_to_webhook(_webhook_body(answer, conv, now), now)
        if expected.answer:
            await _answer(uow, conv, expected.answer, now)
    if n.purpose is Purpose.COLLECTIONS and n.debt_reference is not None:
        # Any reply about a debt is a conversation about it: Regulation F's seven quiet
        # days start now.
        talk.add(n.customer_id, n.debt_reference, now, "reply")
    await uow.notifications.save_all([n])
    await uow.notifications.record(n.records)
    n.records.clear()
    return freed


def _to_queue(answer: Answering, conv: Conversation, now: datetime) -> uuid.UUID | None:
    """The answer goes to the queue the template names, with the notification as
    context: a closed conversation reopened there already; an open one (the customer
    was talking to someone about something else) is transferred, since the business
    declared who handles this answer (an inactive one was released from its owner by
    `redirect`, and has reactivated into the queue by now)."""
    actor = _actor(answer)
    queue = answer.expected.queue if answer.expected else None
    freed = None
    if (
        queue
        and conv.skill != queue
        and conv.state
        in (
            ConversationState.QUEUED,
            ConversationState.ASSIGNED,
        )
    ):
        freed = conv.assigned_agent_id
        conv.transfer_to_skill(queue, now, actor=actor)
    if conv.state is ConversationState.QUEUED:
        conv.hand_off(_context(answer, conv), now, actor=actor)
    return freed


def _actor(answer: Answering) -> str:
    return f"notification:{answer.notification.id}"


def _context(answer: Answering, conv: Conversation) -> Handoff:
    n, t = answer.notification, answer.template
    word = answer.expected.words[0] if answer.expected else ""
    sent = n.sent_at.strftime("%Y-%m-%d %H:%M UTC") if n.sent_at else "earlier"
    return Handoff(
        intent=t.name,
        fields=dict(n.variables),
        summary=(
            f"The customer answered {word} to the {t.purpose.replace('_', ' ')} "
            f"notification '{t.name}' sent by {n.sent_channel} at {sent}. "
            "The notification is in the thread above their answer."
        ),
    )


def _webhook_body(answer: Answering, conv: Conversation, now: datetime) -> dict[str, Any]:
    n = answer.notification
    return {
        "event": "notification.reply",
        "notification_id": str(n.id),
        "reference": n.reference,
        "template": answer.template.name,
        "customer_id": str(n.customer_id),
        "conversation_id": str(conv.id),
        "reply": answer.expected.words[0] if answer.expected else None,
        "variables": dict(n.variables),
        "replied_at": now.isoformat(),
    }


async def _answer(uow: UnitOfWork, conv: Conversation, text: str, now: datetime) -> None:
    """The template's answer to an expected reply, sent in the thread."""
    message_id = uuid.uuid4()
    seq = conv.record_system_message(message_id, now)
    await uow.messages.add(
        to_customer(conv, message_id, seq, text, now, sender_type=SenderType.SYSTEM)
    )
    if await channel_of(uow, conv.inbox_id) is not None:
        await uow.outbox.add(OutboxItem.pending(uuid.uuid4(), message_id, conv.inbox_id, now))


# -- Regulation F: conversations about debts -------------------------------------------


@dataclass
class DebtTalk:
    """The conversations about debts that a transaction's messages make.

    `notices`: per conversation, the debts collections notices sent into it were about,
    (customer, debt) → when the latest was sent. A message in such a conversation within
    `DEBT_TALK_AFTER_NOTICE` of that notice is a conversation about each of those debts
    (which one a message is about cannot be told, and a wrong guess would cut quiet days
    short). Each (customer, debt, instant) is recorded once, by the first source noted:
    an answer to the notice is recorded as a `reply`."""

    notices: dict[uuid.UUID, dict[tuple[uuid.UUID, str], datetime]]
    talks: dict[tuple[uuid.UUID, str, datetime], str] = field(default_factory=dict)

    def add(self, customer_id: uuid.UUID, debt: str, at: datetime, source: str) -> None:
        self.talks.setdefault((customer_id, debt, at), source)

    def message(self, conversation_id: uuid.UUID, at: datetime, source: str) -> None:
        """A message was written in the conversation at `at`."""
        for (customer_id, debt), sent_at in self.notices.get(conversation_id, {}).items():
            if at - DEBT_TALK_AFTER_NOTICE < sent_at <= at:
                self.add(customer_id, debt, at, source)


async def debt_talk(
    uow: UnitOfWork, conversations: Iterable[Conversation], first: datetime
) -> DebtTalk:
    """What `DebtTalk` needs for messages at or after `first` in these conversations:
    one look-up, whatever their number."""
    return DebtTalk(
        await uow.notifications.debts_notified(
            {c.id: c.customer_id for c in conversations}, first - DEBT_TALK_AFTER_NOTICE
        )
    )


async def record_debt_talk(uow: UnitOfWork, talk: DebtTalk) -> None:
    for (customer_id, debt, at), source in sorted(talk.talks.items(), key=lambda i: i[0][2]):
        await uow.outreach.add_debt_conversation(customer_id, debt, at, source)
    talk.talks.clear()


async def agent_wrote(
    uow: UnitOfWork, conv: Conversation, agent_id: uuid.UUID, now: datetime
) -> None:
    """An agent's message about a debt is the collector's side of the conversation:
    it starts the quiet days again, as the customer's does (docs/decisions.md)."""
    talk = await debt_talk(uow, [conv], now)
    talk.message(conv.id, now, f"agent_message:{agent_id}")
    await record_debt_talk(uow, talk)
