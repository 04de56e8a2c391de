"""Durable timers (DESIGN.md §4): a timer due while the service was down fires when it
comes back, once, and a restart after it fired does not fire it again."""

from __future__ import annotations

import asyncio
from uuid import UUID

from tests.support.clock import FakeClock
from tests.support.live import serve
from threadline.core.lifecycle import TimerKind


async def test_a_timer_due_during_downtime_fires_once_after_the_restart(
    database_url: str, clock: FakeClock
) -> None:
    async with serve(database_url, clock) as live:
        inbox = await live.inbox()
        alice = await live.agent("alice", preferred=1, max_load=2)
        said = await live.customer_says(inbox, "c1", "My parcel has not arrived")
        cid = said["conversation_id"]
        await live.reply(alice, cid, "It is on its way, it will arrive tomorrow.")

    clock.advance(3600)  # the service is down past the inactivity timeout

    for _ in range(2):  # the second start finds nothing left to fire
        async with serve(database_url, clock) as live:
            for _ in range(200):
                detail = await live.conversation(alice, cid)
                if detail["conversation"]["state"] == "inactive":
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)  # several scheduler ticks
            detail = await live.conversation(alice, cid)
            fired = [e for e in detail["events"] if e["type"] == "conversation.inactive"]
            assert detail["conversation"]["state"] == "inactive"
            assert len(fired) == 1
            rows = await live.tx.read(lambda uow: uow.timers.for_conversation(UUID(cid)))
            assert set(rows) == {TimerKind.AUTO_CLOSE}  # the fired one is gone
