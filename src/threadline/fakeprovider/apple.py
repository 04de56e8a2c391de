"""Apple Messages for Business: the gateway's message endpoint, and messages Apple
forwards from a customer's device to the messaging service provider (Threadline).

Both directions authenticate with the short HS256 JWTs of signing.py. The gateway sends
no delivery callbacks, so none follow a send here. A message's `id` header is its
natural idempotency key: a repeated id is answered 200 and not recorded again.
"""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from threadline.adapters.providers.signing import apple_token, apple_token_valid
from threadline.fakeprovider.core import FakeCore, as_dict, as_list
from threadline.fakeprovider.state import SentMessage
from threadline.fakeprovider.webhooks import Webhook

INBOUND_PATH = "/webhooks/apple/message"
# Typing indicators travel the same endpoint but are not messages to record.
SIGNALS = ("typing_start", "typing_end")
_GZIP_MAGIC = b"\x1f\x8b"


def error_shape(status: int) -> None:
    # The gateway answers failures with the status code alone.
    return None


def _choices(interactive: Any) -> list[str] | None:
    """The titles of a list picker's items or of quick replies, when there are some."""
    data = as_dict(as_dict(interactive).get("data"))
    sections = as_list(as_dict(data.get("listPicker")).get("sections"))
    items = [item for section in sections for item in as_list(as_dict(section).get("items"))]
    items += as_list(as_dict(data.get("quick-reply")).get("items"))
    titles = [as_dict(item).get("title") for item in items]
    return [t for t in titles if isinstance(t, str) and t] or None


class AppleApi:
    def __init__(self, core: FakeCore) -> None:
        self.core = core

    def routes(self) -> list[BaseRoute]:
        return [Route("/v1/message", self.send, methods=["POST"])]

    async def send(self, request: Request) -> Response:
        async def authorize() -> Response | None:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            accounts = self.core.accounts
            if scheme.lower() != "bearer" or not apple_token_valid(
                token, accounts.apple_secret_b64, accounts.apple_csp_id, self.core.now()
            ):
                return Response(status_code=401)
            return None

        async def process(key: str | None) -> Response:
            return await self._accept(request, key)

        return await self.core.send(
            request, "apple", error_shape=error_shape, authorize=authorize, process=process
        )

    async def _accept(self, request: Request, key: str | None) -> Response:
        message_id = request.headers.get("id")
        source = request.headers.get("source-id")
        destination = request.headers.get("destination-id")
        if not message_id or not source or not destination:
            return Response(status_code=400)
        raw = await request.body()
        try:
            # Apple compresses large payloads with gzip; accept either form.
            if raw.startswith(_GZIP_MAGIC) or request.headers.get("content-encoding") == "gzip":
                raw = gzip.decompress(raw)
            body = json.loads(raw)
        except (OSError, ValueError, EOFError):
            return Response(status_code=400)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return Response(status_code=400)
        kind = body["type"]
        text = body.get("body")
        if kind == "text" and (not isinstance(text, str) or not text):
            return Response(status_code=400)
        if kind == "interactive" and not isinstance(body.get("interactiveData"), dict):
            return Response(status_code=400)
        if kind in SIGNALS or message_id in self.core.state.apple_message_ids:
            return Response(status_code=200)

        self.core.state.apple_message_ids.add(message_id)
        self.core.state.record(
            SentMessage(
                provider="apple",
                id=message_id,
                to=destination,
                from_=source,
                text=text if isinstance(text, str) else None,
                at=self.core.now(),
                suggestions=_choices(body.get("interactiveData")),
                idempotency_key=key,
                payload=body,
            )
        )
        return Response(status_code=200)


class AppleInbound(BaseModel):
    model_config = ConfigDict(extra="forbid")
    business_id: str
    customer_id: str
    """The customer's opaque id, as Apple names the sender (`urn:mbid:…`)."""
    text: str
    locale: str = "en_US"
    message_id: str | None = None
    repeat: int = 1


def inbound_webhook(core: FakeCore, message: AppleInbound) -> tuple[str, Webhook]:
    message_id = message.message_id or str(uuid.uuid4())
    payload = {
        "id": message_id,
        "type": "text",
        "v": 1,
        "sourceId": message.customer_id,
        "destinationId": message.business_id,
        "body": message.text,
        "locale": message.locale,
    }
    accounts = core.accounts
    token = apple_token(accounts.apple_secret_b64, accounts.apple_csp_id, core.now())
    return message_id, Webhook(
        kind="apple.inbound",
        url=accounts.webhook_url(INBOUND_PATH),
        body=json.dumps(payload).encode(),
        headers={
            "Content-Type": "application/json",
            "id": message_id,
            "source-id": message.customer_id,
            "destination-id": message.business_id,
            "device-agent": "iPhone OS",
            "Authorization": f"Bearer {token}",
        },
    )
