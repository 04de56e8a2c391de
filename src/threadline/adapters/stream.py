"""The live event stream: tails the event log and fans events out to subscribers.

The event log in the database is the only source: one task per process reads events
after its cursor, in sequence order, and hands each to the subscribers allowed to see
it. Because sequence numbers are allocated under a lock held until commit (see
`EventRepository.append`), reading in sequence order never skips an event that commits
later, so a client resuming "after N" misses nothing, whichever process wrote it.

A commit in this process hands its events over directly when they follow the cursor
(the common case: no read back from the database); otherwise, and for commits by other
processes, the tail reads the log, at once or within `poll_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from threadline.adapters.database import Database
from threadline.adapters.repositories.events import EventRepository, StoredEvent
from threadline.adapters.worker import BackgroundWorker
from threadline.core.access import Principal, event_visible

log = logging.getLogger(__name__)
T = TypeVar("T")

# Events read per query: large enough to drain a burst in a few round trips, small
# enough that one slow page does not stall delivery for long.
PAGE = 500
# A client further behind than this must reload its state instead of replaying: a
# replay that long costs more than a fresh fetch, and usually means a stale tab.
MAX_REPLAY = 10_000
# Per-subscriber buffer. A client that falls this far behind is disconnected; it
# reconnects with its last sequence number and catches up from the log, losing nothing.
# It holds a whole replay (nobody reads while we replay) plus the end-of-stream marker.
QUEUE_LIMIT = MAX_REPLAY + 1


class TooFarBehind(Exception):
    pass


@dataclass(frozen=True)
class Signal:
    """An ephemeral notice, such as "the agent is typing": handed to the subscribers
    connected to this process at that moment, never stored, never replayed. Losing one
    costs nothing; the next one (typing is re-signalled every few seconds) corrects it."""

    conversation_id: uuid.UUID
    # The agent whose desk shows it (the holder), or None for the customer's side.
    agent_id: uuid.UUID | None
    frame: dict[str, Any]


# Which events and signals a subscriber receives.
EventFilter = Callable[[StoredEvent], bool]
SignalFilter = Callable[[Signal], bool]


def for_principal(principal: Principal) -> EventFilter:
    return lambda event: event_visible(principal, event.agent_id, event.queue)


def _no_signals(signal: Signal) -> bool:
    return False


class Subscription:
    def __init__(
        self, audience: EventFilter, delivered: int, signals: SignalFilter = _no_signals
    ) -> None:
        self.audience = audience
        self.signals = signals
        self.delivered = delivered
        self.queue: asyncio.Queue[StoredEvent | Signal | None] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self.overflowed = False
        self._replaying = True
        self._held: list[StoredEvent] = []

    def offer(self, event: StoredEvent) -> None:
        if self._replaying:
            self._held.append(event)
        else:
            self._push(event)

    def _push(self, event: StoredEvent) -> None:
        if event.seq <= self.delivered or self.overflowed:
            return
        if not self.audience(event):
            self.delivered = event.seq
            return
        if self.queue.qsize() >= QUEUE_LIMIT - 1:
            # The last slot is the marker's: the client keeps every event it was given,
            # then reconnects after the last one and the log supplies the rest.
            self.overflowed = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(event)
        self.delivered = event.seq

    def signal(self, signal: Signal) -> None:
        # Never the last slot, which is the end-of-stream marker's; a full queue means
        # a client far behind, for whom a stale typing notice is worthless anyway.
        if self.signals(signal) and self.queue.qsize() < QUEUE_LIMIT - 1:
            self.queue.put_nowait(signal)

    def replay(self, event: StoredEvent) -> None:
        """An event read from the log during catch-up, before going live."""
        self._push(event)

    def go_live(self) -> None:
        self._replaying = False
        held, self._held = self._held, []
        for event in held:
            self._push(event)


class EventStream(BackgroundWorker):
    def __init__(self, db: Database, *, poll_seconds: float) -> None:
        self._db = db
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._subscribers: set[Subscription] = set()
        self._cursor = 0

    @property
    def cursor(self) -> int:
        return self._cursor

    async def open(self) -> None:
        """Start tailing from the log's current head."""
        self._cursor = await self._read(lambda repo: repo.head())
        self.start()

    async def stop(self) -> None:
        await super().stop()
        for sub in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait(None)
        self._subscribers.clear()

    def committed(self, events: list[StoredEvent]) -> None:
        """Called after a commit in this process with its events; cheap and non-blocking.

        Sequence numbers are allocated under a lock held to commit, so every event
        before `events[0]` has committed already: if the cursor is right behind, these
        are the next events of the log. If not (another process's events lie between,
        or a concurrent commit here has not handed its own over yet), the tail reads
        the log, which holds these too.
        """
        if events[0].seq == self._cursor + 1:
            self._deliver(events)
        elif events[-1].seq > self._cursor:
            self._wake.set()

    def signal(self, signal: Signal) -> None:
        for sub in list(self._subscribers):
            sub.signal(signal)

    async def subscribe(
        self,
        audience: EventFilter,
        after: int | None,
        signals: SignalFilter = _no_signals,
    ) -> Subscription:
        """Subscribe from `after` (replaying what was missed) or from now.

        "Now" is the database's head, not this process's tail, which can lag behind
        commits made by other processes: a fresh client has loaded that state already.
        The subscriber is registered first, holding live events back, so nothing the
        tail delivers while we read the head or replay can slip between the two.
        """
        sub = Subscription(audience, 0, signals)
        self._subscribers.add(sub)
        try:
            head = await self._read(lambda repo: repo.head())
            if after is None:
                sub.delivered = head
            else:
                if after < 0 or after > head:
                    raise ValueError("after is not a sequence number this server has issued")
                if head - after > MAX_REPLAY:
                    raise TooFarBehind()
                sub.delivered = after
                position = after
                while True:
                    page = await self._page_after(position)
                    for event in page:
                        sub.replay(event)
                    if len(page) < PAGE:
                        break
                    position = page[-1].seq
        except BaseException:
            self._subscribers.discard(sub)
            raise
        sub.go_live()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
            self._wake.clear()
            try:
                await self._drain()
            except Exception:
                # A database hiccup must not kill delivery; the next wake retries from
                # the same cursor, so nothing is skipped.
                log.exception("event stream read failed; retrying")
                await asyncio.sleep(self._poll)

    async def _drain(self) -> None:
        while True:
            page = await self._page_after(self._cursor)
            # `committed` may have delivered some of these while we were reading.
            fresh = [event for event in page if event.seq > self._cursor]
            if fresh:
                self._deliver(fresh)
            if len(page) < PAGE:
                return

    def _deliver(self, events: list[StoredEvent]) -> None:
        subscribers = list(self._subscribers)
        for event in events:
            for sub in subscribers:
                sub.offer(event)
        self._cursor = events[-1].seq

    async def _page_after(self, seq: int) -> list[StoredEvent]:
        return await self._read(lambda repo: repo.after(seq, limit=PAGE))

    async def _read(self, fn: Callable[[EventRepository], Awaitable[T]]) -> T:
        async with self._db.connect(write=False) as conn, conn.begin():
            return await fn(EventRepository(conn))
