"""WhatsApp through the Cloud API, end to end: Meta's webhooks posted to the served app
(recorded fixtures, signed here, and the fake provider's own), and replies sent to the
fake provider on loopback."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.support.channels import (
    CONNECTIONS,
    CUSTOMER_PHONE,
    WHATSAPP_ACCOUNT,
    WHATSAPP_DISPLAY_NUMBER,
    WHATSAPP_NUMBER_ID,
    World,
    channel_world,
)
from tests.support.clock import FakeClock
from tests.support.live import AgentHandle
from threadline.adapters.providers.signing import meta_signature

FIXTURES = Path(__file__).parent.parent / "fixtures" / "meta" / "whatsapp"
WEBHOOK = "/webhooks/meta/whatsapp"
WA_ID = CUSTOMER_PHONE.lstrip("+")
DAY = 24 * 3600
TEMPLATES = [
    {"name": "order_update", "language": "en_US", "text": "Your order {{1}} ships {{2}}."},
    {"name": "hello_again", "language": "en", "text": "Hello again! Can we help?"},
]


def recorded(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


async def post_webhook(
    world: World, body: bytes, signature: str | None, path: str = WEBHOOK
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return await world.live.http.post(path, content=body, headers=headers)


async def post_signed(world: World, body: bytes, path: str = WEBHOOK) -> httpx.Response:
    return await post_webhook(
        world, body, meta_signature(body, world.secrets.meta_app_secret), path
    )


async def conversations(world: World) -> list[dict[str, Any]]:
    r = await world.live.http.get("/api/v1/conversations", headers=world.admin.headers)
    assert r.status_code == 200, r.text
    return list(r.json())


async def only_thread(world: World) -> dict[str, Any]:
    [row] = await conversations(world)
    return await world.live.conversation(world.admin, str(row["id"]))


async def customer_writes(world: World, text: str = "Hi, where is my order?") -> str:
    """The customer writes in through the fake; the id of their conversation."""
    result = await world.fake.inbound_whatsapp(
        phone_number_id=WHATSAPP_NUMBER_ID,
        display_phone_number=WHATSAPP_DISPLAY_NUMBER,
        from_=CUSTOMER_PHONE,
        name="Jordan Rivera",
        text=text,
    )
    assert result.status == 200, result.body
    [row] = await conversations(world)
    return str(row["id"])


async def message_in(
    world: World, conversation_id: str, message_id: str, status: str | None = None
) -> dict[str, Any]:
    """The message as the conversation shows it; with `status`, once it has that status."""
    for _ in range(500):
        detail = await world.live.conversation(world.admin, conversation_id)
        [found] = [m for m in detail["messages"] if m["id"] == message_id]
        if status is None or found["delivery_status"] == status:
            return dict(found)
        await asyncio.sleep(0.02)
    row = await world.live.tx.read(lambda uow: uow.outbox.for_message(uuid.UUID(message_id)))
    raise AssertionError(f"message {message_id} stayed {found['delivery_status']}; outbox: {row}")


async def later(world: World, seconds: float) -> AgentHandle:
    """The clock moved on; the admin and alice sign in again (sessions expire in a day)."""
    world.live.clock.advance(seconds)
    world.admin = await world.live.login(world.admin.username)
    return await world.live.login("alice")


async def send(
    world: World, agent: AgentHandle, conversation_id: str, **body: Any
) -> httpx.Response:
    return await world.live.http.post(
        f"/api/v1/conversations/{conversation_id}/messages", json=body, headers=agent.headers
    )


async def sent_to_whatsapp(world: World, count: int = 1) -> list[Any]:
    for _ in range(200):
        if len(world.fake.sent("whatsapp")) >= count:
            break
        await asyncio.sleep(0.02)
    return world.fake.sent("whatsapp")


# -- inbound, from the recorded payloads ------------------------------------------


async def test_each_recorded_customer_message_is_stored_as_the_desk_shows_it(
    world: World,
) -> None:
    await world.connected_inbox("whatsapp")
    names = ["text", "image", "interactive_button_reply", "interactive_list_reply", "unsupported"]
    for name in names:
        r = await post_signed(world, recorded(name))
        assert r.status_code == 200, r.text
    detail = await only_thread(world)
    assert detail["customer"]["display_name"] == "Jordan Rivera"
    assert detail["customer"]["identities"] == [{"channel": "whatsapp", "address": WA_ID}]
    messages = detail["messages"]
    assert [m["text"] for m in messages] == [
        "Hi, where is my order #4821?",
        "Damaged box on arrival",
        "Talk to an agent",
        "Priority Mail Express",
        "[The customer sent a kind of message WhatsApp does not pass on (poll_creation)]",
    ]
    expected_ids = [
        json.loads(recorded(n))["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        for n in names
    ]
    assert [m["external_id"] for m in messages] == expected_ids
    assert messages[1]["attachments"] == [
        {
            "content_type": "image/jpeg",
            "url": None,
            "media_id": "1003383421387256",
            "caption": "Damaged box on arrival",
        }
    ]


async def test_a_recorded_payload_posted_again_changes_nothing(world: World) -> None:
    await world.connected_inbox("whatsapp")
    for _ in range(3):
        r = await post_signed(world, recorded("text"))
        assert r.status_code == 200, r.text
    detail = await only_thread(world)
    assert [m["text"] for m in detail["messages"]] == ["Hi, where is my order #4821?"]


async def _queued_reply(world: World) -> tuple[str, str]:
    """A reply WhatsApp has not taken yet (it is down): (conversation id, message id)."""
    await world.connected_inbox("whatsapp")
    alice = await world.live.agent("alice")
    conversation_id = await customer_writes(world)
    world.fake.behave("down", provider="whatsapp")
    r = await send(world, alice, conversation_id, text="It ships today.")
    assert r.status_code == 201, r.text
    return conversation_id, str(r.json()["id"])


def _status_naming(name: str, message_id: str) -> bytes:
    """A recorded status, echoing our message id as we send it."""
    return recorded(name).replace(b"tl-msg-01J2ZK8Q9W5N3V7R1T4Y6U8I0P", message_id.encode())


async def test_recorded_statuses_move_a_reply_to_sent_delivered_and_read(world: World) -> None:
    conversation_id, message_id = await _queued_reply(world)
    wamid = json.loads(recorded("status_sent"))["entry"][0]["changes"][0]["value"]["statuses"][0][
        "id"
    ]
    # "sent" names our message by the id we gave; the rest by WhatsApp's own id, which
    # "sent" taught us.
    for name, status in [
        ("status_sent", "sent"),
        ("status_delivered", "delivered"),
        ("status_read", "read"),
    ]:
        r = await post_signed(world, _status_naming(name, message_id))
        assert r.status_code == 200, r.text
        mine = await message_in(world, conversation_id, message_id)
        assert (mine["delivery_status"], mine["external_id"]) == (status, wamid)
    # Late and repeated statuses never move it back.
    r = await post_signed(world, _status_naming("status_delivered", message_id))
    assert r.status_code == 200, r.text
    assert (await message_in(world, conversation_id, message_id))["delivery_status"] == "read"


async def test_a_recorded_failure_marks_the_reply_failed_with_whatsapps_error(
    world: World,
) -> None:
    conversation_id, message_id = await _queued_reply(world)
    await post_signed(world, _status_naming("status_sent", message_id))
    r = await post_signed(world, recorded("status_failed"))
    assert r.status_code == 200, r.text
    mine = await message_in(world, conversation_id, message_id)
    assert mine["delivery_status"] == "failed"
    assert mine["delivery_error"] == "WhatsApp error 131047: Re-engagement message"


async def test_a_status_for_a_message_we_never_sent_is_ignored(world: World) -> None:
    await world.connected_inbox("whatsapp")
    r = await post_signed(world, recorded("status_delivered"))
    assert r.status_code == 200, r.text
    assert await conversations(world) == []


# -- the verification handshake -----------------------------------------------------


async def test_the_handshake_echoes_the_challenge_for_the_right_verify_token(
    world: World,
) -> None:
    await world.connected_inbox("whatsapp")
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": world.secrets.meta_verify_token,
        "hub.challenge": "1158201444",
    }
    r = await world.live.http.get(WEBHOOK, params=params)
    assert r.status_code == 200, r.text
    assert r.text == "1158201444"
    assert r.headers["content-type"].startswith("text/plain")


async def test_the_handshake_is_refused_without_the_verify_token(world: World) -> None:
    await world.connected_inbox("whatsapp")
    right = world.secrets.meta_verify_token
    for mode, token in [
        ("subscribe", "not-the-token"),
        ("subscribe", None),
        ("subscribe", right.upper()),
        ("unsubscribe", right),
        (None, right),
    ]:
        params = {"hub.challenge": "1158201444"}
        if mode is not None:
            params["hub.mode"] = mode
        if token is not None:
            params["hub.verify_token"] = token
        r = await world.live.http.get(WEBHOOK, params=params)
        assert r.status_code == 403, (mode, token, r.text)
        assert "1158201444" not in r.text


async def test_the_handshake_is_refused_before_any_number_is_connected(world: World) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": world.secrets.meta_verify_token,
        "hub.challenge": "1",
    }
    r = await world.live.http.get(WEBHOOK, params=params)
    assert r.status_code == 403, r.text


# -- refusals -----------------------------------------------------------------------


async def test_an_unsigned_or_mis_signed_body_is_refused_and_nothing_is_stored(
    world: World,
) -> None:
    await world.connected_inbox("whatsapp")
    body = recorded("text")
    for signature in [
        None,
        "",
        "sha256=" + "0" * 64,
        "sha1=" + "0" * 40,
        meta_signature(body, "not the app secret"),
        meta_signature(body, world.secrets.meta_app_secret).upper(),
    ]:
        r = await post_webhook(world, body, signature)
        assert r.status_code == 403, (signature, r.text)
        assert r.json()["error"]["code"] == "bad_signature"
    assert await conversations(world) == []


async def test_an_unsigned_body_is_refused_before_its_number_is_looked_up(
    world: World,
) -> None:
    # No inbox has the number: still 403, not 404, so nobody learns what is connected.
    r = await post_webhook(world, recorded("text"), None)
    assert r.status_code == 403, r.text


async def test_a_body_changed_after_signing_is_refused(world: World) -> None:
    await world.connected_inbox("whatsapp")
    body = recorded("text")
    signature = meta_signature(body, world.secrets.meta_app_secret)
    r = await post_webhook(world, body.replace(b"#4821", b"#4822"), signature)
    assert r.status_code == 403, r.text
    assert await conversations(world) == []


async def test_a_malformed_body_is_refused_with_400(world: World) -> None:
    await world.connected_inbox("whatsapp")
    for body in [b"{not json", b"[]", b'{"object": "page", "entry": []}', b'{"object": 1}']:
        r = await post_signed(world, body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["code"] == "malformed_payload"


async def test_a_signed_body_with_one_malformed_event_stores_none_of_it(world: World) -> None:
    await world.connected_inbox("whatsapp")
    body = json.loads(recorded("text"))
    good = body["entry"][0]["changes"][0]["value"]["messages"][0]
    bad = {**good, "id": "wamid.second", "text": {"body": 42}}
    body["entry"][0]["changes"][0]["value"]["messages"] = [good, bad]
    r = await post_signed(world, json.dumps(body).encode())
    assert r.status_code == 400, r.text
    assert "text.body" in r.json()["error"]["message"]
    assert await conversations(world) == []


async def test_a_number_no_inbox_is_connected_to_is_refused_with_404(world: World) -> None:
    r = await post_signed(world, recorded("text"))
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "unknown_address"


async def test_a_number_named_under_another_business_account_is_refused(world: World) -> None:
    await world.connected_inbox("whatsapp")
    body = recorded("text").replace(WHATSAPP_ACCOUNT.encode(), b"999999999999")
    r = await post_signed(world, body)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "unknown_account"
    assert await conversations(world) == []


async def _connect(world: World, number_id: str, secret_name: str) -> None:
    inbox = await world.live.inbox(f"WhatsApp {number_id}", channel="whatsapp")
    body = {**CONNECTIONS["whatsapp"], "address": number_id, "secret_name": secret_name}
    r = await world.live.http.put(
        f"/api/v1/inboxes/{inbox.id}/connection", json=body, headers=world.admin.headers
    )
    assert r.status_code == 200, r.text


def _naming(*number_ids: str) -> bytes:
    """The recorded text message, once for each number."""
    body = json.loads(recorded("text"))
    change = body["entry"][0]["changes"][0]
    changes = []
    for i, number_id in enumerate(number_ids):
        copy = json.loads(json.dumps(change))
        copy["value"]["metadata"]["phone_number_id"] = number_id
        copy["value"]["messages"][0]["id"] += str(i)
        changes.append(copy)
    body["entry"][0]["changes"] = changes
    return json.dumps(body).encode()


async def test_a_body_naming_two_numbers_must_verify_with_each_ones_app_secret(
    database_url: str, clock: FakeClock
) -> None:
    # Webhooks signed here only: the fake provider does not need these secrets.
    first, second = "the first meta app's secret", "the second meta app's secret"
    environment = {}
    for name, app_secret in [("acme_wa", first), ("same_app", first), ("other_app", second)]:
        for part, value in [
            ("app_secret", app_secret),
            ("access_token", "EAAx"),
            ("verify_token", "v"),
        ]:
            environment[f"{name}_{part}".upper()] = value
    async with channel_world(database_url, clock, channel_secrets=environment) as world:
        await world.connected_inbox("whatsapp")
        await _connect(world, "200000000000002", "other_app")
        await _connect(world, "200000000000003", "same_app")

        mixed = _naming(WHATSAPP_NUMBER_ID, "200000000000002")
        for secret in (first, second):
            r = await post_webhook(world, mixed, meta_signature(mixed, secret))
            assert r.status_code == 403, r.text
        assert await conversations(world) == []

        shared = _naming(WHATSAPP_NUMBER_ID, "200000000000003")
        r = await post_webhook(world, shared, meta_signature(shared, first))
        assert r.status_code == 200, r.text
        assert len(await conversations(world)) == 2


# -- end to end through the fake provider ------------------------------------------


async def test_a_customer_writes_the_agent_replies_and_whatsapp_reports_it_delivered(
    world: World,
) -> None:
    await world.connected_inbox("whatsapp")
    alice = await world.live.agent("alice")
    async with world.live.stream(alice) as stream:
        result = await world.fake.inbound_whatsapp(
            phone_number_id=WHATSAPP_NUMBER_ID,
            display_phone_number=WHATSAPP_DISPLAY_NUMBER,
            from_=CUSTOMER_PHONE,
            name="Jordan Rivera",
            text="Where is my parcel?",
        )
        assert result.status == 200, result.body
        events = await stream.events_until("conversation.assigned")
        assert [e for e in events if e["type"] == "message.received"], events
        conversation_id = events[-1]["conversation_id"]
        r = await send(world, alice, conversation_id, text="It ships today.")
        assert r.status_code == 201, r.text
        reply_id = r.json()["id"]
        statuses = []
        while "delivered" not in statuses:
            event = await stream.next_event()
            if event["type"] == "message.delivery_status":
                assert event["payload"]["message_id"] == reply_id
                statuses.append(event["payload"]["status"])
    [sent] = world.fake.sent("whatsapp")
    assert (sent.to, sent.text) == (WA_ID, "It ships today.")
    assert sent.payload["biz_opaque_callback_data"] == reply_id
    assert sent.payload["text"] == {"body": "It ships today.", "preview_url": False}
    detail = await world.live.conversation(alice, conversation_id)
    first, mine = detail["messages"]
    assert (first["text"], first["external_id"]) == ("Where is my parcel?", result.message_id)
    assert detail["customer"]["display_name"] == "Jordan Rivera"
    assert (mine["id"], mine["delivery_status"], mine["external_id"]) == (
        reply_id,
        "delivered",
        sent.id,
    )


async def test_a_retried_inbound_webhook_stores_one_message(world: World) -> None:
    await world.connected_inbox("whatsapp")
    result = await world.fake.inbound_whatsapp(
        phone_number_id=WHATSAPP_NUMBER_ID,
        display_phone_number=WHATSAPP_DISPLAY_NUMBER,
        from_=CUSTOMER_PHONE,
        text="Hello?",
        repeat=2,
    )
    assert [a.status for a in result.attempts] == [200, 200]
    assert [json.loads(a.response)["duplicates"] for a in result.attempts] == [0, 1]
    detail = await only_thread(world)
    assert [m["text"] for m in detail["messages"]] == ["Hello?"]


async def test_a_button_tapped_by_the_customer_reads_as_its_title(world: World) -> None:
    await world.connected_inbox("whatsapp")
    await world.fake.inbound_whatsapp(
        phone_number_id=WHATSAPP_NUMBER_ID,
        display_phone_number=WHATSAPP_DISPLAY_NUMBER,
        from_=CUSTOMER_PHONE,
        button_reply={"id": "track", "title": "Track order"},
        context_message_id="wamid.ours",
    )
    detail = await only_thread(world)
    assert [m["text"] for m in detail["messages"]] == ["Track order"]


async def test_suggestions_reach_whatsapp_as_reply_buttons_or_a_list(world: World) -> None:
    await world.connected_inbox("whatsapp")
    alice = await world.live.agent("alice")
    conversation_id = await customer_writes(world)
    buttons = ["Track order", "Returns", "Talk to us"]
    rows = ["Standard", "Express", "Overnight", "Pick up"]
    r = await send(world, alice, conversation_id, text="What next?", suggestions=buttons)
    assert r.status_code == 201, r.text
    # The thread keeps the text; the choices travel as WhatsApp's own.
    assert r.json()["text"] == "What next?"
    r = await send(world, alice, conversation_id, text="Which shipping?", suggestions=rows)
    assert r.status_code == 201, r.text
    first, second = await sent_to_whatsapp(world, 2)
    assert (first.text, first.suggestions) == ("What next?", buttons)
    assert first.payload["interactive"]["type"] == "button"
    assert (second.text, second.suggestions) == ("Which shipping?", rows)
    assert second.payload["interactive"]["type"] == "list"


# -- the 24-hour window -------------------------------------------------------------


async def test_after_24_hours_only_an_approved_template_goes_out(world: World) -> None:
    await world.connected_inbox("whatsapp", options={"templates": TEMPLATES})
    alice = await world.live.agent("alice")
    conversation_id = await customer_writes(world)
    channel = f"/api/v1/conversations/{conversation_id}/channel"
    r = await world.live.http.get(channel, headers=alice.headers)
    assert (r.json()["window_open"], r.json()["rich_replies"]) == (True, True)

    alice = await later(world, DAY + 60)

    r = await send(world, alice, conversation_id, text="Are you still there?")
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "template_required"
    r = await world.live.http.get(channel, headers=alice.headers)
    state = r.json()
    assert state["window_open"] is False
    assert state["window_hours"] == 24
    assert [(t["name"], t["language"], t["parameters"]) for t in state["templates"]] == [
        ("order_update", "en_US", 2),
        ("hello_again", "en", 0),
    ]
    r = await send(
        world,
        alice,
        conversation_id,
        template={"name": "order_update", "parameters": ["#4821", "on Tuesday"]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["text"] == "Your order #4821 ships on Tuesday."
    [sent] = await sent_to_whatsapp(world)
    assert sent.payload["type"] == "template"
    assert sent.template == {
        "name": "order_update",
        "language": "en_US",
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "#4821"},
                    {"type": "text", "text": "on Tuesday"},
                ],
            }
        ],
    }
    assert sent.payload["biz_opaque_callback_data"] == r.json()["id"]
    assert world.fake.sent("whatsapp") == [sent]


async def test_the_customer_writing_again_reopens_the_window(world: World) -> None:
    await world.connected_inbox("whatsapp")
    alice = await world.live.agent("alice")
    conversation_id = await customer_writes(world)
    alice = await later(world, 2 * DAY)
    assert (await send(world, alice, conversation_id, text="Hi")).status_code == 409
    await customer_writes(world, "Back again")
    r = await send(world, alice, conversation_id, text="Welcome back")
    assert r.status_code == 201, r.text


# -- what WhatsApp's refusals do to a reply -----------------------------------------


async def _refused_reply(world: World, status: int, error: dict[str, Any]) -> dict[str, Any]:
    await world.connected_inbox("whatsapp")
    alice = await world.live.agent("alice")
    conversation_id = await customer_writes(world)
    world.fake.behave("error", status=status, provider="whatsapp", error={"error": error})
    r = await send(world, alice, conversation_id, text="Hello!")
    assert r.status_code == 201, r.text
    return await message_in(world, conversation_id, r.json()["id"], "failed")


async def test_a_send_refused_for_the_window_fails_saying_a_template_is_needed(
    world: World,
) -> None:
    mine = await _refused_reply(
        world, 400, {"message": "(#131047) Re-engagement message", "code": 131047}
    )
    assert "131047" in mine["delivery_error"]
    assert "template" in mine["delivery_error"]
    assert world.fake.sent("whatsapp") == []


async def test_a_refused_access_token_fails_the_reply_naming_the_token(world: World) -> None:
    mine = await _refused_reply(
        world, 401, {"message": "Error validating access token", "code": 190}
    )
    assert "access token" in mine["delivery_error"]
    assert "THREADLINE_SECRET_ACME_WA_ACCESS_TOKEN" in mine["delivery_error"]


async def test_any_other_refusal_fails_the_reply_with_whatsapps_code_and_message(
    world: World,
) -> None:
    mine = await _refused_reply(
        world, 400, {"message": "(#131026) Message undeliverable", "code": 131026}
    )
    assert mine["delivery_error"] == "WhatsApp error 131026: (#131026) Message undeliverable"


async def test_a_rate_limited_send_is_retried_and_goes_out_once(world: World) -> None:
    await world.connected_inbox("whatsapp")
    alice = await world.live.agent("alice")
    conversation_id = await customer_writes(world)
    # Meta often answers a rate limit with 400: the code, not the status, says "later".
    world.fake.behave(
        "error",
        status=400,
        provider="whatsapp",
        times=1,
        error={"error": {"message": "(#131056) Pair rate limit hit", "code": 131056}},
    )
    r = await send(world, alice, conversation_id, text="Hello!")
    assert r.status_code == 201, r.text
    behaviour = f"{world.fake.base_url}/_fake/behaviour"
    async with httpx.AsyncClient(trust_env=False) as http:
        for _ in range(200):
            if (await http.get(behaviour)).json() == []:
                break  # the one refusal has been used
            await asyncio.sleep(0.02)
    assert world.fake.sent("whatsapp") == []
    assert (await message_in(world, conversation_id, r.json()["id"]))["delivery_status"] == "queued"
    world.live.clock.advance(60)
    mine = await message_in(world, conversation_id, r.json()["id"], "delivered")
    assert mine["delivery_error"] is None
    assert len(world.fake.sent("whatsapp")) == 1
