"""The live event log reduced to the records `figures` counts (issue 7, "Live figures").

The service hands over a period's events, and some hours before it, as `LogEvent`s timed
in seconds from the period's start; `reduce` replays them into `Wait`, `Session`,
`Holding` and `Presence` records, and `figures_of` makes the simulator's figures of them.

- A *wait* starts at a customer's substantive message when no answer is owed yet, or when
  a bot hands the conversation to the humans' queue; it ends at the next agent message or
  hand-over to a bot routine (answered: the bot speaks at once), or unanswered at the
  session's close. While a bot has the conversation, messages are the bot's.
- A *session* counts from when it reaches the humans (its first `conversation.queued`):
  one the bot contained never did, and a thread that only records a compliance keyword
  is no service. A reactivation is "to owner" when its next assignment is to its owner.
- *Holding*: assigned until unassigned (transfer, requeue, routine), inactive or closed.
- *Presence*: the spans an agent's status was `online`.

The replay starts in the middle of history, with each conversation's state unknown until
events tell it (an agent's message says who holds it and that nothing is owed; inactive,
reactivated, opened and closed say all). A conversation whose records in the period need
what nothing has told yet (a customer writes: was an answer already owed?) is listed in
`unresolved`, for the caller to replay with its earlier history; one with a wait open at
the end, in `open_at_end`, for the caller to add its later events, which only settle it.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from threadline.core.events import EventType
from threadline.core.lifecycle import CloseReason
from threadline.core.wfm.figures import Holding, Presence, Report, Session, Wait, summarise

_E = EventType
# What the figures read: a conversation's lifecycle and messages (transfers, hand-offs and
# deliveries say nothing the events around them do not), and agents' status.
_LIFECYCLE = (_E.CONVERSATION_OPENED, _E.SESSION_OPENED, _E.QUEUED, _E.ASSIGNED, _E.UNASSIGNED)
_LATER = (_E.INACTIVE, _E.REACTIVATED, _E.CLOSED, _E.RESPOND_BY_BREACHED, _E.BOT_ENGAGED)
CONVERSATION_TYPES = tuple(map(str, (*_LIFECYCLE, *_LATER, _E.MESSAGE_RECEIVED, _E.MESSAGE_SENT)))
TYPES = (*CONVERSATION_TYPES, str(_E.AGENT_STATUS))

_SUBSTANTIVE = "substantive"
_ONLINE = "online"
# The close timeout fires only for inactive conversations and bots' idle ones: unheld.
_TIMED_OUT = str(CloseReason.INACTIVITY)


class LogEvent(NamedTuple):
    seq: int
    type: str
    # Seconds from the start of the period (negative before it).
    at: float
    actor: str
    conversation: str | None
    agent: str | None
    queue: str | None
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Reduced:
    waits: list[Wait]
    sessions: list[Session]
    holdings: list[Holding]
    presence: list[Presence]
    # Conversations whose earlier history the period's records need.
    unresolved: frozenset[str] = frozenset()
    # Conversations with a wait still open at the end of the period.
    open_at_end: frozenset[str] = frozenset()


class _Unknown(enum.Enum):
    UNKNOWN = "unknown"


UNKNOWN = _Unknown.UNKNOWN


@dataclass(slots=True)
class _Wait:
    # None: owed since before the replay began (it starts no record).
    asked: float | None
    first: bool


@dataclass(slots=True)
class _Session:
    offered: float | None = None
    assigned: float | None = None
    inactive: int = 0
    reactivations: int = 0
    to_owner: int = 0


@dataclass(slots=True)
class _Conversation:
    first_at: float
    wait: _Wait | _Unknown | None = UNKNOWN
    first_done: bool | _Unknown = UNKNOWN
    holder: str | _Unknown | None = UNKNOWN
    queue: str | None = None
    # None: its session began before the replay (not this period's to count).
    session: _Session | None = None
    # A reactivation waiting for its assignment, and the owner it names.
    returning: bool = False
    owner: str | None = None


@dataclass
class _Replay:
    end: float
    queue: str | None
    waits: list[Wait] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    holds: list[tuple[str, float, int]] = field(default_factory=list)
    unresolved: set[str] = field(default_factory=set)

    def need_history(self, key: str, at: float) -> None:
        if 0 <= at < self.end:
            self.unresolved.add(key)

    def ours(self, key: str, c: _Conversation, at: float) -> bool:
        """Whether a record of the conversation belongs to the queue asked about."""
        if self.queue is None:
            return True
        if c.queue is None:
            self.need_history(key, at)
        return c.queue == self.queue

    def start_wait(self, key: str, c: _Conversation, at: float) -> None:
        if c.first_done is UNKNOWN:
            self.need_history(key, at)
        c.wait = _Wait(at, c.first_done is False)

    def end_wait(self, key: str, c: _Conversation, answered: float | None) -> None:
        w = c.wait
        if isinstance(w, _Wait) and w.asked is not None and self.ours(key, c, w.asked):
            settled = None if answered is None else max(answered, w.asked)
            self.waits.append(Wait(w.asked, settled, w.first))
        c.wait = None

    def end_session(self, key: str, c: _Conversation, closed: float | None) -> None:
        s = c.session
        if s is not None and s.offered is not None and self.ours(key, c, s.offered):
            record = Session(s.offered, s.assigned, closed, s.inactive, s.reactivations, s.to_owner)
            self.sessions.append(record)
        c.session = None

    def hold(self, c: _Conversation, agent: str | None, at: float) -> None:
        """From `at` the conversation is held by `agent` (None: by nobody)."""
        before = None if c.holder is UNKNOWN else c.holder
        if before != agent:
            if before is not None:
                self.holds.append((before, at, -1))
            if agent is not None:
                self.holds.append((agent, at, +1))
        c.holder = agent

    def was_held_by(self, c: _Conversation, agent: str | None) -> None:
        """An event proves who held it since before the replay (holders change by events)."""
        if c.holder is UNKNOWN:
            if agent is not None:
                self.holds.append((agent, -math.inf, +1))
            c.holder = agent

    def apply(self, key: str, c: _Conversation, e: LogEvent) -> None:
        if e.queue is not None:
            c.queue = e.queue
        if e.at >= self.end:
            self.settle(key, c, e)
            return
        kind = e.type
        if kind in (_E.CONVERSATION_OPENED, _E.SESSION_OPENED):
            self.was_held_by(c, None)
            self.end_wait(key, c, None)
            self.end_session(key, c, None)
            c.session = _Session()
            c.wait, c.first_done, c.returning = None, False, False
        elif kind == _E.QUEUED:
            self.was_held_by(c, None)
            self.hold(c, None, e.at)
            if c.session is not None and c.session.offered is None:
                c.session.offered = e.at
            tracked = isinstance(c.wait, _Wait) and c.wait.asked is not None
            if e.payload.get("cause") == "handoff" and not tracked:
                # From the bot to the humans, the customer waiting (core: hand_off).
                self.start_wait(key, c, e.at)
        elif kind == _E.ASSIGNED:
            self.was_held_by(c, None)
            self.hold(c, e.agent, e.at)
            if c.session is not None and c.session.assigned is None:
                c.session.assigned = e.at
            if c.returning:
                if c.session is not None and c.owner is not None and c.owner == e.agent:
                    c.session.to_owner += 1
                c.returning = False
        elif kind == _E.UNASSIGNED:
            if e.payload.get("cause") == "owner_offline":
                self.was_held_by(c, None)  # an inactive conversation's owner let go
            else:
                self.was_held_by(c, e.agent)
                if c.holder == e.agent:
                    self.hold(c, None, e.at)
        elif kind == _E.INACTIVE:
            self.was_held_by(c, e.agent)
            self.hold(c, None, e.at)
            # Only a conversation waiting on the customer goes inactive: answered before.
            c.wait, c.first_done, c.returning = None, True, False
            if c.session is not None:
                c.session.inactive += 1
        elif kind == _E.REACTIVATED:
            self.was_held_by(c, None)
            c.wait, c.first_done = None, True
            if c.session is not None:
                c.session.reactivations += 1
            c.returning = True
            owner = e.payload.get("owner_agent_id")
            c.owner = str(owner) if owner else None
        elif kind == _E.CLOSED:
            self.closed(key, c, e)
        elif kind == _E.BOT_ENGAGED:
            self.was_held_by(c, None)
            self.hold(c, None, e.at)
            if isinstance(c.wait, _Wait):
                c.first_done = True
            self.end_wait(key, c, e.at)
        elif kind == _E.RESPOND_BY_BREACHED:
            # Only a customer waiting on the humans breaches: never inactive, never a bot's.
            self.was_held_by(c, e.agent)
            if not isinstance(c.wait, _Wait):
                c.wait = _Wait(None, False)
        elif kind == _E.MESSAGE_RECEIVED:
            self.received(key, c, e)
        elif kind == _E.MESSAGE_SENT:
            self.sent(key, c, e)

    def closed(self, key: str, c: _Conversation, e: LogEvent) -> None:
        reason = e.payload.get("reason")
        if e.agent is None or reason == _TIMED_OUT:
            self.was_held_by(c, None)
        elif c.holder is UNKNOWN:
            # Its agent held it, or owned it inactive: only its history tells.
            self.need_history(key, e.at)
            c.holder = None
        self.hold(c, None, e.at)
        self.end_wait(key, c, None)
        if reason == CloseReason.COMPLIANCE_KEYWORD:  # a thread to record a keyword
            c.session = None
        self.end_session(key, c, e.at)
        c.wait, c.first_done, c.returning = None, False, False

    def received(self, key: str, c: _Conversation, e: LogEvent) -> None:
        # A message's audience is nobody only while a bot has the conversation.
        if e.agent is None and e.queue is None:
            self.was_held_by(c, None)
            if not isinstance(c.wait, _Wait):
                c.wait = None
            return
        if e.agent is None:
            self.was_held_by(c, None)  # the audience is its holder, else its queue
        if e.payload.get("kind") != _SUBSTANTIVE:
            return  # thanks and keywords ask nothing of anyone (nor reactivate)
        # Its audience is the agent it is assigned to (an inactive one reactivated first).
        self.was_held_by(c, e.agent)
        if c.wait is None:
            self.start_wait(key, c, e.at)
        elif c.wait is UNKNOWN:
            self.need_history(key, e.at)
            c.wait = _Wait(None, False)

    def sent(self, key: str, c: _Conversation, e: LogEvent) -> None:
        if e.actor.startswith("agent:"):
            agent = e.agent or e.actor.removeprefix("agent:")
            self.was_held_by(c, agent)  # only the assigned agent writes
            self.end_wait(key, c, e.at)
            c.first_done = True
        elif e.actor.startswith("bot:"):
            self.was_held_by(c, None)
            if not isinstance(c.wait, _Wait):
                c.wait = None
        elif e.agent is None:
            self.was_held_by(c, None)  # Threadline's own message, to its queue's audience

    def settle(self, key: str, c: _Conversation, e: LogEvent) -> None:
        """After the period: only the end of a wait left open at its end."""
        if not isinstance(c.wait, _Wait):
            return
        if (e.type == _E.MESSAGE_SENT and e.actor.startswith("agent:")) or e.type == _E.BOT_ENGAGED:
            self.end_wait(key, c, e.at)
        elif e.type == _E.CLOSED:
            self.end_wait(key, c, None)

    def finish(self, conversations: Mapping[str, _Conversation]) -> set[str]:
        open_at_end: set[str] = set()
        for key, c in conversations.items():
            if isinstance(c.wait, _Wait) and c.wait.asked is not None:
                if c.wait.asked >= 0:
                    open_at_end.add(key)
                self.end_wait(key, c, None)
            self.end_session(key, c, None)
            if c.holder is UNKNOWN and c.first_at < self.end:
                # Seen, but nothing told whether an agent holds it through the period.
                self.unresolved.add(key)
        return open_at_end


def reduce(
    events: Iterable[LogEvent],
    *,
    end: float,
    now: float,
    online_at_start: Collection[str] = (),
    agents: Collection[str] | None = None,
    queue: str | None = None,
) -> Reduced:
    """Replay `events` (in `seq` order) of the period from 0 to `end`, read at `now`.

    `online_at_start`: the agents online at 0. `agents`: whose time counts (None: all);
    `queue`: whose waits and sessions count (a conversation's queue when its wait or
    session ended). Events from `end` on only settle the waits open at `end`."""
    replay = _Replay(end=end, queue=queue)
    conversations: dict[str, _Conversation] = {}
    statuses: list[LogEvent] = []
    for e in events:
        if e.type == _E.AGENT_STATUS:
            statuses.append(e)
            continue
        if e.conversation is None:
            continue
        c = conversations.get(e.conversation)
        if c is None:
            c = conversations[e.conversation] = _Conversation(first_at=e.at)
        replay.apply(e.conversation, c, e)
    open_at_end = replay.finish(conversations)
    team = None if agents is None else set(agents)
    stop = min(end, now)
    return Reduced(
        waits=replay.waits,
        sessions=replay.sessions,
        holdings=_holdings(replay.holds, team),
        presence=_presence(statuses, online_at_start, team, stop),
        unresolved=frozenset(replay.unresolved),
        open_at_end=frozenset(open_at_end),
    )


def _holdings(holds: list[tuple[str, float, int]], team: set[str] | None) -> list[Holding]:
    """Each agent's count of held conversations after each change (changes at one
    instant merged: a transfer between two of them is no blip)."""
    out: list[Holding] = []
    count: dict[str, int] = {}
    holds.sort(key=lambda h: (h[0], h[1]))
    for i, (agent, at, delta) in enumerate(holds):
        if team is not None and agent not in team:
            continue
        count[agent] = max(0, count.get(agent, 0) + delta)
        following = holds[i + 1] if i + 1 < len(holds) else None
        if following is None or following[:2] != (agent, at):
            out.append(Holding(agent, at, count[agent]))
    return out


def _presence(
    statuses: list[LogEvent], online: Collection[str], team: set[str] | None, stop: float
) -> list[Presence]:
    since: dict[str, float] = {a: 0.0 for a in online if team is None or a in team}
    spans: list[Presence] = []
    for e in statuses:
        agent = e.agent
        if agent is None or not 0 <= e.at < stop or (team is not None and agent not in team):
            continue
        now_online = e.payload.get("to") == _ONLINE
        if now_online and agent not in since:
            since[agent] = e.at
        elif not now_online and agent in since:
            spans.append(Presence(agent, since.pop(agent), e.at))
    spans.extend(Presence(agent, start, stop) for agent, start in since.items() if stop > start)
    return spans


def figures_of(
    reduced: Reduced, *, end: float, now: float, interval: float, window: float
) -> Report:
    """The period's figures; unanswered waits still inside their window `now` are not
    judged yet."""
    return summarise(
        start=0.0,
        end=end,
        interval=interval,
        window=window,
        waits=reduced.waits,
        sessions=reduced.sessions,
        holdings=reduced.holdings,
        presence=reduced.presence,
        as_of=now,
    )
