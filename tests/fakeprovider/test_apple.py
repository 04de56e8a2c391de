"""The fake's Apple Messages for Business gateway, and messages Apple forwards."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.fakeprovider.credentials import APPLE_CSP, APPLE_SECRET
from tests.fakeprovider.receiver import Receiver
from threadline.adapters.providers.signing import apple_token, apple_token_valid
from threadline.fakeprovider import FakeProvider

BUSINESS = "e0a5a1b2-7f2c-4f6e-9b8a-0c1d2e3f4a5b"
CUSTOMER = "urn:mbid:AQAAY2VUaHJlYWRsaW5l"


def headers(message_id: str, *, token: str | None = None) -> dict[str, str]:
    token = token or apple_token(APPLE_SECRET, APPLE_CSP, datetime.now(UTC))
    return {
        "id": message_id,
        "source-id": BUSINESS,
        "destination-id": CUSTOMER,
        "Authorization": f"Bearer {token}",
    }


def text(message_id: str, body: str = "Your order has shipped") -> dict[str, Any]:
    return {
        "v": 1,
        "type": "text",
        "id": message_id,
        "sourceId": BUSINESS,
        "destinationId": CUSTOMER,
        "body": body,
    }


async def test_a_text_send_is_accepted_and_recorded(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    message_id = str(uuid.uuid4())
    r = await http.post("/v1/message", headers=headers(message_id), json=text(message_id))

    assert r.status_code == 200
    [sent] = fake.sent()
    assert (sent.provider, sent.id, sent.to, sent.from_, sent.text) == (
        "apple",
        message_id,
        CUSTOMER,
        BUSINESS,
        "Your order has shipped",
    )


async def test_a_repeated_message_id_is_accepted_again_but_recorded_once(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    message_id = str(uuid.uuid4())
    first = await http.post("/v1/message", headers=headers(message_id), json=text(message_id))
    again = await http.post("/v1/message", headers=headers(message_id), json=text(message_id))

    assert (first.status_code, again.status_code) == (200, 200)
    assert len(fake.sent()) == 1


async def test_a_gzipped_body_is_accepted(http: httpx.AsyncClient, fake: FakeProvider) -> None:
    message_id = str(uuid.uuid4())
    body = gzip.compress(json.dumps(text(message_id)).encode())
    r = await http.post("/v1/message", headers=headers(message_id), content=body)

    assert r.status_code == 200
    assert fake.sent()[0].text == "Your order has shipped"


async def test_a_list_picker_is_recorded_with_its_items(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    message_id = str(uuid.uuid4())
    picker = {
        "sections": [
            {"title": "Delivery", "items": [{"identifier": "a", "title": "Express"}]},
            {"title": "Pickup", "items": [{"identifier": "b", "title": "In store"}]},
        ]
    }
    body = {
        **text(message_id),
        "type": "interactive",
        "interactiveData": {"bid": "com.apple.messages.bid", "data": {"listPicker": picker}},
    }
    r = await http.post("/v1/message", headers=headers(message_id), json=body)

    assert r.status_code == 200
    assert fake.sent()[0].suggestions == ["Express", "In store"]


OTHER_SECRET = base64.b64encode(b"another secret, thirty-two bytes").decode()


def bad_token(kind: str) -> str:
    now = datetime.now(UTC)
    if kind == "other-audience":
        return apple_token(APPLE_SECRET, "another-csp", now)
    if kind == "other-secret":
        return apple_token(OTHER_SECRET, APPLE_CSP, now)
    if kind == "expired":
        return apple_token(APPLE_SECRET, APPLE_CSP, now - timedelta(hours=1))
    return "not-a-jwt"


@pytest.mark.parametrize("kind", ["other-audience", "other-secret", "expired", "garbage"])
async def test_a_bad_token_is_refused_with_401(
    http: httpx.AsyncClient, fake: FakeProvider, kind: str
) -> None:
    message_id = str(uuid.uuid4())
    r = await http.post(
        "/v1/message", headers=headers(message_id, token=bad_token(kind)), json=text(message_id)
    )

    assert r.status_code == 401
    assert fake.sent() == []


async def test_a_send_without_the_routing_headers_is_refused_with_400(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    message_id = str(uuid.uuid4())
    partial = {k: v for k, v in headers(message_id).items() if k != "destination-id"}
    r = await http.post("/v1/message", headers=partial, json=text(message_id))

    assert r.status_code == 400
    assert fake.sent() == []


async def test_typing_indicators_are_accepted_but_are_not_messages(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    message_id = str(uuid.uuid4())
    body = {"v": 1, "type": "typing_start", "id": message_id}
    r = await http.post("/v1/message", headers=headers(message_id), json=body)

    assert r.status_code == 200
    assert fake.sent() == []


async def test_an_inbound_message_carries_apples_headers_and_a_valid_token(
    fake: FakeProvider, receiver: Receiver
) -> None:
    result = await fake.inbound_apple(business_id=BUSINESS, customer_id=CUSTOMER, text="Hi")

    assert result.status == 200
    [posted] = receiver.at("/webhooks/apple/message")
    assert posted.headers["id"] == result.message_id
    assert (posted.headers["source-id"], posted.headers["destination-id"]) == (CUSTOMER, BUSINESS)
    scheme, token = posted.headers["authorization"].split(" ")
    assert scheme == "Bearer"
    assert apple_token_valid(token, APPLE_SECRET, APPLE_CSP, datetime.now(UTC))
    assert posted.json() == {
        "id": result.message_id,
        "type": "text",
        "v": 1,
        "sourceId": CUSTOMER,
        "destinationId": BUSINESS,
        "body": "Hi",
        "locale": "en_US",
    }
