"""The batcher's isolation: one message that fails in the database does not fail the
messages it shared a transaction with."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.clock import FakeClock
from threadline.adapters.database import Database
from threadline.service import inboxes
from threadline.service.batching import IngestBatcher
from threadline.service.inbound import InboundMessage, IngestResult
from threadline.service.unit_of_work import Transactor


async def test_a_poison_message_fails_alone(database_url: str, clock: FakeClock) -> None:
    db = Database(database_url)
    tx = Transactor(db)
    token = (
        await tx.write(lambda uow: inboxes.create(uow, None, "Web", "api", "general", clock()))
    ).token
    batcher = IngestBatcher(tx)
    batcher.start()
    try:
        # A name too long for its column fails inside the database (PostgreSQL), after
        # writes have begun: the whole batch rolls back and is retried one by one.
        messages = [InboundMessage(address=f"c{n}", text=f"hi {n}") for n in range(6)]
        messages[3] = InboundMessage(address="c3", text="hi", display_name="x" * 500)
        outcomes = await asyncio.gather(
            *(batcher.ingest(token, m, clock()) for m in messages), return_exceptions=True
        )
    finally:
        await batcher.stop()
        await db.dispose()
    good = [o for i, o in enumerate(outcomes) if i != 3]
    assert all(isinstance(o, IngestResult) for o in good), good
    if database_url.startswith("postgresql"):
        assert isinstance(outcomes[3], Exception)
    else:  # SQLite does not enforce VARCHAR lengths
        assert isinstance(outcomes[3], IngestResult)


async def test_stopping_cancels_messages_still_waiting(database_url: str) -> None:
    db = Database(database_url)
    batcher = IngestBatcher(Transactor(db))  # never started: nothing is taken
    waiting = asyncio.ensure_future(
        batcher.ingest("t", InboundMessage(address="c", text="x"), FakeClock()())
    )
    await asyncio.sleep(0)
    await batcher.stop()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await db.dispose()
