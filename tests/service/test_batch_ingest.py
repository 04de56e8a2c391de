"""Many customer messages in one transaction (`inbound.ingest_many`): each keeps the
outcome it would have had alone, in order, and a refused one writes nothing."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa

from tests.support.clock import FakeClock
from threadline.adapters.database import Database
from threadline.adapters.schema import agents as agents_table
from threadline.adapters.schema import conversations, customers, messages
from threadline.core.access import Principal
from threadline.core.agents import AgentStatus, Role
from threadline.core.conversations import ConversationState
from threadline.core.customers import make_identity
from threadline.core.errors import DomainError, DuplicateExternalId
from threadline.core.inboxes import Inbox
from threadline.service import agents as agents_service
from threadline.service import conversations as conversations_service
from threadline.service import inbound, inboxes
from threadline.service.inbound import Arrival, InboundMessage, IngestResult
from threadline.service.unit_of_work import Transactor, UnitOfWork


@pytest.fixture
async def tx(database_url: str):  # type: ignore[no-untyped-def]
    db = Database(database_url)
    yield Transactor(db)
    await db.dispose()


async def _inbox(tx: Transactor, clock: FakeClock, name: str = "Web") -> Inbox:
    created = await tx.write(lambda uow: inboxes.create(uow, None, name, "api", "general", clock()))
    return created.inbox


async def _ingest(tx: Transactor, arrivals: list[Arrival]) -> list[IngestResult | DomainError]:
    return await tx.write(lambda uow: inbound.ingest_many(uow, arrivals))


async def _count(tx: Transactor, table: sa.Table) -> int:
    async def count(uow: UnitOfWork) -> int:
        query = sa.select(sa.func.count()).select_from(table)
        return int((await uow.conn.execute(query)).scalar_one())

    return await tx.read(count)


async def test_a_duplicate_within_one_batch_is_refused_naming_the_first(
    tx: Transactor, clock: FakeClock
) -> None:
    inbox = await _inbox(tx, clock)
    first, again = await _ingest(
        tx,
        [
            Arrival(inbox, InboundMessage("c1", "hello", external_id="x-1"), clock()),
            Arrival(inbox, InboundMessage("c1", "hello", external_id="x-1"), clock()),
        ],
    )
    assert isinstance(first, IngestResult)
    assert isinstance(again, DuplicateExternalId)
    assert again.details == {
        "message_id": str(first.message_id),
        "conversation_id": str(first.conversation_id),
    }
    assert await _count(tx, messages) == 1


async def test_a_new_customer_writing_twice_in_one_batch_gets_one_conversation(
    tx: Transactor, clock: FakeClock
) -> None:
    inbox = await _inbox(tx, clock)
    one, two = await _ingest(
        tx,
        [
            Arrival(inbox, InboundMessage("c1", "hello"), clock()),
            Arrival(inbox, InboundMessage("c1", "are you there?"), clock.advance(2)),
        ],
    )
    assert isinstance(one, IngestResult)
    assert isinstance(two, IngestResult)
    assert one.conversation_id == two.conversation_id
    assert one.customer_id == two.customer_id
    assert await _count(tx, customers) == 1
    assert await _count(tx, conversations) == 1
    stored = await tx.read(lambda uow: uow.messages.for_conversation(one.conversation_id, limit=10))
    assert [(m.seq, m.body) for m in stored] == [(1, "hello"), (2, "are you there?")]
    conv = await tx.read(lambda uow: uow.conversations.get(one.conversation_id))
    assert conv is not None
    assert conv.message_count == 2


async def test_one_address_in_two_inboxes_gets_a_conversation_in_each(
    tx: Transactor, clock: FakeClock
) -> None:
    web, app = await _inbox(tx, clock, "Web"), await _inbox(tx, clock, "App")
    await _ingest(tx, [Arrival(web, InboundMessage("c1", "first"), clock())])
    in_web, in_app = await _ingest(
        tx,
        [
            Arrival(web, InboundMessage("c1", "again"), clock()),
            Arrival(app, InboundMessage("c1", "hi from the app"), clock()),
        ],
    )
    assert isinstance(in_web, IngestResult)
    assert isinstance(in_app, IngestResult)
    assert in_web.customer_id == in_app.customer_id
    assert in_web.conversation_id != in_app.conversation_id
    assert await _count(tx, conversations) == 2


async def test_a_refused_message_writes_nothing_and_its_neighbours_are_stored(
    tx: Transactor, clock: FakeClock
) -> None:
    inbox = await _inbox(tx, clock)
    head = await tx.read(lambda uow: uow.events.head())
    outcomes = await _ingest(
        tx,
        [
            Arrival(inbox, InboundMessage("c1", "hello"), clock()),
            Arrival(inbox, InboundMessage("c2", "   "), clock()),  # no text
            Arrival(inbox, InboundMessage("c3", "hi"), clock()),
        ],
    )
    assert [type(o).__name__ for o in outcomes][0::2] == ["IngestResult", "IngestResult"]
    assert isinstance(outcomes[1], DomainError)
    assert await _count(tx, messages) == 2
    assert await _count(tx, customers) == 2  # nobody was created for the refused one
    events = await tx.read(lambda uow: uow.events.after(head, limit=100))
    created = {e.payload["identity"] for e in events if e.type == "customer.created"}
    assert created == {"api:c1", "api:c3"}


async def test_concurrent_deliveries_of_one_external_id_store_it_once(
    tx: Transactor, clock: FakeClock
) -> None:
    inbox = await _inbox(tx, clock)
    await _ingest(tx, [Arrival(inbox, InboundMessage("c1", "first"), clock())])
    message = InboundMessage("c1", "a provider retry", external_id="dup")
    outcomes = await asyncio.gather(
        *(_ingest(tx, [Arrival(inbox, message, clock())]) for _ in range(4))
    )
    flat = [o for batch in outcomes for o in batch]
    assert sum(isinstance(o, IngestResult) for o in flat) == 1
    assert sum(isinstance(o, DuplicateExternalId) for o in flat) == 3
    assert await _count(tx, messages) == 2


@pytest.mark.parametrize("has_conversation", [True, False])
async def test_a_customer_writing_from_two_addresses_in_one_batch_keeps_one_conversation(
    tx: Transactor, clock: FakeClock, has_conversation: bool
) -> None:
    web, other = await _inbox(tx, clock, "Web"), await _inbox(tx, clock, "Other")
    # The customer exists (from another inbox), with a second address on the channel.
    (first,) = await _ingest(tx, [Arrival(other, InboundMessage("+1", "hi"), clock())])
    assert isinstance(first, IngestResult)
    await tx.write(
        lambda uow: uow.customers.add_identity(
            first.customer_id, make_identity("api", "+2"), clock()
        )
    )
    if has_conversation:
        await _ingest(tx, [Arrival(web, InboundMessage("+1", "earlier"), clock())])
    one, two = await _ingest(
        tx,
        [
            Arrival(web, InboundMessage("+1", "from my phone"), clock()),
            Arrival(web, InboundMessage("+2", "from my tablet"), clock()),
        ],
    )
    assert isinstance(one, IngestResult)
    assert isinstance(two, IngestResult)
    assert one.conversation_id == two.conversation_id
    assert one.customer_id == two.customer_id == first.customer_id
    assert await _count(tx, customers) == 1
    conv = await tx.read(lambda uow: uow.conversations.get(one.conversation_id))
    assert conv is not None
    assert conv.message_count == (3 if has_conversation else 2)


async def test_a_closed_conversation_reopens_once_for_two_messages_in_one_batch(
    tx: Transactor, clock: FakeClock
) -> None:
    inbox = await _inbox(tx, clock)
    (opened,) = await _ingest(tx, [Arrival(inbox, InboundMessage("c1", "hello"), clock())])
    assert isinstance(opened, IngestResult)
    supervisor = Principal(uuid.uuid4(), Role.SUPERVISOR, frozenset())
    await tx.write(
        lambda uow: conversations_service.close(
            uow, supervisor, opened.conversation_id, clock.advance(60)
        )
    )
    one, two = await _ingest(
        tx,
        [
            Arrival(inbox, InboundMessage("c1", "one more thing"), clock.advance(60)),
            Arrival(inbox, InboundMessage("c1", "and another"), clock.advance(1)),
        ],
    )
    assert isinstance(one, IngestResult)
    assert isinstance(two, IngestResult)
    assert one.conversation_id == two.conversation_id == opened.conversation_id
    assert two.state is ConversationState.QUEUED
    sessions = await tx.read(lambda uow: uow.conversations.sessions(opened.conversation_id))
    assert len(sessions) == 2
    stored = await tx.read(
        lambda uow: uow.messages.for_conversation(opened.conversation_id, limit=10)
    )
    assert [m.session_id for m in stored[1:]] == [sessions[1].id, sessions[1].id]


async def test_two_closing_answers_to_one_agent_in_a_batch_free_two_slots(
    tx: Transactor, clock: FakeClock
) -> None:
    inbox = await _inbox(tx, clock)
    new = agents_service.NewAgent("alice", "correct horse battery", None, Role.AGENT)
    alice = await agents_service.create_agent(tx, None, new, clock())
    me = Principal(alice.id, Role.AGENT, alice.skills)
    await tx.write(
        lambda uow: agents_service.set_status(uow, me, alice.id, AgentStatus.ONLINE, clock())
    )
    opened = await _ingest(
        tx, [Arrival(inbox, InboundMessage(c, "hello"), clock()) for c in ("c1", "c2")]
    )
    for outcome in opened:
        assert isinstance(outcome, IngestResult)
        assert outcome.assigned_agent_id == alice.id
        await tx.write(
            lambda uow, cid=outcome.conversation_id: conversations_service.send_message(
                uow, me, cid, "Done. Anything else I can help with?", clock()
            )
        )
    closing = await _ingest(
        tx, [Arrival(inbox, InboundMessage(c, "no thanks"), clock()) for c in ("c1", "c2")]
    )
    assert [o.state for o in closing if isinstance(o, IngestResult)] == [
        ConversationState.CLOSED,
        ConversationState.CLOSED,
    ]

    async def active(uow: UnitOfWork) -> int:
        query = sa.select(agents_table.c.active_count).where(agents_table.c.id == alice.id)
        return int((await uow.conn.execute(query)).scalar_one())

    assert await tx.read(active) == 0
