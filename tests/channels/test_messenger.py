"""Messenger, end to end: Meta's page webhooks posted to the served app (recorded
fixtures, signed here, and the fake provider's own), and replies sent through the fake
provider's Send API on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.channels.test_whatsapp import (
    DAY,
    conversations,
    later,
    message_in,
    only_thread,
    post_webhook,
    send,
)
from tests.support.channels import MESSENGER_PAGE, World
from tests.support.live import AgentHandle
from threadline.adapters.providers.signing import meta_signature

FIXTURES = Path(__file__).parent.parent / "fixtures" / "meta" / "messenger"
WEBHOOK = "/webhooks/meta/messenger"
# The customer of the recorded payloads.
PSID = "6543210987654321"


def recorded(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_bytes())
    return body


def event_of(body: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = body["entry"][0]["messaging"][0]
    return found


async def post_signed(world: World, body: dict[str, Any] | bytes) -> int:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = await post_webhook(
        world, raw, meta_signature(raw, world.secrets.meta_app_secret), path=WEBHOOK
    )
    assert r.status_code in (200, 400, 403, 404), r.text
    return r.status_code


async def customer_writes(world: World, text: str = "Is my order shipped?") -> str:
    result = await world.fake.inbound_messenger(page_id=MESSENGER_PAGE, psid=PSID, text=text)
    assert result.status == 200, result.body
    [row] = await conversations(world)
    return str(row["id"])


async def sent_reply(world: World, agent: AgentHandle, conversation_id: str, text: str) -> str:
    """A reply Messenger has taken (status "sent"); the fake reports no delivery for
    this customer, so receipts are the test's to post."""
    r = await send(world, agent, conversation_id, text=text)
    assert r.status_code == 201, r.text
    await message_in(world, conversation_id, r.json()["id"], "sent")
    return str(r.json()["id"])


def epoch_ms(world: World) -> int:
    return int(world.live.clock().timestamp() * 1000)


# -- inbound, from the recorded payloads ------------------------------------------


async def test_each_recorded_customer_message_is_stored_as_the_desk_shows_it(
    world: World,
) -> None:
    await world.connected_inbox("messenger")
    for name in ["text", "quick_reply", "attachment_image", "postback", "echo"]:
        assert await post_signed(world, recorded(name)) == 200
    detail = await only_thread(world)
    assert detail["customer"]["identities"] == [{"channel": "messenger", "address": PSID}]
    messages = detail["messages"]
    # The echo of the page's own send is not the customer's.
    assert [m["text"] for m in messages] == [
        "Hi, is my order shipped?",
        "Track order",
        "[image/*]",
        "Talk to an agent",
    ]
    assert [m["external_id"] for m in messages] == [
        event_of(recorded("text"))["message"]["mid"],
        event_of(recorded("quick_reply"))["message"]["mid"],
        event_of(recorded("attachment_image"))["message"]["mid"],
        event_of(recorded("postback"))["postback"]["mid"],
    ]
    [attachment] = messages[2]["attachments"]
    image = event_of(recorded("attachment_image"))["message"]["attachments"][0]
    assert (attachment["content_type"], attachment["url"]) == ("image/*", image["payload"]["url"])


async def test_a_recorded_message_posted_again_changes_nothing(world: World) -> None:
    await world.connected_inbox("messenger")
    for _ in range(3):
        assert await post_signed(world, recorded("text")) == 200
    detail = await only_thread(world)
    assert len(detail["messages"]) == 1


async def test_recorded_receipts_move_a_reply_to_delivered_then_read(world: World) -> None:
    await world.connected_inbox("messenger")
    alice = await world.live.agent("alice")
    world.fake.undeliverable(PSID)
    conversation_id = await customer_writes(world)
    reply = await sent_reply(world, alice, conversation_id, "It shipped yesterday.")
    [sent] = world.fake.sent("messenger")

    delivery = recorded("delivery")
    event_of(delivery)["delivery"]["mids"] = [sent.id]
    assert await post_signed(world, delivery) == 200
    assert (await message_in(world, conversation_id, reply))["delivery_status"] == "delivered"

    read = recorded("read")
    event_of(read)["read"]["watermark"] = epoch_ms(world)
    async with world.live.stream(alice) as stream:
        assert await post_signed(world, read) == 200
        [*_, event] = await stream.events_until("message.delivery_status")
    assert event["payload"] == {"message_id": reply, "status": "read"}
    assert (await message_in(world, conversation_id, reply))["delivery_status"] == "read"


async def test_a_watermark_covers_every_reply_sent_before_it_and_none_after(
    world: World,
) -> None:
    await world.connected_inbox("messenger")
    alice = await world.live.agent("alice")
    world.fake.undeliverable(PSID)
    conversation_id = await customer_writes(world)
    first = await sent_reply(world, alice, conversation_id, "One moment.")
    second = await sent_reply(world, alice, conversation_id, "Found it.")
    watermark = epoch_ms(world)
    world.live.clock.advance(60)
    third = await sent_reply(world, alice, conversation_id, "Anything else?")

    delivery = recorded("delivery")
    del event_of(delivery)["delivery"]["mids"]
    event_of(delivery)["delivery"]["watermark"] = watermark
    assert await post_signed(world, delivery) == 200
    statuses = [
        (await message_in(world, conversation_id, m))["delivery_status"]
        for m in (first, second, third)
    ]
    assert statuses == ["delivered", "delivered", "sent"]

    read = recorded("read")
    event_of(read)["read"]["watermark"] = epoch_ms(world)
    assert await post_signed(world, read) == 200
    statuses = [
        (await message_in(world, conversation_id, m))["delivery_status"]
        for m in (first, second, third)
    ]
    assert statuses == ["read", "read", "read"]


async def test_a_receipt_from_a_customer_we_do_not_know_changes_nothing(world: World) -> None:
    await world.connected_inbox("messenger")
    assert await post_signed(world, recorded("read")) == 200
    assert await post_signed(world, recorded("delivery")) == 200
    assert await conversations(world) == []


# -- handshake and refusals ---------------------------------------------------------


async def test_the_handshake_answers_only_the_pages_verify_token(world: World) -> None:
    await world.connected_inbox("messenger")
    right = {
        "hub.mode": "subscribe",
        "hub.verify_token": world.secrets.meta_verify_token,
        "hub.challenge": "734521",
    }
    r = await world.live.http.get(WEBHOOK, params=right)
    assert (r.status_code, r.text) == (200, "734521")
    for wrong in ({"hub.verify_token": "guess"}, {"hub.mode": "unsubscribe"}):
        r = await world.live.http.get(WEBHOOK, params={**right, **wrong})
        assert r.status_code == 403, r.text
        assert "734521" not in r.text


async def test_an_unsigned_or_mis_signed_body_is_refused_and_nothing_is_stored(
    world: World,
) -> None:
    await world.connected_inbox("messenger")
    raw = json.dumps(recorded("text")).encode()
    for signature in [None, "", meta_signature(raw, "another app's secret")]:
        r = await post_webhook(world, raw, signature, path=WEBHOOK)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "bad_signature"
    assert await conversations(world) == []


async def test_a_malformed_body_is_refused_and_an_unknown_page_is_not_found(
    world: World,
) -> None:
    await world.connected_inbox("messenger")
    assert await post_signed(world, b"{") == 400
    assert await post_signed(world, {"object": "whatsapp_business_account", "entry": []}) == 400
    spoiled = recorded("text")
    event_of(spoiled)["message"]["mid"] = 12345
    assert await post_signed(world, spoiled) == 400
    elsewhere = recorded("text")
    elsewhere["entry"][0]["id"] = "998877665544332"
    assert await post_signed(world, elsewhere) == 404
    assert await conversations(world) == []


# -- end to end through the fake provider ------------------------------------------


async def test_a_customer_writes_the_agent_replies_and_messenger_reports_it_delivered(
    world: World,
) -> None:
    await world.connected_inbox("messenger")
    alice = await world.live.agent("alice")
    async with world.live.stream(alice) as stream:
        result = await world.fake.inbound_messenger(
            page_id=MESSENGER_PAGE, psid=PSID, text="Hello there"
        )
        assert result.status == 200, result.body
        events = await stream.events_until("conversation.assigned")
        assert [e for e in events if e["type"] == "message.received"], events
        conversation_id = events[-1]["conversation_id"]
        r = await send(world, alice, conversation_id, text="Hi! How can I help?")
        assert r.status_code == 201, r.text
        reply = r.json()["id"]
        statuses = []
        while "delivered" not in statuses:
            event = await stream.next_event()
            if event["type"] == "message.delivery_status":
                assert event["payload"]["message_id"] == reply
                statuses.append(event["payload"]["status"])
    [sent] = world.fake.sent("messenger")
    assert (sent.to, sent.from_, sent.text, sent.tag) == (
        PSID,
        MESSENGER_PAGE,
        "Hi! How can I help?",
        None,
    )
    assert sent.payload["messaging_type"] == "RESPONSE"
    assert sent.payload["message"]["metadata"] == reply
    mine = await message_in(world, conversation_id, reply)
    assert (mine["delivery_status"], mine["external_id"]) == ("delivered", sent.id)


async def test_a_retried_inbound_webhook_stores_one_message(world: World) -> None:
    await world.connected_inbox("messenger")
    result = await world.fake.inbound_messenger(
        page_id=MESSENGER_PAGE, psid=PSID, text="Anyone?", repeat=2
    )
    assert [a.status for a in result.attempts] == [200, 200]
    detail = await only_thread(world)
    assert [(m["text"], m["external_id"]) for m in detail["messages"]] == [
        ("Anyone?", result.message_id)
    ]


async def test_suggestions_reach_messenger_as_quick_replies(world: World) -> None:
    await world.connected_inbox("messenger")
    alice = await world.live.agent("alice")
    conversation_id = await customer_writes(world)
    choices = ["Track order", "Returns", "Talk to us", "Opening hours"]
    r = await send(world, alice, conversation_id, text="What can I do?", suggestions=choices)
    assert r.status_code == 201, r.text
    await message_in(world, conversation_id, r.json()["id"], "delivered")
    [sent] = world.fake.sent("messenger")
    assert (sent.text, sent.suggestions) == ("What can I do?", choices)
    assert [q["payload"] for q in sent.payload["message"]["quick_replies"]] == choices


async def test_a_tapped_quick_reply_reads_as_its_title(world: World) -> None:
    await world.connected_inbox("messenger")
    await world.fake.inbound_messenger(
        page_id=MESSENGER_PAGE, psid=PSID, text="Track order", quick_reply_payload="Track order"
    )
    detail = await only_thread(world)
    assert [m["text"] for m in detail["messages"]] == ["Track order"]


# -- the 24-hour window and message tags ---------------------------------------------


async def test_outside_24_hours_a_message_needs_a_tag_and_goes_as_a_message_tag(
    world: World,
) -> None:
    await world.connected_inbox("messenger")
    await world.live.agent("alice")
    conversation_id = await customer_writes(world)
    channel = f"/api/v1/conversations/{conversation_id}/channel"

    alice = await later(world, DAY + 60)
    r = await send(world, alice, conversation_id, text="Still there?")
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "message_tag_required"
    state = (await world.live.http.get(channel, headers=alice.headers)).json()
    assert state["window_open"] is False
    assert state["tags"] == [
        "ACCOUNT_UPDATE",
        "CONFIRMED_EVENT_UPDATE",
        "HUMAN_AGENT",
        "POST_PURCHASE_UPDATE",
    ]
    r = await send(world, alice, conversation_id, text="Your refund went out.", tag="HUMAN_AGENT")
    assert r.status_code == 201, r.text
    await message_in(world, conversation_id, r.json()["id"], "delivered")
    [sent] = world.fake.sent("messenger")
    assert (sent.payload["messaging_type"], sent.tag) == ("MESSAGE_TAG", "HUMAN_AGENT")


async def test_the_human_agent_tag_ends_7_days_after_the_customer_last_wrote(
    world: World,
) -> None:
    await world.connected_inbox("messenger")
    await world.live.agent("alice")
    conversation_id = await customer_writes(world)
    channel = f"/api/v1/conversations/{conversation_id}/channel"

    alice = await later(world, 7 * DAY + 60)
    r = await send(world, alice, conversation_id, text="Any news?", tag="HUMAN_AGENT")
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "window_closed"
    state = (await world.live.http.get(channel, headers=alice.headers)).json()
    assert state["tags"] == ["ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE"]
    # The update tags have no time limit.
    r = await send(world, alice, conversation_id, text="Card updated.", tag="ACCOUNT_UPDATE")
    assert r.status_code == 201, r.text
    await message_in(world, conversation_id, r.json()["id"], "delivered")
    [sent] = world.fake.sent("messenger")
    assert (sent.payload["messaging_type"], sent.tag) == ("MESSAGE_TAG", "ACCOUNT_UPDATE")


async def test_a_tag_messenger_does_not_have_is_refused(world: World) -> None:
    await world.connected_inbox("messenger")
    alice = await world.live.agent("alice")
    conversation_id = await customer_writes(world)
    r = await send(world, alice, conversation_id, text="Shipped!", tag="SHIPPING_UPDATE")
    assert r.status_code == 422, r.text
    assert world.fake.sent("messenger") == []


# -- what Messenger's refusals do to a reply ----------------------------------------


async def _refused_reply(world: World, status: int, error: dict[str, Any]) -> str:
    await world.connected_inbox("messenger")
    alice = await world.live.agent("alice")
    conversation_id = await customer_writes(world)
    world.fake.behave("error", status=status, provider="messenger", error={"error": error})
    r = await send(world, alice, conversation_id, text="Hello!")
    assert r.status_code == 201, r.text
    mine = await message_in(world, conversation_id, r.json()["id"], "failed")
    return str(mine["delivery_error"])


async def test_a_send_refused_as_outside_the_window_fails_saying_a_tag_is_needed(
    world: World,
) -> None:
    error = await _refused_reply(
        world,
        400,
        {
            "message": "(#10) This message is sent outside of allowed window.",
            "code": 10,
            "error_subcode": 2018278,
        },
    )
    assert "24-hour window" in error
    assert "message tag" in error


async def test_a_refused_page_token_fails_the_reply_naming_the_token(world: World) -> None:
    error = await _refused_reply(world, 401, {"message": "Invalid OAuth token", "code": 190})
    assert "page access token" in error
    assert "THREADLINE_SECRET_ACME_FB_PAGE_ACCESS_TOKEN" in error
