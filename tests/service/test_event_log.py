"""The event log: written in the same transaction as the state it records, in
sequence order, and never changed afterwards."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from tests.support.clock import FakeClock
from threadline.adapters.database import Database
from threadline.adapters.schema import conversations, events, messages
from threadline.service import inbound, inboxes
from threadline.service.unit_of_work import Transactor, UnitOfWork


class Boom(Exception):
    pass


@pytest.fixture
async def tx(database_url: str):  # type: ignore[no-untyped-def]
    db = Database(database_url)
    yield Transactor(db)
    await db.dispose()


async def _count(tx: Transactor, table: sa.Table) -> int:
    return await tx.read(lambda uow: _scalar(uow, sa.select(sa.func.count()).select_from(table)))


async def _scalar(uow: UnitOfWork, query: sa.Select) -> int:  # type: ignore[type-arg]
    return int((await uow.conn.execute(query)).scalar_one())


async def test_a_failed_use_case_leaves_neither_state_nor_events(
    tx: Transactor, clock: FakeClock
) -> None:
    inbox = (
        await tx.write(lambda uow: inboxes.create(uow, None, "Web", "api", "general", clock()))
    ).inbox
    head = await tx.read(lambda uow: uow.events.head())

    async def ingest_then_fail(uow: UnitOfWork) -> None:
        await inbound.ingest(
            uow, inbox, inbound.InboundMessage(address="c1", text="hello"), clock()
        )
        await uow.flush_events()
        raise Boom

    with pytest.raises(Boom):
        await tx.write(ingest_then_fail)

    assert await tx.read(lambda uow: uow.events.head()) == head
    assert await _count(tx, messages) == 0
    assert await _count(tx, conversations) == 0


async def test_committed_changes_and_their_events_are_numbered_without_gaps(
    tx: Transactor, clock: FakeClock
) -> None:
    inbox = (
        await tx.write(lambda uow: inboxes.create(uow, None, "Web", "api", "general", clock()))
    ).inbox
    for n in range(5):
        msg = inbound.InboundMessage(address=f"c{n % 2}", text=f"message {n}")
        await tx.write(lambda uow, m=msg: inbound.ingest(uow, inbox, m, clock()))  # type: ignore[misc]

    stored = await tx.read(lambda uow: uow.events.after(0, limit=100))

    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
    assert stored[-1].seq == await tx.read(lambda uow: uow.events.head())
    assert sum(e.type == "message.received" for e in stored) == 5


@pytest.mark.parametrize("statement", ["update", "delete"])
async def test_the_database_refuses_to_change_or_delete_an_event(
    tx: Transactor, clock: FakeClock, statement: str
) -> None:
    await tx.write(lambda uow: inboxes.create(uow, None, "Web", "api", "general", clock()))
    query = events.update().values(type="forged") if statement == "update" else events.delete()

    async def tamper(uow: UnitOfWork) -> None:
        await uow.conn.execute(query)

    with pytest.raises(DBAPIError, match="append-only"):
        await tx.write(tamper)
    stored = await tx.read(lambda uow: uow.events.after(0, limit=10))
    assert [e.type for e in stored] == ["inbox.created"]
