"""Credentials: agents' session tokens and inboxes' API tokens, stored as hashes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.schema import agent_skills, agents, auth_tokens, inboxes
from threadline.core.access import Principal
from threadline.core.agents import Role
from threadline.core.inboxes import Inbox

# Built once: it authenticates every inbound message.
_INBOX_BY_TOKEN = sa.select(inboxes).where(inboxes.c.token_hash == sa.bindparam("token_hash"))


class AccessRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def queue_exists(self, queue: str) -> bool:
        """A queue exists while an inbox routes to it or an agent holds it as a skill."""
        query = sa.select(
            sa.exists().where(inboxes.c.skill == queue)
            | sa.exists().where(agent_skills.c.skill == queue)
        )
        return bool((await self._conn.execute(query)).scalar())

    async def inbox_skills(self) -> set[str]:
        rows = await self._conn.execute(sa.select(inboxes.c.skill).distinct())
        return {r.skill for r in rows}

    async def add_token(
        self, token_hash: str, agent_id: uuid.UUID, now: datetime, expires_at: datetime
    ) -> None:
        await self._conn.execute(
            auth_tokens.insert().values(
                token_hash=token_hash, agent_id=agent_id, created_at=now, expires_at=expires_at
            )
        )

    async def revoke_token(self, token_hash: str, now: datetime) -> None:
        await self._conn.execute(
            auth_tokens.update()
            .where(auth_tokens.c.token_hash == token_hash, auth_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_all_for(self, agent_id: uuid.UUID, now: datetime) -> None:
        await self._conn.execute(
            auth_tokens.update()
            .where(auth_tokens.c.agent_id == agent_id, auth_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def principal_for(self, token_hash: str, now: datetime) -> Principal | None:
        row = (
            await self._conn.execute(
                sa.select(agents.c.id, agents.c.role)
                .join(auth_tokens, auth_tokens.c.agent_id == agents.c.id)
                .where(
                    auth_tokens.c.token_hash == token_hash,
                    auth_tokens.c.revoked_at.is_(None),
                    auth_tokens.c.expires_at > now,
                )
            )
        ).first()
        if row is None:
            return None
        skills = await self._conn.execute(
            sa.select(agent_skills.c.skill).where(agent_skills.c.agent_id == row.id)
        )
        return Principal(
            agent_id=row.id, role=Role(row.role), skills=frozenset(s for (s,) in skills)
        )

    async def add_inbox(self, inbox: Inbox, token_hash: str) -> None:
        await self._conn.execute(
            inboxes.insert().values(
                id=inbox.id,
                name=inbox.name,
                channel=inbox.channel,
                skill=inbox.skill,
                token_hash=token_hash,
                created_at=inbox.created_at,
            )
        )

    async def inbox_name_taken(self, name: str) -> bool:
        return (
            await self._conn.execute(sa.select(inboxes.c.id).where(inboxes.c.name == name))
        ).first() is not None

    async def inbox_for_token(self, token_hash: str) -> Inbox | None:
        row = (await self._conn.execute(_INBOX_BY_TOKEN, {"token_hash": token_hash})).first()
        return _inbox(row) if row else None

    async def get_inbox(self, inbox_id: uuid.UUID) -> Inbox | None:
        row = (await self._conn.execute(sa.select(inboxes).where(inboxes.c.id == inbox_id))).first()
        return _inbox(row) if row else None

    async def list_inboxes(self) -> list[Inbox]:
        rows = await self._conn.execute(sa.select(inboxes).order_by(inboxes.c.name))
        return [_inbox(r) for r in rows.all()]

    async def rotate_inbox_token(self, inbox_id: uuid.UUID, token_hash: str) -> None:
        await self._conn.execute(
            inboxes.update().where(inboxes.c.id == inbox_id).values(token_hash=token_hash)
        )


def _inbox(r: Any) -> Inbox:
    return Inbox(id=r.id, name=r.name, channel=r.channel, skill=r.skill, created_at=r.created_at)
