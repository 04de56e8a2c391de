"""Canned responses: every agent reads them, admins write them."""

from __future__ import annotations

import uuid
from datetime import datetime

from threadline.core.access import Principal, require_role
from threadline.core.agents import Role
from threadline.core.canned import CannedResponse, new_canned
from threadline.core.errors import Conflict, NotFound
from threadline.core.events import Event, EventType, actor_agent
from threadline.service.unit_of_work import UnitOfWork


async def list_all(uow: UnitOfWork, actor: Principal) -> list[CannedResponse]:
    del actor  # every signed-in agent may use them
    return await uow.canned.all()


async def create(
    uow: UnitOfWork, actor: Principal, shortcut: str, text: str, now: datetime
) -> CannedResponse:
    require_role(actor, Role.ADMIN)
    canned = new_canned(uuid.uuid4(), shortcut, text, now)
    if await uow.canned.shortcut_taken(canned.shortcut):
        raise Conflict(f"the shortcut /{canned.shortcut} is taken", code="shortcut_taken")
    await uow.canned.add(canned)
    uow.record(
        Event(
            EventType.CANNED_RESPONSE_CREATED,
            now,
            actor_agent(actor.agent_id),
            payload={"id": str(canned.id), "shortcut": canned.shortcut},
        )
    )
    return canned


async def delete(uow: UnitOfWork, actor: Principal, canned_id: uuid.UUID, now: datetime) -> None:
    require_role(actor, Role.ADMIN)
    shortcut = await uow.canned.delete(canned_id)
    if shortcut is None:
        raise NotFound("no such canned response", canned_id=str(canned_id))
    uow.record(
        Event(
            EventType.CANNED_RESPONSE_DELETED,
            now,
            actor_agent(actor.agent_id),
            payload={"id": str(canned_id), "shortcut": shortcut},
        )
    )
