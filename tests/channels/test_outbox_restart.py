"""The outbox survives a restart: replies queued while the provider was down go out
once when a new process starts, and none twice."""

from __future__ import annotations

import asyncio

from tests.support.channels import (
    CONNECTIONS,
    CUSTOMER_PHONE,
    SMS_NUMBER,
    ProviderSecrets,
    fake_for,
    threadline_for,
    until_each_tried_once,
)
from tests.support.clock import FakeClock
from tests.support.live import free_port
from threadline.core.agents import Role


async def test_replies_queued_before_a_restart_are_sent_once_after_it(
    database_url: str, clock: FakeClock
) -> None:
    made_up = ProviderSecrets.made_up()
    port = free_port()
    async with fake_for(port, made_up, clock) as fake:
        async with threadline_for(database_url, clock, port, fake, made_up) as live:
            admin = await live.agent("ada", role=Role.ADMIN, online=False)
            inbox = await live.inbox("SMS", channel="sms")
            r = await live.http.put(
                f"/api/v1/inboxes/{inbox.id}/connection",
                json=CONNECTIONS["sms"],
                headers=admin.headers,
            )
            assert r.status_code == 200, r.text
            alice = await live.agent("alice")
            await fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="hi")
            [row] = (await live.http.get("/api/v1/conversations", headers=alice.headers)).json()
            fake.behave("down", provider="twilio")
            for i in range(3):
                await live.reply(alice, row["id"], f"Reply {i}")
            await until_each_tried_once(live, 3)
        assert fake.sent("twilio") == []
        fake.behave("ok")
        clock.advance(600)  # past every back-off
        async with threadline_for(database_url, clock, port, fake, made_up) as live:
            for _ in range(200):  # the provider has them, and Threadline has its answers
                backlog = await live.tx.read(lambda uow: uow.outbox.backlog())
                if backlog == {"sent": 3}:
                    break
                await asyncio.sleep(0.05)
            clock.advance(600)  # a second attempt of any of them would be due now
            await asyncio.sleep(0.3)
            assert sorted(s.text or "" for s in fake.sent("twilio")) == [
                "Reply 0",
                "Reply 1",
                "Reply 2",
            ]
            assert await live.tx.read(lambda uow: uow.outbox.backlog()) == {"sent": 3}
