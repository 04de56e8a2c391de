"""Bot figures from the event log: containment, escalation and its reasons, and how
long customers wait for a human after a handoff (issue 6).

An *episode* is a bot's time with a conversation, from `conversation.bot_engaged` to
the handoff or close that ends it. Contained: the bot closed it (or the customer said
they needed nothing more) with no human. Abandoned: the customer walked away from the
bot (closed by the close timeout). Escalated: handed to a human, by reason. Episodes an
agent started for a routine are counted apart: they are meant to come back.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from threadline.core.events import EventType
from threadline.core.lifecycle import CloseReason

BOT_ENGAGED = str(EventType.BOT_ENGAGED)
HANDED_OFF = str(EventType.HANDED_OFF)
CLOSED = str(EventType.CLOSED)
MESSAGE_SENT = str(EventType.MESSAGE_SENT)
TYPES = (BOT_ENGAGED, HANDED_OFF, CLOSED, MESSAGE_SENT)

_CONTAINED = frozenset({CloseReason.BOT, CloseReason.CUSTOMER_DECLINED_MORE_HELP})
# The customer left: walked away (the close timeout) or opted out of the channel.
_ABANDONED = frozenset(
    {CloseReason.INACTIVITY, CloseReason.CUSTOMER_OPTED_OUT, CloseReason.COMPLIANCE_KEYWORD}
)


@dataclass(frozen=True)
class LoggedEvent:
    type: str
    occurred_at: datetime
    actor: str
    conversation_id: uuid.UUID
    payload: dict[str, Any]


@dataclass(frozen=True)
class Waits:
    """Seconds from a handoff to the first human reply."""

    count: int = 0
    mean: float | None = None
    p50: float | None = None
    p90: float | None = None
    # Handoffs no human has answered yet.
    unanswered: int = 0


@dataclass(frozen=True)
class BotReport:
    since: datetime
    until: datetime
    episodes: int
    ended: int
    contained: int
    escalated: int
    abandoned: int
    closed_by_staff: int
    reasons: dict[str, int] = field(default_factory=dict)
    routines: int = 0
    routines_returned: int = 0
    first_human_response: Waits = Waits()

    @property
    def containment_rate(self) -> float | None:
        return self.contained / self.ended if self.ended else None

    @property
    def escalation_rate(self) -> float | None:
        return self.escalated / self.ended if self.ended else None


def bot_report(events: Iterable[LoggedEvent], since: datetime, until: datetime) -> BotReport:
    """`events`: the TYPES events of conversations a bot engaged in [since, until), from
    `since` on, any order. Episodes are those that began in the window; the waits
    after their handoffs are counted whenever the human answered."""
    by_conv: dict[uuid.UUID, list[LoggedEvent]] = {}
    for e in events:
        by_conv.setdefault(e.conversation_id, []).append(e)
    tally = _Tally()
    for conv_events in by_conv.values():
        conv_events.sort(key=lambda e: e.occurred_at)
        _episodes(conv_events, since, until, tally)
    return tally.report(since, until)


class _Tally:
    def __init__(self) -> None:
        self.episodes = self.ended = self.contained = self.escalated = 0
        self.abandoned = self.by_staff = self.routines = self.returned = 0
        self.reasons: dict[str, int] = {}
        self.waits: list[float] = []
        self.unanswered = 0

    def report(self, since: datetime, until: datetime) -> BotReport:
        waits = sorted(self.waits)
        return BotReport(
            since=since,
            until=until,
            episodes=self.episodes,
            ended=self.ended,
            contained=self.contained,
            escalated=self.escalated,
            abandoned=self.abandoned,
            closed_by_staff=self.by_staff,
            reasons=dict(sorted(self.reasons.items())),
            routines=self.routines,
            routines_returned=self.returned,
            first_human_response=Waits(
                count=len(waits),
                mean=round(statistics.fmean(waits), 3) if waits else None,
                p50=round(_quantile(waits, 0.5), 3) if waits else None,
                p90=round(_quantile(waits, 0.9), 3) if waits else None,
                unanswered=self.unanswered,
            ),
        )


def _episodes(events: list[LoggedEvent], since: datetime, until: datetime, t: _Tally) -> None:
    i = 0
    while i < len(events):
        start = events[i]
        i += 1
        if start.type != BOT_ENGAGED or not since <= start.occurred_at < until:
            continue
        routine = start.payload.get("cause") == "agent"
        if routine:
            t.routines += 1
        else:
            t.episodes += 1
        while i < len(events) and events[i].type not in (HANDED_OFF, CLOSED, BOT_ENGAGED):
            i += 1
        if i == len(events) or events[i].type == BOT_ENGAGED:
            continue  # still with the bot
        end = events[i]
        if routine:
            t.returned += end.type == HANDED_OFF
            continue
        t.ended += 1
        if end.type == CLOSED:
            reason = end.payload.get("reason")
            if reason in _CONTAINED:
                t.contained += 1
            elif reason in _ABANDONED:
                t.abandoned += 1
            else:
                t.by_staff += 1
            continue
        t.escalated += 1
        why = str(end.payload.get("reason") or "unknown")
        t.reasons[why] = t.reasons.get(why, 0) + 1
        reply = None
        for e in events[i + 1 :]:
            if e.type in (CLOSED, BOT_ENGAGED):
                break  # the session ended (or went back to a bot) with no human reply
            if e.type == MESSAGE_SENT and e.actor.startswith("agent:"):
                reply = e
                break
        if reply is None:
            t.unanswered += 1  # not answered yet, or the session ended unanswered
        else:
            t.waits.append((reply.occurred_at - end.occurred_at).total_seconds())


def _quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
