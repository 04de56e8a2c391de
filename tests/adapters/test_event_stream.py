"""The live stream takes this process's commits straight from the committer and reads
the rest from the log: whichever way an event comes, every subscriber gets each one
once, in sequence order."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.support.clock import FakeClock
from threadline.adapters.database import Database
from threadline.adapters.repositories.events import StoredEvent
from threadline.adapters.stream import EventStream, Subscription, for_principal
from threadline.core.access import Principal
from threadline.core.agents import Role
from threadline.core.events import ACTOR_SYSTEM, Event, EventType
from threadline.service.unit_of_work import Transactor, UnitOfWork

SUPERVISOR = Principal(uuid.uuid4(), Role.SUPERVISOR, frozenset())


def _write(tx: Transactor, clock: FakeClock, n: int):  # type: ignore[no-untyped-def]
    async def use_case(uow: UnitOfWork) -> None:
        for i in range(n):
            uow.record(Event(EventType.CUSTOMER_CREATED, clock(), ACTOR_SYSTEM, payload={"i": i}))

    return tx.write(use_case)


async def _receive(sub: Subscription, count: int) -> list[int]:
    seqs: list[int] = []
    while len(seqs) < count:
        event = await asyncio.wait_for(sub.queue.get(), timeout=5)
        assert event is not None
        seqs.append(event.seq)
    return seqs


class GatedStream(EventStream):
    """Holds each read of the log while the test keeps the gate shut: a slow database."""

    def __init__(self, db: Database, poll_seconds: float = 30) -> None:
        # A long poll by default: events from "another process" must come because a
        # local commit found a gap behind it and woke the tail, not by a poll.
        super().__init__(db, poll_seconds=poll_seconds)
        self.gate = asyncio.Event()
        self.gate.set()
        self.reading = asyncio.Event()

    async def _page_after(self, seq: int) -> list[StoredEvent]:
        self.reading.set()
        await self.gate.wait()
        return await super()._page_after(seq)

    def hold_reads(self) -> None:
        self.gate.clear()
        self.reading.clear()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@contextlib.asynccontextmanager
async def subscribed(stream: GatedStream) -> AsyncIterator[tuple[Subscription, int]]:
    """The stream running, and a supervisor's subscription from the log's head."""
    await stream.open()
    try:
        sub = await stream.subscribe(for_principal(SUPERVISOR), after=None)
        yield sub, sub.delivered
    finally:
        stream.gate.set()
        await stream.stop()


async def test_commits_here_and_elsewhere_interleave_into_one_gapless_sequence(
    db: Database, clock: FakeClock
) -> None:
    stream = GatedStream(db)
    here = Transactor(db, stream.committed)
    elsewhere = Transactor(db)  # another process: the stream hears nothing from it
    async with subscribed(stream) as (sub, start):
        await _write(here, clock, 2)
        await _write(elsewhere, clock, 3)
        await _write(here, clock, 1)
        await _write(here, clock, 2)
        await asyncio.gather(*(_write(here, clock, 2) for _ in range(5)))
        assert await _receive(sub, 18) == list(range(start + 1, start + 19))
        assert sub.queue.empty()
        assert stream.cursor == start + 18


async def test_handed_over_events_equal_the_stored_ones(db: Database, clock: FakeClock) -> None:
    stream = GatedStream(db)
    tx = Transactor(db, stream.committed)
    async with subscribed(stream) as (sub, start):
        await _write(tx, clock, 3)
        live = [await asyncio.wait_for(sub.queue.get(), timeout=5) for _ in range(3)]
        stored = await tx.read(lambda uow: uow.events.after(start, limit=10))
        assert [e.json_text for e in live if e is not None] == [e.json_text for e in stored]


async def test_events_handed_over_while_the_log_is_being_read_arrive_once_in_order(
    db: Database, clock: FakeClock
) -> None:
    stream = GatedStream(db)
    here = Transactor(db, stream.committed)
    elsewhere = Transactor(db)
    async with subscribed(stream) as (sub, start):
        stream.hold_reads()
        await _write(elsewhere, clock, 1)  # start+1, unheard of
        await _write(here, clock, 1)  # start+2: a gap behind it, so the tail reads
        await asyncio.wait_for(stream.reading.wait(), timeout=5)
        # While that read is held, the log gains start+3 from another process and this
        # process commits start+4: it does not follow the cursor, so it is not handed
        # over; the read, once released, returns all four.
        await _write(elsewhere, clock, 1)
        await _write(here, clock, 1)
        stream.gate.set()
        assert await _receive(sub, 4) == [start + 1, start + 2, start + 3, start + 4]
        # Now the cursor is at the head: the next commit here is handed over directly
        # even with the log unreadable.
        stream.hold_reads()
        await _write(here, clock, 2)
        assert await _receive(sub, 2) == [start + 5, start + 6]
        assert sub.queue.empty()
        assert stream.cursor == start + 6


async def test_a_hand_over_during_a_polling_read_is_not_delivered_twice(
    db: Database, clock: FakeClock
) -> None:
    stream = GatedStream(db, poll_seconds=0.01)
    here = Transactor(db, stream.committed)
    async with subscribed(stream) as (sub, start):
        stream.hold_reads()
        await asyncio.wait_for(stream.reading.wait(), timeout=5)  # a poll, held
        await _write(here, clock, 2)  # follows the cursor: handed over at once
        assert await _receive(sub, 2) == [start + 1, start + 2]
        stream.gate.set()  # the held read now finds the same two events in the log
        await _write(here, clock, 1)
        assert await _receive(sub, 1) == [start + 3]
        await asyncio.sleep(0.1)  # a few more polls
        assert sub.queue.empty()
        assert stream.cursor == start + 3
