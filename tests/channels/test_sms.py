"""SMS through Twilio, end to end against the fake provider on loopback."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import strategies as st

from tests.support.channels import (
    CONNECTIONS,
    CUSTOMER_PHONE,
    SMS_NUMBER,
    World,
    until_each_tried_once,
)
from tests.support.fuzz import fuzz_webhook
from tests.support.live import AgentHandle
from threadline.adapters.providers.signing import twilio_signature
from threadline.adapters.schema import conversations, messages, outbox
from threadline.service.unit_of_work import UnitOfWork

FIXTURES = Path(__file__).parent.parent / "fixtures" / "twilio"


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        # Twilio's security documentation, the example as first published and as revised
        # (api-snippets security/signature_validation, see tests/fixtures/README.md).
        ("+14158675309", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
    ],
)
def test_twilio_signature_reproduces_twilios_worked_example(caller: str, expected: str) -> None:
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", caller),
        ("Digits", "1234"),
        ("From", caller),
        ("To", "+18005551212"),
    ]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature(url, params, "12345") == expected


async def _agent_online(world: World) -> AgentHandle:
    return await world.live.agent("alice", skills=("general",))


async def _conversation_of(world: World, agent: AgentHandle) -> dict[str, object]:
    r = await world.live.http.get("/api/v1/conversations", headers=agent.headers)
    assert r.status_code == 200, r.text
    [row] = r.json()
    return dict(row)


async def _delivered(world: World, agent: AgentHandle, conversation_id: str, seq: int) -> str:
    """The delivery status of message `seq` once the provider's callbacks are in."""
    await world.fake.idle()
    detail = await world.live.conversation(agent, conversation_id)
    [message] = [m for m in detail["messages"] if m["seq"] == seq]
    return str(message["delivery_status"])


async def test_customer_sms_reaches_the_desk_and_the_reply_reaches_the_phone(
    world: World,
) -> None:
    await world.connected_inbox("sms")
    alice = await _agent_online(world)
    async with world.live.stream(alice) as stream:
        result = await world.fake.inbound_twilio(
            from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="Where is my parcel?"
        )
        assert result.status == 200
        events = await stream.events_until("conversation.assigned")
        received = [e for e in events if e["type"] == "message.received"]
        assert received, events
        conversation_id = events[-1]["conversation_id"]
        reply = await world.live.reply(alice, conversation_id, "It ships today.")
        # The provider's status callbacks reach the desk as delivery statuses.
        statuses = []
        while "delivered" not in statuses:
            event = await stream.next_event()
            if event["type"] == "message.delivery_status":
                assert event["payload"]["message_id"] == reply["id"]
                statuses.append(event["payload"]["status"])
    [sent] = world.fake.sent("twilio")
    assert (sent.to, sent.from_, sent.text) == (CUSTOMER_PHONE, SMS_NUMBER, "It ships today.")
    detail = await world.live.conversation(alice, conversation_id)
    first = detail["messages"][0]
    assert (first["text"], first["external_id"][:2]) == ("Where is my parcel?", "SM")
    [mine] = [m for m in detail["messages"] if m["id"] == reply["id"]]
    assert mine["delivery_status"] == "delivered"
    assert mine["external_id"] == sent.id


async def test_a_retried_webhook_stores_the_message_once(world: World) -> None:
    await world.connected_inbox("sms")
    alice = await _agent_online(world)
    result = await world.fake.inbound_twilio(
        from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="Hello?", repeat=3
    )
    assert result.status == 200
    assert [d.status for d in world.fake.deliveries()] == [200, 200, 200]
    row = await _conversation_of(world, alice)
    detail = await world.live.conversation(alice, str(row["id"]))
    assert [m["text"] for m in detail["messages"]] == ["Hello?"]


async def _post_form(
    world: World, path: str, body: bytes, signature: str | None
) -> tuple[int, str]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    r = await world.live.http.post(path, content=body, headers=headers)
    return r.status_code, r.text


def _signed(world: World, path: str, body: bytes) -> str:
    url = world.live.base_url + path
    params = parse_qsl(body.decode(), keep_blank_values=True)
    return twilio_signature(url, params, world.secrets.twilio_auth_token)


async def _stored_conversations(world: World) -> int:
    async def count(uow: UnitOfWork) -> int:
        found = await uow.conn.execute(sa.select(sa.func.count()).select_from(conversations))
        return int(found.scalar_one())

    return await world.live.tx.read(count)


@pytest.mark.parametrize("signature", [None, "", "bm90IHRoZSBzaWduYXR1cmU="])
async def test_an_unsigned_or_mis_signed_sms_is_refused_and_nothing_is_stored(
    world: World, signature: str | None
) -> None:
    await world.connected_inbox("sms")
    body = (FIXTURES / "inbound_sms.txt").read_bytes()
    status, text = await _post_form(world, "/webhooks/twilio/sms", body, signature)
    assert status == 403, text
    assert '"code":"bad_signature"' in text.replace(" ", "")
    assert await _stored_conversations(world) == 0


async def test_the_recorded_mms_is_stored_with_its_media(world: World) -> None:
    await world.connected_inbox("sms")
    alice = await _agent_online(world)
    body = (FIXTURES / "inbound_mms.txt").read_bytes()
    status, text = await _post_form(
        world, "/webhooks/twilio/sms", body, _signed(world, "/webhooks/twilio/sms", body)
    )
    assert status == 200, text
    assert "<Response>" in text
    row = await _conversation_of(world, alice)
    detail = await world.live.conversation(alice, str(row["id"]))
    [message] = detail["messages"]
    form = dict(parse_qsl(body.decode()))
    assert [a["url"] for a in message["attachments"]] == [form["MediaUrl0"], form["MediaUrl1"]]
    assert [a["content_type"] for a in message["attachments"]] == [
        form["MediaContentType0"],
        form["MediaContentType1"],
    ]


async def test_an_sms_to_a_number_no_inbox_has_is_refused(world: World) -> None:
    body = (FIXTURES / "inbound_sms.txt").read_bytes()
    status, text = await _post_form(world, "/webhooks/twilio/sms", body, "c2lnbmF0dXJl")
    assert status == 404, text
    assert "unknown_address" in text


async def test_a_malformed_form_is_refused_with_its_reason(world: World) -> None:
    await world.connected_inbox("sms")
    body = b"To=%2B15550001111&From=%2B15557654321&Body=hi&AccountSid=nope&MessageSid=x"
    status, text = await _post_form(
        world, "/webhooks/twilio/sms", body, _signed(world, "/webhooks/twilio/sms", body)
    )
    assert status == 400, text
    assert "malformed_payload" in text
    assert await _stored_conversations(world) == 0


async def test_an_oversized_body_is_refused_with_413(world: World) -> None:
    await world.connected_inbox("sms")
    # Webhooks may be larger than API calls (providers batch events), up to 4 MiB.
    body = b"Body=" + b"x" * (4 * 1024 * 1024) + b"&To=%2B15550001111"
    status, _ = await _post_form(world, "/webhooks/twilio/sms", body, "c2lnbmF0dXJl")
    assert status == 413
    assert await _stored_conversations(world) == 0


async def test_a_reply_the_provider_refuses_is_marked_failed_with_its_error(
    world: World,
) -> None:
    await world.connected_inbox("sms")
    alice = await _agent_online(world)
    world.fake.behave(
        "error",
        status=400,
        provider="twilio",
        error={"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400},
    )
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="hi")
    row = await _conversation_of(world, alice)
    async with world.live.stream(alice) as stream:
        reply = await world.live.reply(alice, str(row["id"]), "Hello!")
        event = await stream.events_until("message.delivery_status")
    payload = event[-1]["payload"]
    assert (payload["message_id"], payload["status"]) == (reply["id"], "failed")
    assert "21211" in payload["error"]
    detail = await world.live.conversation(alice, str(row["id"]))
    [mine] = [m for m in detail["messages"] if m["id"] == reply["id"]]
    assert mine["delivery_status"] == "failed"
    assert "Invalid 'To' Phone Number" in mine["delivery_error"]
    assert world.fake.sent("twilio") == []


async def test_the_provider_down_for_a_while_still_delivers_every_reply_once(
    world: World,
) -> None:
    await world.connected_inbox("sms")
    alice = await _agent_online(world)
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="hi")
    row = await _conversation_of(world, alice)
    world.fake.behave("down", provider="twilio")
    texts = [f"Reply {i}" for i in range(5)]
    for text in texts:
        await world.live.reply(alice, str(row["id"]), text)
    # Several attempts fail while it is down, each pushed back further.
    for _ in range(4):
        await asyncio.sleep(0.2)
        world.live.clock.advance(30)
    assert world.fake.sent("twilio") == []
    world.fake.behave("ok")
    world.live.clock.advance(600)
    for _ in range(100):
        if len(world.fake.sent("twilio")) == len(texts):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # a second round would show a duplicate here
    assert sorted(s.text or "" for s in world.fake.sent("twilio")) == texts


async def test_a_send_whose_answer_never_comes_is_not_sent_again(world: World) -> None:
    await world.connected_inbox("sms")
    alice = await _agent_online(world)
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="hi")
    row = await _conversation_of(world, alice)
    # Twilio takes the message, then answers only after our two-second timeout: the
    # outcome is unknown, and Twilio has no idempotency key, so it is not repeated. Its
    # status callbacks then tell what became of it.
    world.fake.behave("hang", provider="twilio", delay_seconds=2.5, times=1)
    reply = await world.live.reply(alice, str(row["id"]), "Hello!")
    for _ in range(100):
        detail = await world.live.conversation(alice, str(row["id"]))
        [mine] = [m for m in detail["messages"] if m["id"] == reply["id"]]
        if mine["delivery_status"] == "delivered":
            break
        await asyncio.sleep(0.05)
    assert mine["delivery_status"] == "delivered"
    await asyncio.sleep(2.5)  # the hung answer has come and gone
    world.live.clock.advance(3600)
    await asyncio.sleep(0.3)  # a retry would have gone out by now
    assert len(world.fake.sent("twilio")) == 1


async def _sent_texts(world: World) -> list[str]:
    """What the phone has received once the outbox has nothing left to send."""
    for _ in range(200):
        backlog = await world.live.tx.read(lambda uow: uow.outbox.backlog())
        if not backlog.get("pending") and not backlog.get("sending"):
            break
        await asyncio.sleep(0.025)
    await world.fake.idle()
    return [s.text or "" for s in world.fake.sent("twilio")]


async def test_stop_confirms_once_blocks_every_reply_and_start_undoes_it(
    world: World,
) -> None:
    await world.connected_inbox("sms")
    alice = await _agent_online(world)
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="Hi there")
    row = await _conversation_of(world, alice)
    conversation_id = str(row["id"])

    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body=" Stop ")
    detail = await world.live.conversation(alice, conversation_id)
    assert detail["conversation"]["state"] == "closed"
    assert detail["sessions"][-1]["close_reason"] == "customer_opted_out"
    assert [t for t in await _sent_texts(world) if "unsubscribed" in t]
    r = await world.live.http.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "Sorry to see you go"},
        headers=alice.headers,
    )
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "customer_opted_out"
    channel = await world.live.http.get(
        f"/api/v1/conversations/{conversation_id}/channel", headers=alice.headers
    )
    assert channel.json()["opted_out"] is True
    assert channel.json()["opted_out_keyword"] == "STOP"

    # STOP again: silence. HELP: always answered.
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="STOPALL")
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="help")
    texts = await _sent_texts(world)
    assert len([t for t in texts if "unsubscribed" in t]) == 1
    assert len([t for t in texts if "STOP to unsubscribe" in t]) == 1

    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="start")
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="My order never came")
    detail = await world.live.conversation(alice, conversation_id)
    assert detail["conversation"]["state"] == "assigned"
    await world.live.reply(alice, conversation_id, "Let me look into it")
    assert "Let me look into it" in await _sent_texts(world)


async def test_a_first_message_that_is_stop_opens_no_work_for_agents(world: World) -> None:
    await world.connected_inbox("sms")
    alice = await _agent_online(world)
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="UNSUBSCRIBE")
    assert [t for t in await _sent_texts(world) if "unsubscribed" in t]
    r = await world.live.http.get(
        "/api/v1/conversations", params={"state": "queued"}, headers=alice.headers
    )
    assert r.json() == []
    r = await world.live.http.get("/api/v1/conversations", headers=alice.headers)
    assert all(c["state"] == "closed" for c in r.json())


FIELD_NAMES = st.sampled_from(
    ["To", "From", "Body", "AccountSid", "MessageSid", "NumMedia", "MediaUrl0",
     "MediaContentType0", "ProfileName", "SmsStatus", "MessageStatus", "ErrorCode"]
)  # fmt: skip
VALUES = st.sampled_from(
    [SMS_NUMBER, CUSTOMER_PHONE, "AC" + "a" * 32, "SM" + "b" * 32, "0", "1", "11", "-1", ""]
) | st.text(max_size=30)
FORMS = st.lists(st.tuples(FIELD_NAMES, VALUES), max_size=12).map(
    # Most bodies name the connected number, so the fuzz reaches past the look-up.
    lambda pairs: [("To", SMS_NUMBER), *pairs] if len(pairs) % 3 else pairs
)


async def test_signed_forms_of_any_shape_never_fail_the_server_and_refusals_store_nothing(
    world: World,
) -> None:
    await world.connected_inbox("sms")
    path = "/webhooks/twilio/sms"

    def post(client: httpx.Client, form: list[tuple[str, str]]) -> httpx.Response:
        body = urlencode(form).encode()
        return client.post(
            path,
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": _signed(world, path, body),
            },
        )

    seen = await fuzz_webhook(world.live, FORMS, post)
    assert seen[400] > 0, seen  # the fuzz got past the signature into parsing


async def test_a_reply_queued_before_its_inbox_was_disconnected_fails_with_the_reason(
    world: World,
) -> None:
    inbox = await world.connected_inbox("sms")
    alice = await _agent_online(world)
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="hi")
    row = await _conversation_of(world, alice)
    world.fake.behave("down", provider="twilio")
    reply = await world.live.reply(alice, str(row["id"]), "Hello!")
    await until_each_tried_once(world.live, 1)
    r = await world.live.http.delete(
        f"/api/v1/inboxes/{inbox.id}/connection", headers=world.admin.headers
    )
    assert r.status_code == 204, r.text
    world.live.clock.advance(600)
    for _ in range(100):
        detail = await world.live.conversation(alice, str(row["id"]))
        [mine] = [m for m in detail["messages"] if m["id"] == reply["id"]]
        if mine["delivery_status"] == "failed":
            break
        await asyncio.sleep(0.02)
    assert mine["delivery_status"] == "failed"
    assert mine["delivery_error"] == "the inbox no longer has a provider connection"


async def _as_if_its_worker_died(world: World, message_id: str, status: str) -> None:
    """The outbox row of a message left mid-send by a process that died: leased, with
    the lease run out; and the message's status as the provider's callbacks left it."""

    async def leave(uow: UnitOfWork) -> None:
        now = world.live.clock()
        await uow.conn.execute(
            outbox.update()
            .where(outbox.c.message_id == uuid.UUID(message_id))
            .values(state="sending", attempts=1, lease_until=now - timedelta(seconds=1))
        )
        await uow.conn.execute(
            messages.update()
            .where(messages.c.id == uuid.UUID(message_id))
            .values(delivery_status=status)
        )

    await world.live.tx.write(leave)


async def _status_of(world: World, agent: AgentHandle, conversation_id: str, mid: str) -> str:
    detail = await world.live.conversation(agent, conversation_id)
    [mine] = [m for m in detail["messages"] if m["id"] == mid]
    return str(mine["delivery_status"])


async def test_a_send_cut_off_by_a_dead_worker_is_never_repeated_on_twilio(world: World) -> None:
    await world.connected_inbox("sms")
    alice = await _agent_online(world)
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="hi")
    conversation_id = str((await _conversation_of(world, alice))["id"])
    world.fake.behave("down", provider="twilio")  # keep both replies in the outbox
    delivered = await world.live.reply(alice, conversation_id, "One")
    unknown = await world.live.reply(alice, conversation_id, "Two")

    await until_each_tried_once(world.live, 2)
    world.fake.behave("ok")
    # One was delivered before its worker died (its callback came); of the other
    # nothing is known.
    await _as_if_its_worker_died(world, delivered["id"], "delivered")
    await _as_if_its_worker_died(world, unknown["id"], "queued")
    world.live.clock.advance(600)
    for _ in range(100):
        if await _status_of(world, alice, conversation_id, unknown["id"]) == "failed":
            break
        await asyncio.sleep(0.02)
    assert await _status_of(world, alice, conversation_id, delivered["id"]) == "delivered"
    detail = await world.live.conversation(alice, conversation_id)
    [failed] = [m for m in detail["messages"] if m["id"] == unknown["id"]]
    assert failed["delivery_status"] == "failed"
    assert failed["delivery_error"].startswith("not confirmed")
    assert world.fake.sent("twilio") == []  # neither was sent again
    assert await world.live.tx.read(lambda uow: uow.outbox.backlog()) == {
        "sent": 1,
        "failed": 1,
    }
    # Twilio's callback for the unknown one arrives after all: it was sent.
    form = [
        ("MessageSid", "SM" + "c" * 32),
        ("MessageStatus", "delivered"),
        ("AccountSid", "AC" + "a" * 32),
        ("From", SMS_NUMBER),
        ("To", CUSTOMER_PHONE),
    ]
    path = f"/webhooks/twilio/status?message={unknown['id']}"
    body = urlencode(form).encode()
    status, text = await _post_form(world, path, body, _signed(world, path, body))
    assert status == 204, text
    assert await _status_of(world, alice, conversation_id, unknown["id"]) == "delivered"


async def test_a_reply_waiting_for_a_retry_is_not_sent_again_once_the_provider_reports_it(
    world: World,
) -> None:
    await world.connected_inbox("sms")
    alice = await _agent_online(world)
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="hi")
    conversation_id = str((await _conversation_of(world, alice))["id"])
    # Twilio answers 503 (so Threadline will retry), yet its callback says delivered.
    world.fake.behave("down", provider="twilio")
    reply = await world.live.reply(alice, conversation_id, "Hello")
    await until_each_tried_once(world.live, 1)
    world.fake.behave("ok")
    form = [
        ("MessageSid", "SM" + "d" * 32),
        ("MessageStatus", "delivered"),
        ("AccountSid", "AC" + "a" * 32),
        ("From", SMS_NUMBER),
        ("To", CUSTOMER_PHONE),
    ]
    path = f"/webhooks/twilio/status?message={reply['id']}"
    body = urlencode(form).encode()
    status, text = await _post_form(world, path, body, _signed(world, path, body))
    assert status == 204, text
    world.live.clock.advance(600)  # the retry is due
    for _ in range(100):
        if await world.live.tx.read(lambda uow: uow.outbox.backlog()) == {"sent": 1}:
            break
        await asyncio.sleep(0.02)
    assert await world.live.tx.read(lambda uow: uow.outbox.backlog()) == {"sent": 1}
    assert world.fake.sent("twilio") == []
    assert await _status_of(world, alice, conversation_id, reply["id"]) == "delivered"


@pytest.mark.parametrize("to", ["%00", "not-a-number", "%2B1"])
async def test_a_webhook_naming_no_phone_number_is_refused_before_any_look_up(
    world: World, to: str
) -> None:
    body = f"To={to}&From=%2B15557654321&Body=hi".encode()
    status, text = await _post_form(world, "/webhooks/twilio/sms", body, "eA==")
    assert status == 400, text
    assert "malformed_payload" in text


@pytest.mark.parametrize("sender", ["ACME", "+1", "12345"])
async def test_a_signed_text_from_no_phone_number_is_refused_naming_from(
    world: World, sender: str
) -> None:
    await world.connected_inbox("sms")
    result = await world.fake.inbound_twilio(from_=sender, to=SMS_NUMBER, body="hi")
    assert result.status == 400
    assert await _stored_conversations(world) == 0


async def test_a_provider_inbox_takes_no_messages_around_its_webhook(world: World) -> None:
    inbox = await world.connected_inbox("sms")
    body = {"external_id": "x1", "customer": {"address": "not-a-phone"}, "text": "STOP"}
    r = await world.live.http.post("/api/v1/channel/messages", json=body, headers=inbox.headers)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "provider_delivers"
    assert await _stored_conversations(world) == 0


async def test_a_number_typed_with_spaces_and_brackets_finds_the_customer_who_texts_in(
    world: World,
) -> None:
    await world.connected_inbox("sms")
    alice = await _agent_online(world)
    r = await world.live.http.post(
        "/api/v1/customers",
        json={
            "display_name": "Dana",
            "identities": [{"channel": "sms", "address": "+1 (555) 765-4321"}],
        },
        headers=world.admin.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["identities"] == [{"channel": "sms", "address": CUSTOMER_PHONE}]
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="hi")
    row = await _conversation_of(world, alice)
    assert row["customer_id"] == r.json()["id"]

    r = await world.live.http.post(
        "/api/v1/customers",
        json={
            "display_name": "Local",
            "identities": [{"channel": "sms", "address": "555 765 4321"}],
        },
        headers=world.admin.headers,
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"] == {"field": "address"}
    assert "international form" in r.json()["error"]["message"]


async def test_a_reply_to_a_customer_with_two_numbers_goes_to_neither(world: World) -> None:
    await world.connected_inbox("sms")
    alice = await _agent_online(world)
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="hi")
    row = await _conversation_of(world, alice)
    r = await world.live.http.post(
        f"/api/v1/customers/{row['customer_id']}/identities",
        json={"channel": "sms", "address": "+15550007777"},
        headers=world.admin.headers,
    )
    assert r.status_code == 201, r.text
    reply = await world.live.reply(alice, str(row["id"]), "Which phone gets this?")
    for _ in range(100):
        if await _status_of(world, alice, str(row["id"]), reply["id"]) == "failed":
            break
        await asyncio.sleep(0.02)
    detail = await world.live.conversation(alice, str(row["id"]))
    [mine] = [m for m in detail["messages"] if m["id"] == reply["id"]]
    assert mine["delivery_status"] == "failed"
    assert "2 sms addresses" in mine["delivery_error"]
    assert world.fake.sent("twilio") == []


@pytest.mark.parametrize(
    ("channel", "options", "field"),
    [
        ("sms", {"templates": []}, "options"),
        ("whatsapp", {"keyword_replies": {"help": "Call us"}}, "options"),
        ("sms", {"messaging_service_sid": "MG123"}, "options.messaging_service_sid"),
        ("sms", {"keyword_replies": {"help": ""}}, "options.keyword_replies"),
        ("sms", {"keyword_replies": {"goodbye": "x"}}, "options.keyword_replies"),
    ],
)
async def test_connection_options_the_provider_does_not_take_are_refused(
    world: World, channel: str, options: dict[str, object], field: str
) -> None:
    inbox = await world.live.inbox(f"Opt {channel}", channel=channel)
    body = {**CONNECTIONS[channel], "options": options}
    r = await world.live.http.put(
        f"/api/v1/inboxes/{inbox.id}/connection", json=body, headers=world.admin.headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == field
    r = await world.live.http.get(
        f"/api/v1/inboxes/{inbox.id}/connection", headers=world.admin.headers
    )
    assert r.status_code == 404


async def test_an_inbox_sets_its_own_keyword_replies(world: World) -> None:
    await world.connected_inbox(
        "sms", options={"keyword_replies": {"help": "Acme Outdoor: call 555-0100. STOP to end."}}
    )
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="HELP")
    assert "Acme Outdoor: call 555-0100. STOP to end." in await _sent_texts(world)
