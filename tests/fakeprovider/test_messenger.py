"""The fake's Messenger Send API, delivery webhooks and inbound messages."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fakeprovider.credentials import META_SECRET, META_TOKEN
from tests.fakeprovider.receiver import Received, Receiver
from threadline.adapters.providers.signing import meta_signature
from threadline.fakeprovider import FakeProvider

SEND = "/v21.0/me/messages"
WEBHOOK = "/webhooks/meta/messenger"
PSID = "6543210987654321"
PAGE = "112233445566778"


def reply(text: str = "Your parcel left the depot", **extra: Any) -> dict[str, Any]:
    return {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": text},
        **extra,
    }


def event_of(posted: Received) -> dict[str, Any]:
    assert posted.headers["x-hub-signature-256"] == meta_signature(posted.body, META_SECRET)
    body = posted.json()
    assert body["object"] == "page"
    [entry] = body["entry"]
    [event] = entry["messaging"]
    assert entry["id"] == event["recipient"]["id"] or entry["id"] == event["sender"]["id"]
    return dict(event)


async def test_a_send_with_the_page_token_as_a_parameter_answers_recipient_and_mid(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    r = await http.post(SEND, params={"access_token": META_TOKEN}, json=reply())

    assert r.status_code == 200
    assert r.json()["recipient_id"] == PSID
    assert r.json()["message_id"].startswith("m_")
    [sent] = fake.sent()
    assert (sent.provider, sent.id, sent.to, sent.text) == (
        "messenger",
        r.json()["message_id"],
        PSID,
        "Your parcel left the depot",
    )


async def test_a_bearer_token_is_accepted_and_a_wrong_one_refused_with_error_190(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    good = await http.post(SEND, headers={"Authorization": f"Bearer {META_TOKEN}"}, json=reply())
    bad = await http.post(SEND, params={"access_token": "stolen"}, json=reply())

    assert good.status_code == 200
    assert bad.status_code == 401
    assert (bad.json()["error"]["code"], bad.json()["error"]["type"]) == (190, "OAuthException")
    assert len(fake.sent()) == 1


async def test_a_delivery_webhook_follows_from_the_page_the_customer_wrote_to(
    http: httpx.AsyncClient, fake: FakeProvider, receiver: Receiver
) -> None:
    await fake.inbound_messenger(page_id=PAGE, psid=PSID, text="Hello")
    r = await http.post(SEND, params={"access_token": META_TOKEN}, json=reply())
    await fake.idle()

    delivery = event_of(receiver.at(WEBHOOK)[-1])
    assert delivery["sender"] == {"id": PSID}
    assert delivery["recipient"] == {"id": PAGE}
    assert delivery["delivery"]["mids"] == [r.json()["message_id"]]
    assert isinstance(delivery["delivery"]["watermark"], int)
    assert fake.sent()[0].from_ == PAGE


async def test_a_recipient_never_seen_is_answered_from_the_default_page(
    http: httpx.AsyncClient, fake: FakeProvider, receiver: Receiver
) -> None:
    await http.post(SEND, params={"access_token": META_TOKEN}, json=reply())
    await fake.idle()

    delivery = event_of(receiver.at(WEBHOOK)[0])
    assert delivery["recipient"] == {"id": fake.accounts.messenger_page_id}


async def test_a_message_tag_send_needs_a_valid_tag_and_records_it(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    params = {"access_token": META_TOKEN}
    untagged = await http.post(SEND, params=params, json=reply(messaging_type="MESSAGE_TAG"))
    tagged = await http.post(
        SEND, params=params, json=reply(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    )

    assert (untagged.status_code, untagged.json()["error"]["code"]) == (400, 100)
    assert tagged.status_code == 200
    [sent] = fake.sent()
    assert sent.tag == "HUMAN_AGENT"


async def test_quick_replies_are_recorded_as_the_choices_offered(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    message = {
        "text": "Did that help?",
        "quick_replies": [
            {"content_type": "text", "title": "Yes", "payload": "YES"},
            {"content_type": "text", "title": "Talk to someone", "payload": "AGENT"},
        ],
    }
    await http.post(
        SEND,
        params={"access_token": META_TOKEN},
        json={"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": message},
    )

    assert fake.sent()[0].suggestions == ["Yes", "Talk to someone"]


async def test_a_sender_action_is_answered_but_is_not_a_message(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    r = await http.post(
        SEND,
        params={"access_token": META_TOKEN},
        json={"recipient": {"id": PSID}, "sender_action": "typing_on"},
    )

    assert r.json() == {"recipient_id": PSID}
    assert fake.sent() == []


async def test_an_inbound_message_is_posted_in_the_page_envelope_and_signed(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    r = await http.post(
        "/_fake/inbound/messenger", json={"page_id": PAGE, "psid": PSID, "text": "Is it shipped?"}
    )

    assert r.json()["status"] == 200
    event = event_of(receiver.at(WEBHOOK)[0])
    assert (event["sender"], event["recipient"]) == ({"id": PSID}, {"id": PAGE})
    assert event["message"] == {"mid": r.json()["message_id"], "text": "Is it shipped?"}
    assert isinstance(event["timestamp"], int)
