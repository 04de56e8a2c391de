"""The supervisor's view of the floor: queues, agents, and who is waiting too long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from threadline.adapters.repositories.conversations import QueueStats
from threadline.core.access import Principal, require_role
from threadline.core.agents import Agent, Role
from threadline.core.conversations import Conversation
from threadline.service.unit_of_work import UnitOfWork

# Enough to fill a supervisor's screen; a floor with more breaches than this has a
# staffing problem the list will not solve.
BREACHING_LIMIT = 100


@dataclass(frozen=True)
class Overview:
    at: datetime
    queues: list[QueueStats]
    agents: list[Agent]
    breaching: list[Conversation]


async def overview(uow: UnitOfWork, actor: Principal, now: datetime) -> Overview:
    require_role(actor, Role.SUPERVISOR, Role.ADMIN)
    agents = await uow.agents.all()
    skills = {s for a in agents for s in a.skills} | await uow.access.inbox_skills()
    stats = {q.queue: q for q in await uow.conversations.queue_stats()}
    queues = [stats.get(skill, QueueStats(skill, 0, 0, None)) for skill in sorted(skills)]
    return Overview(
        at=now,
        queues=queues,
        agents=agents,
        breaching=await uow.conversations.breaching(now, limit=BREACHING_LIMIT),
    )
