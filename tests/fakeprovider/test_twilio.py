"""The fake's Twilio Messages API, status callbacks and inbound SMS."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

import httpx
import pytest

from tests.fakeprovider.credentials import TWILIO_SID, TWILIO_TOKEN
from tests.fakeprovider.receiver import Receiver
from threadline.adapters.providers.signing import twilio_signature
from threadline.fakeprovider import FakeProvider
from threadline.fakeprovider.twilio import segments

MESSAGES = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
AUTH = (TWILIO_SID, TWILIO_TOKEN)


def signed_by_twilio(url: str, request_form: list[tuple[str, str]], signature: str) -> bool:
    return signature == twilio_signature(url, request_form, TWILIO_TOKEN)


async def test_a_send_answers_201_with_twilios_message_resource(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    r = await http.post(
        MESSAGES, auth=AUTH, data={"To": "+15557654321", "From": "+15550001111", "Body": "Hello"}
    )

    assert r.status_code == 201
    resource = r.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", resource["sid"])
    assert resource["account_sid"] == TWILIO_SID
    assert (resource["to"], resource["from"], resource["body"]) == (
        "+15557654321",
        "+15550001111",
        "Hello",
    )
    assert resource["status"] == "queued"
    assert resource["num_segments"] == "1"
    assert resource["error_code"] is None
    assert parsedate_to_datetime(resource["date_created"]).utcoffset() is not None
    assert resource["uri"] == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/{resource['sid']}.json"
    [sent] = fake.sent()
    assert (sent.provider, sent.id, sent.to, sent.text) == (
        "twilio",
        resource["sid"],
        "+15557654321",
        "Hello",
    )


async def test_status_callbacks_are_signed_for_the_url_as_given_query_string_included(
    http: httpx.AsyncClient, fake: FakeProvider, receiver: Receiver
) -> None:
    callback = f"{receiver.base_url}/twilio/status?message=42&tenant=acme"
    r = await http.post(
        MESSAGES,
        auth=AUTH,
        data={
            "To": "+15557654321",
            "From": "+15550001111",
            "Body": "Hi",
            "StatusCallback": callback,
        },
    )
    await fake.idle()

    callbacks = receiver.at("/twilio/status")
    assert [dict(c.form())["MessageStatus"] for c in callbacks] == ["sent", "delivered"]
    for c in callbacks:
        form = dict(c.form())
        assert c.query == "message=42&tenant=acme"
        assert form["MessageSid"] == form["SmsSid"] == r.json()["sid"]
        assert form["AccountSid"] == TWILIO_SID
        assert (form["From"], form["To"]) == ("+15550001111", "+15557654321")
        assert form["ApiVersion"] == "2010-04-01"
        assert "ErrorCode" not in form
        assert signed_by_twilio(callback, c.form(), c.headers["x-twilio-signature"])


async def test_a_send_without_a_status_callback_posts_nothing(
    http: httpx.AsyncClient, fake: FakeProvider, receiver: Receiver
) -> None:
    await http.post(MESSAGES, auth=AUTH, data={"To": "+15557654321", "From": "+1555", "Body": "x"})
    await fake.idle()

    assert receiver.received == []


async def test_an_undeliverable_recipient_gets_an_undelivered_callback_with_its_error_code(
    http: httpx.AsyncClient, fake: FakeProvider, receiver: Receiver
) -> None:
    fake.undeliverable("+15557654321")
    callback = f"{receiver.base_url}/twilio/status"
    await http.post(
        MESSAGES,
        auth=AUTH,
        data={
            "To": "+15557654321",
            "From": "+15550001111",
            "Body": "Hi",
            "StatusCallback": callback,
        },
    )
    await fake.idle()

    forms = [dict(c.form()) for c in receiver.at("/twilio/status")]
    assert [f["MessageStatus"] for f in forms] == ["sent", "undelivered"]
    assert forms[1]["ErrorCode"] == "30003"


@pytest.mark.parametrize(
    "auth",
    [(TWILIO_SID, "wrong token"), ("AC" + "b" * 32, TWILIO_TOKEN), None],
    ids=["wrong-token", "other-account", "no-credentials"],
)
async def test_bad_credentials_are_refused_with_twilios_error_20003(
    http: httpx.AsyncClient, fake: FakeProvider, auth: tuple[str, str] | None
) -> None:
    r = await http.post(MESSAGES, auth=auth, data={"To": "+15557654321", "From": "+1", "Body": "x"})

    assert r.status_code == 401
    assert r.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert fake.sent() == []


async def test_a_to_number_that_is_not_e164_is_refused_with_error_21211(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    r = await http.post(MESSAGES, auth=AUTH, data={"To": "555-1234", "From": "+1555", "Body": "x"})

    assert r.status_code == 400
    assert r.json() == {
        "code": 21211,
        "message": "The 'To' number 555-1234 is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }
    assert fake.sent() == []


async def test_a_send_needs_a_body_unless_it_carries_media(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    bare = {"To": "+15557654321", "From": "+15550001111"}
    refused = await http.post(MESSAGES, auth=AUTH, data=bare)
    media = ["https://example.test/a.jpg", "https://example.test/b.pdf"]
    accepted = await http.post(MESSAGES, auth=AUTH, data={**bare, "MediaUrl": media})

    assert (refused.status_code, refused.json()["code"]) == (400, 21602)
    assert accepted.status_code == 201
    assert accepted.json()["num_media"] == "2"
    [sent] = fake.sent()
    assert sent.media == media
    assert sent.text is None


async def test_a_messaging_service_send_is_accepted_and_the_service_picks_the_sender(
    http: httpx.AsyncClient, fake: FakeProvider, receiver: Receiver
) -> None:
    service = "MG" + "0" * 32
    callback = f"{receiver.base_url}/status"
    r = await http.post(
        MESSAGES,
        auth=AUTH,
        data={
            "To": "+15557654321",
            "MessagingServiceSid": service,
            "Body": "Hi",
            "StatusCallback": callback,
        },
    )
    await fake.idle()

    assert (r.json()["status"], r.json()["from"]) == ("accepted", None)
    assert r.json()["messaging_service_sid"] == service
    form = dict(receiver.at("/status")[0].form())
    assert form["From"] == fake.accounts.twilio_pool_number
    assert form["MessagingServiceSid"] == service


async def test_a_send_without_from_or_messaging_service_is_refused_with_21603(
    http: httpx.AsyncClient,
) -> None:
    r = await http.post(MESSAGES, auth=AUTH, data={"To": "+15557654321", "Body": "x"})

    assert (r.status_code, r.json()["code"]) == (400, 21603)


@pytest.mark.parametrize(
    ("body", "count"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("{" * 80, 1),  # GSM extension characters take two septets each
        ("{" * 81, 2),
        ("é" * 160, 1),  # in the GSM alphabet
        ("ж" * 70, 1),  # outside it: UCS-2
        ("ж" * 71, 2),
        ("😀" * 35, 1),  # two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_segments_are_counted_as_carriers_split_messages(body: str, count: int) -> None:
    assert segments(body) == count


async def test_an_inbound_sms_is_posted_to_threadline_signed_for_the_webhook_url(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    r = await http.post(
        "/_fake/inbound/twilio",
        json={"from": "+15557654321", "to": "+15550001111", "body": "Hi, I need help"},
    )

    assert r.status_code == 200
    result = r.json()
    assert (result["status"], result["body"]) == (200, "thanks")
    assert re.fullmatch(r"SM[0-9a-f]{32}", result["message_sid"])
    [posted] = receiver.at("/webhooks/twilio/sms")
    form = dict(posted.form())
    assert form["MessageSid"] == form["SmsMessageSid"] == result["message_sid"]
    assert (form["From"], form["To"], form["Body"]) == (
        "+15557654321",
        "+15550001111",
        "Hi, I need help",
    )
    assert (form["AccountSid"], form["NumMedia"], form["SmsStatus"]) == (
        TWILIO_SID,
        "0",
        "received",
    )
    url = f"{receiver.base_url}/webhooks/twilio/sms"
    assert signed_by_twilio(url, posted.form(), posted.headers["x-twilio-signature"])


async def test_an_inbound_mms_carries_numbered_media_and_an_mm_sid(
    fake: FakeProvider, receiver: Receiver
) -> None:
    result = await fake.inbound_twilio(
        from_="+15557654321",
        to="+15550001111",
        media=[
            {"url": "https://media.test/1.jpg", "content_type": "image/jpeg"},
            {"url": "https://media.test/2.pdf", "content_type": "application/pdf"},
        ],
    )

    assert result.message_id.startswith("MM")
    form = dict(receiver.at("/webhooks/twilio/sms")[0].form())
    assert form["NumMedia"] == "2"
    assert (form["MediaUrl0"], form["MediaContentType0"]) == (
        "https://media.test/1.jpg",
        "image/jpeg",
    )
    assert (form["MediaUrl1"], form["MediaContentType1"]) == (
        "https://media.test/2.pdf",
        "application/pdf",
    )
