"""The fake's WhatsApp Cloud API: sends, status webhooks, inbound messages."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fakeprovider.credentials import META_SECRET, META_TOKEN
from tests.fakeprovider.receiver import Received, Receiver
from threadline.adapters.providers.signing import meta_signature
from threadline.fakeprovider import FakeProvider

PHONE_NUMBER_ID = "106540352242922"
MESSAGES = f"/v21.0/{PHONE_NUMBER_ID}/messages"
BEARER = {"Authorization": f"Bearer {META_TOKEN}"}
WEBHOOK = "/webhooks/meta/whatsapp"


def text_message(to: str = "+1 555 765 4321", **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": "Your order has shipped"},
        **extra,
    }


def value_of(posted: Received) -> dict[str, Any]:
    body = posted.json()
    assert body["object"] == "whatsapp_business_account"
    [entry] = body["entry"]
    [change] = entry["changes"]
    assert change["field"] == "messages"
    value: dict[str, Any] = change["value"]
    assert value["messaging_product"] == "whatsapp"
    return value


def signed_by_meta(posted: Received) -> bool:
    return posted.headers["x-hub-signature-256"] == meta_signature(posted.body, META_SECRET)


async def test_a_text_send_answers_with_the_contact_and_a_wamid(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    r = await http.post(MESSAGES, json=text_message(), headers=BEARER)

    assert r.status_code == 200
    body = r.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+1 555 765 4321", "wa_id": "15557654321"}]
    [message] = body["messages"]
    assert message["id"].startswith("wamid.")
    [sent] = fake.sent()
    assert (sent.provider, sent.id, sent.text) == (
        "whatsapp",
        message["id"],
        "Your order has shipped",
    )


async def test_status_webhooks_follow_sent_then_delivered_signed_and_echoing_opaque_data(
    http: httpx.AsyncClient, fake: FakeProvider, receiver: Receiver
) -> None:
    r = await http.post(
        MESSAGES, json=text_message(biz_opaque_callback_data="tl-msg-42"), headers=BEARER
    )
    await fake.idle()

    posted = receiver.at(WEBHOOK)
    statuses = [value_of(p)["statuses"][0] for p in posted]
    assert [s["status"] for s in statuses] == ["sent", "delivered"]
    for p, status in zip(posted, statuses, strict=True):
        assert signed_by_meta(p)
        assert status["id"] == r.json()["messages"][0]["id"]
        assert status["recipient_id"] == "15557654321"
        assert status["biz_opaque_callback_data"] == "tl-msg-42"
        assert status["timestamp"].isdigit()
        assert p.json()["entry"][0]["id"] == fake.accounts.whatsapp_business_account_id
        assert value_of(p)["metadata"]["phone_number_id"] == PHONE_NUMBER_ID


async def test_statuses_carry_no_opaque_data_when_the_send_had_none(
    http: httpx.AsyncClient, fake: FakeProvider, receiver: Receiver
) -> None:
    await http.post(MESSAGES, json=text_message(), headers=BEARER)
    await fake.idle()

    for p in receiver.at(WEBHOOK):
        assert "biz_opaque_callback_data" not in value_of(p)["statuses"][0]


async def test_a_template_send_is_recorded_with_its_name_language_and_components(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    components = [{"type": "body", "parameters": [{"type": "text", "text": "AC-4821"}]}]
    r = await http.post(
        MESSAGES,
        headers=BEARER,
        json={
            "messaging_product": "whatsapp",
            "to": "15557654321",
            "type": "template",
            "template": {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": components,
            },
        },
    )

    assert r.json()["messages"][0]["message_status"] == "accepted"
    [sent] = fake.sent()
    assert sent.template == {"name": "order_update", "language": "en_US", "components": components}
    assert sent.text is None


async def test_an_interactive_button_send_is_recorded_with_its_choices(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    buttons = [
        {"type": "reply", "reply": {"id": "agent", "title": "Talk to an agent"}},
        {"type": "reply", "reply": {"id": "done", "title": "All good"}},
    ]
    r = await http.post(
        MESSAGES,
        headers=BEARER,
        json={
            "messaging_product": "whatsapp",
            "to": "15557654321",
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Anything else?"},
                "action": {"buttons": buttons},
            },
        },
    )

    assert r.status_code == 200
    [sent] = fake.sent()
    assert (sent.text, sent.suggestions) == ("Anything else?", ["Talk to an agent", "All good"])


async def test_more_than_three_reply_buttons_are_refused_as_not_valid(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    button = {"type": "reply", "reply": {"id": "x", "title": "X"}}
    r = await http.post(
        MESSAGES,
        headers=BEARER,
        json={
            "messaging_product": "whatsapp",
            "to": "15557654321",
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Pick"},
                "action": {"buttons": [button] * 4},
            },
        },
    )

    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["code"], error["type"]) == (131009, "OAuthException")
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert fake.sent() == []


async def test_a_text_send_without_a_body_is_refused_as_missing_a_parameter(
    http: httpx.AsyncClient,
) -> None:
    r = await http.post(MESSAGES, json=text_message(text={}), headers=BEARER)

    assert (r.status_code, r.json()["error"]["code"]) == (400, 131008)


@pytest.mark.parametrize(
    "headers", [{"Authorization": "Bearer not-a-token"}, {}], ids=["unknown-token", "no-token"]
)
async def test_a_bad_access_token_is_refused_with_graph_error_190(
    http: httpx.AsyncClient, fake: FakeProvider, headers: dict[str, str]
) -> None:
    r = await http.post(MESSAGES, json=text_message(), headers=headers)

    assert r.status_code == 401
    error = r.json()["error"]
    assert (error["type"], error["code"]) == ("OAuthException", 190)
    assert error["message"]
    assert error["fbtrace_id"]
    assert fake.sent() == []


async def test_an_undeliverable_recipient_gets_a_failed_status_with_errors(
    http: httpx.AsyncClient, fake: FakeProvider, receiver: Receiver
) -> None:
    fake.undeliverable("15557654321", error_code=131047)
    await http.post(MESSAGES, json=text_message(), headers=BEARER)
    await fake.idle()

    [posted] = receiver.at(WEBHOOK)
    [status] = value_of(posted)["statuses"]
    assert status["status"] == "failed"
    assert status["errors"][0]["code"] == 131047


async def test_an_inbound_text_is_posted_in_metas_envelope_and_signed(
    fake: FakeProvider, receiver: Receiver
) -> None:
    result = await fake.inbound_whatsapp(
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number="15550002222",
        from_="+15557654321",
        name="Jordan Rivera",
        text="Where is my order?",
    )

    assert result.status == 200
    [posted] = receiver.at(WEBHOOK)
    assert signed_by_meta(posted)
    value = value_of(posted)
    assert value["metadata"] == {
        "display_phone_number": "15550002222",
        "phone_number_id": PHONE_NUMBER_ID,
    }
    assert value["contacts"] == [{"profile": {"name": "Jordan Rivera"}, "wa_id": "15557654321"}]
    [message] = value["messages"]
    assert (message["id"], message["from"], message["type"]) == (
        result.message_id,
        "15557654321",
        "text",
    )
    assert message["text"] == {"body": "Where is my order?"}


async def test_an_inbound_button_reply_names_the_button_and_the_message_it_answers(
    fake: FakeProvider, receiver: Receiver
) -> None:
    await fake.inbound_whatsapp(
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number="+1 555 000 2222",
        from_="15557654321",
        button_reply={"id": "agent", "title": "Talk to an agent"},
        context_message_id="wamid.ORIGINAL",
    )

    [message] = value_of(receiver.at(WEBHOOK)[0])["messages"]
    assert message["type"] == "interactive"
    assert message["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "agent", "title": "Talk to an agent"},
    }
    assert message["context"] == {"from": "15550002222", "id": "wamid.ORIGINAL"}


async def test_an_inbound_message_needs_exactly_one_of_text_and_button_reply(
    http: httpx.AsyncClient,
) -> None:
    r = await http.post(
        "/_fake/inbound/whatsapp",
        json={
            "phone_number_id": PHONE_NUMBER_ID,
            "display_phone_number": "15550002222",
            "from": "15557654321",
        },
    )

    assert r.status_code == 422


async def test_sends_from_a_number_seen_inbound_carry_its_display_number(
    http: httpx.AsyncClient, fake: FakeProvider, receiver: Receiver
) -> None:
    await fake.inbound_whatsapp(
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number="15550002222",
        from_="15557654321",
        text="Hi",
    )
    await http.post(MESSAGES, json=text_message(), headers=BEARER)
    await fake.idle()

    assert fake.sent()[0].from_ == "15550002222"
    status_post = receiver.at(WEBHOOK)[-1]
    assert value_of(status_post)["metadata"]["display_phone_number"] == "15550002222"
