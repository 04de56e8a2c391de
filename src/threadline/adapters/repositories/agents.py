"""Agents, their skills, and the atomic slot counter the router relies on."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.schema import agent_skills, agents
from threadline.core.agents import Agent, AgentStatus, Role
from threadline.core.routing import AgentSlot


class AgentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, agent: Agent, password_hash: str, now: datetime) -> None:
        await self._conn.execute(
            agents.insert().values(
                id=agent.id,
                username=agent.username,
                display_name=agent.display_name,
                password_hash=password_hash,
                role=str(agent.role),
                preferred_concurrency=agent.preferred_concurrency,
                max_load=agent.max_load,
                status=str(agent.status),
                status_since=agent.status_since,
                active_count=0,
                created_at=now,
            )
        )
        await self._set_skills(agent.id, agent.skills)

    async def username_taken(self, username: str) -> bool:
        row = await self._conn.execute(sa.select(agents.c.id).where(agents.c.username == username))
        return row.first() is not None

    async def get(self, agent_id: uuid.UUID) -> Agent | None:
        found = await self._load(agents.c.id == agent_id)
        return found[0] if found else None

    async def credentials(self, username: str) -> tuple[uuid.UUID, str] | None:
        row = (
            await self._conn.execute(
                sa.select(agents.c.id, agents.c.password_hash).where(agents.c.username == username)
            )
        ).first()
        return (row.id, row.password_hash) if row else None

    async def all(self) -> list[Agent]:
        return await self._load(sa.true())

    async def seen_at_desk(self, agent_id: uuid.UUID, now: datetime) -> None:
        await self._conn.execute(
            agents.update().where(agents.c.id == agent_id).values(desk_seen_at=now)
        )

    async def online_away_from_desk(self, since: datetime) -> list[Agent]:
        """Online agents who had a desk and have not been seen at it since `since`."""
        return await self._load(
            (agents.c.status == str(AgentStatus.ONLINE))
            & agents.c.desk_seen_at.is_not(None)
            & (agents.c.desk_seen_at < since)
        )

    async def update(self, agent: Agent) -> None:
        await self._conn.execute(
            agents.update()
            .where(agents.c.id == agent.id)
            .values(
                display_name=agent.display_name,
                role=str(agent.role),
                preferred_concurrency=agent.preferred_concurrency,
                max_load=agent.max_load,
                status=str(agent.status),
                status_since=agent.status_since,
            )
        )
        await self._set_skills(agent.id, agent.skills)

    async def set_password(self, agent_id: uuid.UUID, password_hash: str) -> None:
        await self._conn.execute(
            agents.update().where(agents.c.id == agent_id).values(password_hash=password_hash)
        )

    async def claim_slot(self, agent_id: uuid.UUID, now: datetime, *, limit: str) -> int | None:
        """Take one slot if the agent is online and below their limit, atomically;
        returns their active count with it (None: no room, or not online).

        The check and the increment are one UPDATE, so two routers in two processes
        can never both take an agent's last slot.
        """
        column = agents.c.preferred_concurrency if limit == "preferred" else agents.c.max_load
        result = await self._conn.execute(
            agents.update()
            .where(
                agents.c.id == agent_id,
                agents.c.status == str(AgentStatus.ONLINE),
                agents.c.active_count < column,
            )
            .values(active_count=agents.c.active_count + 1, last_assigned_at=now)
            .returning(agents.c.active_count)
        )
        load: int | None = result.scalar_one_or_none()
        return load

    async def release_slot(self, agent_id: uuid.UUID) -> None:
        await self._conn.execute(
            agents.update()
            .where(agents.c.id == agent_id, agents.c.active_count > 0)
            .values(active_count=agents.c.active_count - 1)
        )

    async def routing_candidates(self, skills: Iterable[str] | None) -> list[AgentSlot]:
        """Online agents below P, with all their skills, for the routing policy."""
        query = sa.select(agents).where(
            agents.c.status == str(AgentStatus.ONLINE),
            agents.c.active_count < agents.c.preferred_concurrency,
        )
        if skills is not None:
            query = query.where(
                agents.c.id.in_(
                    sa.select(agent_skills.c.agent_id).where(agent_skills.c.skill.in_(list(skills)))
                )
            )
        rows = (await self._conn.execute(query)).all()
        skills_of = await self._skills_of([r.id for r in rows])
        return [
            AgentSlot(
                agent_id=r.id,
                skills=skills_of.get(r.id, frozenset()),
                preferred=r.preferred_concurrency,
                max_load=r.max_load,
                active=r.active_count,
                idle_since=max(r.status_since, r.last_assigned_at or r.status_since),
            )
            for r in rows
        ]

    async def _set_skills(self, agent_id: uuid.UUID, skills: frozenset[str]) -> None:
        await self._conn.execute(agent_skills.delete().where(agent_skills.c.agent_id == agent_id))
        if skills:
            await self._conn.execute(
                agent_skills.insert(), [{"agent_id": agent_id, "skill": s} for s in sorted(skills)]
            )

    async def _skills_of(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, frozenset[str]]:
        out: dict[uuid.UUID, set[str]] = {}
        # Chunked: SQLite caps the number of bound parameters in one statement.
        for start in range(0, len(ids), 500):
            rows = await self._conn.execute(
                sa.select(agent_skills).where(agent_skills.c.agent_id.in_(ids[start : start + 500]))
            )
            for r in rows:
                out.setdefault(r.agent_id, set()).add(r.skill)
        return {k: frozenset(v) for k, v in out.items()}

    async def _load(self, where: Any) -> list[Agent]:
        rows = (
            await self._conn.execute(sa.select(agents).where(where).order_by(agents.c.username))
        ).all()
        skills_of = await self._skills_of([r.id for r in rows])
        return [
            Agent(
                id=r.id,
                username=r.username,
                display_name=r.display_name,
                role=Role(r.role),
                skills=skills_of.get(r.id, frozenset()),
                preferred_concurrency=r.preferred_concurrency,
                max_load=r.max_load,
                status=AgentStatus(r.status),
                status_since=r.status_since,
                active_count=r.active_count,
                last_assigned_at=r.last_assigned_at,
            )
            for r in rows
        ]
