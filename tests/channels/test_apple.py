"""Apple Messages for Business, end to end: Threadline served on loopback as the
messaging service provider, the fake provider beside it as Apple's gateway."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import strategies as st

from tests.channels.test_rcs import (
    outbox_row,
    send,
    stored_messages,
    until_outbox,
    until_status,
)
from tests.support.channels import APPLE_BUSINESS, APPLE_CSP_ID, World, channel_world
from tests.support.clock import FakeClock
from tests.support.fuzz import fuzz_webhook
from tests.support.live import AgentHandle, Stream
from threadline.adapters.providers import apple
from threadline.adapters.providers.signing import apple_token

FIXTURES = Path(__file__).parent.parent / "fixtures" / "apple"
PATH = "/webhooks/apple/message"
RECORDED_HEADERS: dict[str, str] = json.loads((FIXTURES / "headers.json").read_text())
CUSTOMER = RECORDED_HEADERS["source-id"]


@pytest.fixture
async def world(database_url: str, clock: FakeClock) -> AsyncIterator[World]:
    async with channel_world(database_url, clock) as running:
        yield running


# -- helpers ----------------------------------------------------------------------


def fixture(name: str) -> tuple[bytes, dict[str, Any]]:
    raw = (FIXTURES / f"{name}.json").read_bytes()
    return raw, json.loads(raw)


def token(world: World, **changes: Any) -> str:
    """A gateway token as Apple makes it: audience our MSP id, keyed by the secret."""
    secret = changes.get("secret", world.secrets.apple_secret_b64)
    return apple_token(
        secret, changes.get("aud", APPLE_CSP_ID), changes.get("now", world.live.clock())
    )


def headers_for(world: World, message_id: str, **changes: str | None) -> dict[str, str]:
    headers = {
        **RECORDED_HEADERS,
        "id": message_id,
        "Authorization": f"Bearer {token(world)}",
    }
    for name, value in changes.items():
        key = {"authorization": "Authorization"}.get(name, name.replace("_", "-"))
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return headers


async def post(
    world: World, body: bytes, headers: dict[str, str], path: str = PATH
) -> httpx.Response:
    return await world.live.http.post(path, content=body, headers=headers)


async def post_fixture(world: World, name: str, path: str = PATH) -> httpx.Response:
    raw, body = fixture(name)
    return await post(world, raw, headers_for(world, body["id"]), path)


async def customer_wrote(world: World, stream: Stream, text: str) -> str:
    result = await world.fake.inbound_apple(
        business_id=APPLE_BUSINESS, customer_id=CUSTOMER, text=text
    )
    assert result.status == 200, result.body
    events = await stream.events_until("conversation.assigned")
    assert any(e["type"] == "message.received" for e in events), events
    return str(events[-1]["conversation_id"])


async def agent(world: World) -> AgentHandle:
    return await world.live.agent("alice")


# -- the recorded messages ----------------------------------------------------------


async def test_the_recorded_text_is_stored_once_under_apples_message_id(world: World) -> None:
    await world.connected_inbox("apple")
    r = await post_fixture(world, "text")
    assert r.status_code == 200, r.text
    head = await world.live.event_head()

    # The gateway retries a message it had no answer to.
    r = await post_fixture(world, "text")

    assert r.status_code == 200, r.text
    assert await world.live.event_head() == head
    assert await stored_messages(world) == [
        ("Hi, I need help with my order #4821", "3895ba60-39b3-43f5-9f95-2680d034b5f2", "received")
    ]


async def test_the_registered_url_and_the_one_apple_appends_message_to_both_take_messages(
    world: World,
) -> None:
    await world.connected_inbox("apple")
    for path in ("/webhooks/apple", "/webhooks/apple/message"):
        message_id = str(uuid.uuid4())
        _, body = fixture("text")
        body = {**body, "id": message_id, "body": f"via {path}"}
        r = await post(world, json.dumps(body).encode(), headers_for(world, message_id), path)
        assert r.status_code == 200, r.text
    assert [m[0] for m in await stored_messages(world)] == [
        "via /webhooks/apple",
        "via /webhooks/apple/message",
    ]


async def test_a_list_picker_reply_is_stored_as_what_the_customer_chose(world: World) -> None:
    await world.connected_inbox("apple")
    r = await post_fixture(world, "list_picker_response")
    assert r.status_code == 200, r.text
    assert await stored_messages(world) == [
        ("Priority Express", "5d8e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a", "received")
    ]


@pytest.mark.parametrize("name", ["typing_start", "close"])
async def test_typing_and_a_closed_chat_are_acknowledged_and_store_nothing(
    world: World, name: str
) -> None:
    await world.connected_inbox("apple")
    head = await world.live.event_head()
    r = await post_fixture(world, name)
    assert r.status_code == 200, r.text
    assert await world.live.event_head() == head


@pytest.mark.parametrize("say_so", [True, False])
async def test_a_gzip_compressed_message_is_stored_whether_or_not_its_encoding_says_so(
    world: World, say_so: bool
) -> None:
    await world.connected_inbox("apple")
    raw, body = fixture("text")
    headers = headers_for(world, body["id"])
    if say_so:
        headers["Content-Encoding"] = "gzip"
    r = await post(world, gzip.compress(raw), headers)
    assert r.status_code == 200, r.text
    assert [m[0] for m in await stored_messages(world)] == [body["body"]]


async def test_a_gzip_body_that_inflates_past_the_limit_is_refused_with_413(
    world: World,
) -> None:
    await world.connected_inbox("apple")
    _, body = fixture("text")
    # Past the webhooks' 4 MiB once inflated, a few KiB on the wire: a gzip bomb.
    inflated = json.dumps({**body, "padding": " " * (5 * 1024 * 1024)}).encode()
    compressed = gzip.compress(inflated)
    assert len(compressed) < 64 * 1024  # small on the wire: only inflating shows its size
    headers = {**headers_for(world, body["id"]), "Content-Encoding": "gzip"}
    r = await post(world, compressed, headers)
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "body_too_large"
    assert await stored_messages(world) == []


# -- refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "spoil", ["missing", "not_bearer", "garbage", "other_secret", "other_msp", "expired"]
)
async def test_a_message_without_a_valid_gateway_token_is_refused_and_nothing_is_stored(
    world: World, spoil: str
) -> None:
    await world.connected_inbox("apple")
    raw, body = fixture("text")
    other_secret = base64.b64encode(b"not our secret but just as long!").decode()
    an_hour_ago = world.live.clock() - timedelta(hours=1)
    authorization = {
        "missing": None,
        "not_bearer": f"Basic {token(world)}",
        "garbage": "Bearer not.a.jwt",
        "other_secret": f"Bearer {token(world, secret=other_secret)}",
        "other_msp": f"Bearer {token(world, aud=str(uuid.uuid4()))}",
        "expired": f"Bearer {token(world, now=an_hour_ago)}",
    }[spoil]
    r = await post(world, raw, headers_for(world, body["id"], authorization=authorization))
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "bad_signature"
    assert await stored_messages(world) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": None}, "id"),
        ({"source_id": None}, "source-id"),
        ({"destination_id": ""}, "destination-id"),
    ],
)
async def test_a_message_missing_apples_headers_is_refused_with_its_reason(
    world: World, change: dict[str, str | None], reason: str
) -> None:
    await world.connected_inbox("apple")
    raw, body = fixture("text")
    r = await post(world, raw, headers_for(world, body["id"], **change))
    assert r.status_code == 400, r.text
    assert reason in r.json()["error"]["message"]
    assert await stored_messages(world) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"\x1f\x8bthis is no gzip", "gzip"),
        (
            json.dumps({**fixture("text")[1], "sourceId": "urn:mbid:someone-else"}).encode(),
            "sourceId",
        ),
        (json.dumps({**fixture("text")[1], "body": ""}).encode(), "body"),
    ],
    ids=["json", "gzip", "sender", "body"],
)
async def test_an_authenticated_body_that_is_not_apples_shape_is_refused_with_its_reason(
    world: World, body: bytes, reason: str
) -> None:
    await world.connected_inbox("apple")
    r = await post(world, body, headers_for(world, fixture("text")[1]["id"]))
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "malformed_payload"
    assert reason in r.json()["error"]["message"]
    assert await stored_messages(world) == []


async def test_a_message_for_a_business_no_inbox_has_is_refused(world: World) -> None:
    await world.connected_inbox("apple")
    raw, body = fixture("text")
    other = str(uuid.uuid4())
    r = await post(world, raw, headers_for(world, body["id"], destination_id=other))
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "unknown_address"
    assert await stored_messages(world) == []


# -- fuzz -------------------------------------------------------------------------

UNSTORABLE = st.sampled_from(["\x00", "a\x00b", "lone \ud800", "  \n "])
LEAF = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
KEYS = st.sampled_from(
    ["data", "listPicker", "sections", "items", "title", "quick-reply", "replyMessage", "url"]
) | st.text(max_size=6)
JSON = st.recursive(
    LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3)
)
FIELDS = ("type", "body", "attachments", "interactiveData", "interactiveDataRef", "id")
ORIGINALS = st.sampled_from(
    [
        {"type": "text", "body": "hi"},
        {
            "type": "interactive",
            "interactiveData": fixture("list_picker_response")[1]["interactiveData"],
        },
        {"type": "text", "body": "", "attachments": [{"url": "https://a/b", "mimeType": "a/b"}]},
        {"type": "typing_start"},
    ]
)
MESSAGES = st.builds(
    lambda original, spoiled: {
        "v": 1,
        "sourceId": CUSTOMER,
        "destinationId": APPLE_BUSINESS,
        **original,
        **spoiled,
    },
    ORIGINALS,
    st.dictionaries(st.sampled_from(FIELDS), UNSTORABLE | JSON, max_size=2),
)
# Messages of every wrong shape, plain or compressed, and bodies that are not JSON.
BODIES = (
    MESSAGES.map(lambda m: ("json", m))
    | MESSAGES.map(lambda m: ("gzip", m))
    | st.binary(max_size=64).map(lambda b: ("raw", b))
)


async def test_authenticated_bodies_of_any_shape_never_fail_the_server_and_refusals_store_nothing(
    world: World,
) -> None:
    await world.connected_inbox("apple")

    def post(client: httpx.Client, case: tuple[str, Any]) -> httpx.Response:
        kind, found = case
        # A fresh id each time, so that no case is taken for a retry of another.
        message_id = str(uuid.uuid4())
        if kind == "raw":
            body = found
        else:
            raw = json.dumps({"id": message_id, **found}).encode()
            body = gzip.compress(raw) if kind == "gzip" else raw
        return client.post(PATH, content=body, headers=headers_for(world, message_id))

    seen = await fuzz_webhook(world.live, BODIES, post, examples=150)
    # Some were refused and some stored: the fuzz reached both sides.
    assert seen[400] > 0, seen
    assert seen[200] > 0, seen


# -- end to end -------------------------------------------------------------------


async def test_a_customer_on_apple_and_an_agents_reply_with_a_list_picker_end_to_end(
    world: World,
) -> None:
    await world.connected_inbox("apple")
    alice = await agent(world)
    async with world.live.stream(alice) as stream:
        conversation_id = await customer_wrote(world, stream, "Can I change my delivery?")
        reply = await send(
            world,
            alice,
            conversation_id,
            "Which option suits you?",
            ["Priority Express", "Standard"],
        )
        # Apple sends no receipts: "sent" once the gateway took it.
        await until_status(stream, reply["id"], "sent")
        # The customer picks from the list (the fake sends text only: posted here).
        _, picked = fixture("list_picker_response")
        r = await post(world, json.dumps(picked).encode(), headers_for(world, picked["id"]))
        assert r.status_code == 200, r.text
        second = await send(world, alice, conversation_id, "Done: it comes tomorrow.", [])
        await until_status(stream, second["id"], "sent")

    picker, plain = world.fake.sent("apple")
    assert (picker.id, plain.id) == (reply["id"], second["id"])
    assert (picker.to, picker.from_) == (CUSTOMER, APPLE_BUSINESS)
    assert picker.suggestions == ["Priority Express", "Standard"]
    assert picker.payload["type"] == "interactive"
    assert picker.payload["interactiveData"]["bid"] == apple.BID
    assert (
        picker.payload["interactiveData"]["receivedMessage"]["title"] == "Which option suits you?"
    )
    assert picker.text == "Which option suits you?\n\n1. Priority Express\n2. Standard"
    assert (plain.payload["type"], plain.text, plain.suggestions) == (
        "text",
        "Done: it comes tomorrow.",
        None,
    )
    detail = await world.live.conversation(alice, conversation_id)
    assert [(m["text"], m["delivery_status"]) for m in detail["messages"]] == [
        ("Can I change my delivery?", "received"),
        ("Which option suits you?", "sent"),
        ("Priority Express", "received"),
        ("Done: it comes tomorrow.", "sent"),
    ]
    assert detail["messages"][1]["external_id"] == reply["id"]
    assert detail["customer"]["identities"] == [{"channel": "apple", "address": CUSTOMER}]


async def test_the_gateway_unavailable_for_a_while_still_delivers_the_reply_once(
    world: World,
) -> None:
    await world.connected_inbox("apple")
    alice = await agent(world)
    async with world.live.stream(alice) as stream:
        conversation_id = await customer_wrote(world, stream, "Hello?")
        world.fake.behave("down", provider="apple", times=2)
        reply = await send(world, alice, conversation_id, "We are here.", ["Thanks"])
        for attempt in (1, 2):
            await until_outbox(world, reply["id"], "pending", attempt)
            assert world.fake.sent("apple") == []
            world.live.clock.advance(60)  # past the back-off
        await until_status(stream, reply["id"], "sent")
    [sent] = world.fake.sent("apple")
    assert sent.id == reply["id"]
    assert (await outbox_row(world, reply["id"]))[:2] == ("sent", 3)


async def test_a_send_whose_answer_was_lost_is_repeated_and_the_gateway_drops_the_repeat(
    world: World,
) -> None:
    await world.connected_inbox("apple")
    alice = await agent(world)
    async with world.live.stream(alice) as stream:
        conversation_id = await customer_wrote(world, stream, "Hello?")
        # The gateway takes the message, then answers too late for our two-second timeout.
        world.fake.behave("hang", provider="apple", delay_seconds=3, times=1)
        reply = await send(world, alice, conversation_id, "We are here.", [])
        await until_outbox(world, reply["id"], "pending", 1)
        world.live.clock.advance(60)
        await until_status(stream, reply["id"], "sent")
    assert [s.id for s in world.fake.sent("apple")] == [reply["id"]]
    assert (await outbox_row(world, reply["id"]))[:2] == ("sent", 2)


async def test_a_reply_the_gateway_refuses_fails_with_its_reason(world: World) -> None:
    await world.connected_inbox("apple")
    alice = await agent(world)
    async with world.live.stream(alice) as stream:
        conversation_id = await customer_wrote(world, stream, "Hello?")
        world.fake.behave("error", status=400, provider="apple", times=1)
        reply = await send(world, alice, conversation_id, "Hi!", [])
        failed = await until_status(stream, reply["id"], "failed")
    assert failed["error"] == "Apple Messages for Business answered 400"
    assert world.fake.sent("apple") == []
