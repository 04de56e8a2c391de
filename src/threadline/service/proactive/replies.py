"""A customer answers a notification. An expected reply does what its template says:
resolve the matter (nobody is woken), open the conversation to a queue with the
notification as context (a fraud alert's "NO" reaches the fraud team), or pass it to
the business's webhook. Any other reply is an ordinary message in the customer's
conversation, below the notification, so the agent sees what is being answered.

Inbound ingestion asks `before` how to read a message (it may be an answer) and calls
`after` once the message is in the thread.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from threadline.core.classify import MessageKind
from threadline.core.conversations import Conversation, ConversationState
from threadline.core.handoff import Handoff
from threadline.core.messages import SenderType, to_customer
from threadline.core.outbox import OutboxItem, OutboxState
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


async def after(
    uow: UnitOfWork, answer: Answering, conv: Conversation, now: datetime
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
            n.webhook = _webhook_body(answer, conv, now)
            n.webhook_due_at = now
        if expected.answer:
            await _answer(uow, conv, expected.answer, now)
    if n.purpose is Purpose.COLLECTIONS and n.debt_reference is not None:
        # Any reply about a debt is a conversation about it: Regulation F's seven quiet
        # days start now.
        await uow.outreach.add_debt_conversation(n.customer_id, n.debt_reference, now, "reply")
    await uow.notifications.save_all([n])
    await uow.notifications.record(n.records)
    n.records.clear()
    return freed


def _to_queue(answer: Answering, conv: Conversation, now: datetime) -> uuid.UUID | None:
    """The answer goes to the queue the template names, with the notification as
    context: a closed conversation reopened there already; an open one (the customer
    was talking to someone about something else) is transferred, since the business
    declared who handles this answer."""
    actor = f"notification:{answer.notification.id}"
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
        "attempts": 0,
    }


async def _answer(uow: UnitOfWork, conv: Conversation, text: str, now: datetime) -> None:
    """The template's answer to an expected reply, sent in the thread."""
    message_id = uuid.uuid4()
    seq = conv.record_system_message(message_id, now)
    await uow.messages.add(
        to_customer(conv, message_id, seq, text, now, sender_type=SenderType.SYSTEM)
    )
    if await channel_of(uow, conv.inbox_id) is not None:
        await uow.outbox.add(
            OutboxItem(
                id=uuid.uuid4(),
                message_id=message_id,
                inbox_id=conv.inbox_id,
                state=OutboxState.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                payload={},
            )
        )
