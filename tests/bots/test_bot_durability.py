"""Nothing is lost with a bot: a turn a dead worker left is taken over once its lease
runs out, and a restart picks up a customer message the bot had not answered."""

from __future__ import annotations

import asyncio
import uuid

from tests.support.bots import (
    SECRETS,
    BotWorld,
    Customer,
    a_worker_claims_and_dies,
    bare_world,
    demo_flow,
)
from tests.support.clock import FakeClock
from tests.support.live import serve

FAQ = "what are your opening hours?"
HOURS = "Our shops and our team are open Monday to Saturday"


async def nothing_heard_for_a_while(customer: Customer) -> None:
    await asyncio.sleep(0.5)  # ten of the bot worker's polls
    assert await customer.reads() == []


async def test_a_turn_left_by_a_dead_worker_is_taken_over_once_its_lease_runs_out(
    database_url: str, clock: FakeClock
) -> None:
    async with bare_world(database_url, clock) as world:
        await world.use_flow(demo_flow("http://127.0.0.1:9"))
        dana = world.customer("dana")
        await dana.says("hi")
        conversation_id = dana.conversation_id or ""
        await a_worker_claims_and_dies(world, conversation_id)
        await world.live.customer_says(world.inbox, "dana", FAQ)
        await nothing_heard_for_a_while(dana)

        clock.advance(121)
        await world.settled(conversation_id)
        heard = await dana.reads()
        assert [t for t in heard if HOURS in t] == [heard[0]]
        await nothing_heard_for_a_while(dana)  # answered once, not again


async def test_a_restart_answers_what_the_bot_had_not(database_url: str, clock: FakeClock) -> None:
    async with bare_world(database_url, clock) as world:
        await world.use_flow(demo_flow("http://127.0.0.1:9"))
        dana = world.customer("dana")
        await dana.says("hi")
        conversation_id = dana.conversation_id or ""
        await a_worker_claims_and_dies(world, conversation_id)
        await world.live.customer_says(world.inbox, "dana", FAQ)
        inbox, admin = world.inbox, world.admin
    clock.advance(121)
    async with serve(
        database_url, clock, channel_secrets=SECRETS, bot_interval_seconds=0.05
    ) as live:
        again = BotWorld(live, admin, inbox)
        await again.settled(conversation_id)
        heard = await Customer(again, "dana").reads()
        assert any(HOURS in t for t in heard)
        assert heard[-1] == "Is there anything else I can help you with?"


async def test_a_bots_row_goes_when_someone_else_closes_the_conversation(
    database_url: str, clock: FakeClock
) -> None:
    async with bare_world(database_url, clock) as world:
        await world.use_flow(demo_flow("http://127.0.0.1:9"))
        dana = world.customer("dana")
        await dana.says("hi")
        conversation_id = dana.conversation_id or ""
        closed = await world.live.http.post(
            f"/api/v1/conversations/{conversation_id}/close", headers=world.admin.headers
        )
        assert closed.status_code == 200, closed.text

        async def row() -> object:
            return await world.live.tx.read(
                lambda uow: uow.bots.session(uuid.UUID(conversation_id))
            )

        clock.advance(61)  # the worker looks for leftovers once a minute
        for _ in range(100):
            if await row() is None:
                break
            await asyncio.sleep(0.02)
        assert await row() is None
