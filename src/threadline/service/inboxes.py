"""Inboxes and their API tokens (shown once, stored as hashes)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from threadline.adapters.passwords import new_token, token_hash
from threadline.core.access import Principal, require_role
from threadline.core.agents import Role, validate_skill
from threadline.core.customers import validate_channel
from threadline.core.errors import Conflict, InvalidInput, NotFound
from threadline.core.events import ACTOR_SYSTEM, Event, EventType, actor_agent
from threadline.core.inboxes import Inbox
from threadline.service.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class InboxWithToken:
    inbox: Inbox
    token: str


async def create(
    uow: UnitOfWork, actor: Principal | None, name: str, channel: str, skill: str, now: datetime
) -> InboxWithToken:
    if actor is not None:
        require_role(actor, Role.ADMIN)
    name = name.strip()
    if not 1 <= len(name) <= 128:
        raise InvalidInput("an inbox name is 1-128 characters", field="name")
    if await uow.access.inbox_name_taken(name):
        raise Conflict(f"an inbox named {name!r} exists", code="inbox_name_taken")
    inbox = Inbox(
        id=uuid.uuid4(),
        name=name,
        channel=validate_channel(channel),
        skill=validate_skill(skill),
        created_at=now,
    )
    token = new_token("inbox")
    await uow.access.add_inbox(inbox, token_hash(token))
    uow.record(
        Event(
            EventType.INBOX_CREATED,
            now,
            actor_agent(actor.agent_id) if actor else ACTOR_SYSTEM,
            payload={"inbox_id": str(inbox.id), "name": name, "channel": inbox.channel},
        )
    )
    return InboxWithToken(inbox, token)


async def list_all(uow: UnitOfWork, actor: Principal) -> list[Inbox]:
    require_role(actor, Role.SUPERVISOR, Role.ADMIN)
    return await uow.access.list_inboxes()


async def existing(uow: UnitOfWork, inbox_id: uuid.UUID) -> Inbox:
    """The inbox, or 404 naming it."""
    inbox = await uow.access.get_inbox(inbox_id)
    if inbox is None:
        raise NotFound("no such inbox", inbox_id=str(inbox_id))
    return inbox


async def rotate_token(uow: UnitOfWork, actor: Principal, inbox_id: uuid.UUID) -> InboxWithToken:
    require_role(actor, Role.ADMIN)
    inbox = await existing(uow, inbox_id)
    token = new_token("inbox")
    await uow.access.rotate_inbox_token(inbox.id, token_hash(token))
    return InboxWithToken(inbox, token)
