"""A Threadline with a bot, the demo shop on loopback behind it, and a customer on the
API channel who reads the bot's replies the way the business's system collects them."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tests.support.clock import FakeClock
from tests.support.live import AgentHandle, InboxHandle, Live, serve
from threadline.bots.shop import serve_shop
from threadline.core.agents import Role
from threadline.demo_bots import demo_flow
from threadline.service.unit_of_work import UnitOfWork

BOT_KEY = "bot-key-for-tests-only"
SECRETS = {"ACME_BOT_KEY": BOT_KEY}


@dataclass
class Customer:
    world: BotWorld
    address: str
    conversation_id: str | None = None
    heard: list[str] = field(default_factory=list)

    async def says(self, text: str) -> list[str]:
        """Writes, waits for the bot to finish its turn, and returns what it said."""
        sent = await self.world.live.customer_says(self.world.inbox, self.address, text)
        self.conversation_id = sent["conversation_id"]
        await self.world.settled(self.conversation_id)
        return await self.reads()

    async def reads(self) -> list[str]:
        live, inbox = self.world.live, self.world.inbox
        r = await live.http.get("/api/v1/channel/outbound", headers=inbox.headers)
        assert r.status_code == 200, r.text
        mine = [m for m in r.json() if m["to"] == self.address]
        for m in mine:
            reported = await live.http.post(
                f"/api/v1/channel/outbound/{m['message_id']}/status",
                json={"status": "delivered"},
                headers=inbox.headers,
            )
            assert reported.status_code == 204, reported.text
        texts = [m["text"] for m in mine]
        self.heard.extend(texts)
        return texts


@dataclass
class BotWorld:
    live: Live
    admin: AgentHandle
    inbox: InboxHandle
    # The demo shop the flow's lookups and codes go to (none for an external bot).
    shop_url: str = ""

    def customer(self, address: str) -> Customer:
        return Customer(self, address)

    async def use_flow(self, flow: str, *, secret_name: str | None = "acme") -> dict[str, Any]:
        r = await self.live.http.put(
            f"/api/v1/inboxes/{self.inbox.id}/bot",
            json={"kind": "builtin", "flow": flow, "secret_name": secret_name},
            headers=self.admin.headers,
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def use_external(self, url: str, timeout: float = 2.0) -> Any:
        return await self.live.http.put(
            f"/api/v1/inboxes/{self.inbox.id}/bot",
            json={
                "kind": "external",
                "url": url,
                "timeout_seconds": timeout,
                "secret_name": "acme",
            },
            headers=self.admin.headers,
        )

    async def settled(self, conversation_id: str, timeout: float = 10.0) -> None:
        """Until the bot has no work left in the conversation."""

        async def pending() -> bool:
            async def read(uow: Any) -> bool:
                session = await uow.bots.session(uuid.UUID(conversation_id))
                return session is not None and session.pending

            result: bool = await self.live.tx.read(read)
            return result

        for _ in range(int(timeout / 0.02)):
            if not await pending():
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"the bot did not finish its turn within {timeout} s")

    async def detail(self, agent: AgentHandle, conversation_id: str) -> dict[str, Any]:
        return await self.live.conversation(agent, conversation_id)


@contextlib.asynccontextmanager
async def bot_world(
    database_url: str, clock: FakeClock, *, flow: str | None = None, **overrides: Any
) -> AsyncIterator[BotWorld]:
    """The demo flow (or `flow`) on an API-channel inbox, the demo shop behind it."""
    async with (
        serve_shop(port=0, secret=BOT_KEY.encode()) as shop_url,
        bare_world(database_url, clock, **overrides) as world,
    ):
        world.shop_url = shop_url
        await world.use_flow(flow if flow is not None else demo_flow(shop_url))
        yield world


@contextlib.asynccontextmanager
async def bare_world(
    database_url: str, clock: FakeClock, **overrides: Any
) -> AsyncIterator[BotWorld]:
    """An API-channel inbox with no bot yet, and the bot key in the environment."""
    settings = {"channel_secrets": SECRETS, "bot_interval_seconds": 0.05, **overrides}
    async with serve(database_url, clock, **settings) as live:
        admin = await live.agent("ada", role=Role.ADMIN, skills=(), online=False)
        yield BotWorld(live, admin, await live.inbox("Shop"))


async def a_worker_claims_and_dies(world: BotWorld, conversation_id: str) -> None:
    """The bot's session leased as a worker does when it claims a turn, then left: the
    next turn waits for the lease to run out (two minutes on the test clock)."""

    async def claim(uow: UnitOfWork) -> None:
        until = world.live.clock() + timedelta(minutes=2)
        await uow.bots.lease([uuid.UUID(conversation_id)], until)

    await world.live.tx.write(claim)
