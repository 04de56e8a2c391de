"""A valid send for each provider, as its client library would make it, so tests that are
about every provider at once (behaviours, idempotency) can make one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.fakeprovider.credentials import (
    APPLE_CSP,
    APPLE_SECRET,
    META_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
)
from threadline.adapters.providers.signing import apple_token

PROVIDERS = ["twilio", "whatsapp", "messenger", "rbm", "apple"]


async def send(
    http: httpx.AsyncClient,
    provider: str,
    *,
    rbm_token: str = "no-token",
    key: str | None = None,
    timeout: float | None = None,
) -> httpx.Response:
    """One text message to the same customer through `provider`."""
    headers = {"Idempotency-Key": key} if key is not None else {}
    extra: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
    if provider == "twilio":
        return await http.post(
            f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json",
            auth=(TWILIO_SID, TWILIO_TOKEN),
            data={"To": "+15557654321", "From": "+15550001111", "Body": "Hello"},
            headers=headers,
            **extra,
        )
    if provider == "whatsapp":
        return await http.post(
            "/v21.0/106540352242922/messages",
            json={
                "messaging_product": "whatsapp",
                "to": "15557654321",
                "type": "text",
                "text": {"body": "Hello"},
            },
            headers={"Authorization": f"Bearer {META_TOKEN}", **headers},
            **extra,
        )
    if provider == "messenger":
        return await http.post(
            "/v21.0/me/messages",
            params={"access_token": META_TOKEN},
            json={
                "recipient": {"id": "6543210987654321"},
                "messaging_type": "RESPONSE",
                "message": {"text": "Hello"},
            },
            headers=headers,
            **extra,
        )
    if provider == "rbm":
        return await http.post(
            "/v1/phones/+15557654321/agentMessages",
            params={"messageId": str(uuid.uuid4())},
            json={"contentMessage": {"text": "Hello"}},
            headers={"Authorization": f"Bearer {rbm_token}", **headers},
            **extra,
        )
    message_id = str(uuid.uuid4())
    return await http.post(
        "/v1/message",
        json={"v": 1, "type": "text", "id": message_id, "body": "Hello"},
        headers={
            "id": message_id,
            "source-id": "business",
            "destination-id": "customer",
            "Authorization": f"Bearer {apple_token(APPLE_SECRET, APPLE_CSP, datetime.now(UTC))}",
            **headers,
        },
        **extra,
    )
