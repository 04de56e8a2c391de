"""What a conversation's durable timer means when it comes due (DESIGN.md §4).

The service keeps one row per timer with its due time and fires due rows through
`fire`, in the same transaction as the effect, so a timer fires exactly once. A row
can outlive the reason it was set (the customer wrote, the conversation closed): the
conversation's own state decides, so a stale timer does nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from threadline.core import pacing
from threadline.core.conversations import Conversation
from threadline.core.events import ACTOR_SYSTEM
from threadline.core.lifecycle import CloseReason, ConversationState, TimerKind, WaitingOn
from threadline.core.pacing import ChannelTiming

_WAITING_FOR_AN_AGENT = (ConversationState.ASSIGNED, ConversationState.QUEUED)


def due_time(conv: Conversation, kind: TimerKind, timing: ChannelTiming) -> datetime | None:
    """When `kind` is due for the conversation as it is now, or None if it does not run."""
    if kind is TimerKind.RESPOND_BY:
        waiting = conv.state in _WAITING_FOR_AN_AGENT and conv.waiting_on is WaitingOn.AGENT
        return conv.respond_by if waiting else None
    if kind is TimerKind.INACTIVITY:
        if conv.state not in _WAITING_FOR_AN_AGENT or conv.waiting_on is not WaitingOn.CUSTOMER:
            return None
        since = conv.last_outbound_at or conv.updated_at
        return pacing.inactive_at(since, conv.pace, timing)
    if conv.state is ConversationState.INACTIVE and conv.inactive_since is not None:
        return pacing.close_at(conv.inactive_since, timing)
    if conv.state is ConversationState.BOT:
        # Nothing has happened since the bot's last turn (a customer who walked away, or
        # a bot with nothing to say): closed as an abandoned bot session.
        return pacing.close_at(conv.updated_at, timing)
    return None


def fire(
    conv: Conversation, kind: TimerKind, now: datetime, timing: ChannelTiming
) -> uuid.UUID | None:
    """Apply a due timer; returns the agent whose slot it freed, if any.

    A timer the conversation has moved past does nothing. One whose due time is now
    later (the customer's pace changed, or an admin lengthened a timeout) is set again
    for that time rather than fired early.
    """
    conv.schedule(kind, None)
    due = due_time(conv, kind, timing)
    if due is None:
        return None
    if due > now:
        conv.schedule(kind, due)
        return None
    if kind is TimerKind.RESPOND_BY:
        conv.record_breach(now)
        return None
    if kind is TimerKind.INACTIVITY:
        holder = conv.assigned_agent_id
        conv.go_inactive(now, timing, actor=ACTOR_SYSTEM, cause="customer_inactive")
        return holder
    conv.close(now, actor=ACTOR_SYSTEM, reason=CloseReason.INACTIVITY)
    return None
