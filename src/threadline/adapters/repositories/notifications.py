"""Notifications, their batches and their decisions (core.proactive.notification).

Writes are set-based (one executemany per statement), since a batch is thousands of
rows and the dispatcher decides on hundreds per transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.schema_proactive import notification_batches as batches
from threadline.adapters.schema_proactive import notification_decisions as decisions
from threadline.adapters.schema_proactive import notifications as t
from threadline.core.proactive.notification import (
    Decided,
    DecisionRecord,
    Notification,
    NotificationState,
    ReplyOutcome,
)
from threadline.core.proactive.purposes import Purpose

_MUTABLE = (
    "state",
    "due_at",
    "rule",
    "sent_channel",
    "inbox_id",
    "conversation_id",
    "message_id",
    "failed_channels",
    "sent_at",
    "delivered_at",
    "replied_at",
    "reply_until",
    "outcome",
    "webhook",
    "webhook_due_at",
    "updated_at",
)


def _from_row(r: Any) -> Notification:
    return Notification(
        id=r.id,
        template_id=r.template_id,
        purpose=Purpose(r.purpose),
        customer_id=r.customer_id,
        variables=dict(r.variables),
        due_at=r.due_at,
        created_at=r.created_at,
        updated_at=r.updated_at,
        state=NotificationState(r.state),
        batch_id=r.batch_id,
        reference=r.reference,
        language=r.language,
        channel=r.channel,
        timezone=r.timezone,
        region=r.region,
        debt_reference=r.debt_reference,
        expires_at=r.expires_at,
        rule=r.rule,
        sent_channel=r.sent_channel,
        inbox_id=r.inbox_id,
        conversation_id=r.conversation_id,
        message_id=r.message_id,
        failed_channels=tuple(r.failed_channels),
        sent_at=r.sent_at,
        delivered_at=r.delivered_at,
        replied_at=r.replied_at,
        reply_until=r.reply_until,
        outcome=ReplyOutcome(r.outcome) if r.outcome else None,
        webhook=r.webhook,
        webhook_due_at=r.webhook_due_at,
    )


def _mutable(n: Notification) -> dict[str, Any]:
    return {
        "state": str(n.state),
        "due_at": n.due_at,
        "rule": n.rule,
        "sent_channel": n.sent_channel,
        "inbox_id": n.inbox_id,
        "conversation_id": n.conversation_id,
        "message_id": n.message_id,
        "failed_channels": list(n.failed_channels),
        "sent_at": n.sent_at,
        "delivered_at": n.delivered_at,
        "replied_at": n.replied_at,
        "reply_until": n.reply_until,
        "outcome": str(n.outcome) if n.outcome else None,
        "webhook": n.webhook,
        "webhook_due_at": n.webhook_due_at,
        "updated_at": n.updated_at,
    }


def _row(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "template_id": n.template_id,
        "purpose": str(n.purpose),
        "batch_id": n.batch_id,
        "customer_id": n.customer_id,
        "reference": n.reference,
        "variables": n.variables,
        "language": n.language,
        "channel": n.channel,
        "timezone": n.timezone,
        "region": n.region,
        "debt_reference": n.debt_reference,
        "expires_at": n.expires_at,
        "created_at": n.created_at,
        **_mutable(n),
    }


@dataclass(frozen=True)
class Sent:
    """A notification that went out, as caps and Regulation F count it."""

    customer_id: uuid.UUID
    purpose: Purpose
    channel: str
    at: datetime
    debt_reference: str | None


@dataclass(frozen=True)
class Referenced:
    """The notification stored under a reference: what a repeat must match."""

    id: uuid.UUID
    template_id: uuid.UUID
    customer_id: uuid.UUID


@dataclass(frozen=True)
class Batch:
    id: uuid.UUID
    template_id: uuid.UUID
    created_by: str
    created_at: datetime
    rows: int
    accepted: int
    errors: list[dict[str, Any]]


@dataclass(frozen=True)
class StoredDecision:
    seq: int
    record: DecisionRecord


class NotificationRepository:
    def __init__(self, conn: AsyncConnection, *, lock_rows: bool) -> None:
        self._conn = conn
        self._lock_rows = lock_rows

    async def add_all(self, items: Sequence[Notification]) -> None:
        if items:
            await self._conn.execute(t.insert(), [_row(n) for n in items])

    async def save_all(self, items: Iterable[Notification]) -> None:
        params = [{"_id": n.id, **_mutable(n)} for n in items]
        if params:
            await self._conn.execute(
                t.update()
                .where(t.c.id == sa.bindparam("_id"))
                .values({c: sa.bindparam(c) for c in _MUTABLE}),
                params,
            )

    async def get(
        self, notification_id: uuid.UUID, *, for_update: bool = False
    ) -> Notification | None:
        query = t.select().where(t.c.id == notification_id)
        if for_update and self._lock_rows:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return _from_row(row) if row else None

    async def for_message(self, message_id: uuid.UUID) -> Notification | None:
        query = t.select().where(t.c.message_id == message_id)
        if self._lock_rows:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return _from_row(row) if row else None

    async def existing_references(self, references: Iterable[str]) -> dict[str, Referenced]:
        wanted = list(set(references))
        found: dict[str, Referenced] = {}
        # In chunks: a 100,000-row upload must not become one statement with 100,000
        # parameters (SQLite's limit is 32,766).
        for i in range(0, len(wanted), 5000):
            rows = await self._conn.execute(
                sa.select(t.c.reference, t.c.id, t.c.template_id, t.c.customer_id).where(
                    t.c.reference.in_(wanted[i : i + 5000])
                )
            )
            found.update(
                (r.reference, Referenced(r.id, r.template_id, r.customer_id)) for r in rows
            )
        return found

    async def due(self, now: datetime, limit: int) -> list[Notification]:
        """Pending notifications due by `now`, oldest first, locked; SKIP LOCKED lets
        several dispatchers work side by side without deciding on one twice."""
        query = (
            t.select()
            .where(t.c.state == str(NotificationState.PENDING), t.c.due_at <= now)
            .order_by(t.c.due_at)
            .limit(limit)
        )
        if self._lock_rows:
            query = query.with_for_update(skip_locked=True)
        return [_from_row(r) for r in await self._conn.execute(query)]

    async def any_due(self, now: datetime) -> bool:
        """Whether a dispatch or webhook round would find work: an idle worker reads
        this instead of opening a write transaction every tick."""
        pending = t.select().where(t.c.state == str(NotificationState.PENDING), t.c.due_at <= now)
        hooks = t.select().where(t.c.webhook_due_at.is_not(None), t.c.webhook_due_at <= now)
        found = await self._conn.scalar(sa.select(sa.or_(pending.exists(), hooks.exists())))
        return bool(found)

    async def webhooks_due(self, now: datetime, limit: int) -> list[Notification]:
        query = (
            t.select()
            .where(t.c.webhook_due_at.is_not(None), t.c.webhook_due_at <= now)
            .order_by(t.c.webhook_due_at)
            .limit(limit)
        )
        if self._lock_rows:
            query = query.with_for_update(skip_locked=True)
        return [_from_row(r) for r in await self._conn.execute(query)]

    async def awaiting_reply(
        self, conversation_ids: Iterable[uuid.UUID], now: datetime
    ) -> dict[uuid.UUID, Notification]:
        """The notification each conversation's customer may be answering: the latest
        one sent there whose reply window is open."""
        ids = list(set(conversation_ids))
        if not ids:
            return {}
        query = (
            t.select()
            .where(
                t.c.conversation_id.in_(ids), t.c.reply_until.is_not(None), t.c.reply_until > now
            )
            .order_by(t.c.sent_at)
        )
        if self._lock_rows:
            query = query.with_for_update()
        return {r.conversation_id: _from_row(r) for r in await self._conn.execute(query)}

    async def debts_notified(
        self, conversations: dict[uuid.UUID, uuid.UUID], since: datetime
    ) -> dict[uuid.UUID, dict[tuple[uuid.UUID, str], datetime]]:
        """Per conversation (`conversations`: id → its customer), the debts collections
        notices sent into it after `since` were about: (customer, debt) → when the
        latest about it was sent. Looked up by customer, whose index on `sent_at` keeps
        it to the notices of these customers in the period."""
        found: dict[uuid.UUID, dict[tuple[uuid.UUID, str], datetime]] = {}
        customers = list(set(conversations.values()))
        for i in range(0, len(customers), 5000):
            rows = await self._conn.execute(
                sa.select(
                    t.c.conversation_id,
                    t.c.customer_id,
                    t.c.debt_reference,
                    sa.func.max(t.c.sent_at).label("sent_at"),
                )
                .where(
                    t.c.customer_id.in_(customers[i : i + 5000]),
                    t.c.sent_at > since,
                    t.c.purpose == str(Purpose.COLLECTIONS),
                    t.c.debt_reference.is_not(None),
                )
                .group_by(t.c.conversation_id, t.c.customer_id, t.c.debt_reference)
            )
            for r in rows:
                if r.conversation_id in conversations:
                    debts = found.setdefault(r.conversation_id, {})
                    debts[(r.customer_id, r.debt_reference)] = r.sent_at
        return found

    async def sent_to(self, customer_ids: Iterable[uuid.UUID], since: datetime) -> list[Sent]:
        ids = list(set(customer_ids))
        found: list[Sent] = []
        for i in range(0, len(ids), 5000):
            rows = await self._conn.execute(
                sa.select(
                    t.c.customer_id, t.c.purpose, t.c.sent_channel, t.c.sent_at, t.c.debt_reference
                ).where(
                    t.c.customer_id.in_(ids[i : i + 5000]),
                    t.c.sent_at.is_not(None),
                    t.c.sent_at > since,
                )
            )
            found.extend(
                Sent(r.customer_id, Purpose(r.purpose), r.sent_channel, r.sent_at, r.debt_reference)
                for r in rows
            )
        return found

    async def listing(
        self,
        *,
        customer_id: uuid.UUID | None = None,
        batch_id: uuid.UUID | None = None,
        template_id: uuid.UUID | None = None,
        state: NotificationState | None = None,
        limit: int = 100,
        before: datetime | None = None,
        before_id: uuid.UUID | None = None,
    ) -> list[Notification]:
        """Newest first; a page after the one ending with row (`before`, `before_id`).
        A batch's rows share their `created_at`, so the id breaks the tie."""
        query = t.select().order_by(t.c.created_at.desc(), t.c.id.desc()).limit(limit)
        if customer_id is not None:
            query = query.where(t.c.customer_id == customer_id)
        if batch_id is not None:
            query = query.where(t.c.batch_id == batch_id)
        if template_id is not None:
            query = query.where(t.c.template_id == template_id)
        if state is not None:
            query = query.where(t.c.state == str(state))
        if before is not None and before_id is not None:
            query = query.where(
                sa.or_(
                    t.c.created_at < before,
                    sa.and_(t.c.created_at == before, t.c.id < before_id),
                )
            )
        elif before is not None:
            query = query.where(t.c.created_at < before)
        return [_from_row(r) for r in await self._conn.execute(query)]

    async def counts(self, batch_id: uuid.UUID) -> dict[str, int]:
        rows = await self._conn.execute(
            sa.select(t.c.state, sa.func.count())
            .where(t.c.batch_id == batch_id)
            .group_by(t.c.state)
        )
        return {r[0]: r[1] for r in rows}

    # -- decisions ----------------------------------------------------------------

    async def record(self, records: Iterable[DecisionRecord]) -> None:
        params = [
            {
                "notification_id": r.notification_id,
                "customer_id": r.customer_id,
                "template_id": r.template_id,
                "at": r.at,
                "decision": str(r.decision),
                "channel": r.channel,
                "rule": r.rule,
                "until": r.until,
                "detail": r.detail,
            }
            for r in records
        ]
        if params:
            await self._conn.execute(decisions.insert(), params)

    async def decisions(
        self,
        *,
        notification_id: uuid.UUID | None = None,
        customer_id: uuid.UUID | None = None,
        after: int = 0,
        limit: int = 1000,
    ) -> list[StoredDecision]:
        d = decisions.c
        query = decisions.select().where(d.seq > after).order_by(d.seq).limit(limit)
        if notification_id is not None:
            query = query.where(d.notification_id == notification_id)
        if customer_id is not None:
            query = query.where(d.customer_id == customer_id)
        return [
            StoredDecision(
                r.seq,
                DecisionRecord(
                    r.notification_id,
                    r.customer_id,
                    r.template_id,
                    r.at,
                    Decided(r.decision),
                    r.channel,
                    r.rule,
                    r.until,
                    dict(r.detail),
                ),
            )
            for r in await self._conn.execute(query)
        ]

    # -- batches ------------------------------------------------------------------

    async def add_batch(self, batch: Batch) -> None:
        await self._conn.execute(
            batches.insert().values(
                id=batch.id,
                template_id=batch.template_id,
                created_by=batch.created_by,
                created_at=batch.created_at,
                rows=batch.rows,
                accepted=batch.accepted,
                errors=batch.errors,
            )
        )

    async def finish_batch(
        self, batch_id: uuid.UUID, accepted: int, errors: list[dict[str, Any]]
    ) -> None:
        await self._conn.execute(
            batches.update()
            .where(batches.c.id == batch_id)
            .values(accepted=accepted, errors=errors)
        )

    async def batch(self, batch_id: uuid.UUID) -> Batch | None:
        r = (await self._conn.execute(batches.select().where(batches.c.id == batch_id))).first()
        if r is None:
            return None
        return Batch(
            r.id, r.template_id, r.created_by, r.created_at, r.rows, r.accepted, list(r.errors)
        )
