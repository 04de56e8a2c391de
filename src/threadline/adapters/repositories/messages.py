"""Messages."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.repositories.sets import DIALECTS, one_of
from threadline.adapters.schema import conversations, messages, outbox
from threadline.core.classify import MessageKind
from threadline.core.messages import Attachment, DeliveryStatus, Direction, Message, SenderType
from threadline.core.outbox import OutboxState

# Hot-path statements, built once (see conversations._SAVE for why).
_COLUMNS = [c.name for c in messages.columns]
_STORED_EXTERNAL_IDS = {
    dialect: sa.select(messages.c.external_id, messages.c.id, messages.c.conversation_id).where(
        messages.c.inbox_id == sa.bindparam("inbox_id", type_=messages.c.inbox_id.type),
        one_of(messages.c.external_id, "external_ids", dialect),
    )
    for dialect in DIALECTS
}
_INSERT = messages.insert().values({c: sa.bindparam(c, type_=messages.c[c].type) for c in _COLUMNS})


@dataclass(frozen=True)
class StoredRef:
    message_id: uuid.UUID
    conversation_id: uuid.UUID


class MessageRepository:
    def __init__(self, conn: AsyncConnection, *, lock_rows: bool) -> None:
        self._conn = conn
        self._lock_rows = lock_rows

    async def add(self, msg: Message) -> None:
        await self.add_all([msg])

    async def add_all(self, msgs: Sequence[Message]) -> None:
        """Insert many in one round trip (an executemany)."""
        if msgs:
            await self._conn.execute(_INSERT, [_values(m) for m in msgs])

    async def stored_external_ids(
        self, inbox_id: uuid.UUID, external_ids: Collection[str]
    ) -> dict[str, StoredRef]:
        """Which of `external_ids` this inbox has stored, and as which message."""
        if not external_ids:
            return {}
        params = {"inbox_id": inbox_id, "external_ids": sorted(external_ids)}
        query = _STORED_EXTERNAL_IDS[self._conn.dialect.name]
        rows = (await self._conn.execute(query, params)).all()
        return {r.external_id: StoredRef(r.id, r.conversation_id) for r in rows}

    async def get(self, message_id: uuid.UUID, *, for_update: bool = False) -> Message | None:
        query = sa.select(messages).where(messages.c.id == message_id)
        if for_update and self._lock_rows:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return _from_row(row) if row else None

    async def many(self, message_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Message]:
        """These messages by id, in one query (an outbox round's)."""
        if not message_ids:
            return {}
        rows = await self._conn.execute(
            sa.select(messages).where(messages.c.id.in_(sorted(message_ids)))
        )
        return {r.id: _from_row(r) for r in rows}

    async def for_conversation(
        self, conversation_id: uuid.UUID, *, limit: int, before_seq: int | None = None
    ) -> list[Message]:
        """The newest `limit` messages (before `before_seq`, if given), oldest first."""
        query = sa.select(messages).where(messages.c.conversation_id == conversation_id)
        if before_seq is not None:
            query = query.where(messages.c.seq < before_seq)
        rows = (await self._conn.execute(query.order_by(messages.c.seq.desc()).limit(limit))).all()
        return [_from_row(r) for r in reversed(rows)]

    async def last_of(self, numbered: dict[uuid.UUID, int]) -> dict[uuid.UUID, Message]:
        """The last message of each conversation, given each one's message count (its last
        message's number): one query for a page of conversations."""
        pairs = [(cid, seq) for cid, seq in numbered.items() if seq > 0]
        if not pairs:
            return {}
        query = sa.select(messages).where(
            sa.tuple_(messages.c.conversation_id, messages.c.seq).in_(pairs)
        )
        return {r.conversation_id: _from_row(r) for r in (await self._conn.execute(query)).all()}

    async def after(
        self, conversation_id: uuid.UUID, *, after_seq: int, limit: int
    ) -> list[Message]:
        """The messages after `after_seq`, oldest first (a client catching up)."""
        query = (
            sa.select(messages)
            .where(messages.c.conversation_id == conversation_id, messages.c.seq > after_seq)
            .order_by(messages.c.seq)
            .limit(limit)
        )
        return [_from_row(r) for r in (await self._conn.execute(query)).all()]

    async def unread_counts(self, conversation_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Customer messages after each conversation's agent read marker."""
        if not conversation_ids:
            return {}
        query = (
            sa.select(messages.c.conversation_id, sa.func.count().label("n"))
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .where(
                messages.c.conversation_id.in_(list(conversation_ids)),
                messages.c.direction == str(Direction.INBOUND),
                messages.c.seq > conversations.c.agent_read_seq,
            )
            .group_by(messages.c.conversation_id)
        )
        return {r.conversation_id: r.n for r in (await self._conn.execute(query)).all()}

    async def advance_outbound(
        self,
        conversation_id: uuid.UUID,
        *,
        up_to_seq: int,
        before: Collection[DeliveryStatus],
        to: DeliveryStatus,
        at: datetime,
    ) -> list[Message]:
        """Move the outbound messages up to `up_to_seq` that are still in one of the
        `before` statuses to `to`; returns them as they were (for their events)."""
        where = (
            messages.c.conversation_id == conversation_id,
            messages.c.direction == str(Direction.OUTBOUND),
            messages.c.seq <= up_to_seq,
            messages.c.delivery_status.in_([str(s) for s in before]),
        )
        query = sa.select(messages).where(*where).order_by(messages.c.seq)
        if self._lock_rows:
            query = query.with_for_update()
        found = [_from_row(r) for r in (await self._conn.execute(query)).all()]
        if found:
            await self._conn.execute(
                messages.update()
                .where(messages.c.id.in_([m.id for m in found]))
                .values(delivery_status=str(to), status_updated_at=at)
            )
        return found

    async def pending_outbound(self, inbox_id: uuid.UUID, *, limit: int) -> list[Message]:
        rows = (
            await self._conn.execute(
                sa.select(messages)
                .where(
                    messages.c.inbox_id == inbox_id,
                    messages.c.direction == str(Direction.OUTBOUND),
                    messages.c.delivery_status == str(DeliveryStatus.QUEUED),
                )
                # A bot's several replies share their time: the thread's order is seq.
                .order_by(messages.c.created_at, messages.c.conversation_id, messages.c.seq)
                .limit(limit)
            )
        ).all()
        return [_from_row(r) for r in rows]

    async def set_status(
        self,
        message_id: uuid.UUID,
        status: DeliveryStatus,
        at: datetime,
        error: str | None = None,
    ) -> None:
        await self._conn.execute(
            messages.update()
            .where(messages.c.id == message_id)
            .values(delivery_status=str(status), status_updated_at=at, delivery_error=error)
        )

    async def set_external_id(self, message_id: uuid.UUID, external_id: str) -> None:
        """The provider's id of an outbound message, which its status callbacks name."""
        await self._conn.execute(
            messages.update().where(messages.c.id == message_id).values(external_id=external_id)
        )

    async def by_external_id(
        self, inbox_id: uuid.UUID, external_id: str, *, for_update: bool = False
    ) -> Message | None:
        query = messages.select().where(
            messages.c.inbox_id == inbox_id, messages.c.external_id == external_id
        )
        if for_update and self._lock_rows:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return _from_row(row) if row else None

    async def outbound_to_customer(
        self,
        inbox_id: uuid.UUID,
        customer_id: uuid.UUID,
        *,
        up_to: datetime,
        statuses: Collection[DeliveryStatus],
        in_flight: bool,
        limit: int,
    ) -> list[Message]:
        """The outbound messages of an inbox to one customer, written up to `up_to` and
        still in one of `statuses` (with `in_flight`, also those whose send is under way:
        queued, their outbox row taken by a worker), oldest first, locked: what a
        provider's watermark ("everything sent before this instant was delivered")
        covers."""
        wanted: sa.ColumnElement[bool] = messages.c.delivery_status.in_([str(s) for s in statuses])
        if in_flight:
            sending = sa.select(outbox.c.message_id).where(
                outbox.c.state == str(OutboxState.SENDING)
            )
            wanted = sa.or_(
                wanted,
                sa.and_(
                    messages.c.delivery_status == str(DeliveryStatus.QUEUED),
                    messages.c.id.in_(sending),
                ),
            )
        query = (
            sa.select(messages)
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .where(
                messages.c.inbox_id == inbox_id,
                conversations.c.customer_id == customer_id,
                messages.c.direction == str(Direction.OUTBOUND),
                messages.c.created_at <= up_to,
                wanted,
            )
            .order_by(messages.c.created_at, messages.c.id)
            .limit(limit)
        )
        if self._lock_rows:
            query = query.with_for_update(of=messages)
        return [_from_row(r) for r in (await self._conn.execute(query)).all()]


def _values(msg: Message) -> dict[str, Any]:
    return {
        "id": msg.id,
        "conversation_id": msg.conversation_id,
        "seq": msg.seq,
        "session_id": msg.session_id,
        "inbox_id": msg.inbox_id,
        "direction": str(msg.direction),
        "sender_type": str(msg.sender_type),
        "sender_agent_id": msg.sender_agent_id,
        "body": msg.body,
        "external_id": msg.external_id,
        "delivery_status": str(msg.delivery_status),
        "created_at": msg.created_at,
        "status_updated_at": msg.status_updated_at,
        "kind": str(msg.kind) if msg.kind is not None else None,
        "delivery_error": msg.delivery_error,
        "attachments": [a.as_dict() for a in msg.attachments] if msg.attachments else None,
    }


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
        kind=MessageKind(r.kind) if r.kind is not None else None,
        delivery_error=r.delivery_error,
        attachments=tuple(Attachment(**a) for a in r.attachments or ()),
    )
