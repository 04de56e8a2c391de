"""Per-channel pacing and timeout settings (core.pacing.ChannelTiming)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.schema import channel_settings
from threadline.core.pacing import ChannelTiming

_ALL = sa.select(channel_settings.c.channel, channel_settings.c.settings)


def _timing(values: dict[str, Any]) -> ChannelTiming:
    return ChannelTiming(**values)


class ChannelSettingsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def overrides(self) -> dict[str, ChannelTiming]:
        """The channels an admin has configured; the others use the shipped defaults."""
        rows = await self._conn.execute(_ALL)
        return {r.channel: _timing(r.settings) for r in rows}

    async def updated(self, channel: str) -> tuple[datetime, uuid.UUID | None] | None:
        row = (
            await self._conn.execute(
                sa.select(channel_settings.c.updated_at, channel_settings.c.updated_by).where(
                    channel_settings.c.channel == channel
                )
            )
        ).first()
        return (row.updated_at, row.updated_by) if row else None

    async def put(
        self, channel: str, timing: ChannelTiming, now: datetime, by: uuid.UUID | None
    ) -> None:
        await self._conn.execute(
            channel_settings.delete().where(channel_settings.c.channel == channel)
        )
        await self._conn.execute(
            channel_settings.insert().values(
                channel=channel, settings=timing.as_dict(), updated_at=now, updated_by=by
            )
        )

    async def reset(self, channel: str) -> bool:
        result = await self._conn.execute(
            channel_settings.delete().where(channel_settings.c.channel == channel)
        )
        return result.rowcount == 1
