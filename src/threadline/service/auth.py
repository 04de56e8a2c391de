"""Logging in and out, and turning a bearer token into a principal."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from threadline.adapters.passwords import new_token, token_hash, verify_password
from threadline.core.access import Principal
from threadline.core.agents import Agent
from threadline.core.inboxes import Inbox
from threadline.service.unit_of_work import Transactor, UnitOfWork


@dataclass(frozen=True)
class Session:
    token: str
    expires_at: datetime
    agent: Agent


async def login(
    tx: Transactor, username: str, password: str, now: datetime, ttl: timedelta
) -> Session | None:
    """A session token for valid credentials; None (and no hint which part was wrong) otherwise."""

    async def lookup(uow: UnitOfWork) -> tuple[object, str] | None:
        return await uow.agents.credentials(username.strip().lower())

    found = await tx.read(lookup)
    stored_hash = found[1] if found else None
    if not await asyncio.to_thread(verify_password, stored_hash, password) or found is None:
        return None
    agent_id = found[0]
    token = new_token("agent")

    async def issue(uow: UnitOfWork) -> Agent | None:
        agent = await uow.agents.get(agent_id)  # type: ignore[arg-type]
        if agent is not None:
            await uow.access.add_token(token_hash(token), agent.id, now, now + ttl)
        return agent

    agent = await tx.write(issue)
    return Session(token=token, expires_at=now + ttl, agent=agent) if agent else None


async def logout(uow: UnitOfWork, token: str, now: datetime) -> None:
    await uow.access.revoke_token(token_hash(token), now)


async def principal_for(uow: UnitOfWork, token: str, now: datetime) -> Principal | None:
    return await uow.access.principal_for(token_hash(token), now)


async def inbox_for(uow: UnitOfWork, token: str) -> Inbox | None:
    return await uow.access.inbox_for_token(token_hash(token))
