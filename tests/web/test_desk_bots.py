"""The desk with the virtual agent (issue 6), in a real browser: what the bot learned
and why it handed over, shown above a thread where its messages are the bot's; an
agent lending a conversation to the bot for a routine and getting it back; the
supervisor's figures for the bot.

The customers write through the API channel to the demo flow (tests/support/bots.py),
whose lookups go to the demo shop on loopback.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from tests.support.bots import BotWorld, bot_world
from tests.support.clock import FakeClock
from tests.web.test_desk import open_thread, row, sign_in
from threadline.core.agents import Role

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "desk-bot.png"
CARD = "4242 4242 4242 4242"

# SQLite only, as the other desk tests: the API's own tests run on both databases.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def world(database_url: str, clock: FakeClock) -> AsyncIterator[BotWorld]:
    async with bot_world(database_url, clock) as running:
        yield running


def field_value(page: Page, name: str) -> Locator:
    """The value the handoff panel shows for a collected field."""
    return page.locator(f'#handoff-fields dt:text-is("{name}") + dd')


async def test_the_agent_sees_why_the_bot_handed_over_what_it_learned_and_its_messages(
    world: BotWorld, page: Page
) -> None:
    alice = await world.live.agent("alice", skills=("general", "orders"))
    dana = world.customer("dana")
    await dana.says("where is my order?")
    await dana.says("A-10004")
    await dana.says("this is taking forever, I want to talk to a human")
    conversation_id = dana.conversation_id or ""

    await sign_in(page, world.live, alice)
    await open_thread(page, conversation_id)
    handoff = page.get_by_role("region", name="From the bot")
    await expect(handoff).to_contain_text("Acme assistant: order_status (100% sure)")
    await expect(field_value(page, "order number")).to_have_text("A-10004")
    await expect(page.locator("#handoff-reason")).to_have_text(
        "Why: the customer asked for a person."
    )
    await expect(page.locator("#handoff-summary")).to_contain_text("They asked for a person.")
    await expect(page.locator("#handoff-summary")).to_contain_text("A-10004")

    # The bot's messages are the bot's, by name, never taken for a colleague's.
    said_by_bot = page.locator("#thread li.outbound.bot")
    await expect(said_by_bot.first).to_be_visible()
    count = await said_by_bot.count()
    assert count >= 3
    for i in range(count):
        await expect(said_by_bot.nth(i).locator(".meta")).to_contain_text("Acme assistant (bot)")
    await expect(said_by_bot.last).to_contain_text("I'm passing you to a colleague")
    await expect(page.locator("#thread li.outbound:not(.bot)")).to_have_count(0)
    await expect(page.locator("#thread li.inbound")).to_have_count(3)
    await expect(page.locator("#thread li.inbound").first).not_to_contain_text("(bot)")

    await page.get_by_label("Reply").fill("Sorry about A-10004, let me chase the courier.")
    await page.mouse.move(0, 0)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000


async def test_an_agent_hands_a_conversation_to_the_bot_for_a_routine_and_gets_it_back(
    world: BotWorld, page: Page
) -> None:
    alice = await world.live.agent("alice", skills=("general", "orders"))
    dana = world.customer("dana")
    await dana.says("I want to talk to someone")
    conversation_id = dana.conversation_id or ""
    await sign_in(page, world.live, alice)
    await open_thread(page, conversation_id)

    await page.get_by_role("button", name="Hand to bot…").click()
    routine = page.get_by_label("Routine")
    await expect(routine).to_be_focused()
    await expect(routine).to_have_value("collect_payment")
    await page.get_by_role("button", name="Hand over…").click()
    # Like closing, it asks first; keeping it changes nothing.
    await expect(page.locator("#bot-question")).to_have_text(
        "Hand this conversation to Acme assistant for collect payment?"
    )
    await page.get_by_role("button", name="Keep it").click()
    await expect(row(page, conversation_id)).to_have_count(1)
    await page.get_by_role("button", name="Hand over…").click()
    await page.get_by_role("button", name="Confirm hand over").click()

    await expect(page.locator("#pane-status")).to_have_text(
        "Handed to Acme assistant for collect payment; it comes back to you when done."
    )
    await expect(page.locator("#thread-view")).to_be_hidden()
    await expect(row(page, conversation_id)).to_have_count(0)

    await world.settled(conversation_id)
    assert await dana.reads() == ["Please type the card number."]
    assert await dana.says(CARD) == ["And its expiry date (MM/YY)?"]
    await dana.says("12/30")

    # Back in the agent's list, with what the bot collected, the card masked.
    await expect(row(page, conversation_id)).to_have_count(1)
    await open_thread(page, conversation_id)
    await expect(field_value(page, "card number")).to_have_text("•••• 4242")
    await expect(page.locator("#handoff-reason")).to_have_text(
        "Why: the routine an agent handed to the bot is done (collect_payment)."
    )
    await expect(page.locator("#thread li.outbound.bot").last).to_contain_text(
        "the payment details have gone through"
    )
    await expect(page.get_by_label("Reply")).to_be_enabled()
    assert not re.search(r"4242\s?4242", await page.content())


async def test_the_floor_shows_today_s_bot_figures_and_updates_them_live(
    world: BotWorld, page: Page
) -> None:
    alice = await world.live.agent("alice", skills=("general", "orders"))
    lead = await world.live.agent("lead", role=Role.SUPERVISOR, online=False)
    dana = world.customer("dana")
    await dana.says("what are your opening hours?")
    await dana.says("no thanks, that's all")  # resolved by the bot: contained
    sam = world.customer("sam")
    await sam.says("I want to talk to a human")  # escalated, to Alice
    world.live.clock.advance(80)
    await world.live.reply(alice, sam.conversation_id or "", "Hi Sam, Alice here.")

    await sign_in(page, world.live, lead)
    figures = page.get_by_role("region", name="Bot today")
    await expect(figures).to_be_visible()

    def figure(name: str) -> Locator:
        return figures.locator(f'dd[data-figure="{name}"]')

    await expect(figure("episodes")).to_have_text("2")
    await expect(figure("contained")).to_have_text("50% (1 of 2 ended)")
    await expect(figure("escalated")).to_have_text("50% (1 of 2 ended)")
    await expect(figure("abandoned")).to_have_text("0")
    await expect(figure("first-reply")).to_have_text(
        "median 1 min 20 s, 90th percentile 1 min 20 s"
    )
    reasons = figures.locator("#bot-reasons tbody tr")
    await expect(reasons).to_have_count(1)
    await expect(reasons.first.locator("td")).to_have_text(["The customer asked for a person", "1"])

    # Another customer the bot cannot understand: the floor updates as it happens.
    lola = world.customer("lola")
    await lola.says("hello")
    await lola.says("blorp fizzle wobble")
    await lola.says("zzzz qqqq")
    await expect(figure("episodes")).to_have_text("3")
    await expect(figure("escalated")).to_have_text("67% (2 of 3 ended)")
    await expect(figures.locator('#bot-reasons tr[data-reason="fallbacks"] td')).to_have_text(
        ["The bot did not understand the customer", "1"]
    )
    # Not answered by a person yet: said so, not counted in the wait.
    await expect(figure("first-reply")).to_contain_text("(1 not answered yet)")
