"""Messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.schema import messages
from threadline.core.messages import DeliveryStatus, Direction, Message, SenderType


class MessageRepository:
    def __init__(self, conn: AsyncConnection, *, lock_rows: bool) -> None:
        self._conn = conn
        self._lock_rows = lock_rows

    async def add(self, msg: Message) -> None:
        await self._conn.execute(
            messages.insert().values(
                id=msg.id,
                conversation_id=msg.conversation_id,
                seq=msg.seq,
                session_id=msg.session_id,
                inbox_id=msg.inbox_id,
                direction=str(msg.direction),
                sender_type=str(msg.sender_type),
                sender_agent_id=msg.sender_agent_id,
                body=msg.body,
                external_id=msg.external_id,
                delivery_status=str(msg.delivery_status),
                created_at=msg.created_at,
                status_updated_at=msg.status_updated_at,
            )
        )

    async def by_external_id(self, inbox_id: uuid.UUID, external_id: str) -> Message | None:
        row = (
            await self._conn.execute(
                sa.select(messages).where(
                    messages.c.inbox_id == inbox_id, messages.c.external_id == external_id
                )
            )
        ).first()
        return _from_row(row) if row else None

    async def get(self, message_id: uuid.UUID, *, for_update: bool = False) -> Message | None:
        query = sa.select(messages).where(messages.c.id == message_id)
        if for_update and self._lock_rows:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return _from_row(row) if row else None

    async def for_conversation(
        self, conversation_id: uuid.UUID, *, limit: int, before_seq: int | None = None
    ) -> list[Message]:
        """The newest `limit` messages (before `before_seq`, if given), oldest first."""
        query = sa.select(messages).where(messages.c.conversation_id == conversation_id)
        if before_seq is not None:
            query = query.where(messages.c.seq < before_seq)
        rows = (await self._conn.execute(query.order_by(messages.c.seq.desc()).limit(limit))).all()
        return [_from_row(r) for r in reversed(rows)]

    async def pending_outbound(self, inbox_id: uuid.UUID, *, limit: int) -> list[Message]:
        rows = (
            await self._conn.execute(
                sa.select(messages)
                .where(
                    messages.c.inbox_id == inbox_id,
                    messages.c.direction == str(Direction.OUTBOUND),
                    messages.c.delivery_status == str(DeliveryStatus.QUEUED),
                )
                .order_by(messages.c.created_at, messages.c.id)
                .limit(limit)
            )
        ).all()
        return [_from_row(r) for r in rows]

    async def set_status(self, message_id: uuid.UUID, status: DeliveryStatus, at: datetime) -> None:
        await self._conn.execute(
            messages.update()
            .where(messages.c.id == message_id)
            .values(delivery_status=str(status), status_updated_at=at)
        )


def _from_row(r: Any) -> Message:
    return Message(
        id=r.id,
        conversation_id=r.conversation_id,
        seq=r.seq,
        session_id=r.session_id,
        inbox_id=r.inbox_id,
        direction=Direction(r.direction),
        sender_type=SenderType(r.sender_type),
        sender_agent_id=r.sender_agent_id,
        body=r.body,
        external_id=r.external_id,
        delivery_status=DeliveryStatus(r.delivery_status),
        created_at=r.created_at,
        status_updated_at=r.status_updated_at,
    )
