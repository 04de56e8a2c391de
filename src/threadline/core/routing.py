"""The routing policy (DESIGN.md §3): pure data in, assignments out.

The same function runs in the live service, the tests and the workforce simulator.

Order: reactivated conversations returning to the queue go first (they were already
being served, DESIGN.md §2); then conversations waiting on an agent, earliest
respond-by first; those waiting on the customer follow, longest-queued first.
Spread: among eligible agents (online, with the skill, below their preferred
concurrency P) the lowest active/P ratio wins, then the agent idle longest. One pass
routes as much as the workforce has room for.

Cost: one heap per skill holding the eligible agents, with lazy invalidation, so a
pass is O((W + A·S) log A) for W waiting conversations and A agents of S skills each,
instead of the O(W·A) of scanning every agent for every conversation.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction


@dataclass(frozen=True)
class AgentSlot:
    agent_id: uuid.UUID
    skills: frozenset[str]
    preferred: int
    max_load: int
    active: int
    idle_since: datetime


@dataclass(frozen=True)
class WaitingConversation:
    conversation_id: uuid.UUID
    skill: str
    respond_by: datetime | None
    enqueued_at: datetime
    reactivated: bool = False


@dataclass(frozen=True)
class Assignment:
    conversation_id: uuid.UUID
    agent_id: uuid.UUID


def priority_key(
    respond_by: datetime | None, enqueued_at: datetime, reactivated: bool = False
) -> tuple[int, datetime, datetime]:
    """Sort key: returning (reactivated) work first, then waiting on the agent (has a
    respond-by) by respond-by, then waiting on the customer by time in the queue."""
    if reactivated:
        return (0, respond_by or enqueued_at, enqueued_at)
    if respond_by is None:
        return (2, enqueued_at, enqueued_at)
    return (1, respond_by, enqueued_at)


def waiting_key(w: WaitingConversation) -> tuple[int, datetime, datetime, str]:
    return (*priority_key(w.respond_by, w.enqueued_at, w.reactivated), str(w.conversation_id))


def order_waiting(waiting: Iterable[WaitingConversation]) -> list[WaitingConversation]:
    return sorted(waiting, key=waiting_key)


_HeapEntry = tuple[Fraction, datetime, str, int]


class RoutingIndex:
    """The eligible agents of each skill, best first, kept from one decision to the next.

    One heap per skill with lazy invalidation: an agent whose state changes gets a new
    version and fresh entries, and stale entries are dropped when they reach the top.
    Choosing the agent for one arriving conversation is then O(log A), not a scan of the
    workforce; a full pass is O((W + A·S) log A). The live service builds one per
    routing transaction from the database's rows. A caller that keeps one across time
    (a simulator) calls `update` with an agent's new idle time after assigning them:
    `route` leaves `idle_since` as it was, as one routing pass does.
    """

    def __init__(self, agents: Iterable[AgentSlot] = ()) -> None:
        self._slots: dict[str, AgentSlot] = {}
        self._active: dict[str, int] = {}
        self._version: dict[str, int] = {}
        self._heaps: dict[str, list[_HeapEntry]] = {}
        for slot in agents:
            self._enter(slot, push=False)
        for heap in self._heaps.values():
            heapq.heapify(heap)

    def update(self, slot: AgentSlot) -> None:
        """An agent came online, changed skills or limits, or was assigned elsewhere."""
        self._enter(slot, push=True)

    def remove(self, agent_id: uuid.UUID) -> None:
        """An agent went away or offline: stale entries are skipped from now on."""
        key = str(agent_id)
        self._slots.pop(key, None)
        self._active.pop(key, None)
        self._version[key] = self._version.get(key, 0) + 1

    def release(self, agent_id: uuid.UUID) -> None:
        """One of the agent's conversations ended or went inactive: a slot is free."""
        key = str(agent_id)
        if key in self._slots:
            self._active[key] = max(0, self._active[key] - 1)
            self._version[key] += 1
            self._push(self._slots[key])

    def best(self, skill: str) -> AgentSlot | None:
        """The agent the next conversation of `skill` goes to, if any has room."""
        heap = self._heaps.get(skill)
        while heap:
            _, _, key, version = heap[0]
            if self._version.get(key) == version and key in self._slots:
                return self._slots[key]
            heapq.heappop(heap)
        return None

    def route(self, conv: WaitingConversation) -> Assignment | None:
        """Give one conversation to the best agent of its skill, if any has room."""
        slot = self.best(conv.skill)
        if slot is None:
            return None
        key = str(slot.agent_id)
        self._active[key] += 1
        self._version[key] += 1
        self._push(slot)
        return Assignment(conv.conversation_id, slot.agent_id)

    def plan(self, waiting: Iterable[WaitingConversation]) -> list[Assignment]:
        """Route waiting conversations in priority order while any agent has room."""
        assignments: list[Assignment] = []
        # Within a pass no slot frees up, so a skill found full stays full.
        full: set[str] = set()
        for conv in order_waiting(waiting):
            if conv.skill in full:
                continue
            assignment = self.route(conv)
            if assignment is not None:
                assignments.append(assignment)
                continue
            full.add(conv.skill)
            if all(skill in full or self.best(skill) is None for skill in self._heaps):
                break  # the workforce is full: the rest waits
        return assignments

    def _enter(self, slot: AgentSlot, *, push: bool) -> None:
        key = str(slot.agent_id)
        self._slots[key] = slot
        self._active[key] = slot.active
        self._version[key] = self._version.get(key, -1) + 1
        if push:
            self._push(slot)
        elif slot.active < slot.preferred:
            entry = self._entry(slot)
            for skill in slot.skills:
                self._heaps.setdefault(skill, []).append(entry)

    def _push(self, slot: AgentSlot) -> None:
        if self._active[str(slot.agent_id)] >= slot.preferred:
            return
        entry = self._entry(slot)
        for skill in slot.skills:
            heapq.heappush(self._heaps.setdefault(skill, []), entry)

    def _entry(self, slot: AgentSlot) -> _HeapEntry:
        key = str(slot.agent_id)
        # Fraction keeps 1/3 < 2/5 exact: float ties would make the spread depend on
        # rounding and differ between the service and the simulator.
        return (
            Fraction(self._active[key], slot.preferred),
            slot.idle_since,
            key,
            self._version[key],
        )


def plan_assignments(
    waiting: Iterable[WaitingConversation], agents: Iterable[AgentSlot]
) -> list[Assignment]:
    """Assign as many waiting conversations as the agents have room for under P."""
    return RoutingIndex(agents).plan(waiting)
