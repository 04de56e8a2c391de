"""Proactive notifications on the supervisor's floor (issue 8), in a real browser:
today's figures per template (delivery, replies, deflection, suppressions by rule),
updated as the floor refreshes and, since the dispatcher's decisions are not events on
the stream, on a timer while the floor is on screen.

Threadline and the fake provider run side by side on loopback (tests/support/channels.py):
the alerts go by SMS through the fake, and the customers answer through its webhooks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from tests.support.channels import CUSTOMER_PHONE, SMS_NUMBER, World, channel_world
from tests.support.clock import FakeClock
from tests.support.proactive import (
    FRAUD_CHECK,
    MARKETING,
    customer,
    notify,
    put_template,
    until_state,
)
from tests.web.test_desk import sign_in
from threadline.core.agents import Role

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "notifications-floor.png"
OTHER_PHONE = "+15557650000"
# The world's clock starts at 09:00 UTC, 04:00 in New York: quiet hours. 15:00 UTC is
# 10:00 there, inside the default contact window, and still the same UTC day.
TO_MORNING = 6 * 3600
# The floor's timer (notices.js): jumped over in the page rather than waited for.
RELOAD_MS = 30_000

# SQLite only, as for the rest of the desk (tests/web/test_desk.py).
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def world(database_url: str, clock: FakeClock) -> AsyncIterator[World]:
    async with channel_world(database_url, clock) as running:
        running.live.clock.advance(TO_MORNING)
        await running.connected_inbox("sms")
        await put_template(running.live, running.admin, "card_fraud_check", FRAUD_CHECK)
        await put_template(running.live, running.admin, "spring_offer", MARKETING)
        yield running


async def fraud_alert_answered(world: World, phone: str, answer: str) -> dict[str, object]:
    """A fraud alert by SMS to a new customer at `phone`, delivered, and their answer."""
    live, admin = world.live, world.admin
    someone = await customer(live, admin, [("sms", phone)], preferred="sms")
    sent = await notify(
        live,
        admin,
        "card_fraud_check",
        someone,
        variables={"amount": "$420.00", "merchant": "ACME STORE"},
    )
    await until_state(live, admin, str(sent["id"]), "delivered")
    await world.fake.inbound_twilio(from_=phone, to=SMS_NUMBER, body=answer)
    return await until_state(live, admin, str(sent["id"]), "delivered")


async def offer_suppressed(world: World, phone: str) -> None:
    """A marketing offer to a new customer who never opted in: the rules hold it back."""
    live, admin = world.live, world.admin
    someone = await customer(live, admin, [("sms", phone)], preferred="sms")
    sent = await notify(live, admin, "spring_offer", someone, variables={"offer": "2% cashback"})
    held = await until_state(live, admin, str(sent["id"]), "suppressed")
    assert held["rule"] == "no_marketing_opt_in"


def figures_of(page: Page, template: str) -> Locator:
    return page.locator(f'#notices tr[data-template="{template}"]')


async def expect_figures(row: Locator, **wanted: str) -> None:
    for name, text in wanted.items():
        await expect(row.locator(f'td[data-figure="{name.replace("_", "-")}"]')).to_have_text(text)


async def test_the_floor_shows_today_s_notification_figures_and_updates_them_as_it_refreshes(
    world: World, page: Page
) -> None:
    live = world.live
    await live.agent("fran", skills=("fraud",))
    lead = await live.agent("lead", role=Role.SUPERVISOR, online=False)
    resolved = await fraud_alert_answered(world, CUSTOMER_PHONE, "YES")
    assert resolved["outcome"] == "resolved"
    await offer_suppressed(world, OTHER_PHONE)

    await sign_in(page, live, lead)
    section = page.get_by_role("region", name="Notifications today")
    await expect(section).to_be_visible()
    table = section.get_by_role("table", name="By template, for notifications created since")
    await expect(table.locator("tbody tr")).to_have_count(2)
    fraud = figures_of(page, "card_fraud_check")
    await expect(fraud.get_by_role("rowheader")).to_have_text("card_fraud_check (fraud alert)")
    await expect_figures(
        fraud,
        sent="1",
        delivered="1 (100%)",
        replied="1 (100%)",
        deflected="1 (100%)",  # YES resolved it: no agent was needed
        handed_off="0",
        suppressed="0",
        deferred="0",
    )
    offer = figures_of(page, "spring_offer")
    await expect(offer.get_by_role("rowheader")).to_have_text("spring_offer (marketing)")
    await expect_figures(
        offer,
        sent="0",
        delivered="0",  # nothing sent: no rate to give
        replied="0",
        deflected="0",
        suppressed="1 — no marketing opt-in: 1",
    )

    # Another customer answers NO: a conversation for the fraud team, an event on the
    # stream, a refresh of the floor, and the figures follow.
    handed = await fraud_alert_answered(world, "+15557651111", "No")
    assert handed["outcome"] == "handed_off"
    await expect_figures(
        fraud,
        sent="2",
        delivered="2 (100%)",
        replied="2 (100%)",
        deflected="1 (50%)",
        handed_off="1",
    )

    await section.scroll_into_view_if_needed()
    await page.mouse.move(0, 0)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000


async def test_the_floor_reloads_notification_figures_on_a_timer_only_while_it_is_shown(
    world: World, page: Page
) -> None:
    lead = await world.live.agent("lead", role=Role.SUPERVISOR, online=False)
    await page.clock.install()  # runs as usual, until the test jumps ahead
    await sign_in(page, world.live, lead)
    rows = page.locator("#notices tbody tr")
    await expect(rows).to_have_text(["No notifications today"])

    # Held back by the rules: nothing on the stream says so, the timer finds it.
    await offer_suppressed(world, CUSTOMER_PHONE)
    await page.clock.fast_forward(RELOAD_MS)
    suppressed = figures_of(page, "spring_offer").locator('td[data-figure="suppressed"]')
    await expect(suppressed).to_have_text("1 — no marketing opt-in: 1")

    # Behind the Conversation tab nobody reads it: the timer leaves it alone.
    await page.get_by_role("tab", name="Conversation").click()
    await offer_suppressed(world, OTHER_PHONE)
    await page.clock.fast_forward(RELOAD_MS)
    await asyncio.sleep(0.3)  # time for a reload the desk should not have asked for
    assert await suppressed.text_content() == "1 — no marketing opt-in: 1"

    await page.get_by_role("tab", name="Floor").click()
    await page.clock.fast_forward(RELOAD_MS)
    await expect(suppressed).to_have_text("2 — no marketing opt-in: 2")
