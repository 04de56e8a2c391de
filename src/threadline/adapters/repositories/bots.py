"""Inboxes' bots, queues' business hours, and conversations' time with a bot."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.schema import conversation_bots as cb
from threadline.adapters.schema import conversations
from threadline.adapters.schema import inbox_bots as ib
from threadline.adapters.schema import queue_hours as qh
from threadline.core.bots.config import BotKind, InboxBot
from threadline.core.bots.hours import BusinessHours, hours_from_json, hours_to_json
from threadline.core.bots.state import BotState
from threadline.core.lifecycle import ConversationState


@dataclass(frozen=True)
class BotSession:
    """A conversation's time with a bot, as the bot worker reads and writes it."""

    conversation_id: uuid.UUID
    state: BotState
    # The thread's last customer message the bot has answered.
    read_seq: int
    pending: bool
    # This time with the bot (core's turns are checked against it, calls keyed by it).
    token: str
    version: int
    attempts: int = 0
    routine: str | None = None
    lease_until: datetime | None = None
    secure_kind: str | None = None
    # Clear secure answers by message number, until the bot has read them.
    secure_input: Mapping[str, str] = field(default_factory=dict)


def _bot(r: Any) -> InboxBot:
    return InboxBot(
        inbox_id=r.inbox_id,
        kind=BotKind(r.kind),
        name=r.name,
        updated_at=r.updated_at,
        flow=r.flow,
        url=r.url,
        timeout_seconds=r.timeout_seconds,
        secret_name=r.secret_name,
    )


def _session(r: Any) -> BotSession:
    return BotSession(
        conversation_id=r.conversation_id,
        state=BotState.from_json(r.state),
        read_seq=r.read_seq,
        pending=r.pending,
        token=r.token,
        version=r.version,
        attempts=r.attempts,
        routine=r.routine,
        lease_until=r.lease_until,
        secure_kind=r.secure_kind,
        secure_input=dict(r.secure_input or {}),
    )


class BotRepository:
    def __init__(self, conn: AsyncConnection, *, lock_rows: bool) -> None:
        self._conn = conn
        self._lock_rows = lock_rows

    # -- inboxes' bots ----------------------------------------------------------------

    async def for_inbox(self, inbox_id: uuid.UUID) -> InboxBot | None:
        row = (await self._conn.execute(ib.select().where(ib.c.inbox_id == inbox_id))).first()
        return _bot(row) if row else None

    async def all(self) -> list[InboxBot]:
        return [_bot(r) for r in await self._conn.execute(ib.select())]

    async def names_for(self, inbox_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The bot serving each of these inboxes that has one."""
        ids = sorted(set(inbox_ids))
        if not ids:
            return {}
        rows = await self._conn.execute(
            sa.select(ib.c.inbox_id, ib.c.name).where(ib.c.inbox_id.in_(ids))
        )
        return {r.inbox_id: r.name for r in rows}

    async def put(self, bot: InboxBot) -> None:
        await self._conn.execute(ib.delete().where(ib.c.inbox_id == bot.inbox_id))
        await self._conn.execute(
            ib.insert().values(
                inbox_id=bot.inbox_id,
                kind=str(bot.kind),
                name=bot.name,
                flow=bot.flow,
                url=bot.url,
                timeout_seconds=bot.timeout_seconds,
                secret_name=bot.secret_name,
                updated_at=bot.updated_at,
            )
        )

    async def remove(self, inbox_id: uuid.UUID) -> bool:
        result = await self._conn.execute(ib.delete().where(ib.c.inbox_id == inbox_id))
        return bool(result.rowcount)

    async def with_bot(self, inbox_id: uuid.UUID) -> list[uuid.UUID]:
        """The inbox's conversations a bot has now."""
        rows = await self._conn.execute(
            sa.select(conversations.c.id).where(
                conversations.c.inbox_id == inbox_id,
                conversations.c.state == str(ConversationState.BOT),
            )
        )
        return sorted(r.id for r in rows)

    # -- queues' hours ----------------------------------------------------------------

    async def hours(self) -> dict[str, BusinessHours]:
        rows = await self._conn.execute(qh.select())
        return {r.queue: hours_from_json(r.hours) for r in rows}

    async def put_hours(self, queue: str, hours: BusinessHours, now: datetime) -> None:
        await self._conn.execute(qh.delete().where(qh.c.queue == queue))
        await self._conn.execute(
            qh.insert().values(queue=queue, hours=hours_to_json(hours), updated_at=now)
        )

    async def remove_hours(self, queue: str) -> bool:
        result = await self._conn.execute(qh.delete().where(qh.c.queue == queue))
        return bool(result.rowcount)

    # -- conversations' time with a bot -------------------------------------------------

    async def session(
        self, conversation_id: uuid.UUID, *, for_update: bool = False
    ) -> BotSession | None:
        query = cb.select().where(cb.c.conversation_id == conversation_id)
        if for_update and self._lock_rows:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return _session(row) if row else None

    async def secure_kinds(self, conversation_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Conversations whose bot waits on a secure answer, and the answer's kind."""
        ids = sorted(set(conversation_ids))
        if not ids:
            return {}
        rows = await self._conn.execute(
            sa.select(cb.c.conversation_id, cb.c.secure_kind).where(
                cb.c.conversation_id.in_(ids), cb.c.secure_kind.is_not(None)
            )
        )
        return {r.conversation_id: r.secure_kind for r in rows}

    async def begin(
        self,
        conversation_id: uuid.UUID,
        now: datetime,
        *,
        read_seq: int,
        routine: str | None = None,
        secure_kind: str | None = None,
    ) -> None:
        """A bot takes the conversation: a fresh state, with work waiting.
        `secure_kind`: the routine opens with a secure question, so even an answer
        typed before the bot asks it is stored masked."""
        await self._conn.execute(cb.delete().where(cb.c.conversation_id == conversation_id))
        await self._conn.execute(
            cb.insert().values(
                conversation_id=conversation_id,
                state=BotState().as_json(),
                read_seq=read_seq,
                pending=True,
                routine=routine,
                lease_until=None,
                attempts=0,
                secure_kind=secure_kind,
                secure_input=None,
                token=uuid.uuid4().hex,
                version=1,
                updated_at=now,
            )
        )

    async def mark_pending(
        self, conversation_id: uuid.UUID, now: datetime, secure: tuple[int, str] | None = None
    ) -> None:
        """A customer message for the bot. `secure`: its number and clear text, kept
        aside for the bot while the thread stores it masked."""
        values: dict[str, Any] = {"pending": True, "updated_at": now}
        if secure is not None:
            current = await self.session(conversation_id)
            held = dict(current.secure_input) if current else {}
            held[str(secure[0])] = secure[1]
            values["secure_input"] = held
        await self._conn.execute(
            cb.update().where(cb.c.conversation_id == conversation_id).values(**values)
        )

    async def end(self, conversation_id: uuid.UUID) -> None:
        """The bot's part is over: its row goes, and with it anything the customer told
        it in confidence."""
        await self._conn.execute(cb.delete().where(cb.c.conversation_id == conversation_id))

    async def sweepable(self) -> bool:
        gone = sa.select(conversations.c.id).where(
            conversations.c.state != str(ConversationState.BOT)
        )
        query = sa.select(cb.c.conversation_id).where(cb.c.conversation_id.in_(gone)).limit(1)
        return (await self._conn.execute(query)).first() is not None

    async def sweep(self) -> int:
        """Rows of conversations the bot no longer has (closed by a supervisor, a timer,
        an opt-out): gone, with any secure answer they held."""
        gone = sa.select(conversations.c.id).where(
            conversations.c.state != str(ConversationState.BOT)
        )
        result = await self._conn.execute(cb.delete().where(cb.c.conversation_id.in_(gone)))
        return int(result.rowcount or 0)

    async def back_off(self, conversation_id: uuid.UUID, until: datetime) -> None:
        """A turn that failed is tried again at `until`, not when its lease runs out."""
        await self._conn.execute(
            cb.update().where(cb.c.conversation_id == conversation_id).values(lease_until=until)
        )

    async def claimable(self, now: datetime, limit: int, *, lock: bool = True) -> list[uuid.UUID]:
        """Conversations with work for the bot and no live lease, oldest first, locked
        (SKIP LOCKED: several workers claim side by side) unless `lock` is False (a
        look before claiming)."""
        free = cb.c.lease_until.is_(None) | (cb.c.lease_until <= now)
        query = (
            sa.select(cb.c.conversation_id)
            .where(cb.c.pending.is_(True), free)
            .order_by(cb.c.updated_at)
            .limit(limit)
        )
        if self._lock_rows and lock:
            query = query.with_for_update(skip_locked=True)
        return [r.conversation_id for r in await self._conn.execute(query)]

    async def lease(self, conversation_ids: Iterable[uuid.UUID], until: datetime) -> None:
        ids = sorted(set(conversation_ids))
        if ids:
            await self._conn.execute(
                cb.update()
                .where(cb.c.conversation_id.in_(ids))
                .values(lease_until=until, attempts=cb.c.attempts + 1)
            )

    async def save(self, s: BotSession, now: datetime) -> None:
        """Writes the session back, a new version: a turn computed from the one before
        is discarded when it comes to be applied."""
        await self._conn.execute(
            cb.update()
            .where(cb.c.conversation_id == s.conversation_id)
            .values(
                state=s.state.as_json(),
                read_seq=s.read_seq,
                pending=s.pending,
                routine=s.routine,
                lease_until=s.lease_until,
                attempts=s.attempts,
                secure_kind=s.secure_kind,
                secure_input=dict(s.secure_input) or None,
                version=s.version + 1,
                updated_at=now,
            )
        )
