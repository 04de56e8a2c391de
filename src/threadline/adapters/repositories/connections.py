"""Inboxes' provider connections (adapters.providers.base.Connection)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.providers.base import Connection
from threadline.adapters.schema import channel_connections as t


def _from_row(r: Any) -> Connection:
    return Connection(r.inbox_id, r.provider, r.account, r.address, r.secret_name, r.options)


class ConnectionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def for_inbox(self, inbox_id: uuid.UUID) -> Connection | None:
        row = (await self._conn.execute(t.select().where(t.c.inbox_id == inbox_id))).first()
        return _from_row(row) if row else None

    async def by_address(self, provider: str, address: str) -> Connection | None:
        row = (
            await self._conn.execute(
                t.select().where(t.c.provider == provider, t.c.address == address)
            )
        ).first()
        return _from_row(row) if row else None

    async def secret_names(self, provider: str) -> list[str]:
        """The secret names of every connection of a provider: for a webhook that names
        no connection (a verification handshake), whose secret is any one of them."""
        rows = await self._conn.execute(
            sa.select(t.c.secret_name).where(t.c.provider == provider).distinct()
        )
        return sorted(str(name) for name in rows.scalars())

    async def put(self, c: Connection, now: datetime) -> None:
        await self._conn.execute(t.delete().where(t.c.inbox_id == c.inbox_id))
        await self._conn.execute(
            t.insert().values(
                inbox_id=c.inbox_id,
                provider=c.provider,
                account=c.account,
                address=c.address,
                secret_name=c.secret_name,
                options=dict(c.options),
                updated_at=now,
            )
        )

    async def remove(self, inbox_id: uuid.UUID) -> bool:
        result = await self._conn.execute(t.delete().where(t.c.inbox_id == inbox_id))
        return result.rowcount == 1
