"""The simulator's agents and conversations: the core's objects plus what only a
simulation knows (what the agent is typing, what the customer will do next)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from threadline.core.conversations import Conversation
from threadline.core.lifecycle import TimerKind
from threadline.core.pacing import ChannelTiming
from threadline.core.routing import AgentSlot

REPLY, CLOSE = 0, 1
# What can happen on the calendar (engine.Day.run dispatches on it).
ARRIVE, WRITE, AGENT_DONE, TIMER, PATIENCE, SHIFT_START, SHIFT_END, OFFLINE, SILENT = range(9)


@dataclass(eq=False, slots=True)
class SimConversation:
    conv: Conversation
    customer: int
    timing: ChannelTiming
    # The customer's behaviour model (an index into the scenario's `customers`).
    kind: int
    # The customer's next turn (an index into Traffic's turn arrays), the end of their
    # ordinary turns, and their return turn (-1 if they never come back).
    next_turn: int
    last_turn: int
    return_turn: int
    # Reactivated in the day and not yet assigned: the owner it should go back to.
    returning_to: uuid.UUID | None = None
    # The last turn whose answer has decided what the customer does next.
    answered_turn: int = -1
    agent: SimAgent | None = None
    # What the agent owes: REPLY (an answer) or CLOSE (closing after a "thanks").
    owed: int = -1
    # Due time of each running timer (seconds): a heap entry for another time is stale.
    timers: dict[TimerKind, float] = field(default_factory=dict)
    # Bumped whenever the conversation enters a queue: older queue entries are stale.
    queue_token: int = 0
    # The customer's open wait for an agent: since when, and whether it is the session's
    # first.
    asked: float | None = None
    first: bool = True
    # They stopped reading (patience ran out, or walked away): they never write again.
    gone: bool = False
    gave_up: bool = False
    # The open session's record, turned into figures.Session when it closes.
    opened: float = 0.0
    assigned: float | None = None
    inactive_episodes: int = 0
    reactivations: int = 0
    to_owner: int = 0


@dataclass(eq=False, slots=True)
class SimAgent:
    id: uuid.UUID
    key: str
    skills: frozenset[str]
    preferred: int
    max_load: int
    online: bool = False
    leaving: bool = False
    present_since: float | None = None
    held: set[SimConversation] = field(default_factory=set)
    owned_inactive: set[SimConversation] = field(default_factory=set)
    task: SimConversation | None = None
    task_token: int = 0
    # Bumped at each shift's end: a wrap-up deadline of an earlier shift is stale.
    leave_token: int = 0
    task_started: float = 0.0
    typing: float = 0.0

    def slot(self, idle_since: datetime) -> AgentSlot:
        return AgentSlot(
            agent_id=self.id,
            skills=self.skills,
            preferred=self.preferred,
            max_load=self.max_load,
            active=len(self.held),
            idle_since=idle_since,
        )

    def owed(self) -> list[SimConversation]:
        return [c for c in self.held if c.owed >= 0]
