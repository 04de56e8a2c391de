"""RCS through Google's RBM, end to end: Threadline served on loopback, the fake provider
beside it for the RBM API, Google's token endpoint and the signed pushes."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import strategies as st

from tests.support.channels import CUSTOMER_PHONE, RBM_AGENT, World, channel_world
from tests.support.clock import FakeClock
from tests.support.fuzz import fuzz_webhook
from tests.support.live import AgentHandle, Stream
from threadline.adapters.providers import google_auth
from threadline.adapters.providers.signing import rbm_signature
from threadline.adapters.schema import messages, outbox
from threadline.service.unit_of_work import UnitOfWork

FIXTURES = Path(__file__).parent.parent / "fixtures" / "google_rbm"
PATH = "/webhooks/google/rbm"
HEADER = "X-Goog-Signature"


@pytest.fixture
async def world(database_url: str, clock: FakeClock) -> AsyncIterator[World]:
    async with channel_world(database_url, clock) as running:
        yield running


# -- helpers ----------------------------------------------------------------------


def push_of(data: bytes) -> bytes:
    """An event in Google's Pub/Sub push envelope."""
    message = {"data": base64.b64encode(data).decode(), "messageId": "1", "publishTime": "x"}
    return json.dumps({"message": message, "subscription": "projects/p/subscriptions/s"}).encode()


def event_bytes(**fields: Any) -> bytes:
    return json.dumps(
        {"senderPhoneNumber": CUSTOMER_PHONE, "agentId": RBM_AGENT, **fields}
    ).encode()


def fixture(name: str) -> tuple[bytes, bytes]:
    """A recorded push and the event bytes it carries (what Google signs)."""
    return (FIXTURES / f"{name}.json").read_bytes(), (
        FIXTURES / f"{name}_decoded.json"
    ).read_bytes()


async def post(world: World, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[HEADER] = signature
    return await world.live.http.post(PATH, content=body, headers=headers)


def signed(world: World, data: bytes) -> str:
    return rbm_signature(data, world.secrets.rbm_client_token)


async def post_event(world: World, data: bytes) -> httpx.Response:
    return await post(world, push_of(data), signed(world, data))


async def stored_messages(world: World) -> list[tuple[str, str | None, str]]:
    """(text, external id, delivery status) of every message, oldest first."""

    async def read(uow: UnitOfWork) -> list[tuple[str, str | None, str]]:
        rows = await uow.conn.execute(
            sa.select(messages.c.body, messages.c.external_id, messages.c.delivery_status).order_by(
                messages.c.created_at, messages.c.seq
            )
        )
        return [(r.body, r.external_id, r.delivery_status) for r in rows]

    return await world.live.tx.read(read)


async def outbox_row(world: World, message_id: str) -> tuple[str, int, str | None]:
    async def read(uow: UnitOfWork) -> tuple[str, int, str | None]:
        row = (
            await uow.conn.execute(
                sa.select(outbox.c.state, outbox.c.attempts, outbox.c.last_error).where(
                    outbox.c.message_id == uuid.UUID(message_id)
                )
            )
        ).one()
        return row.state, row.attempts, row.last_error

    return await world.live.tx.read(read)


async def until_outbox(world: World, message_id: str, state: str, attempts: int) -> None:
    """Waits (on real time, briefly) for the outbox worker to reach a row's state."""
    for _ in range(400):
        found = await outbox_row(world, message_id)
        if found[:2] == (state, attempts):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the outbox row stayed at {found}, never {state}/{attempts}")


async def until_status(stream: Stream, message_id: str, status: str) -> dict[str, Any]:
    while True:
        event = await stream.next_event()
        payload = event.get("payload", {})
        if (
            event["type"] == "message.delivery_status"
            and payload.get("message_id") == message_id
            and payload.get("status") in (status, "failed")
        ):
            assert payload["status"] == status, payload
            return dict(payload)


async def send(
    world: World, agent: AgentHandle, conversation_id: str, text: str, suggestions: list[str]
) -> dict[str, Any]:
    r = await world.live.http.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": text, "suggestions": suggestions},
        headers=agent.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def customer_wrote(world: World, agent: AgentHandle, stream: Stream, text: str) -> str:
    """The customer writes in through the fake; the conversation's id once assigned."""
    result = await world.fake.inbound_rbm(msisdn=CUSTOMER_PHONE, text=text)
    assert result.status == 200, result.body
    events = await stream.events_until("conversation.assigned")
    assert any(e["type"] == "message.received" for e in events), events
    return str(events[-1]["conversation_id"])


def count_token_fetches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times Threadline asked the token endpoint (the fake keeps no count)."""
    calls = [0]
    real = google_auth.fetch

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(google_auth, "fetch", counting)
    return calls


# -- the recorded pushes ----------------------------------------------------------


async def test_recorded_user_messages_signed_by_google_are_stored_once(world: World) -> None:
    await world.connected_inbox("rcs")
    for name in ("text", "suggestion_response"):
        raw, data = fixture(name)
        r = await post(world, raw, signed(world, data))
        assert r.status_code == 200, r.text
    head = await world.live.event_head()

    # Google retries a push it had no answer to: the same bytes again.
    raw, data = fixture("text")
    r = await post(world, raw, signed(world, data))

    assert r.status_code == 200, r.text
    assert await world.live.event_head() == head
    assert await stored_messages(world) == [
        ("Hi, where is my order?", "MxIgT-4pWCQu2tH9hMkSTljQ", "received"),
        ("Talk to an agent", "MxJ3kR8vTq2Lw9Pz4Yc6Nb1A", "received"),
    ]


@pytest.mark.parametrize("name", ["is_typing", "delivered", "read"])
async def test_typing_and_reports_on_messages_not_ours_are_acknowledged_and_change_nothing(
    world: World, name: str
) -> None:
    await world.connected_inbox("rcs")
    head = await world.live.event_head()
    raw, data = fixture(name)
    r = await post(world, raw, signed(world, data))
    assert r.status_code == 200, r.text
    assert await world.live.event_head() == head


# -- refusals ---------------------------------------------------------------------


@pytest.mark.parametrize("spoil", ["missing", "empty", "garbage", "over_raw_body", "other_token"])
async def test_a_push_without_googles_signature_is_refused_and_nothing_is_stored(
    world: World, spoil: str
) -> None:
    await world.connected_inbox("rcs")
    raw, data = fixture("text")
    signature = {
        "missing": None,
        "empty": "",
        "garbage": "bm90IHRoZSBzaWduYXR1cmU=",
        # The signature is over the event, so one over the push body is wrong.
        "over_raw_body": rbm_signature(raw, world.secrets.rbm_client_token),
        "other_token": rbm_signature(data, "another-partners-token"),
    }[spoil]
    head = await world.live.event_head()
    r = await post(world, raw, signature)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "bad_signature"
    assert await world.live.event_head() == head
    assert await stored_messages(world) == []


MALFORMED = [
    # (the body, the bytes its signature covers, what the refusal says)
    (b"{not json", b"{not json", "not JSON"),
    (b'{"message": {"data": "***"}}', b"***", "not base64"),
    (push_of(b"<xml/>"), b"<xml/>", "not JSON"),
    (
        push_of(event_bytes(messageId="", text="hi")),
        event_bytes(messageId="", text="hi"),
        "messageId",
    ),
    (
        push_of(event_bytes(messageId="m1", text="hi", senderPhoneNumber="0")),
        event_bytes(messageId="m1", text="hi", senderPhoneNumber="0"),
        "senderPhoneNumber",
    ),
    (
        push_of(event_bytes(text="hi", agentId=None)),
        event_bytes(text="hi", agentId=None),
        "agentId",
    ),
]


@pytest.mark.parametrize(
    ("body", "data", "reason"),
    MALFORMED,
    ids=["body", "data_base64", "data_json", "message_id", "sender", "agent"],
)
async def test_a_signed_push_that_is_not_rbms_shape_is_refused_with_its_reason(
    world: World, body: bytes, data: bytes, reason: str
) -> None:
    await world.connected_inbox("rcs")
    r = await post(world, body, signed(world, data))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "malformed_payload"
    assert reason in error["message"]
    assert await stored_messages(world) == []


async def test_unsigned_garbage_is_refused_as_unsigned(world: World) -> None:
    await world.connected_inbox("rcs")
    r = await post(world, b"{not json", None)
    assert r.status_code == 403, r.text


async def test_a_push_for_an_agent_no_inbox_has_is_refused(world: World) -> None:
    await world.connected_inbox("rcs")
    data = event_bytes(agentId="someone-else@rbm.goog", messageId="m1", text="hi")
    r = await post_event(world, data)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "unknown_address"
    assert await stored_messages(world) == []


# -- Google's verification request --------------------------------------------------


async def test_googles_verification_request_is_answered_with_its_secret(world: World) -> None:
    await world.connected_inbox("rcs")
    body = {"clientToken": world.secrets.rbm_client_token, "secret": "1234567890"}
    r = await world.live.http.post(PATH, json=body)
    assert r.status_code == 200, r.text
    assert r.text == "1234567890"
    assert r.headers["content-type"].startswith("text/plain")


async def test_a_verification_request_with_a_client_token_not_ours_is_refused(
    world: World,
) -> None:
    body = {"clientToken": world.secrets.rbm_client_token, "secret": "1234567890"}
    # No RBM connection yet: nobody here owns that token.
    r = await world.live.http.post(PATH, json=body)
    assert r.status_code == 403, r.text
    await world.connected_inbox("rcs")
    r = await world.live.http.post(PATH, json={**body, "clientToken": "guessed"})
    assert r.status_code == 403, r.text
    assert "1234567890" not in r.text


# -- fuzz -------------------------------------------------------------------------

# Texts no database can hold, or no text at all.
UNSTORABLE = st.sampled_from(["\x00", "a\x00b", "lone \ud800", "  \n "])
AWKWARD = st.sampled_from(
    [
        *("", " ", "\x00", "\ud800", "+1", "x" * 300, "https://rcs.example/f"),
        *(CUSTOMER_PHONE, RBM_AGENT, str(uuid.UUID(int=7))),
        *("DELIVERED", "READ", "IS_TYPING", "REPLY"),
    ]
)
LEAF = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | AWKWARD
KEYS = st.sampled_from(
    ["text", "postbackData", "payload", "fileUri", "mimeType", "fileName", "latitude"]
) | st.text(max_size=6)
JSON = st.recursive(
    LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3)
)
FIELDS = (
    "agentId",
    "senderPhoneNumber",
    "messageId",
    "text",
    "eventType",
    "suggestionResponse",
    "userFile",
    "location",
)
# What RBM sends, each with a fresh id (FRESH, replaced when posted) so that no case is
# taken for a retry of another...
FRESH = "fresh-message-id"
ORIGINALS = st.sampled_from(
    [
        {"text": "hi"},
        {"suggestionResponse": {"text": "Yes", "postbackData": "yes", "type": "REPLY"}},
        {"userFile": {"payload": {"fileUri": "https://rcs.example/f", "mimeType": "a/b"}}},
        {"location": {"latitude": 1.5, "longitude": 2.5}},
        {"eventType": "DELIVERED", "eventId": "e"},
    ]
).map(
    lambda content: {
        "senderPhoneNumber": CUSTOMER_PHONE,
        "agentId": RBM_AGENT,
        "messageId": FRESH,
        **content,
    }
)
# ...and with some of its fields spoiled.
EVENTS = st.builds(
    lambda event, spoiled: {**event, **spoiled},
    ORIGINALS,
    st.dictionaries(st.sampled_from(FIELDS), UNSTORABLE | AWKWARD | JSON, max_size=2),
)
# Events of every wrong shape, data that is no event, bodies that are no push: each
# signed as Google would sign it.
BODIES = (
    EVENTS.map(lambda e: ("event", e))
    | st.binary(max_size=64).map(lambda b: ("data", b))
    | st.binary(max_size=64).map(lambda b: ("raw", b))
    | JSON.map(lambda j: ("raw", json.dumps(j).encode()))
)


def fuzzed(case: tuple[str, Any]) -> tuple[bytes, bytes]:
    """The body to post and the bytes to sign."""
    kind, found = case
    if kind == "raw":
        return found, found
    if kind == "event":
        event = {k: str(uuid.uuid4()) if v == FRESH else v for k, v in found.items()}
        found = json.dumps(event).encode()
    return push_of(found), found


async def test_signed_pushes_of_any_shape_never_fail_the_server_and_refusals_store_nothing(
    world: World,
) -> None:
    await world.connected_inbox("rcs")

    def post(client: httpx.Client, case: tuple[str, Any]) -> httpx.Response:
        body, data = fuzzed(case)
        return client.post(PATH, content=body, headers={HEADER: signed(world, data)})

    seen = await fuzz_webhook(world.live, BODIES, post, examples=150)
    # The fuzz reached past the signature into parsing, and also stored some.
    assert seen[400] > 0, seen


# -- end to end -------------------------------------------------------------------


async def test_a_customer_on_rcs_and_an_agents_reply_with_chips_end_to_end(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetches = count_token_fetches(monkeypatch)
    await world.connected_inbox("rcs")
    alice = await world.live.agent("alice")
    async with world.live.stream(alice) as stream:
        conversation_id = await customer_wrote(world, alice, stream, "Where is my parcel?")
        reply = await send(
            world, alice, conversation_id, "It ships today. Anything else?", ["Track it", "No"]
        )
        # RBM's DELIVERED event names our message by the id we gave it.
        await until_status(stream, reply["id"], "delivered")
        tapped = await world.fake.inbound_rbm(
            msisdn=CUSTOMER_PHONE, suggestion={"text": "Track it", "postbackData": "Track it"}
        )
        assert tapped.status == 200
        second = await send(world, alice, conversation_id, "Here is the link.", [])
        await until_status(stream, second["id"], "delivered")

    first, then = world.fake.sent("rbm")
    assert (first.id, then.id) == (reply["id"], second["id"])
    assert (first.to, first.from_) == (CUSTOMER_PHONE, RBM_AGENT)
    assert first.text == "It ships today. Anything else?"  # chips, not numbered options
    assert first.suggestions == ["Track it", "No"]
    assert first.payload["contentMessage"]["suggestions"][0] == {
        "reply": {"text": "Track it", "postbackData": "Track it"}
    }
    assert then.suggestions is None
    # One access token, fetched for the first send and reused for the second.
    assert fetches == [1]
    detail = await world.live.conversation(alice, conversation_id)
    texts = [(m["text"], m["delivery_status"]) for m in detail["messages"]]
    assert texts == [
        ("Where is my parcel?", "received"),
        ("It ships today. Anything else?", "delivered"),
        ("Track it", "received"),
        ("Here is the link.", "delivered"),
    ]
    assert detail["messages"][1]["external_id"] == reply["id"]


async def test_read_after_delivered_moves_on_and_a_late_delivered_does_not_move_back(
    world: World,
) -> None:
    await world.connected_inbox("rcs")
    alice = await world.live.agent("alice")
    async with world.live.stream(alice) as stream:
        conversation_id = await customer_wrote(world, alice, stream, "Hello")
        reply = await send(world, alice, conversation_id, "Hi!", [])
        await until_status(stream, reply["id"], "delivered")
        for kind in ("READ", "DELIVERED", "READ"):
            data = event_bytes(eventType=kind, eventId=kind, messageId=reply["id"])
            r = await post_event(world, data)
            assert r.status_code == 200, r.text
        await until_status(stream, reply["id"], "read")
        assert await stream.nothing_within(0.3)
    detail = await world.live.conversation(alice, conversation_id)
    assert detail["messages"][-1]["delivery_status"] == "read"


async def test_rbm_unavailable_for_a_while_still_delivers_the_reply_once(world: World) -> None:
    await world.connected_inbox("rcs")
    alice = await world.live.agent("alice")
    async with world.live.stream(alice) as stream:
        conversation_id = await customer_wrote(world, alice, stream, "Hello?")
        world.fake.behave("down", provider="rbm", times=2)
        reply = await send(world, alice, conversation_id, "We are here.", ["Thanks"])
        for attempt in (1, 2):
            await until_outbox(world, reply["id"], "pending", attempt)
            assert world.fake.sent("rbm") == []
            world.live.clock.advance(60)  # past the back-off
        await until_status(stream, reply["id"], "delivered")
    [sent] = world.fake.sent("rbm")
    assert sent.id == reply["id"]
    assert (await outbox_row(world, reply["id"]))[:2] == ("sent", 3)


async def test_a_send_whose_answer_was_lost_is_repeated_and_rbm_knowing_it_counts_as_sent(
    world: World,
) -> None:
    await world.connected_inbox("rcs")
    alice = await world.live.agent("alice")
    async with world.live.stream(alice) as stream:
        conversation_id = await customer_wrote(world, alice, stream, "Hello?")
        # RBM takes the message, then answers too late for our two-second timeout; and
        # no DELIVERED event comes to say it has it (the phone is off).
        world.fake.undeliverable(CUSTOMER_PHONE)
        world.fake.behave("hang", provider="rbm", delay_seconds=3, times=1)
        reply = await send(world, alice, conversation_id, "We are here.", [])
        await until_outbox(world, reply["id"], "pending", 1)
        world.live.clock.advance(60)
        # The repeat is refused as ALREADY_EXISTS: the message went the first time.
        await until_status(stream, reply["id"], "sent")
    assert [s.id for s in world.fake.sent("rbm")] == [reply["id"]]
    assert (await outbox_row(world, reply["id"]))[:2] == ("sent", 2)
    detail = await world.live.conversation(alice, conversation_id)
    assert detail["messages"][-1]["external_id"] == reply["id"]


async def test_a_phone_that_cannot_receive_rcs_fails_the_reply_with_a_clear_reason(
    world: World,
) -> None:
    await world.connected_inbox("rcs")
    alice = await world.live.agent("alice")
    async with world.live.stream(alice) as stream:
        conversation_id = await customer_wrote(world, alice, stream, "Hello?")
        world.fake.behave("error", status=404, provider="rbm", times=1)
        reply = await send(world, alice, conversation_id, "Hi!", [])
        failed = await until_status(stream, reply["id"], "failed")
    assert failed["error"].startswith(f"{CUSTOMER_PHONE} cannot receive RCS messages")
    assert "NOT_FOUND" in failed["error"]
    assert world.fake.sent("rbm") == []


async def test_stop_on_rcs_and_the_platforms_unsubscribe_opt_the_customer_out_once(
    world: World,
) -> None:
    await world.connected_inbox("rcs")
    alice = await world.live.agent("alice")
    await world.fake.inbound_rbm(msisdn=CUSTOMER_PHONE, text="Where is my order?")
    [row] = (await world.live.http.get("/api/v1/conversations", headers=alice.headers)).json()
    # Google delivers the keyword message and an UNSUBSCRIBE event for one STOP.
    await world.fake.inbound_rbm(msisdn=CUSTOMER_PHONE, text="STOP")
    event = {
        "senderPhoneNumber": CUSTOMER_PHONE,
        "eventType": "UNSUBSCRIBE",
        "eventId": "MxUnsub-1",
        "sendTime": "2026-11-21T12:00:00Z",
        "agentId": RBM_AGENT,
    }
    data = json.dumps(event).encode()
    r = await world.live.http.post(
        PATH, content=push_of(data), headers={HEADER: signed(world, data)}
    )
    assert r.status_code == 200, r.text
    detail = await world.live.conversation(alice, row["id"])
    assert detail["conversation"]["state"] == "closed"
    channel = await world.live.http.get(
        f"/api/v1/conversations/{row['id']}/channel", headers=alice.headers
    )
    assert channel.json()["opted_out"] is True
    consent_events = [e for e in detail["events"] if e["type"] == "customer.consent_changed"]
    assert len(consent_events) == 1
    r = await world.live.http.post(
        f"/api/v1/conversations/{row['id']}/messages", json={"text": "hi"}, headers=alice.headers
    )
    assert r.json()["error"]["code"] == "customer_opted_out"
    # SUBSCRIBE: back in, without a message of theirs.
    event = {**event, "eventType": "SUBSCRIBE", "eventId": "MxSub-1"}
    data = json.dumps(event).encode()
    r = await world.live.http.post(
        PATH, content=push_of(data), headers={HEADER: signed(world, data)}
    )
    assert r.status_code == 200, r.text
    channel = await world.live.http.get(
        f"/api/v1/conversations/{row['id']}/channel", headers=alice.headers
    )
    assert channel.json()["opted_out"] is False
