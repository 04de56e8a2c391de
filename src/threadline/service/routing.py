"""Applying the routing policy to the database, atomically."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from threadline.core.events import ACTOR_ROUTER
from threadline.core.routing import Assignment, WaitingConversation, plan_assignments
from threadline.service.unit_of_work import UnitOfWork


async def route_waiting(
    uow: UnitOfWork, now: datetime, skills: Iterable[str] | None = None
) -> list[Assignment]:
    """Assign queued conversations (of `skills`, or all) to agents with room under P.

    Locks are taken in one order everywhere: conversations first (skipping any another
    router holds), then agents sorted by id, so concurrent routers cannot deadlock; the
    conditional slot claim means they cannot over-fill an agent either.
    """
    wanted = None if skills is None else set(skills)
    candidates = await uow.agents.routing_candidates(wanted)
    if not candidates:
        return []
    free: dict[str, int] = {}
    for slot in candidates:
        for skill in slot.skills:
            if wanted is None or skill in wanted:
                free[skill] = free.get(skill, 0) + slot.preferred - slot.active
    waiting: list[WaitingConversation] = []
    for skill, room in sorted(free.items()):
        # Only the best `room` conversations of a skill can be routed in this pass.
        waiting.extend(await uow.conversations.waiting_for_skill(skill, limit=room))
    plan = plan_assignments(waiting, candidates)
    locked = {}
    for assignment in plan:
        conv = await uow.conversations.lock_if_queued(assignment.conversation_id)
        if conv is not None:
            locked[assignment.conversation_id] = conv
    applied: list[Assignment] = []
    for assignment in sorted(plan, key=lambda a: (a.agent_id, a.conversation_id)):
        conv = locked.get(assignment.conversation_id)
        if conv is None:
            continue
        if not await uow.agents.claim_slot(assignment.agent_id, now, limit="preferred"):
            continue
        conv.assign(assignment.agent_id, now, actor=ACTOR_ROUTER, cause="routed")
        await uow.conversations.save(conv)
        uow.collect(conv)
        applied.append(assignment)
    return applied


async def release_slots(uow: UnitOfWork, agent_ids: Iterable[uuid.UUID]) -> set[str]:
    """Give back one slot per id (an id twice: two slots), in id order, the lock order
    of every use case; returns the skills of those agents, for the routing pass."""
    skills: set[str] = set()
    for agent_id in sorted(agent_ids):
        await uow.agents.release_slot(agent_id)
        agent = await uow.agents.get(agent_id)
        if agent is not None:
            skills |= agent.skills
    return skills


async def release_and_route(uow: UnitOfWork, agent_id: uuid.UUID, now: datetime) -> None:
    """An agent has a free slot: give them the best waiting work from their skills."""
    skills = await release_slots(uow, [agent_id])
    if skills:
        await route_waiting(uow, now, skills=skills)
