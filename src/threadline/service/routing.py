"""Applying the routing policy to the database, atomically."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from threadline.core.conversations import Conversation, ConversationState
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
        load = await uow.agents.claim_slot(assignment.agent_id, now, limit="preferred")
        if load is None:
            continue
        conv.assign(assignment.agent_id, now, actor=ACTOR_ROUTER, cause="routed", load=load)
        await uow.conversations.save(conv)
        uow.collect(conv)
        applied.append(assignment)
    return applied


async def offer_to_owner(
    uow: UnitOfWork, conv: Conversation, now: datetime, *, limit: str, cause: str
) -> bool:
    """Stickiness (DESIGN.md §3): a queued conversation goes straight back to its owner
    if they are online and below `limit` ("max" for a reactivation, "preferred" for a
    new session). The caller holds the conversation's lock; the slot claim is atomic."""
    owner = conv.owner_agent_id
    if owner is None or conv.state is not ConversationState.QUEUED:
        return False
    load = await uow.agents.claim_slot(owner, now, limit=limit)
    if load is None:
        return False
    conv.assign(owner, now, actor=ACTOR_ROUTER, cause=cause, load=load)
    return True


@dataclass(frozen=True)
class OwnerOffer:
    """A conversation to hand straight back to its owner if they have room (`limit`)."""

    conv: Conversation
    now: datetime
    limit: str
    cause: str


async def release_slots(
    uow: UnitOfWork, agent_ids: Iterable[uuid.UUID], offers: Sequence[OwnerOffer] = ()
) -> set[str]:
    """Give back one slot per id (an id twice: two slots) and make the owner offers, in
    one pass over the agents in id order, the lock order of every use case (claiming
    agents in the order messages came would let two batches deadlock). Returns the
    skills of the agents given slots back, for the routing pass."""
    releases = Counter(agent_ids)
    owners = {o.conv.owner_agent_id for o in offers if o.conv.owner_agent_id is not None}
    skills: set[str] = set()
    for agent_id in sorted(releases.keys() | owners):
        for _ in range(releases[agent_id]):
            await uow.agents.release_slot(agent_id)
        if releases[agent_id]:
            agent = await uow.agents.get(agent_id)
            if agent is not None:
                skills |= agent.skills
        for offer in offers:
            if offer.conv.owner_agent_id == agent_id:
                await offer_to_owner(
                    uow, offer.conv, offer.now, limit=offer.limit, cause=offer.cause
                )
    return skills


async def release_and_route(uow: UnitOfWork, agent_id: uuid.UUID, now: datetime) -> None:
    """An agent has a free slot: give them the best waiting work from their skills."""
    skills = await release_slots(uow, [agent_id])
    if skills:
        await route_waiting(uow, now, skills=skills)
