"""The agent desk in a real browser against a real server.

Each test signs in as an agent or a supervisor, as people do, and checks one behaviour
of the desk (src/threadline/web/desk) against the live API.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, Request, Route, WebSocketRoute, expect

from tests.support.live import PASSWORD, AgentHandle, InboxHandle, Live
from tests.support.webchat import visit, visitor_says, web_inbox
from threadline.core.agents import Role

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "desk.png"
SMALL_LAPTOP = {"width": 1024, "height": 768}
LAPTOP = {"width": 1280, "height": 800}


# SQLite only: what the desk does is the same on either database (the API's own tests
# run on both), and one database keeps the browser suite quick.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


# -- helpers ---------------------------------------------------------------------------


async def sign_in(page: Page, live: Live, agent: AgentHandle, name: str | None = None) -> None:
    await page.goto(live.base_url + "/")
    await page.get_by_label("Username").fill(agent.username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#me-name")).to_have_text(name or agent.username)


def row(page: Page, conversation_id: str) -> Locator:
    return page.locator(f'#lists button[data-id="{conversation_id}"]')


async def open_thread(page: Page, conversation_id: str) -> None:
    await row(page, conversation_id).click()
    await expect(row(page, conversation_id)).to_have_attribute("aria-current", "true")
    await expect(page.locator("#thread-view")).to_be_visible()


async def customer_writes(
    live: Live, inbox: InboxHandle, address: str, text: str, name: str | None = None
) -> str:
    """A message through the API channel, with or without a name; the conversation id."""
    customer: dict[str, str] = {"address": address}
    if name is not None:
        customer["name"] = name
    body = {"external_id": uuid.uuid4().hex, "customer": customer, "text": text}
    r = await live.http.post("/api/v1/channel/messages", json=body, headers=inbox.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["conversation_id"])


async def post(live: Live, agent: AgentHandle, path: str, body: Any = None) -> Any:
    r = await live.http.post(f"/api/v1{path}", json=body, headers=agent.headers)
    assert r.status_code in (200, 201, 204), r.text
    return r.json() if r.status_code != 204 else None


async def state_of(live: Live, agent: AgentHandle, conversation_id: str) -> dict[str, Any]:
    return dict((await live.conversation(agent, conversation_id))["conversation"])


async def desk_token(page: Page) -> str:
    return str(await page.evaluate("sessionStorage.getItem('tl-token')"))


async def eventually(probe: Any, expected: Any) -> None:
    """Wait until `probe()` returns `expected` (for what no locator can watch)."""
    for _ in range(100):
        if (found := probe()) == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {expected!r}, still {found!r}")


async def eventually_async(probe: Any, expected: Any) -> None:
    """Wait until `await probe()` returns `expected`."""
    for _ in range(100):
        if (found := await probe()) == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {expected!r}, still {found!r}")


def relay_to_server(
    ws: WebSocketRoute, *, seen: list[dict[str, Any]], ready: asyncio.Event | None = None
) -> None:
    """Pass the desk's socket through to the server, noting every frame the desk sends
    (and setting `ready` when the server's "ready" frame goes by)."""
    server = ws.connect_to_server()

    def to_server(message: str | bytes) -> None:
        seen.append(json.loads(message))
        server.send(message)

    def to_page(message: str | bytes) -> None:
        if ready is not None and json.loads(message)["type"] == "ready":
            ready.set()
        ws.send(message)

    ws.on_message(to_server)
    server.on_message(to_page)


# -- the conversation list and the thread -----------------------------------------------


async def test_a_new_conversation_appears_on_the_desk_without_reloading(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=2, max_load=3)
    await sign_in(page, live, alice)
    await expect(page.locator("#load")).to_have_text("0/2 active (max 3)")

    said = await live.customer_says(inbox, "c1", "Where is my parcel?")

    conversation = row(page, said["conversation_id"])
    await expect(conversation).to_contain_text("waiting for you")
    await expect(conversation.locator("strong")).to_have_text("C1")  # the customer's name
    await expect(conversation.locator(".preview")).to_have_text("Where is my parcel?")
    await expect(conversation.locator(".due")).to_contain_text("left")
    await expect(page.locator("#load")).to_have_text("1/2 active (max 3)")
    await conversation.click()
    await expect(page.locator("#thread")).to_contain_text("Where is my parcel?")


async def test_the_agent_replies_and_the_customer_s_next_message_arrives_live(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    said = await live.customer_says(inbox, "c1", "My card was declined")
    await sign_in(page, live, alice)
    await open_thread(page, said["conversation_id"])

    await page.get_by_label("Reply").fill("Which card was it?")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#thread li.outbound")).to_contain_text("Which card was it?")
    detail = await live.conversation(alice, said["conversation_id"])
    assert detail["messages"][-1]["text"] == "Which card was it?"

    await live.customer_says(inbox, "c1", "The visa ending 4242")
    await expect(page.locator("#thread li.inbound").last).to_contain_text("The visa ending 4242")
    # Right-to-left text keeps its direction in the thread and the list.
    await live.customer_says(inbox, "c1", "وين طلبي؟ order 4411")
    last = page.locator("#thread li.inbound .text").last
    await expect(last).to_have_text("وين طلبي؟ order 4411")
    await expect(last).to_have_attribute("dir", "auto")
    await expect(row(page, said["conversation_id"]).locator(".preview bdi")).to_have_text(
        "وين طلبي؟ order 4411"
    )


async def test_customer_html_is_shown_as_text_and_never_runs(live: Live, page: Page) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    attack = '<img src=x onerror="window.__owned = 1"><script>window.__owned = 2</script>'
    said = await live.customer_says(inbox, "c1", attack)
    await sign_in(page, live, alice)
    await open_thread(page, said["conversation_id"])

    await expect(page.locator("#thread li.inbound")).to_contain_text(attack)
    assert await page.locator("#thread img, #thread script").count() == 0
    assert await page.evaluate("window.__owned === undefined")


async def test_a_wrong_password_is_refused_and_a_fresh_desk_says_what_to_do(
    live: Live, page: Page
) -> None:
    alice = await live.agent("alice")
    await page.goto(live.base_url + "/desk/")
    await page.get_by_label("Username").fill(alice.username)
    await page.get_by_label("Password").fill("not-the-password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert").first).to_have_text("wrong username or password")
    assert await page.locator("#desk-view").is_hidden()

    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    await sign_in(page, live, alice)

    await expect(page.locator("#mine")).to_have_text("No conversations")
    await expect(page.locator("#inactive")).to_have_text("No conversations")
    await expect(page.get_by_text("Select a conversation")).to_be_visible()
    await expect(page.locator("#mine-title")).to_be_focused()  # nothing to work on yet
    await expect(page.locator('link[rel="icon"]')).to_have_attribute("href", "favicon.svg")
    icon = await live.http.get("/desk/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert failed == []


async def test_keyboard_focus_starts_on_the_first_conversation_survives_refreshes_and_alt_arrows(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=3, max_load=3)
    first = (await live.customer_says(inbox, "c1", "First"))["conversation_id"]
    second = (await live.customer_says(inbox, "c2", "Second"))["conversation_id"]
    await sign_in(page, live, alice)
    await expect(page.locator("#mine button").first).to_be_focused()  # ready to work
    await row(page, second).focus()

    third = (await live.customer_says(inbox, "c3", "Third"))["conversation_id"]
    await expect(row(page, third)).to_be_visible()  # the list was refreshed
    await expect(row(page, second)).to_be_focused()

    order = await page.locator("#mine button").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert sorted(order) == sorted([first, second, third])
    await page.keyboard.press("Alt+ArrowDown")  # nothing open yet: the first one
    await expect(row(page, order[0])).to_have_attribute("aria-current", "true")
    await page.keyboard.press("Alt+ArrowDown")
    await expect(row(page, order[1])).to_have_attribute("aria-current", "true")
    await expect(row(page, order[1])).to_be_focused()
    await page.keyboard.press("Alt+ArrowUp")
    await expect(row(page, order[0])).to_have_attribute("aria-current", "true")
    await expect(row(page, order[0])).to_be_focused()


async def test_draft_stays_with_its_conversation(live: Live, page: Page) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    first = (await live.customer_says(inbox, "c1", "First"))["conversation_id"]
    second = (await live.customer_says(inbox, "c2", "Second"))["conversation_id"]
    await sign_in(page, live, alice)
    reply = page.get_by_label("Reply")

    await open_thread(page, first)
    await reply.fill("Half a thought for C1")
    await open_thread(page, second)
    await expect(reply).to_have_value("")
    await reply.fill("Something else for C2")
    await open_thread(page, first)
    await expect(reply).to_have_value("Half a thought for C1")

    await page.reload()  # the same tab keeps its drafts
    await expect(row(page, second)).to_be_visible()
    await open_thread(page, second)
    await expect(reply).to_have_value("Something else for C2")


async def test_a_slow_open_never_shows_the_last_thread_or_a_reply_box_under_the_new_one(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    first = (await live.customer_says(inbox, "c1", "First"))["conversation_id"]
    second = (await live.customer_says(inbox, "c2", "Second"))["conversation_id"]
    await sign_in(page, live, alice)
    await open_thread(page, first)
    await expect(page.locator("#thread li.inbound .text")).to_have_text("First")

    held = asyncio.Event()

    async def slow(route: Route) -> None:
        await held.wait()  # the network takes its time over the second conversation
        await route.continue_()

    await page.route(f"**/api/v1/conversations/{second}", slow)
    await row(page, second).click()
    await expect(row(page, second)).to_have_attribute("aria-current", "true")
    await expect(page.locator("#thread-view")).to_have_attribute("aria-busy", "true")
    await expect(page.locator("#thread li")).to_have_count(0)
    await expect(page.get_by_label("Reply")).to_be_hidden()

    held.set()
    await expect(page.locator("#thread li.inbound .text")).to_have_text("Second")
    await expect(page.get_by_label("Reply")).to_be_visible()
    await expect(page.locator("#thread-view")).not_to_have_attribute("aria-busy", "true")


async def test_a_reply_is_sent_once_by_click_or_enter_and_shift_enter_breaks_the_line(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    said = await live.customer_says(inbox, "c1", "Hello?")
    conversation_id = said["conversation_id"]

    async def slow(route: Route) -> None:
        if route.request.method == "POST":
            await asyncio.sleep(0.4)  # a slow network: the second click comes meanwhile
        await route.continue_()

    await page.route("**/api/v1/conversations/*/messages", slow)
    await sign_in(page, live, alice)
    await open_thread(page, conversation_id)
    reply = page.get_by_label("Reply")
    await reply.fill("Hello! How can I help?")
    send = page.get_by_role("button", name="Send")
    await send.dblclick()
    await expect(send).to_be_disabled()
    await expect(page.locator("#thread li.outbound")).to_have_count(1)
    await expect(send).to_be_enabled()

    await reply.press_sequentially("Two things:")
    await reply.press("Shift+Enter")
    await reply.press_sequentially("first, your order")
    await expect(reply).to_have_value("Two things:\nfirst, your order")
    await reply.press("Enter")
    await reply.press("Enter")  # held down, or pressed again while it goes
    await expect(page.locator("#thread li.outbound .text").last).to_have_text(
        "Two things:\nfirst, your order"
    )
    await expect(reply).to_have_value("")
    await expect(reply).to_be_focused()

    detail = await live.conversation(alice, conversation_id)
    assert [m["text"] for m in detail["messages"] if m["direction"] == "outbound"] == [
        "Hello! How can I help?",
        "Two things:\nfirst, your order",
    ]


async def test_typing_a_slash_offers_the_canned_responses_to_mouse_and_keyboard(
    live: Live, page: Page
) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    canned = [("hello", "Hi there!"), ("help", "How can I help?"), ("refund", "Within 5 days.")]
    for shortcut, text in canned:
        await post(live, admin, "/canned-responses", {"shortcut": shortcut, "text": text})
    inbox = await live.inbox()
    alice = await live.agent("alice")
    said = await live.customer_says(inbox, "c1", "Where is my refund?")
    await sign_in(page, live, alice)
    await open_thread(page, said["conversation_id"])
    reply = page.get_by_label("Reply")
    options = page.get_by_role("list", name="Canned responses").get_by_role("button")

    await reply.fill("/re")
    await expect(options).to_have_count(1)
    await options.first.click()
    await expect(reply).to_have_value("Within 5 days.")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#thread li.outbound")).to_contain_text("Within 5 days.")

    await reply.press_sequentially("/he")
    await expect(options).to_have_count(2)
    await reply.press("ArrowDown")
    await expect(options.nth(0)).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await expect(options.nth(1)).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(reply).to_have_value("How can I help?")
    await expect(reply).to_be_focused()

    await reply.fill("")
    await reply.press_sequentially("/h")
    await expect(options).to_have_count(2)
    await reply.press("Escape")
    await expect(page.locator("#canned")).to_be_hidden()
    await expect(reply).to_have_value("/h")
    await expect(reply).to_be_focused()


# -- what the thread says about messages and customers ----------------------------------


async def test_each_outbound_message_says_who_sent_it_and_its_delivery_in_words(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    bob = await live.agent("bob")
    alice = await live.agent("alice", online=False)
    lead = await live.agent("lead", role=Role.SUPERVISOR, online=False)
    said = await live.customer_says(inbox, "c1", "My order is late")
    conversation_id = said["conversation_id"]
    await live.reply(bob, conversation_id, "Let me check")
    await live.customer_says(inbox, "c1", "Thanks, it was due Monday")
    await live.set_status(alice, "online")
    await post(live, lead, f"/conversations/{conversation_id}/transfer", {"to_agent_id": alice.id})
    mine = await live.reply(alice, conversation_id, "Found it: it ships today")

    await sign_in(page, live, alice)
    await open_thread(page, conversation_id)
    outbound = page.locator("#thread li.outbound .meta")
    # Agents may not list agents: Bob is "Agent" here (a supervisor's desk names him).
    await expect(outbound.nth(0)).to_contain_text(re.compile(r"^Agent · .* · Not yet sent$"))
    await expect(outbound.nth(1)).to_contain_text(re.compile(r"^You · .* · Not yet sent$"))

    for status, shown in [("delivered", "Delivered"), ("read", "Read")]:
        r = await live.http.post(
            f"/api/v1/channel/outbound/{mine['id']}/status",
            json={"status": status},
            headers=inbox.headers,
        )
        assert r.status_code == 204, r.text
        await expect(outbound.nth(1)).to_contain_text(f" · {shown}")


async def test_the_thread_names_the_customer_and_says_how_sure_we_are_of_who_they_are(
    live: Live, page: Page
) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice", preferred=4, max_load=4)
    by_phone = await customer_writes(live, await live.inbox("SMS-ish"), "c-1", "Hi", "Noor")
    unnamed = await customer_writes(live, await live.inbox("Shop"), "+447700900123", "Hello")
    in_app = await customer_writes(
        live, await live.inbox("App", channel="app"), "acct-7", "Hi", "Ines"
    )
    _, key = await web_inbox(live, admin)
    visitor = await visit(live, key)
    await visitor_says(live, visitor, "Hello from the website")
    await sign_in(page, live, alice)
    web = page.locator("#mine button").filter(has_text="web")
    await expect(web).to_have_count(1)
    badge = page.locator("#verification")
    note = page.get_by_text("Do not disclose account details")

    # No name: the list can only say the channel; the thread knows the address.
    await expect(row(page, unnamed).locator("strong")).to_have_text("Customer · api")
    await open_thread(page, unnamed)
    await expect(page.locator("#thread-title")).to_have_text("+447700900123")
    await expect(page.locator("#thread li.inbound .meta")).to_contain_text("+447700900123")

    await open_thread(page, in_app)
    await expect(badge).to_have_text("Verified")
    await expect(note).to_be_hidden()
    await open_thread(page, by_phone)
    await expect(page.locator("#thread-title")).to_have_text("Noor")
    await expect(badge).to_have_text("Identified")
    await expect(note).to_be_visible()
    await web.click()
    await expect(badge).to_have_text("Anonymous")
    await expect(note).to_be_visible()
    # An anonymous web visitor: a short label, the same in the list and the thread.
    label = f"Web visitor {visitor.customer_id[:6]}"
    await expect(web.locator("strong")).to_have_text(label)
    await expect(page.locator("#thread-title")).to_have_text(label)


async def test_what_the_bot_learned_is_shown_above_the_thread(live: Live, page: Page) -> None:
    alice = await live.agent("alice")
    inbox = await live.inbox()
    r = await live.http.post(
        "/api/v1/channel/messages",
        json={
            "customer": {"address": "dana", "name": "Dana"},
            "text": "I want to talk to a person",
            "handoff": {
                "bot": "Acme assistant",
                "intent": "order_status",
                "confidence": 0.92,
                "fields": {"order_number": "AC-10422", "note": "<b>fragile</b>"},
                "summary": "Order AC-10422 has not moved for 6 days.",
            },
        },
        headers=inbox.headers,
    )
    assert r.status_code == 201, r.text
    plain = await customer_writes(live, inbox, "sam", "Hello")
    await sign_in(page, live, alice)
    await open_thread(page, r.json()["conversation_id"])
    handoff = page.get_by_role("region", name="From the bot")
    await expect(handoff).to_contain_text("Acme assistant: order_status (92% sure)")
    await expect(handoff.locator("dt")).to_have_text(["order number", "note"])
    await expect(handoff.locator("dd")).to_have_text(["AC-10422", "<b>fragile</b>"])
    await expect(handoff).to_contain_text("Order AC-10422 has not moved for 6 days.")
    # A conversation no bot handed over shows no such panel.
    await open_thread(page, plain)
    await expect(handoff).to_be_hidden()
    # The list says who spoke last: the agent's own reply is "You".
    await live.reply(alice, plain, "Hi Sam, how can I help?")
    await expect(row(page, plain).locator(".preview")).to_have_text("You: Hi Sam, how can I help?")


# -- conversation actions ----------------------------------------------------------------


async def test_an_inactive_conversation_hides_the_reply_box_and_closing_asks_to_confirm(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    said = await live.customer_says(inbox, "c1", "I'll check and come back")
    conversation_id = said["conversation_id"]
    await sign_in(page, live, alice)
    await open_thread(page, conversation_id)
    set_aside = page.get_by_role("button", name="Mark inactive")
    await expect(set_aside).to_be_hidden()  # the customer is waiting for an answer
    await live.reply(alice, conversation_id, "Sure, take your time")  # now waiting on them

    await set_aside.click()
    await expect(page.locator(f'#inactive button[data-id="{conversation_id}"]')).to_be_visible()
    await expect(page.get_by_label("Reply")).to_be_hidden()
    await expect(page.locator("#compose-note")).to_have_text(
        "Inactive: the customer's next message brings it back to you."
    )

    close = page.get_by_role("button", name="Close", exact=True)
    confirm = page.get_by_role("button", name="Confirm close")
    await close.click()
    await expect(confirm).to_be_focused()
    await page.get_by_role("button", name="Keep open").click()
    await expect(confirm).to_be_hidden()
    await expect(close).to_be_focused()
    assert (await state_of(live, alice, conversation_id))["state"] == "inactive"

    await close.click()
    await confirm.click()
    await expect(page.locator("#pane-status")).to_have_text("Closed the conversation with C1.")
    await expect(row(page, conversation_id)).to_have_count(0)
    assert (await state_of(live, alice, conversation_id))["state"] == "closed"


async def test_the_agent_transfers_to_a_queue_and_sees_why_a_transfer_is_refused(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    await live.inbox("Billing", queue="billing")
    alice = await live.agent("alice", skills=("general", "returns"))
    said = await live.customer_says(inbox, "c1", "Question about my invoice")
    conversation_id = said["conversation_id"]
    await sign_in(page, live, alice)
    await open_thread(page, conversation_id)
    await page.get_by_role("button", name="Transfer…").click()
    queue = page.get_by_label("Transfer to queue")
    await expect(queue).to_be_focused()
    # The queues the agent knows of are offered; any other can be typed.
    offered = await page.locator("#queue-options option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    assert offered == ["general", "returns"]

    await queue.fill("not a queue!")  # the pattern is checked by the browser
    assert await queue.evaluate("input => input.validity.patternMismatch")
    await queue.fill("nowhere")
    await page.get_by_role("button", name="Transfer", exact=True).click()
    error = page.locator("#action-error")
    await expect(error).to_contain_text("no queue 'nowhere'")
    await page.get_by_label("Reply").fill("Let me find the right team")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#thread li.outbound")).to_have_count(1)
    await expect(error).to_be_empty()  # stale once something worked

    await queue.fill("billing")
    await page.get_by_role("button", name="Transfer", exact=True).click()
    await expect(row(page, conversation_id)).to_have_count(0)
    await expect(page.locator("#pane-status")).to_have_text("Transferred to the billing queue.")
    lead = await live.agent("lead", role=Role.SUPERVISOR, online=False)
    after = await state_of(live, lead, conversation_id)
    assert (after["queue"], after["state"]) == ("billing", "queued")


async def test_an_agent_hands_a_conversation_to_a_colleague_who_is_online(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=1)
    said = await live.customer_says(inbox, "c1", "Can Bruno call me back?")
    bruno = await live.agent("bruno", max_load=3)
    await live.agent("carl", online=False)  # offline: not offered
    await sign_in(page, live, alice)
    await open_thread(page, said["conversation_id"])
    await page.get_by_role("button", name="Transfer…").click()
    choice = page.get_by_label("Transfer to agent")
    await expect(choice.locator("option")).to_have_text(["No agent", "bruno (load 0/3)"])
    await choice.select_option(label="bruno (load 0/3)")
    await page.get_by_role("button", name="Transfer", exact=True).click()
    await expect(row(page, said["conversation_id"])).to_have_count(0)
    assert (await state_of(live, bruno, said["conversation_id"]))["assigned_agent_id"] == bruno.id


async def test_a_failed_request_offline_shows_the_banner_not_a_raw_error(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    said = await live.customer_says(inbox, "c1", "Hello")
    await sign_in(page, live, alice)
    await open_thread(page, said["conversation_id"])

    async def cut(route: Route) -> None:
        await route.abort("internetdisconnected")

    await page.route("**/api/v1/**", cut)  # the Wi-Fi drops (the open socket lingers)
    await page.get_by_label("Reply").fill("Are you still there?")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#offline-banner")).to_be_visible()
    await expect(page.locator("#action-error")).to_be_empty()
    await expect(page.get_by_label("Reply")).to_have_value("Are you still there?")  # kept

    await page.unroute("**/api/v1/**", cut)
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#thread li.outbound")).to_have_count(1)
    await expect(page.locator("#offline-banner")).to_be_hidden()


# -- conversations that change under the agent ------------------------------------------


async def test_a_conversation_taken_away_while_open_leaves_the_pane_with_a_notice(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=2, max_load=2)
    bob = await live.agent("bob", online=False)
    lead = await live.agent("lead", role=Role.SUPERVISOR, online=False)
    moved = (await live.customer_says(inbox, "c1", "First"))["conversation_id"]
    closed = (await live.customer_says(inbox, "c2", "Second"))["conversation_id"]
    await live.set_status(bob, "online")
    await sign_in(page, live, alice)
    status = page.locator("#pane-status")

    await open_thread(page, moved)
    await page.get_by_label("Reply").focus()
    await post(live, lead, f"/conversations/{moved}/transfer", {"to_agent_id": bob.id})
    await expect(status).to_have_text("That conversation was reassigned.")
    await expect(page.locator("#thread-view")).to_be_hidden()
    await expect(page.get_by_text("Select a conversation")).to_be_visible()
    await expect(row(page, moved)).to_have_count(0)
    await expect(row(page, closed)).to_be_focused()  # not lost with the pane

    await open_thread(page, closed)
    await expect(status).to_be_empty()
    await post(live, lead, f"/conversations/{closed}/close")
    await expect(status).to_have_text("That conversation was closed.")
    await expect(page.locator("#thread-view")).to_be_hidden()
    await expect(page.locator("#mine-title")).to_be_focused()


async def test_news_elsewhere_is_announced_counted_in_the_title_and_marked_unread(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=3, max_load=3)
    first = (await live.customer_says(inbox, "c1", "Hello"))["conversation_id"]
    await sign_in(page, live, alice)
    await expect(row(page, first)).to_have_accessible_name(re.compile(r"\b1 unread\b"))
    await open_thread(page, first)
    await expect(row(page, first).locator(".unread")).to_have_count(0)
    await expect(page).to_have_title("Threadline desk")

    second = (await live.customer_says(inbox, "c2", "Is anyone there?"))["conversation_id"]
    await expect(page.locator("#announcer")).to_have_text("New conversation from C2.")
    await expect(page).to_have_title("(1) Threadline desk")
    await live.customer_says(inbox, "c1", "Also, one more thing")  # in the open thread: seen
    await expect(page.locator("#thread li.inbound")).to_have_count(2)
    await live.customer_says(inbox, "c2", "Hello??")
    await expect(row(page, second)).to_have_accessible_name(re.compile(r"\b2 unread\b"))
    await expect(row(page, second).locator(".unread")).to_contain_text("2")
    await expect(page).to_have_title("(1) Threadline desk")

    await open_thread(page, second)
    await eventually_async(lambda: read_up_to(live, alice, second), 2)  # told the server
    await live.customer_says(inbox, "c1", "Hello again?")
    await expect(page.locator("#announcer")).to_have_text("New message from C1.")
    await expect(page).to_have_title("(1) Threadline desk")
    await open_thread(page, first)
    await expect(page).to_have_title("Threadline desk")
    await expect(row(page, second).locator(".unread")).to_have_count(0)  # the server agrees


async def read_up_to(live: Live, agent: AgentHandle, conversation_id: str) -> int:
    return int((await state_of(live, agent, conversation_id))["agent_read_seq"])


async def test_typing_is_signalled_to_the_customer_and_shown_from_them(
    live: Live, page: Page
) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice")
    _, key = await web_inbox(live, admin)
    visitor = await visit(live, key)
    await visitor_says(live, visitor, "Do you ship to Norway?")
    signals: list[bool] = []

    def note(request: Request) -> None:
        if request.url.endswith("/typing") and request.method == "POST":
            signals.append(json.loads(request.post_data or "{}")["typing"])

    page.on("request", note)
    await sign_in(page, live, alice)
    await page.locator("#mine button").first.click()

    reply = page.get_by_label("Reply")
    await reply.press_sequentially("We do, in", delay=30)
    await eventually(lambda: signals, [True])  # once, not per keystroke
    await reply.press("Enter")
    await eventually(lambda: signals, [True, False])

    typing = page.locator("#typing-indicator")
    for on, shown in [(True, "Customer is typing…"), (False, "")]:
        r = await live.http.post(
            "/api/v1/widget/typing", json={"typing": on}, headers=visitor.headers
        )
        assert r.status_code == 204, r.text
        await expect(typing).to_have_text(shown)


# -- the live stream ---------------------------------------------------------------------


async def test_after_a_network_drop_the_desk_catches_up_and_when_too_far_behind_reloads(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=3, max_load=3)
    sockets: list[WebSocketRoute] = []
    hellos: list[dict[str, Any]] = []  # what the desk sent, on every connection
    ready = asyncio.Event()
    reconnect = asyncio.Event()

    async def relay(ws: WebSocketRoute) -> None:
        sockets.append(ws)
        if len(sockets) > 1:
            # The network is still down: the desk's new connection reaches the server
            # only when the test lets it through.
            await reconnect.wait()
        relay_to_server(ws, seen=hellos, ready=ready)

    await page.route_web_socket("**/api/v1/stream", relay)
    await page.clock.install()  # runs as usual, until the test jumps ahead
    await sign_in(page, live, alice)
    await asyncio.wait_for(ready.wait(), 5)
    first = await live.customer_says(inbox, "c1", "Hello?")
    await expect(row(page, first["conversation_id"])).to_be_visible()
    await expect(page.locator("#load")).to_have_text("1/3 active (max 3)")
    seen = await live.event_head()  # the desk has had every event up to here

    await sockets[0].close(code=1006, reason="network drop")
    await expect(page.locator("#offline-banner")).to_be_visible()
    missed = await live.customer_says(inbox, "c2", "Written while the desk was offline")
    reconnect.set()
    await page.clock.fast_forward(10_000)  # the desk's next try, without waiting for it
    await expect(page.locator("#offline-banner")).to_be_hidden()
    await expect(row(page, missed["conversation_id"])).to_be_visible()
    assert len(sockets) == 2
    assert hellos[1]["after"] == seen  # it asked for exactly what it had missed

    # 4409: the server will not replay that much; the desk starts from now and reloads.
    await sockets[1].close(code=4409, reason="too far behind")
    meanwhile = await live.customer_says(inbox, "c3", "Meanwhile")
    await expect(row(page, meanwhile["conversation_id"])).to_be_visible()
    assert len(hellos) == 3
    assert "after" not in hellos[2]


async def test_a_revoked_session_returns_to_sign_in_instead_of_reconnecting(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    said = await live.customer_says(inbox, "c1", "Hello")
    sockets: list[WebSocketRoute] = []
    frames: list[dict[str, Any]] = []

    async def relay(ws: WebSocketRoute) -> None:
        sockets.append(ws)
        relay_to_server(ws, seen=frames)

    await page.route_web_socket("**/api/v1/stream", relay)
    await page.clock.install()  # runs as usual, until the test jumps ahead
    await sign_in(page, live, alice)
    await open_thread(page, said["conversation_id"])
    await page.get_by_label("Reply").fill("A draft")
    await eventually(lambda: len(frames), 1)  # the hello

    async def unreachable(route: Route) -> None:
        await route.abort("internetdisconnected")

    # Only the stream may tell the desk (a request would hear 401 and say the same).
    await page.route("**/api/v1/**", unreachable)
    token = await desk_token(page)
    r = await live.http.post(  # e.g. signed out in another tab
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 204, r.text
    await sockets[0].close(code=1006, reason="network drop")
    await page.clock.fast_forward(10_000)  # the desk's next try, without waiting for it

    await expect(page.locator("#login-view")).to_be_visible()
    await expect(page.get_by_role("alert").first).to_have_text(
        "Your session has ended; sign in again."
    )
    await expect(page.locator("#thread")).to_be_empty()
    assert await page.locator("#reply").input_value() == ""
    await page.clock.fast_forward(30_000)  # past any retry the desk could have planned
    await asyncio.sleep(0.2)
    assert len(sockets) == 2  # one try, refused with 4401, and no more


# -- sign in and out ---------------------------------------------------------------------


async def test_sign_out_sets_the_agent_offline_and_forgets_what_was_on_screen(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    said = await live.customer_says(inbox, "c1", "Private matter")
    await sign_in(page, live, alice)
    await open_thread(page, said["conversation_id"])
    await page.get_by_label("Reply").fill("A draft about a private matter")
    await page.get_by_role("button", name="Transfer…").click()
    await page.get_by_label("Transfer to queue").fill("nowhere")
    await page.get_by_role("button", name="Transfer", exact=True).click()
    await expect(page.locator("#action-error")).not_to_be_empty()
    token = await desk_token(page)

    await page.get_by_role("button", name="Sign out").click()

    await expect(page.locator("#login-view")).to_be_visible()
    await expect(page.get_by_label("Username")).to_be_focused()
    for shown in ["#mine", "#inactive", "#thread", "#thread-title", "#action-error", "#me-name"]:
        await expect(page.locator(shown)).to_be_empty()
    assert await page.locator("#reply").input_value() == ""
    assert "private" not in (await page.locator("body").text_content() or "").lower()
    assert await page.evaluate("sessionStorage.length") == 0
    r = await live.http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401  # the token itself ended
    fresh = await live.login("alice")
    assert (await live.http.get("/api/v1/me", headers=fresh.headers)).json()["status"] == "offline"


# -- the supervisor's floor and the layout ----------------------------------------------


async def test_the_floor_names_late_customers_and_a_supervisor_transfers_one_to_an_agent(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=1, max_load=1)
    late = await customer_writes(live, inbox, "c-1", "Hi", "Sophie Martin")
    await live.reply(alice, late, "Hello Sophie!")
    await customer_writes(live, inbox, "c-1", "My parcel never came")
    carol = await live.agent("carol", preferred=1, max_load=1)
    unnamed = await customer_writes(live, inbox, "+33612345678", "Hello?")  # Carol's: full
    bob = await live.agent("bob", preferred=1, max_load=2)
    lead = await live.agent("lead", role=Role.SUPERVISOR, online=False)
    live.clock.advance(3600)  # both late now
    await sign_in(page, live, lead)

    sophie = page.locator(f'#breaching li[data-id="{late}"]')
    await expect(sophie.locator(".name")).to_have_text("Sophie Martin")
    await expect(sophie.locator(".due")).to_have_text(re.compile(r"^Late by "))
    nameless = page.locator(f'#breaching li[data-id="{unnamed}"]')
    await expect(nameless.locator(".name")).to_have_text("+33612345678")

    await sophie.get_by_role("button", name="Open Sophie Martin's conversation").click()
    await expect(page.get_by_role("tab", name="Conversation")).to_have_attribute(
        "aria-selected", "true"
    )
    await expect(page.locator("#thread-title")).to_have_text("Sophie Martin")
    await expect(page.locator("#thread li.outbound .meta")).to_contain_text("alice · ")
    await expect(page.locator("#compose-note")).to_have_text(
        "Only the assigned agent replies (assigned to alice)."
    )

    await page.get_by_role("button", name="Transfer…").click()
    to_agent = page.get_by_label("Transfer to agent")
    await to_agent.select_option(carol.id)
    await page.get_by_role("button", name="Transfer", exact=True).click()
    await expect(page.locator("#action-error")).to_have_text("carol is at their maximum load")
    await to_agent.select_option(bob.id)
    await page.get_by_role("button", name="Transfer", exact=True).click()
    await expect(page.locator("#pane-status")).to_have_text("Transferred to bob.")
    assert (await state_of(live, lead, late))["assigned_agent_id"] == bob.id


async def test_a_supervisor_reassigns_a_late_conversation_only_with_the_reassign_button(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=1, max_load=1)
    said = await live.customer_says(inbox, "c1", "Anyone there?")
    await live.customer_says(inbox, "c2", "Hello?")  # Alice is full: this one waits
    bob = await live.agent("bob", preferred=1, max_load=2, online=False)
    lead = await live.agent("lead", role=Role.SUPERVISOR, online=False)
    await sign_in(page, live, lead)
    await expect(page.locator('#queues tr[data-queue="general"]')).to_contain_text("1")
    await expect(page.locator('#agents tr[data-agent="alice"]')).to_contain_text("1/1 (max 1)")

    await live.set_status(bob, "online")  # takes the queued one: bob at P
    live.clock.advance(3600)  # Alice's customer is now late; the breach reaches the desk
    late = page.locator(f'#breaching li[data-id="{said["conversation_id"]}"]')
    await expect(late.locator(".due")).to_have_text(re.compile(r"^Late by 56:\d\d$"))
    choose = late.get_by_label("Reassign to")
    await expect(choose.locator("option")).to_have_count(2)
    await choose.focus()
    await page.keyboard.press("ArrowDown")  # moving through the list moves nothing
    await expect(choose).to_have_value(bob.id)
    await asyncio.sleep(0.3)
    assert (await state_of(live, lead, said["conversation_id"]))["assigned_agent_id"] == alice.id

    await late.get_by_role("button", name="Reassign C1's conversation").click()
    # Still late (a transfer keeps the respond-by), now Bob's to answer.
    await expect(late.locator(".where")).to_have_text("general · bob")
    after = await state_of(live, lead, said["conversation_id"])
    assert after["assigned_agent_id"] == bob.id  # above P, within M


async def test_the_desk_fits_a_laptop_screen_and_scrolls_inside_its_panes(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    lead = await live.agent("lead", role=Role.SUPERVISOR)  # online: work is routed to them
    long_text = "\n".join(f"Line {n} of a long story" for n in range(40))
    said = await live.customer_says(inbox, "c1", long_text)
    for _ in range(2):
        await live.customer_says(inbox, "c1", long_text)
    await sign_in(page, live, lead)
    await expect(page.get_by_role("tab", name="Floor")).to_have_attribute("aria-selected", "true")
    await open_thread(page, said["conversation_id"])

    for viewport in (LAPTOP, SMALL_LAPTOP):
        await page.set_viewport_size(viewport)  # type: ignore[arg-type]
        await expect(page.locator("#thread li.inbound")).to_have_count(3)
        fits = await page.evaluate(
            """() => {
                const box = (id) => document.getElementById(id).getBoundingClientRect();
                const thread = document.getElementById("thread");
                return {
                    pageScrolls: document.scrollingElement.scrollHeight > innerHeight,
                    threadScrolls: thread.scrollHeight > thread.clientHeight,
                    besideTheList: box("thread").left >= box("lists").right,
                    belowTheHeader: box("thread").top >= box("lists").top,
                    replyInView: box("reply").bottom <= innerHeight && box("reply").top > 0,
                    sendInView: box("send").bottom <= innerHeight,
                };
            }"""
        )
        assert fits == {
            "pageScrolls": False,
            "threadScrolls": True,
            "besideTheList": True,
            "belowTheHeader": True,
            "replyInView": True,
            "sendInView": True,
        }, viewport

    await page.get_by_role("tab", name="Floor").click()
    await expect(page.locator("#queues")).to_be_visible()
    await expect(page.locator("#thread")).to_be_hidden()
    await page.get_by_role("tab", name="Floor").press("ArrowLeft")
    await expect(page.get_by_role("tab", name="Conversation")).to_be_focused()
    await expect(page.locator("#thread")).to_be_visible()


async def test_due_soon_and_late_are_said_in_words_with_enough_contrast(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=2, max_load=2)
    late = (await live.customer_says(inbox, "c1", "First"))["conversation_id"]
    window = await _respond_window(live, alice, late)
    live.clock.advance(window + 10)
    soon = (await live.customer_says(inbox, "c2", "Second"))["conversation_id"]
    live.clock.advance(window - 30)
    await sign_in(page, live, alice)

    await expect(row(page, soon).locator(".due")).to_have_text(
        re.compile(r"^Due soon: 0:[0-5]\d left$")
    )
    await expect(row(page, late).locator(".due")).to_have_text(re.compile(r"^Late by \d+:\d\d$"))
    for conversation_id in (soon, late):
        # Evaluated from the row, which a refresh keeps (it repaints what is inside).
        ratio = await row(page, conversation_id).evaluate(_CONTRAST)
        assert ratio >= 4.5, (conversation_id, ratio)


async def _respond_window(live: Live, agent: AgentHandle, conversation_id: str) -> float:
    c = await state_of(live, agent, conversation_id)
    due = datetime.fromisoformat(c["respond_by"])
    return (due - live.clock()).total_seconds()


# The WCAG contrast ratio of a row's countdown on the first opaque background behind it.
_CONTRAST = """(row) => {
    const node = row.querySelector(".due");
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


# -- the picture in the docs -------------------------------------------------------------


async def test_the_desk_at_work_is_pictured_for_the_docs(live: Live, page: Page) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice", preferred=4, max_load=5)
    r = await live.http.patch(
        f"/api/v1/agents/{alice.id}", json={"display_name": "Alice Moreau"}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    shop = await live.inbox("Web shop")
    app = await live.inbox("Mobile app", channel="app")
    sophie = await customer_writes(
        live, shop, "cust-1042", "Hi! My order #4471 still says 'processing'.", "Sophie Laurent"
    )
    hello = await live.reply(alice, sophie, "Hello Sophie, let me look that up for you.")
    r = await live.http.post(
        f"/api/v1/channel/outbound/{hello['id']}/status",
        json={"status": "delivered"},
        headers=shop.headers,
    )
    assert r.status_code == 204, r.text
    live.clock.advance(40)
    await customer_writes(live, shop, "cust-1042", "Thanks. I need it by Friday for a gift.")
    live.clock.advance(30)
    await customer_writes(live, app, "acct-88", "Can I change the delivery address?", "Tom Becker")
    live.clock.advance(45)
    await customer_writes(live, shop, "+447700900456", "Do you price match?")
    live.clock.advance(20)
    priya = await customer_writes(live, shop, "cust-2210", "Sorted, thanks!", "Priya Shah")
    await live.reply(alice, priya, "Glad to help. Anything else I can do?")
    live.clock.advance(60)

    await sign_in(page, live, alice, "Alice Moreau")
    await open_thread(page, sophie)
    await expect(page.locator("#thread li")).to_have_count(4)  # a day and three messages
    await page.get_by_label("Reply").fill("It left our warehouse this morning: ")
    await page.mouse.move(0, 0)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
