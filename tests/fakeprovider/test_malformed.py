"""Malformed sends are refused as the provider would refuse them, never with a crash."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.fakeprovider.credentials import APPLE_CSP, APPLE_SECRET, META_TOKEN
from threadline.adapters.providers.signing import apple_token
from threadline.fakeprovider import FakeProvider

ODD_JSON: list[Any] = [
    [],
    "text",
    {"messaging_product": "whatsapp", "to": "15557654321", "type": ["text"]},
    {"messaging_product": "whatsapp", "to": 15557654321, "text": {"body": "x"}},
    {
        "messaging_product": "whatsapp",
        "to": "15557654321",
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "x"},
            "action": {"button": "b", "sections": [{"rows": 7}]},
        },
    },
    {"recipient": {"id": 42}, "messaging_type": "RESPONSE", "message": {"text": "x"}},
    {"recipient": {"id": "1"}, "messaging_type": "RESPONSE", "message": {"text": ["x"]}},
    {
        "recipient": {"id": "1"},
        "messaging_type": "RESPONSE",
        "message": {"text": "x", "quick_replies": 3},
    },
    {"contentMessage": {"text": "x", "suggestions": [{"reply": "x"}]}},
    {"contentMessage": {"text": "x", "richCard": {}}},
]


async def test_odd_json_is_refused_by_every_graph_api(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    bearer = {"Authorization": f"Bearer {META_TOKEN}"}
    for body in ODD_JSON:
        whatsapp = await http.post("/v21.0/1065/messages", json=body, headers=bearer)
        messenger = await http.post("/v21.0/me/messages", json=body, headers=bearer)

        assert (whatsapp.status_code, messenger.status_code) == (400, 400), body
        assert whatsapp.json()["error"]["type"] == "OAuthException"
        assert messenger.json()["error"]["type"] == "OAuthException"
    assert fake.sent() == []


async def test_odd_json_is_refused_by_rbm(
    http: httpx.AsyncClient, fake: FakeProvider, rbm_token: str
) -> None:
    for body in ODD_JSON:
        r = await http.post(
            "/v1/phones/+15557654321/agentMessages",
            params={"messageId": str(uuid.uuid4())},
            json=body,
            headers={"Authorization": f"Bearer {rbm_token}"},
        )

        assert (r.status_code, r.json()["error"]["status"]) == (400, "INVALID_ARGUMENT"), body
    assert fake.sent() == []


def apple_headers() -> dict[str, str]:
    return {
        "id": str(uuid.uuid4()),
        "source-id": "business",
        "destination-id": "customer",
        "Authorization": f"Bearer {apple_token(APPLE_SECRET, APPLE_CSP, datetime.now(UTC))}",
    }


async def test_odd_bodies_are_refused_by_apple_with_400(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    for body in [
        b"not json",
        b"\x1f\x8b not really gzip",
        b'{"type": "text"}',
        b'{"type": "interactive", "interactiveData": []}',
        b"[]",
    ]:
        r = await http.post("/v1/message", content=body, headers=apple_headers())

        assert r.status_code == 400, body
    assert fake.sent() == []


async def test_an_apple_list_picker_of_odd_shape_is_sent_without_choices(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    body = {
        "type": "interactive",
        "interactiveData": {"data": {"listPicker": {"sections": "many"}, "quick-reply": 3}},
    }
    r = await http.post("/v1/message", json=body, headers=apple_headers())

    assert r.status_code == 200
    assert fake.sent()[0].suggestions is None
