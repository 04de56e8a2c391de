"""The append-only event log."""

from __future__ import annotations

import dataclasses
import functools
import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.schema import event_sequence, events
from threadline.core.events import Event


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    type: str
    occurred_at: datetime
    actor: str
    conversation_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    queue: str | None
    payload: dict[str, Any]

    def row(self) -> dict[str, Any]:
        """The `events` row: its columns are this class's fields, one for one."""
        return {name: getattr(self, name) for name in _FIELDS}

    @functools.cached_property
    def json_text(self) -> str:
        """`as_json` encoded, once per event however many subscribers it goes to."""
        return json.dumps(self.as_json(), separators=(",", ":"), ensure_ascii=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat(),
            "actor": self.actor,
            "conversation_id": str(self.conversation_id) if self.conversation_id else None,
            "agent_id": str(self.agent_id) if self.agent_id else None,
            "queue": self.queue,
            "payload": self.payload,
        }


# The `events` table's columns are StoredEvent's fields, one for one, both ways.
_FIELDS = tuple(f.name for f in dataclasses.fields(StoredEvent))

# Built once: these run for every transaction and every stream read.
_ALLOCATE = (
    event_sequence.update()
    .where(event_sequence.c.id == 1)
    .values(last_seq=event_sequence.c.last_seq + sa.bindparam("n", type_=sa.BigInteger))
    .returning(event_sequence.c.last_seq)
)
_AFTER = (
    sa.select(events)
    .where(events.c.seq > sa.bindparam("seq", type_=sa.BigInteger))
    .order_by(events.c.seq)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


class EventRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def append(self, batch: Sequence[Event]) -> list[StoredEvent]:
        """Insert `batch` with consecutive sequence numbers; return it as stored.

        Call this last in the transaction: the counter row stays locked until commit,
        which is what makes commit order equal sequence order, and holding it for the
        shortest time keeps concurrent writers flowing.
        """
        result = await self._conn.execute(_ALLOCATE, {"n": len(batch)})
        last = int(result.scalar_one())
        first = last - len(batch) + 1
        stored = [
            StoredEvent(
                seq=first + i,
                type=str(e.type),
                occurred_at=e.occurred_at,
                actor=e.actor,
                conversation_id=e.conversation_id,
                agent_id=e.agent_id,
                queue=e.queue,
                payload=e.payload,
            )
            for i, e in enumerate(batch)
        ]
        await self._conn.execute(events.insert(), [e.row() for e in stored])
        return stored

    async def head(self) -> int:
        return int((await self._conn.execute(sa.select(event_sequence.c.last_seq))).scalar_one())

    async def after(self, seq: int, *, limit: int) -> list[StoredEvent]:
        rows = await self._conn.execute(_AFTER, {"seq": seq, "limit": limit})
        return [_from_row(r) for r in rows.all()]

    async def for_conversation(
        self, conversation_id: uuid.UUID, *, limit: int
    ) -> list[StoredEvent]:
        rows = await self._conn.execute(
            sa.select(events)
            .where(events.c.conversation_id == conversation_id)
            .order_by(events.c.seq.desc())
            .limit(limit)
        )
        return [_from_row(r) for r in reversed(rows.all())]

    async def conversations_with(
        self, type: str, since: datetime, until: datetime
    ) -> set[uuid.UUID]:
        """Conversations with an event of `type` in [since, until)."""
        rows = await self._conn.execute(
            sa.select(events.c.conversation_id)
            .where(
                events.c.type == type,
                events.c.occurred_at >= since,
                events.c.occurred_at < until,
                events.c.conversation_id.is_not(None),
            )
            .distinct()
        )
        return {r.conversation_id for r in rows}

    async def of_conversations(
        self, conversation_ids: Collection[uuid.UUID], types: Collection[str], since: datetime
    ) -> list[StoredEvent]:
        """Those conversations' events of `types` from `since` on, in order."""
        found: list[StoredEvent] = []
        ids = sorted(conversation_ids)
        # In slices: a bound parameter list has a limit (SQLite's is 32766).
        for start in range(0, len(ids), 500):
            rows = await self._conn.execute(
                sa.select(events)
                .where(
                    events.c.conversation_id.in_(ids[start : start + 500]),
                    events.c.type.in_(sorted(types)),
                    events.c.occurred_at >= since,
                )
                .order_by(events.c.seq)
            )
            found.extend(_from_row(r) for r in rows)
        return found

    async def of_types_between(
        self, types: Collection[str], since: datetime, until: datetime
    ) -> list[StoredEvent]:
        """Every event of `types` in [since, until), in order: one range of the
        (type, occurred_at) index per type, on SQLite and PostgreSQL alike."""
        rows = await self._conn.execute(
            sa.select(events)
            .where(
                events.c.type.in_(sorted(types)),
                events.c.occurred_at >= since,
                events.c.occurred_at < until,
            )
            .order_by(events.c.seq)
        )
        return [_from_row(r) for r in rows]

    async def of_conversations_before(
        self, conversation_ids: Collection[uuid.UUID], types: Collection[str], until: datetime
    ) -> list[StoredEvent]:
        """Those conversations' events of `types` before `until` (their history), in order."""
        found: list[StoredEvent] = []
        ids = sorted(conversation_ids)
        for start in range(0, len(ids), 500):
            rows = await self._conn.execute(
                sa.select(events).where(
                    events.c.conversation_id.in_(ids[start : start + 500]),
                    events.c.type.in_(sorted(types)),
                    events.c.occurred_at < until,
                )
            )
            found.extend(_from_row(r) for r in rows)
        found.sort(key=lambda e: e.seq)
        return found

    async def first_of_agents(
        self, type: str, agent_ids: Collection[uuid.UUID], since: datetime
    ) -> dict[uuid.UUID, StoredEvent]:
        """Each agent's first event of `type` at or after `since`, if any."""
        found: dict[uuid.UUID, StoredEvent] = {}
        ids = sorted(agent_ids)
        for start in range(0, len(ids), 500):
            first = (
                sa.select(sa.func.min(events.c.seq).label("seq"))
                .where(
                    events.c.type == type,
                    events.c.occurred_at >= since,
                    events.c.agent_id.in_(ids[start : start + 500]),
                )
                .group_by(events.c.agent_id)
                .subquery()
            )
            rows = await self._conn.execute(
                sa.select(events).join(first, events.c.seq == first.c.seq)
            )
            for r in rows:
                event = _from_row(r)
                assert event.agent_id is not None
                found[event.agent_id] = event
        return found


def _from_row(r: Any) -> StoredEvent:
    return StoredEvent(**r._mapping)
