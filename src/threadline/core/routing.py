"""The routing policy (DESIGN.md §3): pure data in, assignments out.

The same function runs in the live service, the tests and the workforce simulator.

Order: conversations waiting on an agent go first, earliest respond-by first; those
waiting on the customer follow, longest-queued first. Spread: among eligible agents
(online, with the skill, below their preferred concurrency P) the lowest active/P
ratio wins, then the agent idle longest. One pass routes as much as the workforce
has room for.

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


@dataclass(frozen=True)
class Assignment:
    conversation_id: uuid.UUID
    agent_id: uuid.UUID


def priority_key(
    respond_by: datetime | None, enqueued_at: datetime
) -> tuple[int, datetime, datetime]:
    """Sort key: waiting on the agent (has respond_by) before waiting on the customer."""
    if respond_by is None:
        return (1, enqueued_at, enqueued_at)
    return (0, respond_by, enqueued_at)


def order_waiting(waiting: Iterable[WaitingConversation]) -> list[WaitingConversation]:
    return sorted(
        waiting, key=lambda w: (*priority_key(w.respond_by, w.enqueued_at), str(w.conversation_id))
    )


_HeapEntry = tuple[Fraction, datetime, str, int]


def plan_assignments(
    waiting: Iterable[WaitingConversation], agents: Iterable[AgentSlot]
) -> list[Assignment]:
    """Assign as many waiting conversations as the agents have room for under P."""
    active: dict[uuid.UUID, int] = {}
    version: dict[uuid.UUID, int] = {}
    by_key: dict[str, AgentSlot] = {}
    heaps: dict[str, list[_HeapEntry]] = {}

    def entry(slot: AgentSlot) -> _HeapEntry:
        # Fraction keeps 1/3 < 2/5 exact: float ties would make the spread depend on
        # rounding and differ between the service and the simulator.
        return (
            Fraction(active[slot.agent_id], slot.preferred),
            slot.idle_since,
            str(slot.agent_id),
            version[slot.agent_id],
        )

    for slot in agents:
        if slot.active >= slot.preferred:
            continue
        active[slot.agent_id] = slot.active
        version[slot.agent_id] = 0
        by_key[str(slot.agent_id)] = slot
        for skill in slot.skills:
            heaps.setdefault(skill, []).append(entry(slot))
    for heap in heaps.values():
        heapq.heapify(heap)

    assignments: list[Assignment] = []
    for conv in order_waiting(waiting):
        heap = heaps.get(conv.skill, [])
        while heap:
            _, _, key, entry_version = heap[0]
            slot = by_key[key]
            if entry_version != version[slot.agent_id]:
                heapq.heappop(heap)
                continue
            break
        if not heap:
            continue
        heapq.heappop(heap)
        assignments.append(Assignment(conv.conversation_id, slot.agent_id))
        active[slot.agent_id] += 1
        version[slot.agent_id] += 1
        if active[slot.agent_id] < slot.preferred:
            fresh = entry(slot)
            for skill in slot.skills:
                heapq.heappush(heaps[skill], fresh)
        if not any(heaps.values()):
            break
    return assignments
