"""The unit of work: one database transaction, its repositories, and its events."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.database import Database, is_busy, is_retryable
from threadline.adapters.repositories.access import AccessRepository
from threadline.adapters.repositories.agents import AgentRepository
from threadline.adapters.repositories.app_channels import AppChannelRepository
from threadline.adapters.repositories.bots import BotRepository
from threadline.adapters.repositories.canned import CannedRepository
from threadline.adapters.repositories.channels import ChannelSettingsRepository
from threadline.adapters.repositories.connections import ConnectionRepository
from threadline.adapters.repositories.consents import ConsentRepository
from threadline.adapters.repositories.conversations import ConversationRepository
from threadline.adapters.repositories.customers import CustomerRepository
from threadline.adapters.repositories.events import EventRepository, StoredEvent
from threadline.adapters.repositories.messages import MessageRepository
from threadline.adapters.repositories.notifications import NotificationRepository
from threadline.adapters.repositories.outbox import OutboxRepository
from threadline.adapters.repositories.outreach import OutreachRepository
from threadline.adapters.repositories.timers import TimerRepository
from threadline.adapters.repositories.widgets import WidgetRepository
from threadline.core.conversations import Conversation
from threadline.core.events import Event
from threadline.core.lifecycle import TimerKind
from threadline.core.pacing import Timings

T = TypeVar("T")
log = logging.getLogger(__name__)

# Three attempts: a deadlock or a lost race on a unique key resolves on the second try
# (the retry sees the winner's row); a third covers a retry that races again. More would
# only hide a real bug behind latency.
MAX_ATTEMPTS = 3
# How long a write waits for another process to release SQLite's lock before failing:
# longer than any transaction of ours, short enough to surface a stuck process.
BUSY_WAIT_SECONDS = 10.0
# Between tries for that lock: a commit elsewhere takes well under this.
BUSY_PAUSE_SECONDS = 0.01


class CommitFailed(Exception):
    """COMMIT itself failed: whether it took effect is unknown, so it is never retried."""


class HasEvents(Protocol):
    events: list[Event]


class UnitOfWork:
    def __init__(self, conn: AsyncConnection, *, lock_rows: bool) -> None:
        self.conn = conn
        self.agents = AgentRepository(conn)
        self.conversations = ConversationRepository(conn, lock_rows=lock_rows)
        self.messages = MessageRepository(conn, lock_rows=lock_rows)
        self.customers = CustomerRepository(conn)
        self.access = AccessRepository(conn)
        self.events = EventRepository(conn)
        self.timers = TimerRepository(conn)
        self.channels = ChannelSettingsRepository(conn)
        self.canned = CannedRepository(conn)
        self.widgets = WidgetRepository(conn)
        self.app_channels = AppChannelRepository(conn)
        self.connections = ConnectionRepository(conn)
        self.consents = ConsentRepository(conn)
        self.outbox = OutboxRepository(conn, lock_rows=lock_rows)
        self.bots = BotRepository(conn, lock_rows=lock_rows)
        self.notifications = NotificationRepository(conn, lock_rows=lock_rows)
        self.outreach = OutreachRepository(conn)
        self._pending: list[Event] = []
        self._timer_changes: dict[tuple[uuid.UUID, TimerKind], datetime | None] = {}
        self._timings: Timings | None = None

    async def timings(self) -> Timings:
        """The channel settings in force, read once per transaction."""
        if self._timings is None:
            self._timings = Timings(await self.channels.overrides())
        return self._timings

    def record(self, *events: Event) -> None:
        self._pending.extend(events)

    def collect(self, aggregate: HasEvents) -> None:
        """Take the events an aggregate recorded (and the timers a conversation set or
        cancelled), to be written with this transaction."""
        self._pending.extend(aggregate.events)
        aggregate.events.clear()
        if isinstance(aggregate, Conversation):
            for kind, due in aggregate.timer_changes.items():
                self._timer_changes[(aggregate.id, kind)] = due
            aggregate.timer_changes.clear()

    async def flush_events(self) -> list[StoredEvent]:
        if self._timer_changes:
            await self.timers.apply(self._timer_changes)
            self._timer_changes.clear()
        if not self._pending:
            return []
        stored = await self.events.append(self._pending)
        self._pending.clear()
        return stored


UseCase = Callable[[UnitOfWork], Awaitable[T]]


class Transactor:
    """Runs use cases: one transaction each, retried on transient conflicts, and hands
    the events of each successful commit to `on_commit` (the live stream)."""

    def __init__(
        self, db: Database, on_commit: Callable[[list[StoredEvent]], None] | None = None
    ) -> None:
        self._db = db
        self._on_commit = on_commit or (lambda _events: None)

    async def write(self, use_case: UseCase[T]) -> T:
        conflicts = 0
        busy_since: float | None = None
        while True:
            try:
                result, committed = await self._attempt(use_case)
            except IntegrityError:
                # A concurrent transaction inserted the same unique row (a customer's
                # first message twice, a provider retry): the retry reads the winner's.
                conflicts += 1
                if conflicts >= MAX_ATTEMPTS:
                    raise
                continue
            except CommitFailed:
                raise
            except Exception as exc:
                if is_busy(exc):
                    # Another process holds SQLite's write lock: wait here, asleep, not
                    # inside SQLite, so the event loop keeps serving.
                    now = time.monotonic()
                    busy_since = busy_since if busy_since is not None else now
                    if now - busy_since < BUSY_WAIT_SECONDS:
                        await asyncio.sleep(BUSY_PAUSE_SECONDS)
                        continue
                    raise
                conflicts += 1
                if not is_retryable(exc) or conflicts >= MAX_ATTEMPTS:
                    raise
                log.info(
                    "retrying transaction after %s (attempt %d)", type(exc).__name__, conflicts
                )
                await asyncio.sleep(0.005 * conflicts)
                continue
            if committed:
                try:
                    self._on_commit(committed)
                except Exception:
                    # The transaction has committed: reporting it as failed would make
                    # callers run it again. Listeners read the log and catch up.
                    log.exception("commit listener failed")
            return result

    async def _attempt(self, use_case: UseCase[T]) -> tuple[T, list[StoredEvent]]:
        async with self._db.connect(write=True) as conn:
            transaction = await conn.begin()
            try:
                uow = UnitOfWork(conn, lock_rows=not self._db.is_sqlite)
                result = await use_case(uow)
                committed = await uow.flush_events()
            except BaseException:
                await transaction.rollback()
                raise
            try:
                await transaction.commit()
            except Exception as exc:
                # The commit may have happened (a connection lost while committing):
                # running the use case again could store everything twice.
                raise CommitFailed("the commit failed; its outcome is unknown") from exc
            return result, committed

    async def read(self, use_case: UseCase[T]) -> T:
        async with self._db.connect(write=False) as conn, conn.begin():
            return await use_case(UnitOfWork(conn, lock_rows=False))
