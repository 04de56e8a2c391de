"""Durable conversation timers: one row per running timer, with its due time."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.schema import conversation_timers
from threadline.core.lifecycle import TimerKind

_T = conversation_timers.c
# Hot-path statements, built once (see conversations._SAVE for why).
_DELETE = conversation_timers.delete().where(
    _T.conversation_id == sa.bindparam("cid", type_=_T.conversation_id.type),
    _T.kind == sa.bindparam("k", type_=_T.kind.type),
)
_VALUES = {
    "conversation_id": sa.bindparam("conversation_id", type_=_T.conversation_id.type),
    "kind": sa.bindparam("kind", type_=_T.kind.type),
    "due_at": sa.bindparam("due_at", type_=_T.due_at.type),
}
_PG_UPSERT = postgresql.insert(conversation_timers).values(_VALUES)
_SQLITE_UPSERT = sqlite.insert(conversation_timers).values(_VALUES)
_UPSERT = {
    "postgresql": _PG_UPSERT.on_conflict_do_update(
        index_elements=["conversation_id", "kind"], set_={"due_at": _PG_UPSERT.excluded.due_at}
    ),
    "sqlite": _SQLITE_UPSERT.on_conflict_do_update(
        index_elements=["conversation_id", "kind"],
        set_={"due_at": _SQLITE_UPSERT.excluded.due_at},
    ),
}


@dataclass(frozen=True)
class DueTimer:
    conversation_id: uuid.UUID
    kind: TimerKind
    due_at: datetime


class TimerRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def apply(self, changes: Mapping[tuple[uuid.UUID, TimerKind], datetime | None]) -> None:
        """Set (a due time) or cancel (None) timers: one statement per kind of change."""
        upserts = [
            {"conversation_id": cid, "kind": str(kind), "due_at": due}
            for (cid, kind), due in changes.items()
            if due is not None
        ]
        deletes = [
            {"cid": cid, "k": str(kind)} for (cid, kind), due in changes.items() if due is None
        ]
        if deletes:
            await self._conn.execute(_DELETE, deletes)
        if upserts:
            await self._conn.execute(_UPSERT[self._conn.dialect.name], upserts)

    async def due(self, now: datetime, *, limit: int) -> list[DueTimer]:
        """The earliest due timers, unlocked: the caller locks their conversations."""
        rows = await self._conn.execute(
            sa.select(conversation_timers)
            .where(_T.due_at <= now)
            .order_by(_T.due_at, _T.conversation_id, _T.kind)
            .limit(limit)
        )
        return [DueTimer(r.conversation_id, TimerKind(r.kind), r.due_at) for r in rows]

    async def due_for(
        self, conversation_ids: Collection[uuid.UUID], now: datetime
    ) -> list[DueTimer]:
        """Re-read after locking the conversations: another process may have fired some."""
        if not conversation_ids:
            return []
        rows = await self._conn.execute(
            sa.select(conversation_timers)
            .where(_T.conversation_id.in_(sorted(conversation_ids)), _T.due_at <= now)
            .order_by(_T.due_at, _T.conversation_id, _T.kind)
        )
        return [DueTimer(r.conversation_id, TimerKind(r.kind), r.due_at) for r in rows]

    async def for_conversation(self, conversation_id: uuid.UUID) -> dict[TimerKind, datetime]:
        rows = await self._conn.execute(
            sa.select(conversation_timers).where(_T.conversation_id == conversation_id)
        )
        return {TimerKind(r.kind): r.due_at for r in rows}
