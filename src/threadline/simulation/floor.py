"""Where work goes on the simulated floor: the skills' queues and the routing index.

The decisions are the core's (`core.routing`): the queue order is `priority_key` and the
agent for each conversation is `RoutingIndex`'s. What the floor adds is keeping both
across the day, where the service rebuilds them from the database on every pass.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime

from threadline.core.lifecycle import ConversationState
from threadline.core.routing import RoutingIndex, WaitingConversation, priority_key
from threadline.simulation.agents import SimAgent, SimConversation

# A place in a skill's queue: the core's priority key, then the conversation id (the
# core's tie-break), then the token that tells a current entry from a stale one.
_Entry = tuple[tuple[int, datetime, datetime], str, int, SimConversation]


class Floor:
    def __init__(self, skills: Iterable[str]) -> None:
        self.index = RoutingIndex()
        self.queues: dict[str, list[_Entry]] = {skill: [] for skill in skills}
        # Skills whose queue or agents changed since the last pass.
        self.dirty: set[str] = set()

    def enqueue(self, sc: SimConversation) -> None:
        conv = sc.conv
        sc.queue_token += 1
        key = priority_key(conv.respond_by, conv.enqueued_at or conv.updated_at, conv.reactivated)
        heapq.heappush(self.queues[conv.skill], (key, str(conv.id), sc.queue_token, sc))
        self.dirty.add(conv.skill)

    def online(self, agent: SimAgent, at: datetime) -> None:
        """Came online, or took a conversation (which moves their idle time)."""
        self.index.update(agent.slot(at))
        self.dirty |= agent.skills

    def away(self, agent: SimAgent) -> None:
        self.index.remove(agent.id)

    def freed(self, agent: SimAgent) -> None:
        self.index.release(agent.id)
        self.dirty |= agent.skills

    @staticmethod
    def owner_with_room(owner: SimAgent | None, *, reactivated: bool) -> bool:
        """Stickiness (DESIGN.md §3): a reactivation goes back to its owner if they are
        online and below M; a new session to its owner below P."""
        if owner is None or not owner.online:
            return False
        return len(owner.held) < (owner.max_load if reactivated else owner.preferred)

    def next_assignment(self) -> tuple[SimConversation, str] | None:
        """The best waiting conversation over the changed skills and the agent (key) it
        goes to, or None when nothing more can be routed until something changes."""
        index, queues, dirty = self.index, self.queues, self.dirty
        best: _Entry | None = None
        for skill in list(dirty):
            queue = queues[skill]
            while queue and not _current(queue[0]):
                heapq.heappop(queue)
            if not queue or index.best(skill) is None:
                dirty.discard(skill)
                continue
            if best is None or queue[0][:2] < best[:2]:
                best = queue[0]
        if best is None:
            return None
        sc = best[3]
        heapq.heappop(queues[sc.conv.skill])
        conv = sc.conv
        waiting = WaitingConversation(
            conv.id, conv.skill, conv.respond_by, conv.enqueued_at or conv.updated_at
        )
        assignment = index.route(waiting)
        assert assignment is not None  # index.best(skill) said someone had room
        return sc, str(assignment.agent_id)

    def waiting(self) -> list[SimConversation]:
        return [entry[3] for queue in self.queues.values() for entry in queue if _current(entry)]


def _current(entry: _Entry) -> bool:
    sc = entry[3]
    return sc.queue_token == entry[2] and sc.conv.state is ConversationState.QUEUED
