"""RBM and Apple payloads to normalized shapes, and the requests we make of them: the
adapters alone, on the recorded fixtures (tests/fixtures/google_rbm, tests/fixtures/apple)."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.support.channels import APPLE_BUSINESS, APPLE_CSP_ID, CUSTOMER_PHONE, RBM_AGENT
from tests.support.clock import FakeClock
from threadline.adapters.providers import apple, rbm
from threadline.adapters.providers.base import (
    ConsentReport,
    CustomerMessage,
    MalformedPayload,
    OutboundRequest,
    StatusReport,
)
from threadline.adapters.providers.signing import rbm_signature
from threadline.core.messages import MAX_BODY_CHARS, Attachment, DeliveryStatus

FIXTURES = Path(__file__).parent.parent / "fixtures"
RBM = FIXTURES / "google_rbm"
APPLE = FIXTURES / "apple"
APPLE_CUSTOMER = json.loads((APPLE / "headers.json").read_text())["source-id"]


def rbm_push(name: str) -> rbm.Push:
    pushed = rbm.decode((RBM / f"{name}.json").read_bytes())
    assert isinstance(pushed, rbm.Push)
    return pushed


def envelope(event: Any) -> bytes:
    data = base64.b64encode(json.dumps(event).encode()).decode()
    return json.dumps({"message": {"data": data, "messageId": "1"}, "subscription": "s"}).encode()


def user_event(**fields: Any) -> dict[str, Any]:
    return {"senderPhoneNumber": CUSTOMER_PHONE, "agentId": RBM_AGENT, **fields}


def apple_headers(**changes: str | None) -> dict[str, str]:
    headers = {k.lower(): v for k, v in json.loads((APPLE / "headers.json").read_text()).items()}
    for name, value in changes.items():
        key = name.replace("_", "-")
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return headers


def apple_fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((APPLE / f"{name}.json").read_text())
    return body


def apple_parse(body: dict[str, Any]) -> CustomerMessage | None:
    return apple.parse(apple_headers(id=str(body.get("id"))), body)


# -- RBM inbound ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["text", "suggestion_response", "delivered", "read", "is_typing"])
def test_an_rbm_push_carries_exactly_the_recorded_event_bytes(name: str) -> None:
    pushed = rbm_push(name)
    decoded = (RBM / f"{name}_decoded.json").read_bytes()
    # The signature is over these bytes, so they must come out byte for byte.
    assert pushed.data == decoded
    assert pushed.event == json.loads(decoded)


def test_the_signature_covers_the_decoded_event_not_the_push_body() -> None:
    raw = (RBM / "text.json").read_bytes()
    pushed = rbm_push("text")
    assert rbm_signature(pushed.data, "token") != rbm_signature(raw, "token")


def test_a_recorded_text_message_is_a_customer_message_from_the_phone() -> None:
    assert rbm.parse(rbm_push("text").event) == CustomerMessage(
        business=RBM_AGENT,
        sender=CUSTOMER_PHONE,
        text="Hi, where is my order?",
        external_id="MxIgT-4pWCQu2tH9hMkSTljQ",
    )


def test_a_tapped_suggestion_reads_as_the_chips_text() -> None:
    found = rbm.parse(rbm_push("suggestion_response").event)
    assert isinstance(found, CustomerMessage)
    assert (found.text, found.external_id) == ("Talk to an agent", "MxJ3kR8vTq2Lw9Pz4Yc6Nb1A")


@pytest.mark.parametrize(
    ("name", "status"), [("delivered", DeliveryStatus.DELIVERED), ("read", DeliveryStatus.READ)]
)
def test_recorded_delivery_events_are_status_reports_by_rbm_message_id(
    name: str, status: DeliveryStatus
) -> None:
    # The recorded messageId is not one of ours (not a uuid): no reference.
    assert rbm.parse(rbm_push(name).event) == StatusReport(
        RBM_AGENT, "01J2ZK8Q9W5N3V7R1T4Y6U8I0P", status, None, None
    )


def test_a_delivery_event_for_our_message_names_it_by_our_id() -> None:
    ours = uuid.uuid4()
    found = rbm.parse(user_event(eventType="DELIVERED", eventId="e", messageId=str(ours)))
    assert isinstance(found, StatusReport)
    assert (found.reference, found.status) == (ours, DeliveryStatus.DELIVERED)


@pytest.mark.parametrize("kind", ["IS_TYPING", "SOMETHING_NEW"])
def test_events_threadline_does_not_track_are_ignored(kind: str) -> None:
    assert rbm.parse(user_event(eventType=kind, eventId="e")) is None
    assert rbm.parse(rbm_push("is_typing").event) is None


@pytest.mark.parametrize(("kind", "opted_out"), [("UNSUBSCRIBE", True), ("SUBSCRIBE", False)])
def test_subscription_events_are_the_customers_consent(kind: str, opted_out: bool) -> None:
    found = rbm.parse(user_event(eventType=kind, eventId="e"))
    assert isinstance(found, ConsentReport)
    assert (found.sender, found.opted_out, found.external_id) == (
        "+15557654321",
        opted_out,
        "e",
    )


def test_a_shared_file_is_an_attachment_by_its_url() -> None:
    found = rbm.parse(
        user_event(
            messageId="m1",
            userFile={
                "payload": {
                    "mimeType": "image/jpeg",
                    "fileSizeBytes": 1234,
                    "fileUri": "https://rcs.example/file/abc",
                    "fileName": "parcel.jpg",
                }
            },
        )
    )
    assert isinstance(found, CustomerMessage)
    assert found.attachments == (
        Attachment("image/jpeg", url="https://rcs.example/file/abc", caption="parcel.jpg"),
    )
    assert found.text == "[image/jpeg]"


def test_a_shared_location_is_a_line_of_text() -> None:
    found = rbm.parse(user_event(messageId="m2", location={"latitude": 37.4, "longitude": -122.1}))
    assert isinstance(found, CustomerMessage)
    assert found.text.startswith("Shared a location: 37.4, -122.1")


def test_an_unknown_kind_of_user_message_is_ignored() -> None:
    assert rbm.parse(user_event(messageId="m3", hologram={"x": 1})) is None


def test_a_text_longer_than_the_thread_takes_is_cut_not_refused() -> None:
    found = rbm.parse(user_event(messageId="m4", text="x" * (MAX_BODY_CHARS + 50)))
    assert isinstance(found, CustomerMessage)
    assert len(found.text) == MAX_BODY_CHARS


def test_the_verification_request_is_recognised() -> None:
    body = json.dumps({"clientToken": "SJENCPGJESMGUFPY", "secret": "1234567890"}).encode()
    assert rbm.decode(body) == rbm.Handshake("SJENCPGJESMGUFPY", "1234567890")


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"message": {}}',
        b'{"message": {"data": "%%%"}}',
        json.dumps({"message": {"data": base64.b64encode(b"not json").decode()}}).encode(),
        envelope(["a list"]),
        b'{"clientToken": "t"}',
        b'{"clientToken": "t", "secret": "\\u0000"}',
    ],
)
def test_a_push_that_is_not_rbms_shape_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedPayload):
        rbm.decode(raw)


@pytest.mark.parametrize(
    "event",
    [
        {"senderPhoneNumber": CUSTOMER_PHONE, "messageId": "m", "text": "hi"},
        user_event(agentId="not-an-agent", messageId="m", text="hi"),
        user_event(senderPhoneNumber="5557654321", messageId="m", text="hi"),
        user_event(text="no message id"),
        user_event(messageId="", text="hi"),
        user_event(messageId="m" * 300, text="hi"),
        user_event(messageId="m", text="   "),
        user_event(messageId="m", text="nul\x00"),
        user_event(messageId="m", text="lone \ud800 surrogate"),
        user_event(messageId="m", text=42),
        user_event(messageId="m", suggestionResponse="tapped"),
        user_event(messageId="m", userFile={"payload": {"fileUri": "file:///etc/passwd"}}),
        user_event(messageId="m", location={"latitude": 91, "longitude": 0}),
        user_event(messageId="m", location={"latitude": True, "longitude": 0}),
        user_event(eventType="DELIVERED", eventId="e"),
        user_event(eventType=7, eventId="e"),
    ],
)
def test_an_event_missing_or_spoiling_what_rbm_always_sends_is_malformed(
    event: dict[str, Any],
) -> None:
    with pytest.raises(MalformedPayload):
        rbm.parse(event)


# -- RBM outbound -----------------------------------------------------------------


def _request(text: str = "How can we help?", suggestions: tuple[str, ...] = ()) -> OutboundRequest:
    return OutboundRequest(uuid.uuid4(), CUSTOMER_PHONE, text, "key", suggestions)


def test_suggestions_become_rbm_reply_chips() -> None:
    body = rbm.body_of(_request(suggestions=("Track my order", "Talk to a person")))
    assert body == {
        "contentMessage": {
            "text": "How can we help?",
            "suggestions": [
                {"reply": {"text": "Track my order", "postbackData": "Track my order"}},
                {"reply": {"text": "Talk to a person", "postbackData": "Talk to a person"}},
            ],
        }
    }


def test_a_plain_reply_has_no_suggestions_key() -> None:
    assert rbm.body_of(_request()) == {"contentMessage": {"text": "How can we help?"}}


def test_the_provider_takes_its_connection_as_the_brief_says() -> None:
    assert rbm.RbmRcs.idempotent
    assert rbm.RbmRcs.rich_replies
    assert rbm.RbmRcs.window is None
    assert rbm.RbmRcs.secret_parts == ("client_token", "private_key")


# -- Apple inbound ----------------------------------------------------------------


def test_the_recorded_apple_text_is_a_customer_message_named_by_its_headers() -> None:
    body = apple_fixture("text")
    assert apple.parse(apple_headers(), body) == CustomerMessage(
        business=APPLE_BUSINESS,
        sender=APPLE_CUSTOMER,
        text="Hi, I need help with my order #4821",
        external_id="3895ba60-39b3-43f5-9f95-2680d034b5f2",
    )


def test_a_list_picker_reply_reads_as_the_titles_chosen() -> None:
    found = apple_parse(apple_fixture("list_picker_response"))
    assert isinstance(found, CustomerMessage)
    assert (found.text, found.external_id) == (
        "Priority Express",
        "5d8e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a",
    )


def test_several_items_chosen_read_as_a_list() -> None:
    body = apple_fixture("list_picker_response")
    items = body["interactiveData"]["data"]["listPicker"]["sections"][0]["items"]
    items.append({**items[0], "identifier": "b", "title": "Gift wrap"})
    found = apple_parse(body)
    assert found is not None
    assert found.text == "Priority Express, Gift wrap"


def test_a_quick_reply_reads_as_the_item_chosen() -> None:
    body = {
        **apple_fixture("list_picker_response"),
        "interactiveData": {
            "bid": apple.BID,
            "data": {
                "quick-reply": {
                    "items": [
                        {"identifier": "1", "title": "Yes"},
                        {"identifier": "2", "title": "No"},
                    ],
                    "selectedIdentifier": "2",
                }
            },
        },
    }
    found = apple_parse(body)
    assert found is not None
    assert found.text == "No"


@pytest.mark.parametrize("name", ["typing_start", "close"])
def test_typing_and_a_closed_chat_are_not_messages(name: str) -> None:
    assert apple_parse(apple_fixture(name)) is None
    assert apple_parse({**apple_fixture("typing_start"), "type": "typing_end"}) is None


def test_an_unknown_apple_type_is_ignored() -> None:
    assert apple_parse({**apple_fixture("text"), "type": "richLink"}) is None


def test_attachments_are_kept_by_reference() -> None:
    body = {
        **apple_fixture("text"),
        "body": "",
        "attachments": [{"name": "a.png", "mimeType": "image/png", "url": "https://a/b"}],
    }
    found = apple.parse(apple_headers(), body)
    assert found is not None
    assert found.attachments == (Attachment("image/png", url="https://a/b", caption="a.png"),)
    assert found.text == "[image/png]"


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (apple_headers(id=None), apple_fixture("text")),
        (apple_headers(source_id=None), apple_fixture("text")),
        (apple_headers(destination_id=""), apple_fixture("text")),
        (apple_headers(), {**apple_fixture("text"), "id": "another-id"}),
        (apple_headers(), {**apple_fixture("text"), "destinationId": "someone-else"}),
        (apple_headers(), {**apple_fixture("text"), "sourceId": "urn:mbid:other"}),
        (apple_headers(), {**apple_fixture("text"), "type": None}),
        (apple_headers(), {**apple_fixture("text"), "body": 12}),
        (apple_headers(), {**apple_fixture("text"), "body": "   "}),
        (apple_headers(), {**apple_fixture("text"), "body": "\x00"}),
        (apple_headers(), {**apple_fixture("text"), "attachments": "x"}),
        (apple_headers(), {**apple_fixture("text"), "type": "interactive"}),
        (apple_headers(), ["not", "an", "object"]),
    ],
)
def test_an_apple_message_missing_or_contradicting_its_headers_is_malformed(
    headers: dict[str, str], body: Any
) -> None:
    with pytest.raises(MalformedPayload):
        apple.parse(headers, body)


def test_a_gzip_body_inflates_and_a_plain_one_passes_through() -> None:
    plain = (APPLE / "text.json").read_bytes()
    assert apple.inflate(gzip.compress(plain), "gzip", 65536) == plain
    # Compressed without saying so: recognised by its magic bytes.
    assert apple.inflate(gzip.compress(plain), None, 65536) == plain
    assert apple.inflate(plain, None, 65536) == plain


def test_a_gzip_body_that_inflates_past_the_limit_is_too_large() -> None:
    bomb = gzip.compress(b"{" + b" " * 1_000_000 + b"}")
    assert len(bomb) < 5000
    with pytest.raises(apple.TooLarge):
        apple.inflate(bomb, "gzip", 65536)


@pytest.mark.parametrize(
    "raw",
    [b"\x1f\x8bnot gzip at all", gzip.compress(b'{"a": 1}', mtime=0)[:-12], b"plain", b""],
    ids=["bad_magic", "cut_short", "not_gzip", "empty"],
)
def test_broken_gzip_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedPayload):
        apple.inflate(raw, "gzip", 65536)


# -- Apple outbound ---------------------------------------------------------------


def test_a_plain_apple_reply_is_a_text_message_from_the_business() -> None:
    request = OutboundRequest(uuid.uuid4(), APPLE_CUSTOMER, "Hello!", "key")
    assert apple.body_of(request, APPLE_BUSINESS) == {
        "v": 1,
        "type": "text",
        "id": str(request.message_id),
        "sourceId": APPLE_BUSINESS,
        "destinationId": APPLE_CUSTOMER,
        "body": "Hello!",
    }


def test_suggestions_become_a_list_picker_with_the_text_as_fallback() -> None:
    request = OutboundRequest(
        uuid.uuid4(), APPLE_CUSTOMER, "When suits you?", "key", ("Morning", "Evening")
    )
    body = apple.body_of(request, APPLE_BUSINESS)
    assert body["type"] == "interactive"
    assert body["body"] == "When suits you?\n\n1. Morning\n2. Evening"
    interactive = body["interactiveData"]
    assert interactive["bid"] == apple.BID
    [section] = interactive["data"]["listPicker"]["sections"]
    assert [i["title"] for i in section["items"]] == ["Morning", "Evening"]
    assert [i["identifier"] for i in section["items"]] == ["0", "1"]
    assert interactive["receivedMessage"]["title"] == "When suits you?"
    uuid.UUID(interactive["data"]["requestIdentifier"])


def test_the_gateway_token_is_issued_by_the_msp() -> None:
    secret = base64.b64encode(b"k" * 32).decode()
    now = FakeClock()()
    token = apple.gateway_token(secret, APPLE_CSP_ID, now)
    assert token is not None
    claims = jwt.decode(
        token,
        b"k" * 32,
        algorithms=["HS256"],
        audience=APPLE_CSP_ID,
        options={"verify_exp": False},  # issued at the test clock's time
    )
    assert claims["iss"] == APPLE_CSP_ID
    assert claims["iat"] == int(now.timestamp())
    assert apple.gateway_token("not base64!", APPLE_CSP_ID, now) is None
