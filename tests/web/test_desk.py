"""The agent desk in a real browser against a real server (issue 4's first part)."""

from __future__ import annotations

import asyncio
import json

from playwright.async_api import Page, WebSocketRoute, expect

from tests.support.live import PASSWORD, AgentHandle, Live
from threadline.core.agents import Role


async def sign_in(page: Page, live: Live, agent: AgentHandle) -> None:
    await page.goto(live.base_url + "/")
    await page.get_by_label("Username").fill(agent.username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#me-name")).to_have_text(agent.username)


async def test_a_new_conversation_appears_on_the_desk_without_reloading(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=2, max_load=3)
    await sign_in(page, live, alice)
    await expect(page.locator("#load")).to_have_text("0/2 active (max 3)")

    said = await live.customer_says(inbox, "c1", "Where is my parcel?")

    row = page.locator(f'#mine button[data-id="{said["conversation_id"]}"]')
    await expect(row).to_contain_text("waiting for you")
    await expect(row.locator("strong")).to_have_text("C1")  # the customer's name
    await expect(row.locator(".preview")).to_have_text("Where is my parcel?")
    await expect(row.locator(".due")).to_contain_text("left")
    await expect(page.locator("#load")).to_have_text("1/2 active (max 3)")
    await row.click()
    await expect(page.locator("#thread")).to_contain_text("Where is my parcel?")


async def test_the_agent_replies_and_the_customer_s_next_message_arrives_live(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    said = await live.customer_says(inbox, "c1", "My card was declined")
    await sign_in(page, live, alice)
    await page.locator(f'#mine button[data-id="{said["conversation_id"]}"]').click()

    await page.get_by_label("Reply").fill("Which card was it?")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#thread li.outbound")).to_contain_text("Which card was it?")
    detail = await live.conversation(alice, said["conversation_id"])
    assert detail["messages"][-1]["text"] == "Which card was it?"

    await live.customer_says(inbox, "c1", "The visa ending 4242")
    await expect(page.locator("#thread li.inbound").last).to_contain_text("The visa ending 4242")


async def test_customer_html_is_shown_as_text_and_never_runs(live: Live, page: Page) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    attack = '<img src=x onerror="window.__owned = 1"><script>window.__owned = 2</script>'
    said = await live.customer_says(inbox, "c1", attack)
    await sign_in(page, live, alice)
    await page.locator(f'#mine button[data-id="{said["conversation_id"]}"]').click()

    await expect(page.locator("#thread li.inbound")).to_contain_text(attack)
    assert await page.locator("#thread img, #thread script").count() == 0
    assert await page.evaluate("window.__owned === undefined")


async def test_a_wrong_password_is_refused_on_the_page(live: Live, page: Page) -> None:
    alice = await live.agent("alice")
    await page.goto(live.base_url + "/desk/")
    await page.get_by_label("Username").fill(alice.username)
    await page.get_by_label("Password").fill("not-the-password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert").first).not_to_be_empty()
    assert await page.locator("#desk-view").is_hidden()


async def test_after_a_network_drop_the_desk_shows_it_and_catches_up_on_what_it_missed(
    live: Live, page: Page
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=3, max_load=3)
    sockets: list[WebSocketRoute] = []
    reconnect = asyncio.Event()
    sent: list[str | bytes] = []  # what the desk sent after the drop

    async def relay(ws: WebSocketRoute) -> None:
        sockets.append(ws)
        if len(sockets) > 1:
            # The network is still down: the desk's new connection reaches the server
            # only when the test lets it through.
            await reconnect.wait()
        server = ws.connect_to_server()

        def to_server(message: str | bytes) -> None:
            if len(sockets) > 1:
                sent.append(message)
            server.send(message)

        ws.on_message(to_server)
        server.on_message(lambda message: ws.send(message))

    await page.route_web_socket("**/api/v1/stream", relay)
    await sign_in(page, live, alice)
    first = await live.customer_says(inbox, "c1", "Hello?")
    await expect(
        page.locator(f'#mine button[data-id="{first["conversation_id"]}"]')
    ).to_be_visible()

    await expect(page.locator("#load")).to_have_text("1/3 active (max 3)")
    seen = await live.event_head()  # the desk has had every event up to here
    await sockets[0].close(code=1006, reason="network drop")
    await expect(page.locator("#offline-banner")).to_be_visible()
    missed = await live.customer_says(inbox, "c2", "Written while the desk was offline")
    reconnect.set()

    await expect(page.locator("#offline-banner")).to_be_hidden()
    await expect(
        page.locator(f'#mine button[data-id="{missed["conversation_id"]}"]')
    ).to_be_visible()
    assert len(sockets) == 2
    hello = json.loads(sent[0])
    assert hello["type"] == "hello"
    assert hello["after"] == seen  # it asked for exactly what it had missed


async def test_the_agent_transfers_a_conversation_to_another_queue(live: Live, page: Page) -> None:
    inbox = await live.inbox()
    await live.inbox("Billing", queue="billing")
    alice = await live.agent("alice")
    said = await live.customer_says(inbox, "c1", "Question about my invoice")
    await sign_in(page, live, alice)
    row = page.locator(f'#mine button[data-id="{said["conversation_id"]}"]')
    await row.click()

    await page.get_by_label("Transfer to queue").fill("billing")
    await page.get_by_role("button", name="Transfer").click()

    await expect(row).to_have_count(0)
    r = await live.http.get(
        f"/api/v1/conversations/{said['conversation_id']}",
        headers=(await live.agent("lead", role=Role.SUPERVISOR, online=False)).headers,
    )
    assert r.json()["conversation"]["queue"] == "billing"
    assert r.json()["conversation"]["state"] == "queued"


async def test_a_supervisor_sees_the_floor_and_reassigns_a_late_conversation(
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
    await expect(late).to_contain_text("late")
    await late.get_by_label("Reassign to").select_option(label="bob")

    # Still late (a transfer keeps the respond-by), now Bob's to answer.
    await expect(late.locator("span").first).to_have_text("general · bob · ")
    detail = await live.conversation(lead, said["conversation_id"])
    assert detail["conversation"]["assigned_agent_id"] == bob.id  # above P, within M
    assert alice.id != bob.id


async def test_typing_a_slash_offers_the_canned_responses(live: Live, page: Page) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    for shortcut, text in [("refund", "Your refund arrives within 5 days."), ("hello", "Hi!")]:
        r = await live.http.post(
            "/api/v1/canned-responses",
            json={"shortcut": shortcut, "text": text},
            headers=admin.headers,
        )
        assert r.status_code == 201, r.text
    inbox = await live.inbox()
    alice = await live.agent("alice")
    said = await live.customer_says(inbox, "c1", "Where is my refund?")
    await sign_in(page, live, alice)
    await page.locator(f'#mine button[data-id="{said["conversation_id"]}"]').click()

    await page.get_by_label("Reply").fill("/re")
    options = page.locator("#canned button")
    await expect(options).to_have_count(1)
    await options.first.click()
    await expect(page.get_by_label("Reply")).to_have_value("Your refund arrives within 5 days.")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#thread li.outbound")).to_contain_text("within 5 days")
