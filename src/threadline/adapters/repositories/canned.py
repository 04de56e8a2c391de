"""Canned responses."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.schema import canned_responses
from threadline.core.canned import CannedResponse


class CannedRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def all(self) -> list[CannedResponse]:
        rows = await self._conn.execute(
            sa.select(canned_responses).order_by(canned_responses.c.shortcut)
        )
        return [CannedResponse(r.id, r.shortcut, r.text, r.created_at) for r in rows]

    async def shortcut_taken(self, shortcut: str) -> bool:
        query = sa.select(sa.exists().where(canned_responses.c.shortcut == shortcut))
        return bool((await self._conn.execute(query)).scalar())

    async def add(self, canned: CannedResponse) -> None:
        await self._conn.execute(
            canned_responses.insert().values(
                id=canned.id,
                shortcut=canned.shortcut,
                text=canned.text,
                created_at=canned.created_at,
            )
        )

    async def delete(self, canned_id: uuid.UUID) -> str | None:
        """Remove one; returns its shortcut, or None if there was none."""
        row = (
            await self._conn.execute(
                canned_responses.delete()
                .where(canned_responses.c.id == canned_id)
                .returning(canned_responses.c.shortcut)
            )
        ).first()
        return row.shortcut if row else None
