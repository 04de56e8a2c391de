"""The outbox table (core.outbox.OutboxItem)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.schema import outbox as t
from threadline.core.outbox import OutboxItem, OutboxState


def _from_row(r: Any) -> OutboxItem:
    return OutboxItem(
        id=r.id,
        message_id=r.message_id,
        inbox_id=r.inbox_id,
        state=OutboxState(r.state),
        attempts=r.attempts,
        next_attempt_at=r.next_attempt_at,
        created_at=r.created_at,
        payload=r.payload,
        lease_until=r.lease_until,
        last_error=r.last_error,
        provider_id=r.provider_id,
    )


def _values(item: OutboxItem, now: datetime) -> dict[str, Any]:
    return {
        "state": str(item.state),
        "attempts": item.attempts,
        "next_attempt_at": item.next_attempt_at,
        "lease_until": item.lease_until,
        "payload": item.payload,
        "last_error": item.last_error,
        "provider_id": item.provider_id,
        "updated_at": now,
    }


class OutboxRepository:
    def __init__(self, conn: AsyncConnection, *, lock_rows: bool) -> None:
        self._conn = conn
        self._lock_rows = lock_rows

    async def add(self, item: OutboxItem) -> None:
        await self._conn.execute(
            t.insert().values(
                id=item.id,
                message_id=item.message_id,
                inbox_id=item.inbox_id,
                created_at=item.created_at,
                **_values(item, item.created_at),
            )
        )

    async def claimable(self, now: datetime, limit: int) -> list[OutboxItem]:
        """Rows due for an attempt, and rows whose worker's lease ran out, oldest first,
        locked. SKIP LOCKED lets several workers claim side by side without waiting on
        each other's rows (SQLite has one writer, so there is nothing to skip)."""
        due = (t.c.state == str(OutboxState.PENDING)) & (t.c.next_attempt_at <= now)
        lapsed = (t.c.state == str(OutboxState.SENDING)) & (t.c.lease_until <= now)
        rows: list[Any] = []
        for condition in (lapsed, due):
            query = t.select().where(condition).order_by(t.c.created_at).limit(limit - len(rows))
            if self._lock_rows:
                query = query.with_for_update(skip_locked=True)
            rows.extend(await self._conn.execute(query))
            if len(rows) >= limit:
                break
        return [_from_row(r) for r in rows]

    async def get(self, item_id: uuid.UUID, *, for_update: bool = False) -> OutboxItem | None:
        query = t.select().where(t.c.id == item_id)
        if for_update and self._lock_rows:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return _from_row(row) if row else None

    async def for_message(self, message_id: uuid.UUID) -> OutboxItem | None:
        row = (await self._conn.execute(t.select().where(t.c.message_id == message_id))).first()
        return _from_row(row) if row else None

    async def save_all(self, items: Sequence[OutboxItem], now: datetime) -> None:
        for item in items:
            await self._conn.execute(
                t.update().where(t.c.id == item.id).values(**_values(item, now))
            )

    async def backlog(self) -> dict[str, int]:
        rows = await self._conn.execute(sa.select(t.c.state, sa.func.count()).group_by(t.c.state))
        return {r[0]: r[1] for r in rows}
