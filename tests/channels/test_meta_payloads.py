"""WhatsApp Cloud API and Messenger payloads to normalized shapes, the requests we make
of the Graph API, and how its refusals are sorted: the adapters alone, on the recorded
fixtures (tests/fixtures/meta)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import strategies as st

from tests.support.channels import World
from tests.support.fuzz import fuzz_webhook
from threadline.adapters.providers import messenger, meta, whatsapp
from threadline.adapters.providers.base import (
    CustomerMessage,
    MalformedPayload,
    OutboundRequest,
    StatusReport,
)
from threadline.adapters.providers.signing import meta_signature
from threadline.core.messages import MAX_BODY_CHARS, Attachment, DeliveryStatus
from threadline.core.outbox import Rejected, Retry, Unknown
from threadline.core.rich import Template

FIXTURES = Path(__file__).parent.parent / "fixtures" / "meta"
NUMBER_ID = "106540352242922"
WABA = "102290129340398"
WA_CUSTOMER = "15557654321"
PAGE = "112233445566778"
PSID = "6543210987654321"


def fixture(product: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / product / f"{name}.json").read_bytes())
    return body


def wa_parse(body: dict[str, Any]) -> list[Any]:
    return list(whatsapp.parse(meta.envelope(json.dumps(body).encode(), whatsapp.OBJECT)))


def fb_parse(body: dict[str, Any]) -> list[Any]:
    return list(messenger.parse(meta.envelope(json.dumps(body).encode(), messenger.OBJECT)))


def wa_read_whole(body: dict[str, Any]) -> None:
    """What the webhook does with a body: the numbers it names, then its events."""
    entries = meta.envelope(json.dumps(body).encode(), whatsapp.OBJECT)
    whatsapp.named(entries)
    whatsapp.parse(entries)


def fb_read_whole(body: dict[str, Any]) -> None:
    entries = meta.envelope(json.dumps(body).encode(), messenger.OBJECT)
    messenger.named(entries)
    messenger.parse(entries)


def wa_message(body: dict[str, Any]) -> dict[str, Any]:
    """The (first) message of a WhatsApp fixture, to change in place."""
    found: dict[str, Any] = body["entry"][0]["changes"][0]["value"]["messages"][0]
    return found


def wa_status(body: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = body["entry"][0]["changes"][0]["value"]["statuses"][0]
    return found


def fb_event(body: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = body["entry"][0]["messaging"][0]
    return found


def request(**fields: Any) -> OutboundRequest:
    base: dict[str, Any] = {
        "message_id": uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e"),
        "to": WA_CUSTOMER,
        "text": "How can we help?",
        "idempotency_key": "k",
    }
    return OutboundRequest(**{**base, **fields})


# -- WhatsApp inbound -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "attachments"),
    [
        ("text", "Hi, where is my order #4821?", ()),
        (
            "image",
            "Damaged box on arrival",
            (
                Attachment(
                    content_type="image/jpeg",
                    media_id="1003383421387256",
                    caption="Damaged box on arrival",
                ),
            ),
        ),
        ("interactive_button_reply", "Talk to an agent", ()),
        ("interactive_list_reply", "Priority Mail Express", ()),
        (
            "unsupported",
            "[The customer sent a kind of message WhatsApp does not pass on (poll_creation)]",
            (),
        ),
    ],
)
def test_recorded_whatsapp_messages_are_customer_messages_from_the_wa_id(
    name: str, text: str, attachments: tuple[Attachment, ...]
) -> None:
    body = fixture("whatsapp", name)
    [message] = wa_parse(body)
    assert message == CustomerMessage(
        business=NUMBER_ID,
        sender=WA_CUSTOMER,
        text=text,
        external_id=wa_message(body)["id"],
        name="Jordan Rivera",
        attachments=attachments,
    )


def test_media_without_a_caption_reads_as_its_type() -> None:
    body = fixture("whatsapp", "image")
    del wa_message(body)["image"]["caption"]
    [message] = wa_parse(body)
    assert message.text == "[image/jpeg]"
    assert message.attachments == (
        Attachment(content_type="image/jpeg", media_id="1003383421387256"),
    )


@pytest.mark.parametrize("kind", ["document", "audio", "video", "sticker"])
def test_every_kind_of_media_is_an_attachment_by_its_media_id(kind: str) -> None:
    body = fixture("whatsapp", "image")
    item = wa_message(body)
    item["type"] = kind
    item[kind] = {"mime_type": "application/pdf", "id": "555", "sha256": "x"}
    del item["image"]
    [message] = wa_parse(body)
    assert message.attachments == (Attachment(content_type="application/pdf", media_id="555"),)
    assert message.text == "[application/pdf]"


def test_a_template_quick_reply_reads_as_the_buttons_text() -> None:
    body = fixture("whatsapp", "text")
    item = wa_message(body)
    item["type"] = "button"
    item["button"] = {"payload": "STOP_PROMOS", "text": "Stop promotions"}
    del item["text"]
    [message] = wa_parse(body)
    assert message.text == "Stop promotions"


def test_a_shared_location_reads_as_a_line_with_its_coordinates() -> None:
    body = fixture("whatsapp", "text")
    item = wa_message(body)
    item["type"] = "location"
    item["location"] = {
        "latitude": 37.483872,
        "longitude": -122.148358,
        "name": "Acme HQ",
        "address": "1 Hacker Way",
    }
    [message] = wa_parse(body)
    assert message.text == "Shared a location: Acme HQ, 1 Hacker Way (37.483872, -122.148358)"


def test_a_profile_name_the_thread_cannot_hold_is_left_out_not_refused() -> None:
    body = fixture("whatsapp", "text")
    body["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = "\x00\x01"
    [message] = wa_parse(body)
    assert message.name is None
    body["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = "J" * 500
    [message] = wa_parse(body)
    assert message.name == "J" * meta.MAX_NAME


@pytest.mark.parametrize(
    "item",
    [
        {"type": "reaction", "reaction": {"message_id": "wamid.x", "emoji": "👍"}},
        {"type": "order", "order": {}},
        {"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {}}},
        {"type": "a_type_from_the_future"},
    ],
)
def test_kinds_of_message_the_thread_does_not_show_are_skipped(item: dict[str, Any]) -> None:
    body = fixture("whatsapp", "text")
    body["entry"][0]["changes"][0]["value"]["messages"] = [
        {"from": WA_CUSTOMER, "id": "wamid.y", "timestamp": "1", **item}
    ]
    assert wa_parse(body) == []


def test_changes_about_other_things_than_messages_are_skipped_and_name_no_number() -> None:
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA,
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {"event": "APPROVED", "message_template_name": "hello"},
                    }
                ],
            }
        ],
    }
    entries = meta.envelope(json.dumps(body).encode(), whatsapp.OBJECT)
    assert whatsapp.parse(entries) == []
    assert whatsapp.named(entries) == {}


def test_a_body_names_each_number_under_the_business_account_of_its_entry() -> None:
    body = fixture("whatsapp", "text")
    other = copy.deepcopy(body["entry"][0])
    other["id"] = "999999999"
    other["changes"][0]["value"]["metadata"]["phone_number_id"] = "200000000000001"
    body["entry"].append(other)
    entries = meta.envelope(json.dumps(body).encode(), whatsapp.OBJECT)
    assert whatsapp.named(entries) == {NUMBER_ID: {WABA}, "200000000000001": {"999999999"}}


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("status_sent", DeliveryStatus.SENT, None),
        ("status_delivered", DeliveryStatus.DELIVERED, None),
        ("status_read", DeliveryStatus.READ, None),
        ("status_failed", DeliveryStatus.FAILED, "WhatsApp error 131047: Re-engagement message"),
    ],
)
def test_recorded_statuses_are_status_reports_by_wamid(
    name: str, status: DeliveryStatus, error: str | None
) -> None:
    body = fixture("whatsapp", name)
    assert wa_parse(body) == [
        StatusReport(NUMBER_ID, wa_status(body)["id"], status, error, reference=None)
    ]


def test_our_message_id_echoed_back_is_the_reports_reference() -> None:
    body = fixture("whatsapp", "status_sent")
    ours = uuid.uuid4()
    wa_status(body)["biz_opaque_callback_data"] = str(ours)
    [report] = wa_parse(body)
    assert report.reference == ours


@pytest.mark.parametrize("status", ["deleted", "warning", "something_new"])
def test_statuses_threadline_does_not_track_change_nothing(status: str) -> None:
    body = fixture("whatsapp", "status_sent")
    wa_status(body)["status"] = status
    [report] = wa_parse(body)
    assert report.status is None


def _spoil(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    node: Any = body
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return body


MESSAGE = ("entry", 0, "changes", 0, "value", "messages", 0)
STATUS = ("entry", 0, "changes", 0, "value", "statuses", 0)


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        ("text", ("entry",), {}),
        ("text", ("entry", 0, "id"), "not-digits"),
        ("text", ("entry", 0, "changes"), "x"),
        ("text", ("entry", 0, "changes", 0, "value", "metadata"), KeyError),
        ("text", ("entry", 0, "changes", 0, "value", "metadata", "phone_number_id"), 106540),
        ("text", ("entry", 0, "changes", 0, "value", "messages"), {"id": "x"}),
        ("text", (*MESSAGE, "id"), 42),
        ("text", (*MESSAGE, "id"), "w" * 256),
        ("text", (*MESSAGE, "from"), KeyError),
        ("text", (*MESSAGE, "from"), "1555 765"),
        ("text", (*MESSAGE, "type"), None),
        ("text", (*MESSAGE, "text"), KeyError),
        ("text", (*MESSAGE, "text", "body"), ""),
        ("text", (*MESSAGE, "text", "body"), "   "),
        ("text", (*MESSAGE, "text", "body"), "nul\x00byte"),
        ("text", (*MESSAGE, "text", "body"), "x" * (MAX_BODY_CHARS + 1)),
        ("image", (*MESSAGE, "image", "id"), KeyError),
        ("interactive_button_reply", (*MESSAGE, "interactive", "button_reply"), []),
        ("text", (*STATUS[:-2], "statuses"), {"id": "x"}),
        ("status_sent", (*STATUS, "id"), KeyError),
        ("status_sent", (*STATUS, "status"), 1),
        ("status_failed", (*STATUS, "errors"), "Re-engagement"),
    ],
)
def test_a_whatsapp_event_of_the_wrong_shape_is_malformed(
    name: str, path: tuple[str | int, ...], value: Any
) -> None:
    body = _spoil(fixture("whatsapp", name), path, value)
    with pytest.raises(MalformedPayload):
        wa_read_whole(body)


def test_a_location_without_numbers_for_coordinates_is_malformed() -> None:
    body = fixture("whatsapp", "text")
    item = wa_message(body)
    item["type"] = "location"
    item["location"] = {"latitude": "37.4", "longitude": True}
    with pytest.raises(MalformedPayload):
        wa_parse(body)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"object": "page", "entry": []}',
        b'{"object": "whatsapp_business_account"}',
        b'{"object": "whatsapp_business_account", "entry": [1]}',
        b"[" * 100_000,
    ],
)
def test_a_body_that_is_not_a_whatsapp_envelope_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedPayload):
        meta.envelope(raw, whatsapp.OBJECT)


# -- WhatsApp outbound ------------------------------------------------------------


def test_a_text_reply_goes_without_link_preview_carrying_our_message_id() -> None:
    req = request()
    assert whatsapp.message_body(req) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_CUSTOMER,
        "biz_opaque_callback_data": str(req.message_id),
        "type": "text",
        "text": {"body": "How can we help?", "preview_url": False},
    }


def test_a_template_goes_by_name_and_language_with_its_body_parameters() -> None:
    template = Template("order_update", "en_US", ("#4821", "Tuesday"), "rendered")
    body = whatsapp.message_body(request(template=template))
    assert body["type"] == "template"
    assert body["template"] == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "#4821"},
                    {"type": "text", "text": "Tuesday"},
                ],
            }
        ],
    }
    plain = whatsapp.message_body(request(template=Template("hello", "en", (), "Hello")))
    assert plain["template"] == {"name": "hello", "language": {"code": "en"}}


def test_up_to_three_short_suggestions_become_reply_buttons() -> None:
    body = whatsapp.message_body(request(suggestions=("Track order", "Returns")))
    assert body["type"] == "interactive"
    assert body["interactive"] == {
        "type": "button",
        "body": {"text": "How can we help?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "Track order", "title": "Track order"}},
                {"type": "reply", "reply": {"id": "Returns", "title": "Returns"}},
            ]
        },
    }


@pytest.mark.parametrize(
    "suggestions",
    [
        ("One", "Two", "Three", "Four"),
        tuple(f"Option {i}" for i in range(10)),
        ("A title of 22 letters!", "Short"),
    ],
)
def test_more_or_longer_suggestions_become_a_list(suggestions: tuple[str, ...]) -> None:
    body = whatsapp.message_body(request(suggestions=suggestions))
    interactive = body["interactive"]
    assert interactive["type"] == "list"
    assert interactive["body"] == {"text": "How can we help?"}
    [section] = interactive["action"]["sections"]
    assert [r["title"] for r in section["rows"]] == list(suggestions)
    assert 0 < len(interactive["action"]["button"]) <= 20


@pytest.mark.parametrize(
    ("text", "suggestions"),
    [
        ("Pick one", ("A suggestion of 25 chars.", "Short")),
        ("x" * 1025, ("Yes", "No")),
    ],
)
def test_suggestions_whatsapp_cannot_show_are_written_into_the_text(
    text: str, suggestions: tuple[str, ...]
) -> None:
    body = whatsapp.message_body(request(text=text, suggestions=suggestions))
    assert body["type"] == "text"
    assert body["text"]["body"].endswith("\n\n1. " + suggestions[0] + "\n2. " + suggestions[1])


# -- Messenger inbound ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "attachments"),
    [
        ("text", "Hi, is my order shipped?", ()),
        ("quick_reply", "Track order", ()),
        (
            "attachment_image",
            "[image/*]",
            (
                Attachment(
                    content_type="image/*",
                    url="https://scontent.xx.fbcdn.net/v/t1.15752-9/451234567_1234567890123456_"
                    "1234567890123456789_n.jpg?_nc_cat=1&ccb=1-7&oh=00_test&oe=66A1B2C3",
                ),
            ),
        ),
    ],
)
def test_recorded_messenger_messages_are_customer_messages_from_the_psid(
    name: str, text: str, attachments: tuple[Attachment, ...]
) -> None:
    body = fixture("messenger", name)
    [message] = fb_parse(body)
    assert message == CustomerMessage(
        PAGE, PSID, text, fb_event(body)["message"]["mid"], None, attachments
    )


def test_a_recorded_postback_is_its_buttons_title_under_its_mid() -> None:
    body = fixture("messenger", "postback")
    [message] = fb_parse(body)
    mid = fb_event(body)["postback"]["mid"]
    assert message == CustomerMessage(PAGE, PSID, "Talk to an agent", mid)


def test_a_postback_without_a_mid_is_named_by_its_sender_and_time_the_same_every_time() -> None:
    body = fixture("messenger", "postback")
    del fb_event(body)["postback"]["mid"]
    [first] = fb_parse(body)
    [again] = fb_parse(body)
    assert first.external_id == again.external_id == f"postback:{PSID}:1752503420981"


def test_the_echo_of_our_own_send_is_not_a_customer_message() -> None:
    assert fb_parse(fixture("messenger", "echo")) == []


def test_a_recorded_delivery_is_a_receipt_for_its_mids_up_to_its_watermark() -> None:
    body = fixture("messenger", "delivery")
    mids = tuple(fb_event(body)["delivery"]["mids"])
    at = datetime(2025, 7, 14, 14, 28, 20, 125000, tzinfo=UTC)
    assert fb_parse(body) == [messenger.Receipt(PAGE, PSID, DeliveryStatus.DELIVERED, mids, at)]


def test_a_delivery_may_name_only_mids_or_only_a_watermark() -> None:
    body = fixture("messenger", "delivery")
    mids = tuple(fb_event(body)["delivery"]["mids"])
    del fb_event(body)["delivery"]["watermark"]
    [receipt] = fb_parse(body)
    assert (receipt.external_ids, receipt.up_to) == (mids, None)
    body = fixture("messenger", "delivery")
    del fb_event(body)["delivery"]["mids"]
    [receipt] = fb_parse(body)
    assert receipt.external_ids == ()
    assert receipt.up_to == datetime(2025, 7, 14, 14, 28, 20, 125000, tzinfo=UTC)


def test_a_recorded_read_is_a_read_receipt_up_to_its_watermark() -> None:
    at = datetime(2025, 7, 14, 14, 28, 20, 125000, tzinfo=UTC)
    assert fb_parse(fixture("messenger", "read")) == [
        messenger.Receipt(PAGE, PSID, DeliveryStatus.READ, (), at)
    ]


def test_events_threadline_has_no_use_for_are_skipped() -> None:
    body = fixture("messenger", "text")
    fb_event(body).pop("message")
    fb_event(body)["reaction"] = {"reaction": "love", "emoji": "❤", "action": "react", "mid": "m"}
    assert fb_parse(body) == []
    body["entry"][0]["standby"] = body["entry"][0].pop("messaging")
    assert fb_parse(body) == []


EVENT = ("entry", 0, "messaging", 0)


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        ("text", ("entry", 0, "id"), 112233445566778),
        ("text", ("entry", 0, "messaging"), {"sender": {}}),
        ("text", (*EVENT, "sender"), KeyError),
        ("text", (*EVENT, "sender", "id"), ""),
        ("text", (*EVENT, "message"), "hello"),
        ("text", (*EVENT, "message", "mid"), KeyError),
        ("text", (*EVENT, "message", "text"), 7),
        ("attachment_image", (*EVENT, "message", "attachments"), {"type": "image"}),
        ("attachment_image", (*EVENT, "message", "attachments", 0, "payload", "url"), 3),
        ("postback", (*EVENT, "postback"), {"mid": "m_1", "title": " ", "payload": 5}),
        ("read", (*EVENT, "read", "watermark"), "1752503300125"),
        ("read", (*EVENT, "read", "watermark"), 10**20),
        ("read", (*EVENT, "read", "watermark"), True),
        ("delivery", (*EVENT, "delivery", "mids"), [None]),
        ("delivery", (*EVENT, "delivery"), {"mids": []}),
    ],
)
def test_a_messenger_event_of_the_wrong_shape_is_malformed(
    name: str, path: tuple[str | int, ...], value: Any
) -> None:
    body = _spoil(fixture("messenger", name), path, value)
    with pytest.raises(MalformedPayload):
        fb_read_whole(body)


# -- Messenger outbound -----------------------------------------------------------


def test_a_reply_inside_the_window_is_a_response_carrying_our_message_id() -> None:
    req = request(to=PSID)
    assert messenger.message_body(req) == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "How can we help?", "metadata": str(req.message_id)},
    }


def test_a_tagged_reply_is_a_message_tag_send() -> None:
    body = messenger.message_body(request(to=PSID, tag="HUMAN_AGENT"))
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_suggestions_become_quick_replies_or_numbered_options_when_too_long() -> None:
    body = messenger.message_body(request(to=PSID, suggestions=("Track order", "Returns")))
    assert body["message"]["quick_replies"] == [
        {"content_type": "text", "title": "Track order", "payload": "Track order"},
        {"content_type": "text", "title": "Returns", "payload": "Returns"},
    ]
    assert body["message"]["text"] == "How can we help?"
    long = messenger.message_body(request(to=PSID, suggestions=("Twenty-one characters",)))
    assert "quick_replies" not in long["message"]
    assert long["message"]["text"] == "How can we help?\n\n1. Twenty-one characters"


# -- Graph API refusals -----------------------------------------------------------


def graph_answer(
    status: int, code: int | None, message: str = "m", headers: dict[str, str] | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"error": {"message": message, "type": "OAuthException"}}
    if code is not None:
        body["error"]["code"] = code
    return httpx.Response(
        status,
        json=body,
        headers=headers,
        request=httpx.Request("POST", "https://graph.example/v21.0/1/messages"),
    )


def sorted_refusal(response: httpx.Response) -> Any:
    return meta.refusal(response, meta.graph_error(response), "WhatsApp", "access token")


@pytest.mark.parametrize("code", [4, 80007, 130429, 131056])
def test_rate_limits_are_retried_after_the_time_meta_asks(code: int) -> None:
    outcome = sorted_refusal(graph_answer(400, code, "(#x) Rate limit hit", {"Retry-After": "30"}))
    assert outcome == Retry(f"WhatsApp error {code}: (#x) Rate limit hit", timedelta(seconds=30))


def test_meta_unavailable_is_retried() -> None:
    assert isinstance(sorted_refusal(graph_answer(503, 1)), Retry)
    no_json = httpx.Response(503, request=httpx.Request("POST", "https://graph.example/"))
    assert isinstance(sorted_refusal(no_json), Retry)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_server_error_after_the_request_went_out_is_an_unknown_outcome(status: int) -> None:
    # Meta may have taken it: without an idempotency key it is not sent again.
    assert isinstance(sorted_refusal(graph_answer(status, 1)), Unknown)
    no_json = httpx.Response(status, request=httpx.Request("POST", "https://graph.example/"))
    assert isinstance(sorted_refusal(no_json), Unknown)


def test_a_refused_access_token_is_final_and_named() -> None:
    outcome = sorted_refusal(graph_answer(401, 190, "Invalid OAuth access token"))
    assert isinstance(outcome, Rejected)
    assert "access token was refused" in outcome.error
    assert "190" in outcome.error


def test_any_other_refusal_is_final_with_its_code_message_and_details() -> None:
    response = httpx.Response(
        400,
        json={
            "error": {
                "message": "(#131009) Parameter value is not valid",
                "code": 131009,
                "error_data": {"messaging_product": "whatsapp", "details": "to is invalid"},
            }
        },
        request=httpx.Request("POST", "https://graph.example/"),
    )
    assert sorted_refusal(response) == Rejected(
        "WhatsApp error 131009: (#131009) Parameter value is not valid (to is invalid)"
    )


# -- signed bodies of every shape, against the served app ---------------------------

FUZZ_EXAMPLES = 200

# What a field might hold instead: anything JSON, with the values that break storage
# (NUL, a lone surrogate, ids and texts longer than the columns) and ones that pass as
# real (ids of the connected number and page, message kinds) over-represented.
AWKWARD = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "wamid.\x00",
        "\ud800",
        "x" * 300,
        "y" * (MAX_BODY_CHARS + 1),
        "12345",
        NUMBER_ID,
        PAGE,
        "text",
        "image",
        "location",
        "read",
    ]
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | AWKWARD,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=10,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_paths(value, (*prefix, i)))
    return found


def _leaves(node: Any) -> list[tuple[Any, ...]]:
    """The paths of the strings, numbers… in a body: where most of its meaning is."""
    leaves = []
    for path in _paths(node):
        value = node
        for key in path:
            value = value[key]
        if not isinstance(value, dict | list):
            leaves.append(path)
    return leaves or [()]


@st.composite
def spoiled(draw: st.DrawFn, originals: list[dict[str, Any]]) -> bytes:
    """A recorded body with one or two of its parts removed, replaced by any JSON or by
    an awkward value, or joined by a key Meta may add one day."""
    body: Any = copy.deepcopy(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(1, 2))):
        path = draw(
            st.sampled_from(_leaves(body))
            | st.sampled_from(_leaves(body))
            | st.sampled_from(_paths(body))
        )
        if not path:
            body = draw(JSON_VALUES)
            continue
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["delete", "replace", "awkward", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(JSON_VALUES)
        elif action == "awkward":
            parent[path[-1]] = draw(AWKWARD)
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]]["x_" + draw(st.text(max_size=8))] = draw(JSON_VALUES)
    return json.dumps(body).encode()


def batched(product: str) -> dict[str, Any]:
    """Several recorded events in one body, as Meta batches them: a body spoiled in one
    place must not be half taken."""
    if product == "whatsapp":
        body = fixture("whatsapp", "text")
        value = body["entry"][0]["changes"][0]["value"]
        value["messages"] += (
            wa_message(fixture("whatsapp", "image")),
            wa_message(fixture("whatsapp", "interactive_list_reply")),
        )
        value["statuses"] = [wa_status(fixture("whatsapp", "status_read"))]
        return body
    body = fixture("messenger", "text")
    body["entry"][0]["messaging"] += [
        fb_event(fixture("messenger", name)) for name in ("postback", "delivery", "read")
    ]
    return body


def any_body(product: str) -> st.SearchStrategy[bytes]:
    originals = [fixture(product, f.stem) for f in sorted((FIXTURES / product).glob("*.json"))]
    originals.append(batched(product))
    return st.one_of(
        spoiled(originals),
        spoiled(originals),
        spoiled(originals),
        JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=64),
    )


@pytest.mark.parametrize("product", ["whatsapp", "messenger"])
async def test_signed_bodies_of_any_shape_never_fail_and_a_refused_one_stores_nothing(
    world: World, product: str
) -> None:
    await world.connected_inbox(product)
    secret = world.secrets.meta_app_secret

    def post(client: httpx.Client, body: bytes) -> httpx.Response:
        return client.post(
            f"/webhooks/meta/{product}",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": meta_signature(body, secret),
            },
        )

    answers = await fuzz_webhook(world.live, any_body(product), post, examples=FUZZ_EXAMPLES)
    # Both kinds were exercised: bodies taken, and bodies refused as malformed.
    assert answers[200] > 0, answers
    assert answers[400] > 0, answers


# Every field of a recorded payload that ends up stored, by fixture and path.
STORED_FIELDS = {
    "whatsapp": [
        ("text", (*MESSAGE, "id")),
        ("text", (*MESSAGE, "from")),
        ("text", (*MESSAGE, "text", "body")),
        ("image", (*MESSAGE, "image", "caption")),
        ("image", (*MESSAGE, "image", "id")),
        ("image", (*MESSAGE, "image", "mime_type")),
        ("interactive_list_reply", (*MESSAGE, "interactive", "list_reply", "title")),
        ("status_failed", (*STATUS, "id")),
        ("status_failed", (*STATUS, "errors", 0, "message")),
    ],
    "messenger": [
        ("text", (*EVENT, "message", "mid")),
        ("text", (*EVENT, "message", "text")),
        ("text", (*EVENT, "sender", "id")),
        ("attachment_image", (*EVENT, "message", "attachments", 0, "payload", "url")),
        ("postback", (*EVENT, "postback", "title")),
        ("postback", (*EVENT, "postback", "mid")),
        ("delivery", (*EVENT, "delivery", "mids", 0)),
    ],
}
# What the database cannot hold (PostgreSQL refuses NUL and lone surrogates in text),
# and what is longer than its column or the thread takes.
UNSTORABLE = ["a\x00b", "\ud800", "x" * 256, "y" * (MAX_BODY_CHARS + 1)]


@pytest.mark.parametrize("product", ["whatsapp", "messenger"])
async def test_values_the_database_cannot_hold_are_refused_or_left_out_never_a_500(
    world: World, product: str
) -> None:
    await world.connected_inbox(product)
    url = f"/webhooks/meta/{product}"
    for name, path in STORED_FIELDS[product]:
        for value in UNSTORABLE:
            body = json.dumps(_spoil(fixture(product, name), path, value)).encode()
            signature = meta_signature(body, world.secrets.meta_app_secret)
            before = await world.live.event_head()
            r = await world.live.http.post(
                url, content=body, headers={"X-Hub-Signature-256": signature}
            )
            assert r.status_code in (200, 400), (name, path, value[:8], r.text)
            if r.status_code == 400:
                assert await world.live.event_head() == before
