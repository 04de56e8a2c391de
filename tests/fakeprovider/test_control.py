"""The control API: what was sent, inbound messages, retries, reset."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from tests.fakeprovider.credentials import TWILIO_SID
from tests.fakeprovider.receiver import Receiver
from tests.fakeprovider.sends import send
from threadline.fakeprovider import FakeAccounts, FakeProvider, serve_fake_provider

SMS = {"from": "+15557654321", "to": "+15550001111", "body": "Hello"}


async def test_sent_lists_every_accepted_message_in_one_shape(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    sid = (await send(http, "twilio", key="k-1")).json()["sid"]

    [listed] = (await http.get("/_fake/sent")).json()

    assert listed["provider"] == "twilio"
    assert listed["id"] == sid
    assert (listed["to"], listed["from"], listed["text"]) == (
        "+15557654321",
        "+15550001111",
        "Hello",
    )
    assert listed["idempotency_key"] == "k-1"
    assert listed["at"].endswith("+00:00")
    assert listed["payload"]["Body"] == "Hello"
    assert {"template", "tag", "suggestions", "media"} <= listed.keys()


async def test_sent_can_be_narrowed_to_one_provider(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    await send(http, "twilio")
    await send(http, "messenger")

    listed = (await http.get("/_fake/sent", params={"provider": "messenger"})).json()
    unknown = await http.get("/_fake/sent", params={"provider": "telegram"})

    assert [m["provider"] for m in listed] == ["messenger"]
    assert unknown.status_code == 404


async def test_an_inbound_webhook_can_be_delivered_twice_identically(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    r = await http.post("/_fake/inbound/twilio", json={**SMS, "repeat": 2})

    assert len(r.json()["attempts"]) == 2
    first, second = receiver.at("/webhooks/twilio/sms")
    assert first.body == second.body
    assert first.headers["x-twilio-signature"] == second.headers["x-twilio-signature"]


async def test_an_inbound_result_reports_threadlines_answer(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.answer_status = 403

    result = (
        await http.post("/_fake/inbound/messenger", json={"page_id": "1", "psid": "2", "text": "x"})
    ).json()

    assert (result["status"], result["body"]) == (403, "thanks")


async def test_an_unreachable_threadline_is_reported_not_raised(
    accounts: FakeAccounts,
) -> None:
    nowhere = dataclasses.replace(accounts, webhook_base="http://127.0.0.1:9")
    async with serve_fake_provider(nowhere) as fake:
        result = await fake.inbound_twilio(from_="+15557654321", to="+15550001111", body="x")

    assert result.status is None
    assert "ConnectError" in result.body


@pytest.mark.parametrize(
    ("provider", "body", "status"),
    [
        ("twilio", {**SMS, "account_sid": "AC" + "f" * 32}, 400),
        ("twilio", {**SMS, "repeat": 9}, 400),
        ("twilio", {"to": "+15550001111"}, 422),
        (
            "rbm",
            {
                "msisdn": "+15557654321",
                "text": "x",
                "suggestion": {"text": "a", "postbackData": "b"},
            },
            422,
        ),
        ("telegram", {}, 404),
    ],
    ids=[
        "unknown-account",
        "too-many-repeats",
        "no-sender",
        "text-and-suggestion",
        "no-such-provider",
    ],
)
async def test_an_inbound_request_the_fake_cannot_act_on_is_refused(
    http: httpx.AsyncClient, receiver: Receiver, provider: str, body: dict[str, object], status: int
) -> None:
    r = await http.post(f"/_fake/inbound/{provider}", json=body)

    assert r.status_code == status
    assert receiver.received == []


async def test_deliveries_list_every_webhook_with_threadlines_answer(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    await fake.inbound_whatsapp(
        phone_number_id="1", display_phone_number="15550002222", from_="15557654321", text="Hi"
    )

    [delivery] = (await http.get("/_fake/deliveries")).json()

    assert delivery["kind"] == "whatsapp.inbound"
    assert delivery["url"].endswith("/webhooks/meta/whatsapp")
    assert delivery["status"] == 200


async def test_idle_waits_for_the_status_callbacks_due(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await send(http, "whatsapp")

    assert (await http.post("/_fake/idle")).status_code == 200
    assert len(receiver.at("/webhooks/meta/whatsapp")) == 2


async def test_reset_forgets_messages_behaviours_recipients_and_deliveries(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    await send(http, "twilio", key="k-1")
    await http.post("/_fake/undeliverable", json={"to": "+15557654321"})
    await http.post("/_fake/inbound/twilio", json=SMS)
    fake.behave("down", provider="whatsapp")

    assert (await http.post("/_fake/reset")).status_code == 200

    assert fake.sent() == []
    assert fake.deliveries() == []
    assert (await send(http, "whatsapp")).status_code == 200
    again = await send(http, "twilio", key="k-1")
    assert again.status_code == 201
    assert len(fake.sent()) == 2
    assert fake.accounts.twilio == {TWILIO_SID: fake.accounts.twilio[TWILIO_SID]}


async def test_undeliverable_marks_a_recipient_over_http(
    http: httpx.AsyncClient, fake: FakeProvider, receiver: Receiver
) -> None:
    r = await http.post("/_fake/undeliverable", json={"to": "6543210987654321"})
    await send(http, "messenger")
    await fake.idle()

    assert r.status_code == 200
    assert receiver.at("/webhooks/meta/messenger") == []
