"""The agent desk with messaging channels, in a real browser.

Threadline and the fake provider run side by side on loopback (tests/support/channels.py);
customers write through the fake's webhooks, and the desk must show what each channel
allows: delivery failures with the provider's reason, the customer's STOP, the 24-hour
windows of WhatsApp (templates) and Messenger (tags), attachments, other channels.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.support.channels import (
    CUSTOMER_PHONE,
    MESSENGER_PAGE,
    SMS_NUMBER,
    WHATSAPP_DISPLAY_NUMBER,
    WHATSAPP_NUMBER_ID,
    World,
    channel_world,
)
from tests.support.clock import FakeClock
from tests.support.live import AgentHandle
from tests.web.test_desk import open_thread, row, sign_in
from threadline.adapters.providers.signing import meta_signature
from threadline.fakeprovider.state import Provider, SentMessage

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "desk-channels.png"
WHATSAPP_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "meta" / "whatsapp"
WA_ID = CUSTOMER_PHONE.lstrip("+")
PSID = "7654321098765432"
HOUR = 3600
TEMPLATES = [
    {
        "name": "order_update",
        "language": "en_US",
        "text": "Hi {{1}}, your order {{2}} has shipped.",
    }
]

# SQLite only, as for the rest of the desk (tests/web/test_desk.py).
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def world(database_url: str, clock: FakeClock) -> AsyncIterator[World]:
    async with channel_world(database_url, clock) as running:
        yield running


# -- helpers ---------------------------------------------------------------------------


async def conversation_on(world: World, agent: AgentHandle, channel: str) -> dict[str, Any]:
    """The agent's one conversation on `channel`."""
    r = await world.live.http.get("/api/v1/conversations", headers=agent.headers)
    assert r.status_code == 200, r.text
    [found] = [c for c in r.json() if c["channel"] == channel]
    return dict(found)


async def sent_when(
    world: World, provider: Provider, found: Callable[[SentMessage], bool]
) -> SentMessage:
    """The first message the fake accepted that `found` recognises, once the outbox
    has sent it."""
    for _ in range(100):
        hits = [s for s in world.fake.sent(provider) if found(s)]
        if hits:
            return hits[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing like that was sent: {world.fake.sent(provider)}")


async def whatsapp_image_arrives(world: World) -> None:
    """The recorded WhatsApp photo (a media id and a caption, no link), signed as Meta
    signs it."""
    body = (WHATSAPP_FIXTURES / "image.json").read_bytes()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": meta_signature(body, world.secrets.meta_app_secret),
    }
    r = await world.live.http.post("/webhooks/meta/whatsapp", content=body, headers=headers)
    assert r.status_code == 200, r.text


def parameters_of(template: dict[str, Any]) -> list[str]:
    return [
        str(p["text"])
        for component in template.get("components", [])
        for p in component.get("parameters", [])
    ]


# The WCAG contrast ratio of an element's text on the first opaque background behind it.
CONTRAST = """(node) => {
    const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = (c) => {
        const [r, g, b] = rgb(c).map((v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    let back = "rgb(255, 255, 255)";
    for (let at = node; at; at = at.parentElement) {
        const c = getComputedStyle(at).backgroundColor;
        if (c !== "transparent" && !/rgba\\(.*, 0\\)$/.test(c)) { back = c; break; }
    }
    const [hi, lo] = [lum(getComputedStyle(node).color), lum(back)].sort((a, b) => b - a);
    return (hi + 0.05) / (lo + 0.05);
}"""


# -- delivery ------------------------------------------------------------------------


async def test_a_reply_the_provider_refuses_shows_not_delivered_and_its_reason_live(
    world: World, page: Page
) -> None:
    await world.connected_inbox("sms")
    alice = await world.live.agent("alice")
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="Is it in stock?")
    conversation = await conversation_on(world, alice, "sms")
    await sign_in(page, world.live, alice)
    await open_thread(page, conversation["id"])
    inbound = page.locator("#thread li.inbound")
    await expect(inbound.locator(".meta")).to_contain_text(" · SMS")  # the channel, in words

    world.fake.behave(
        "error",
        status=400,
        provider="twilio",
        error={"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400},
    )
    await page.get_by_label("Reply").fill("Yes, two left")
    await page.get_by_role("button", name="Send").click()

    reply = page.locator("#thread li.outbound")
    await expect(reply.locator(".meta")).to_have_text(
        re.compile(r"^You · .* · SMS · Not delivered$")
    )
    reason = reply.locator(".delivery-error")
    await expect(reason).to_have_text(re.compile(r"^Not delivered: .*Invalid 'To' Phone Number"))
    await expect(reason).to_contain_text("21211")
    await expect(reason).to_have_attribute("dir", "auto")  # the provider's words, any script
    for words in (reason, reply.locator(".delivery")):
        assert await words.evaluate(CONTRAST) >= 4.5
    assert world.fake.sent("twilio") == []

    # Taken by Twilio, then reported undelivered by its status callback.
    world.fake.behave("ok")
    world.fake.undeliverable(CUSTOMER_PHONE, 30003)
    await page.get_by_label("Reply").fill("Are you still there?")
    await page.get_by_role("button", name="Send").click()
    await expect(reply.nth(1).locator(".delivery-error")).to_have_text(
        re.compile(r"^Not delivered: Twilio error 30003")
    )
    assert [s.text for s in world.fake.sent("twilio")] == ["Are you still there?"]


# -- consent -------------------------------------------------------------------------


async def test_an_sms_customer_s_stop_disables_the_reply_box_and_says_why_live(
    world: World, page: Page
) -> None:
    await world.connected_inbox("sms")
    alice = await world.live.agent("alice")
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="Hi there")
    conversation = await conversation_on(world, alice, "sms")
    await sign_in(page, world.live, alice)
    await open_thread(page, conversation["id"])
    reply = page.get_by_label("Reply")
    await reply.fill("One moment please")
    await expect(reply).to_be_enabled()

    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="STOP")

    await expect(page.locator("#channel-notice")).to_have_text(
        "The customer sent STOP: nothing more can be sent to them on SMS."
    )
    await expect(page.locator("#channel-note")).to_have_text(
        "The customer opted out of messages on SMS (they sent STOP)"
    )
    await expect(reply).to_be_disabled()
    await expect(page.get_by_role("button", name="Send")).to_be_disabled()
    # The conversation closed with the STOP, and stays in view to say why.
    await expect(page.locator("#thread li.inbound").last).to_contain_text("STOP")
    await expect(page.locator("#thread-info")).to_contain_text("closed")
    await expect(page.locator("#thread-view")).to_be_visible()
    await expect(row(page, conversation["id"])).to_have_count(0)

    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="start")
    await expect(page.locator("#channel-notice")).to_have_text(
        "The customer sent START: they take messages on SMS again."
    )
    await expect(page.locator("#channel-note")).to_be_hidden()


# -- the 24-hour windows ---------------------------------------------------------------


async def test_a_whatsapp_customer_silent_for_25_hours_is_sent_an_approved_template(
    world: World, page: Page
) -> None:
    await world.connected_inbox("whatsapp", options={"templates": TEMPLATES})
    alice = await world.live.agent("alice")
    await world.fake.inbound_whatsapp(
        phone_number_id=WHATSAPP_NUMBER_ID,
        display_phone_number=WHATSAPP_DISPLAY_NUMBER,
        from_=WA_ID,
        name="Sam Okafor",
        text="Has my order shipped?",
    )
    conversation = await conversation_on(world, alice, "whatsapp")
    world.live.clock.advance(25 * HOUR)
    await sign_in(page, world.live, alice)
    await open_thread(page, conversation["id"])

    await expect(page.locator("#channel-note")).to_have_text(
        "More than 24 hours since the customer last wrote: send an approved template"
    )
    await expect(page.get_by_label("Reply")).to_be_hidden()
    choice = page.get_by_label("Template", exact=True)
    await expect(choice).to_be_focused()  # where the agent writes now
    await expect(choice.locator("option")).to_have_text(["order_update (en_US)"])
    preview = page.get_by_label("Preview")
    await expect(preview).to_have_text("Hi {{1}}, your order {{2}} has shipped.")
    await page.get_by_label("Value for {{1}}").fill("Sam")
    await page.get_by_label("Value for {{2}}").fill("4411")
    await expect(preview).to_have_text("Hi Sam, your order 4411 has shipped.")
    await page.get_by_role("button", name="Send template").click()

    await expect(page.locator("#thread li.outbound .text")).to_have_text(
        "Hi Sam, your order 4411 has shipped."
    )
    sent = await sent_when(world, "whatsapp", lambda s: s.template is not None)
    assert sent.template is not None
    assert (sent.template["name"], sent.template["language"]) == ("order_update", "en_US")
    assert parameters_of(sent.template) == ["Sam", "4411"]
    await expect(page.get_by_label("Value for {{1}}")).to_have_value("")


async def test_a_send_refused_as_the_window_closes_keeps_the_draft_and_offers_templates(
    world: World, page: Page
) -> None:
    await world.connected_inbox("whatsapp", options={"templates": TEMPLATES})
    alice = await world.live.agent("alice")
    await world.fake.inbound_whatsapp(
        phone_number_id=WHATSAPP_NUMBER_ID,
        display_phone_number=WHATSAPP_DISPLAY_NUMBER,
        from_=WA_ID,
        text="Can I change the size?",
    )
    conversation = await conversation_on(world, alice, "whatsapp")
    world.live.clock.advance(23 * HOUR + 30 * 60)
    await sign_in(page, world.live, alice)
    await open_thread(page, conversation["id"])
    await expect(page.locator("#window-due")).to_have_text("Reply window closes in 30 min")
    await expect(page.locator("#template-form")).to_be_hidden()

    world.live.clock.advance(HOUR)  # the desk has not heard: the server refuses
    await page.get_by_label("Reply").fill("Yes, which size would you like?")
    await page.get_by_role("button", name="Send").click()

    await expect(page.locator("#action-error")).to_contain_text(
        "only an approved template can be sent"
    )
    await expect(page.locator("#template-form")).to_be_visible()
    await expect(page.locator("#channel-note")).to_have_text(
        "More than 24 hours since the customer last wrote: send an approved template"
    )
    await expect(page.locator("#window-due")).to_be_hidden()
    await expect(page.locator("#reply")).to_have_value("Yes, which size would you like?")
    drafts = await page.evaluate("sessionStorage.getItem('tl-drafts')")
    assert "Yes, which size would you like?" in drafts
    assert world.fake.sent("whatsapp") == []


async def test_a_messenger_reply_after_24_hours_goes_with_the_human_agent_tag(
    world: World, page: Page
) -> None:
    await world.connected_inbox("messenger")
    alice = await world.live.agent("alice")
    await world.fake.inbound_messenger(
        page_id=MESSENGER_PAGE, psid=PSID, text="Do you deliver on Sundays?"
    )
    conversation = await conversation_on(world, alice, "messenger")
    world.live.clock.advance(25 * HOUR)
    await sign_in(page, world.live, alice)
    await open_thread(page, conversation["id"])

    await expect(page.locator("#channel-note")).to_have_text(
        "More than 24 hours since the customer last wrote: "
        "Messenger takes only a message with a tag saying why"
    )
    tag = page.get_by_label("Message tag")
    options = await tag.locator("option").all_text_contents()
    assert options[0] == "Human agent (up to 7 days)"
    assert len(options) == 4
    await expect(tag).to_have_value("HUMAN_AGENT")
    await page.get_by_label("Reply").fill("Sorry for the wait: yes, we do.")
    await page.get_by_label("Reply").press("Enter")

    sent = await sent_when(
        world, "messenger", lambda s: s.text == "Sorry for the wait: yes, we do."
    )
    assert sent.tag == "HUMAN_AGENT"
    assert sent.payload["messaging_type"] == "MESSAGE_TAG"
    await expect(page.locator("#thread li.outbound .text")).to_have_text(
        "Sorry for the wait: yes, we do."
    )


# -- attachments and other channels ----------------------------------------------------


async def test_attachments_are_named_and_linked_never_shown_as_images(
    world: World, page: Page
) -> None:
    await world.connected_inbox("sms")
    await world.connected_inbox("whatsapp")
    alice = await world.live.agent("alice")
    photo = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    plain = "http://media.example.test/receipt.pdf"
    await world.fake.inbound_twilio(
        from_=CUSTOMER_PHONE,
        to=SMS_NUMBER,
        body="The box arrived like this",
        media=[
            {"url": photo, "content_type": "image/jpeg"},
            {"url": plain, "content_type": "application/pdf"},
        ],
    )
    await whatsapp_image_arrives(world)
    sms = await conversation_on(world, alice, "sms")
    whatsapp = await conversation_on(world, alice, "whatsapp")
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url))
    await sign_in(page, world.live, alice)

    await open_thread(page, sms["id"])
    message = page.locator("#thread li.inbound")
    await expect(message.locator(".text")).to_have_text("The box arrived like this")
    items = message.locator(".attachments li")
    await expect(items).to_have_text(
        ["Attachment: image/jpeg (opens in a new tab)", "Attachment: application/pdf"]
    )
    link = page.get_by_role("link", name="Attachment: image/jpeg")
    await expect(link).to_have_attribute("href", photo)
    await expect(link).to_have_attribute("rel", "noopener noreferrer")
    await expect(link).to_have_attribute("target", "_blank")
    await expect(items.nth(1).locator("a")).to_have_count(0)  # not https: no link

    await open_thread(page, whatsapp["id"])
    # A media id and a caption: the caption is the text, the photo stays at Meta.
    message = page.locator("#thread li.inbound")
    await expect(message.locator(".text")).to_have_text("Damaged box on arrival")
    await expect(message.locator(".attachments li")).to_have_text(["Attachment: image/jpeg"])
    await expect(message.locator("a")).to_have_count(0)

    assert await page.locator("#thread img, #thread picture, #thread video").count() == 0
    assert not [url for url in fetched if "twilio.com" in url or "example.test" in url]


async def test_a_customer_on_sms_and_whatsapp_is_offered_on_both_from_either(
    world: World, page: Page
) -> None:
    await world.connected_inbox("sms")
    await world.connected_inbox("whatsapp")
    alice = await world.live.agent("alice")
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="Texting you")
    sms = await conversation_on(world, alice, "sms")
    r = await world.live.http.post(
        f"/api/v1/customers/{sms['customer_id']}/identities",
        json={"channel": "whatsapp", "address": WA_ID},
        headers=world.admin.headers,
    )
    assert r.status_code == 201, r.text
    await world.fake.inbound_whatsapp(
        phone_number_id=WHATSAPP_NUMBER_ID,
        display_phone_number=WHATSAPP_DISPLAY_NUMBER,
        from_=WA_ID,
        text="And on WhatsApp",
    )
    whatsapp = await conversation_on(world, alice, "whatsapp")
    assert whatsapp["customer_id"] == sms["customer_id"]
    await sign_in(page, world.live, alice)

    await open_thread(page, sms["id"])
    await expect(page.locator("#also-on")).to_have_text("Also on: WhatsApp")
    await expect(page.locator("#thread-info")).to_contain_text("SMS")
    link = page.get_by_role("link", name="WhatsApp", exact=True)
    await link.focus()
    await link.press("Enter")  # a link, so the keyboard opens it too

    await expect(row(page, whatsapp["id"])).to_have_attribute("aria-current", "true")
    await expect(page.locator("#thread li.inbound .text")).to_have_text("And on WhatsApp")
    await expect(page.locator("#thread li.inbound .meta")).to_contain_text(" · WhatsApp")
    await expect(page.locator("#also-on")).to_have_text("Also on: SMS")
    await page.get_by_role("link", name="SMS", exact=True).click()
    await expect(page.locator("#thread li.inbound .text")).to_have_text("Texting you")


# -- the picture in the docs -------------------------------------------------------------


async def test_the_desk_with_channels_is_pictured_for_the_docs(world: World, page: Page) -> None:
    await world.connected_inbox("sms")
    await world.connected_inbox("whatsapp", options={"templates": TEMPLATES})
    alice = await world.live.agent("alice", preferred=4, max_load=5)
    r = await world.live.http.patch(
        f"/api/v1/agents/{alice.id}",
        json={"display_name": "Alice Moreau"},
        headers=world.admin.headers,
    )
    assert r.status_code == 200, r.text
    # One customer, known on both channels.
    jordan = {
        "display_name": "Jordan Rivera",
        "identities": [
            {"channel": "sms", "address": CUSTOMER_PHONE},
            {"channel": "whatsapp", "address": WA_ID},
        ],
    }
    r = await world.live.http.post("/api/v1/customers", json=jordan, headers=world.admin.headers)
    assert r.status_code == 201, r.text
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="Any news?")
    world.live.clock.advance(60)
    await whatsapp_image_arrives(world)
    whatsapp = await conversation_on(world, alice, "whatsapp")
    world.fake.undeliverable(WA_ID, 131026)
    await world.live.reply(alice, whatsapp["id"], "So sorry! Which order was it?")
    await world.fake.idle()
    world.live.clock.advance(120)
    await world.fake.inbound_whatsapp(
        phone_number_id=WHATSAPP_NUMBER_ID,
        display_phone_number=WHATSAPP_DISPLAY_NUMBER,
        from_=WA_ID,
        name="Jordan Rivera",
        text="Did my last message reach you? It's order #4471.",
    )
    world.live.clock.advance(25 * HOUR)  # still waiting for an answer, a day later

    await sign_in(page, world.live, alice, "Alice Moreau")
    await open_thread(page, whatsapp["id"])
    await expect(page.locator("#thread li.outbound .delivery-error")).to_be_visible()
    await expect(page.locator("#also-on")).to_have_text("Also on: SMS")
    await page.get_by_label("Value for {{1}}").fill("Jordan")
    await page.get_by_label("Value for {{2}}").fill("#4471")
    await page.mouse.move(0, 0)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
