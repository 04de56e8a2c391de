"""In-app chat inboxes: how each business signs its customers' identities."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.schema import app_channels
from threadline.core.widgets import AppChannel


class AppChannelRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def for_inbox(self, inbox_id: uuid.UUID) -> AppChannel | None:
        row = (
            await self._conn.execute(
                sa.select(app_channels).where(app_channels.c.inbox_id == inbox_id)
            )
        ).first()
        return _channel(row) if row else None

    async def by_key(self, key: str) -> AppChannel | None:
        row = (
            await self._conn.execute(sa.select(app_channels).where(app_channels.c.key == key))
        ).first()
        return _channel(row) if row else None

    async def save(self, channel: AppChannel) -> None:
        values = {
            "key": channel.key,
            "algorithm": channel.algorithm,
            "secret_name": channel.secret_name,
            "public_key": channel.public_key,
            "updated_at": channel.updated_at,
        }
        updated = await self._conn.execute(
            app_channels.update().where(app_channels.c.inbox_id == channel.inbox_id).values(values)
        )
        if updated.rowcount == 0:
            # Two first PUTs at once: the loser fails on the key and runs again as an update.
            await self._conn.execute(
                app_channels.insert().values(inbox_id=channel.inbox_id, **values)
            )


def _channel(r: Any) -> AppChannel:
    return AppChannel(
        inbox_id=r.inbox_id,
        key=r.key,
        algorithm=r.algorithm,
        secret_name=r.secret_name,
        public_key=r.public_key,
        updated_at=r.updated_at,
    )
