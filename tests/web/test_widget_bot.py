"""A web chat visitor meets the virtual agent in the widget (issue 6): the assistant
answers an FAQ, asks if there is anything else, says goodbye, and the conversation
closes without a person, counted as contained.

The widget is embedded in a shop page on its own origin, as in test_widget.py; the
web inbox runs the demo flow, whose lookups would go to the demo shop on loopback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, expect

from tests.support.bots import BotWorld, bot_world, demo_flow
from tests.support.clock import FakeClock
from tests.support.webchat import web_inbox
from tests.web.test_widget import Shop, browsing, open_widget, say

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def world(database_url: str, clock: FakeClock) -> AsyncIterator[BotWorld]:
    async with bot_world(database_url, clock) as running:
        yield running


@pytest.fixture
def shop() -> Iterator[Shop]:
    running = Shop()
    yield running
    running.close()


async def test_the_assistant_answers_in_the_widget_and_the_chat_closes_contained(
    world: BotWorld, shop: Shop, browser: Browser
) -> None:
    live, admin = world.live, world.admin
    await live.agent("alice", skills=("general", "orders"))  # on hand, never needed
    inbox_id, key = await web_inbox(live, admin, title="Acme", greeting="Ask us anything.")
    r = await live.http.put(
        f"/api/v1/inboxes/{inbox_id}/bot",
        json={"kind": "builtin", "flow": demo_flow(world.shop_url), "secret_name": "acme"},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text

    async with browsing(browser) as (context, _):
        page = await context.new_page()
        await page.goto(shop.page(live.base_url, key))
        frame = await open_widget(page)
        await say(frame, "what are your opening hours?")

        assistant = frame.locator("#messages li.bot")
        await expect(assistant.last.locator(".text")).to_have_text(
            "Is there anything else I can help you with?", timeout=10_000
        )
        texts = await assistant.locator(".text").all_text_contents()
        assert texts[0].startswith("Hi! I'm Acme's assistant.")
        assert any("Monday to Saturday, 9:00 to 20:00" in t for t in texts)
        # From the assistant, by that name: not an agent, and no agent is promised.
        await expect(assistant.first.locator(".who")).to_have_text("Assistant")
        await expect(frame.locator("#messages li.agent")).to_have_count(0)
        await expect(frame.get_by_text("You're chatting with")).to_be_hidden()

        await say(frame, "no thanks")
        await expect(assistant.last.locator(".text")).to_have_text(
            "Thanks for shopping with Acme. Goodbye!"
        )
        await expect(frame.get_by_text("This conversation has been closed")).to_be_visible()

    r = await live.http.get(
        "/api/v1/conversations", params={"state": "closed"}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    [closed] = [c for c in r.json() if c["inbox_id"] == inbox_id]
    detail = await live.conversation(admin, closed["id"])
    assert detail["conversation"]["state"] == "closed"
    types = [e["type"] for e in detail["events"]]
    assert "conversation.assigned" not in types  # no person was ever involved
    assert "conversation.queued" not in types
    [ended] = [e for e in detail["events"] if e["type"] == "conversation.closed"]
    assert ended["payload"]["reason"] in ("bot", "customer_declined_more_help")
    r = await live.http.get("/api/v1/reports/bots", headers=admin.headers)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["episodes"], report["contained"], report["escalated"]) == (1, 1, 0)
