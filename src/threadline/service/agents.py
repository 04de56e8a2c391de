"""Agents: creation and changes by admins, status by the agent or a supervisor."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from threadline.adapters.passwords import hash_password
from threadline.core.access import Principal, require_role
from threadline.core.agents import Agent, AgentStatus, Role, validate_limits, validate_skill
from threadline.core.conversations import ConversationState
from threadline.core.errors import Conflict, InvalidInput, NotFound
from threadline.core.events import ACTOR_SYSTEM, Event, EventType, actor_agent
from threadline.service.routing import route_waiting
from threadline.service.unit_of_work import Transactor, UnitOfWork

MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class NewAgent:
    username: str
    password: str
    display_name: str | None = None
    role: Role = Role.AGENT
    skills: frozenset[str] = frozenset({"general"})
    preferred_concurrency: int = 3
    max_load: int = 5


@dataclass(frozen=True)
class AgentChanges:
    display_name: str | None = None
    role: Role | None = None
    skills: frozenset[str] | None = None
    preferred_concurrency: int | None = None
    max_load: int | None = None


def _validate_username(username: str) -> str:
    cleaned = username.strip().lower()
    if not (2 <= len(cleaned) <= 64) or not all(c.isalnum() or c in "._-" for c in cleaned):
        raise InvalidInput("a username is 2-64 letters, digits, '.', '_' or '-'", field="username")
    return cleaned


async def create_agent(
    tx: Transactor, actor: Principal | None, new: NewAgent, now: datetime
) -> Agent:
    """Create an agent. `actor` None means the operator's CLI, which needs no login."""
    if actor is not None:
        require_role(actor, Role.ADMIN)
    username = _validate_username(new.username)
    if len(new.password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password has at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    validate_limits(new.preferred_concurrency, new.max_load)
    agent = Agent(
        id=uuid.uuid4(),
        username=username,
        display_name=(new.display_name or username).strip()[:128] or username,
        role=new.role,
        skills=frozenset(validate_skill(s) for s in new.skills),
        preferred_concurrency=new.preferred_concurrency,
        max_load=new.max_load,
        status=AgentStatus.OFFLINE,
        status_since=now,
    )
    # argon2 is deliberately slow (tens of ms): keep it off the event loop.
    password_hash = await asyncio.to_thread(hash_password, new.password)

    async def use_case(uow: UnitOfWork) -> Agent:
        if await uow.agents.username_taken(username):
            raise Conflict(f"the username {username!r} is taken", code="username_taken")
        await uow.agents.add(agent, password_hash, now)
        uow.record(
            Event(
                EventType.AGENT_CREATED,
                now,
                actor_agent(actor.agent_id) if actor else ACTOR_SYSTEM,
                agent_id=agent.id,
                payload={"username": username, "role": str(agent.role)},
            )
        )
        return agent

    return await tx.write(use_case)


async def get_agent(uow: UnitOfWork, actor: Principal, agent_id: uuid.UUID) -> Agent:
    if agent_id != actor.agent_id:
        require_role(actor, Role.SUPERVISOR, Role.ADMIN)
    agent = await uow.agents.get(agent_id)
    if agent is None:
        raise NotFound("no such agent", agent_id=str(agent_id))
    return agent


async def list_agents(uow: UnitOfWork, actor: Principal) -> list[Agent]:
    require_role(actor, Role.SUPERVISOR, Role.ADMIN)
    return await uow.agents.all()


async def colleagues(uow: UnitOfWork, actor: Principal) -> list[Agent]:
    """The other agents online now: whom anyone may hand a conversation to. Only what
    a transfer needs is shown of them (api: ColleagueOut), not the whole agent record."""
    return [
        a
        for a in await uow.agents.all()
        if a.role is Role.AGENT and a.status is AgentStatus.ONLINE and a.id != actor.agent_id
    ]


async def update_agent(
    uow: UnitOfWork, actor: Principal, agent_id: uuid.UUID, changes: AgentChanges, now: datetime
) -> Agent:
    require_role(actor, Role.ADMIN)
    agent = await uow.agents.get(agent_id)
    if agent is None:
        raise NotFound("no such agent", agent_id=str(agent_id))
    if agent_id == actor.agent_id and changes.role not in (None, Role.ADMIN):
        raise Conflict("an admin cannot remove their own admin role", code="self_demotion")
    updated = replace(
        agent,
        display_name=(changes.display_name.strip()[:128] or agent.display_name)
        if changes.display_name is not None
        else agent.display_name,
        role=changes.role or agent.role,
        skills=frozenset(validate_skill(s) for s in changes.skills)
        if changes.skills is not None
        else agent.skills,
        preferred_concurrency=changes.preferred_concurrency or agent.preferred_concurrency,
        max_load=changes.max_load or agent.max_load,
    )
    validate_limits(updated.preferred_concurrency, updated.max_load)
    await uow.agents.update(updated)
    uow.record(
        Event(
            EventType.AGENT_UPDATED,
            now,
            actor_agent(actor.agent_id),
            agent_id=agent.id,
            payload={
                "skills": sorted(updated.skills),
                "preferred_concurrency": updated.preferred_concurrency,
                "max_load": updated.max_load,
                "role": str(updated.role),
            },
        )
    )
    if (
        updated.skills != agent.skills
        or updated.preferred_concurrency > agent.preferred_concurrency
    ):
        await route_waiting(uow, now, skills=updated.skills)
    return updated


async def set_status(
    uow: UnitOfWork, actor: Principal, agent_id: uuid.UUID, status: AgentStatus, now: datetime
) -> Agent:
    """online: take new work; away: keep current work, take none; offline: give it back.

    Going offline puts the agent's active conversations back in their queues with
    their respond-by times kept, so the customers lose no place in line, and gives up
    ownership of their inactive ones, which then return to whoever is free.
    """
    if agent_id != actor.agent_id:
        require_role(actor, Role.SUPERVISOR, Role.ADMIN)
    # Conversations are locked before the agent row, the order every use case follows.
    held = await uow.conversations.held_by(agent_id) if status is AgentStatus.OFFLINE else []
    agent = await uow.agents.get(agent_id)
    if agent is None:
        raise NotFound("no such agent", agent_id=str(agent_id))
    if agent.status is status:
        return agent
    actor_name = actor_agent(actor.agent_id)
    await _change_status(uow, agent, status, now, actor_name)
    if status is AgentStatus.OFFLINE:
        # The update waited for any transaction that was assigning this agent a
        # conversation (its slot claim holds the agent row); what it assigned committed
        # after the first look. Look again: from here on no claim can succeed.
        known = {c.id for c in held}
        held += [c for c in await uow.conversations.held_by(agent_id) if c.id not in known]
    active = [c for c in held if c.state is ConversationState.ASSIGNED]
    for conv in held:
        if conv.state is ConversationState.ASSIGNED:
            conv.requeue(now, actor=actor_name, cause="agent_offline")
            await uow.agents.release_slot(agent.id)
        else:
            conv.release_owner(now, actor=actor_name, cause="owner_offline")
        await uow.conversations.save(conv)
        uow.collect(conv)
    if active:
        agent.active_count = 0
    if status is AgentStatus.ONLINE and agent.skills:
        await route_waiting(uow, now, skills=agent.skills)
    elif active:
        await route_waiting(uow, now, skills={c.skill for c in active})
    return agent


async def seen_at_desk(uow: UnitOfWork, agent_id: uuid.UUID, now: datetime) -> None:
    """A desk of this agent is connected now (its stream says so on connect and at each
    token re-check)."""
    await uow.agents.seen_at_desk(agent_id, now)


async def step_away_from_empty_desks(uow: UnitOfWork, now: datetime, grace: timedelta) -> int:
    """Set away the online agents whose desks have all been gone for `grace`.

    An agent who closes the tab without signing out would otherwise stay online, and
    routing would keep handing them customers nobody answers. Away takes no new work
    and keeps what they hold: a dropped laptop lid or a network blip longer than the
    grace costs no conversation, and the agent comes back to it. Agents who never had
    a desk (API clients) are left alone."""
    gone = await uow.agents.online_away_from_desk(now - grace)
    for agent in gone:
        await _change_status(
            uow, agent, AgentStatus.AWAY, now, ACTOR_SYSTEM, cause="desk_disconnected"
        )
    return len(gone)


async def _change_status(
    uow: UnitOfWork,
    agent: Agent,
    status: AgentStatus,
    now: datetime,
    actor: str,
    *,
    cause: str | None = None,
) -> None:
    payload = {"from": str(agent.status), "to": str(status)}
    if cause is not None:
        payload["cause"] = cause
    agent.status = status
    agent.status_since = now
    await uow.agents.update(agent)
    uow.record(Event(EventType.AGENT_STATUS, now, actor, agent_id=agent.id, payload=payload))
