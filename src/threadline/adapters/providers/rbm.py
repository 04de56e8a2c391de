"""RCS through Google's RCS Business Messaging (RBM).

Google pushes user messages and events to the partner's webhook in the Pub/Sub push
envelope: the event itself is the base64 `message.data`, and X-Goog-Signature is the
base64 HMAC-SHA512 of those decoded bytes keyed by the webhook's client token. Before
the first push Google checks the webhook with a {clientToken, secret} post, answered
with the secret.

Outbound messages go to agentMessages with an access token of the partner's service
account (google_auth). The messageId is ours to choose: it is our message id, so
RBM's DELIVERED and READ events name our message, and a repeated send is recognised.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeGuard
from urllib.parse import quote

import httpx

from threadline.adapters.providers.base import (
    Connection,
    ConsentReport,
    CustomerMessage,
    MalformedPayload,
    OutboundRequest,
    ProviderUrls,
    Secrets,
    StatusReport,
    json_of,
    post,
    refused,
    text_for,
)
from threadline.adapters.providers.google_auth import ServiceAccount, TokenCache
from threadline.core.messages import MAX_BODY_CHARS, Attachment, DeliveryStatus, storable
from threadline.core.outbox import Accepted, Rejected, Retry, SendOutcome
from threadline.core.windows import WindowRule

SCOPE = "https://www.googleapis.com/auth/rcsbusinessmessaging"
# RBM's limits for a message's suggestions (chips) and a chip's text.
MAX_SUGGESTIONS = 11
MAX_SUGGESTION_CHARS = 25
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_AGENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}@rbm\.goog$")
_SERVICE_ACCOUNT = re.compile(
    r"^[a-z0-9][a-z0-9._-]{0,63}@[a-z0-9][a-z0-9.-]{0,127}\.gserviceaccount\.com$"
)
_MAX_ID = 255  # an external id's column
_MAX_SECRET = 1024

_EVENTS: dict[str, DeliveryStatus] = {
    "DELIVERED": DeliveryStatus.DELIVERED,
    "READ": DeliveryStatus.READ,
}


@dataclass(frozen=True)
class Handshake:
    """Google's webhook verification: echo `secret` when `client_token` is ours."""

    client_token: str
    secret: str


@dataclass(frozen=True)
class Push:
    """One pushed event: its decoded bytes (what the signature covers) and their JSON."""

    data: bytes
    event: dict[str, Any]


def decode(raw: bytes) -> Handshake | Push:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload("the body is not JSON") from exc
    if not isinstance(body, dict):
        raise MalformedPayload("the body is not a JSON object")
    if "message" not in body and "clientToken" in body:
        token, secret = body.get("clientToken"), body.get("secret")
        if not isinstance(token, str) or not isinstance(secret, str) or not secret:
            raise MalformedPayload("a verification request has a clientToken and a secret")
        if len(secret) > _MAX_SECRET or not secret.isprintable():
            raise MalformedPayload("the verification secret is not a short printable string")
        return Handshake(token, secret)
    message = body.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("data"), str):
        raise MalformedPayload("a push has message.data", field="message.data")
    try:
        data = base64.b64decode(message["data"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedPayload("message.data is not base64", field="message.data") from exc
    try:
        event = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload("message.data is not JSON", field="message.data") from exc
    if not isinstance(event, dict):
        raise MalformedPayload("message.data is not a JSON object", field="message.data")
    return Push(data, event)


def agent_of(event: dict[str, Any]) -> str:
    """The agent an event is for: it names the connection (and so the client token)."""
    agent = event.get("agentId")
    if not isinstance(agent, str) or not _AGENT.fullmatch(agent):
        raise MalformedPayload("agentId is not an RBM agent id", field="agentId")
    return agent


def _string(event: dict[str, Any], name: str, limit: int = _MAX_ID) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value or len(value) > limit or not storable(value):
        raise MalformedPayload(f"{name} is not a string of 1-{limit} characters", field=name)
    return value


def _sender(event: dict[str, Any]) -> str:
    sender = event.get("senderPhoneNumber")
    if not isinstance(sender, str) or not _E164.fullmatch(sender):
        raise MalformedPayload(
            "senderPhoneNumber is not an E.164 number", field="senderPhoneNumber"
        )
    return sender


def _clip(text: str) -> str:
    # Longer than the thread takes: stored cut rather than refused, which would have
    # Google retry it for a week.
    return text if len(text) <= MAX_BODY_CHARS else text[: MAX_BODY_CHARS - 1] + "…"


def _checked_text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip() or not storable(value):
        raise MalformedPayload(f"{name} is not a text", field=name)
    return _clip(value)


def _file(found: Any) -> Attachment:
    payload = found.get("payload") if isinstance(found, dict) else None
    if not isinstance(payload, dict):
        raise MalformedPayload("userFile has no payload", field="userFile.payload")
    uri, mime = payload.get("fileUri"), payload.get("mimeType")
    if not isinstance(uri, str) or not uri.startswith(("https://", "http://")) or not storable(uri):
        raise MalformedPayload("userFile.payload.fileUri is not a URL", field="userFile")
    name = payload.get("fileName")
    return Attachment(
        content_type=mime if _fits(mime, 255) else "application/octet-stream",
        url=uri,
        caption=name if _fits(name, 1024) else None,
    )


def _fits(value: Any, limit: int) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= limit and storable(value)


def _coordinate(found: Any, name: str, bound: int) -> float:
    value = found.get(name) if isinstance(found, dict) else None
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not -bound <= value <= bound
    ):
        raise MalformedPayload(f"location.{name} is not a coordinate", field="location")
    return value


def _location(found: Any) -> str:
    lat, lon = _coordinate(found, "latitude", 90), _coordinate(found, "longitude", 180)
    return f"Shared a location: {lat}, {lon} (https://maps.google.com/?q={lat},{lon})"


def parse(event: dict[str, Any]) -> CustomerMessage | StatusReport | ConsentReport | None:
    """A user message, a delivery event or a subscription change; None for what
    Threadline does not act on (typing, platform events, message kinds it does not
    know)."""
    agent = agent_of(event)
    kind = event.get("eventType")
    if kind is not None:
        if not isinstance(kind, str):
            raise MalformedPayload("eventType is not a string", field="eventType")
        if kind in ("UNSUBSCRIBE", "SUBSCRIBE"):
            return ConsentReport(
                agent, _sender(event), kind == "UNSUBSCRIBE", _string(event, "eventId")
            )
        status = _EVENTS.get(kind)
        if status is None:
            return None
        _sender(event)
        message_id = _string(event, "messageId")
        return StatusReport(agent, message_id, status, reference=reference_of(message_id))
    if "messageId" not in event and "senderPhoneNumber" not in event:
        return None  # not a user message: an agent or server event
    sender = _sender(event)
    message_id = _string(event, "messageId")
    attachments: tuple[Attachment, ...] = ()
    if "text" in event:
        text = _checked_text(event["text"], "text")
    elif "suggestionResponse" in event:
        chosen = event["suggestionResponse"]
        if not isinstance(chosen, dict):
            raise MalformedPayload(
                "suggestionResponse is not an object", field="suggestionResponse"
            )
        # The chip's text is what the customer saw and tapped; postback data only
        # when a chip had no text.
        text = _checked_text(chosen.get("text") or chosen.get("postbackData"), "suggestionResponse")
    elif "userFile" in event:
        attachments = (_file(event["userFile"]),)
        text = text_for("", attachments)
    elif "location" in event:
        text = _location(event["location"])
    else:
        return None  # a kind of message this version does not know
    return CustomerMessage(agent, sender, text, message_id, None, attachments)


def reference_of(message_id: str) -> uuid.UUID | None:
    """Our message id, when the event is about a message we sent (we chose its id)."""
    try:
        return uuid.UUID(message_id)
    except ValueError:
        return None


def body_of(request: OutboundRequest) -> dict[str, Any]:
    content: dict[str, Any] = {"text": request.text}
    chips = [
        {"reply": {"text": s[:MAX_SUGGESTION_CHARS], "postbackData": s}}
        for s in request.suggestions[:MAX_SUGGESTIONS]
    ]
    if chips:
        content["suggestions"] = chips
    return {"contentMessage": content}


def _google_error(response: httpx.Response) -> tuple[str, str]:
    error = json_of(response).get("error")
    if not isinstance(error, dict):
        return "", response.reason_phrase
    status, message = error.get("status"), error.get("message")
    return (
        status if isinstance(status, str) else "",
        message if isinstance(message, str) else response.reason_phrase,
    )


class RbmRcs:
    name: ClassVar[str] = "rbm"
    channel: ClassVar[str] = "rcs"
    secret_parts: ClassVar[tuple[str, ...]] = ("client_token", "private_key")
    # RBM ignores an agent message whose messageId it has seen: a send whose outcome is
    # unknown may be repeated.
    idempotent: ClassVar[bool] = True
    rich_replies: ClassVar[bool] = True
    window: ClassVar[WindowRule | None] = None
    status_path: ClassVar[str | None] = None
    keywords: ClassVar[bool] = True
    options: ClassVar[frozenset[str]] = frozenset({"keyword_replies"})
    account_pattern: ClassVar[str] = _SERVICE_ACCOUNT.pattern
    address_pattern: ClassVar[str] = _AGENT.pattern

    def __init__(self) -> None:
        self.tokens = TokenCache()

    async def send(
        self,
        http: httpx.AsyncClient,
        urls: ProviderUrls,
        conn: Connection,
        secrets: Secrets,
        request: OutboundRequest,
        now: datetime,
    ) -> SendOutcome:
        account = ServiceAccount(
            conn.account, secrets.require(conn.secret_name, "private_key"), SCOPE
        )
        token = await self.tokens.token(http, urls.rbm_token, account, now)
        if not isinstance(token, str):
            return token
        message_id = str(request.message_id)
        answer = await post(
            http,
            f"{urls.rbm}/v1/phones/{quote(request.to, safe='+')}/agentMessages",
            params={"messageId": message_id, "agentId": conn.address},
            json=body_of(request),
            headers={"Authorization": f"Bearer {token}"},
        )
        if not isinstance(answer, httpx.Response):
            return answer
        status, text = _google_error(answer)
        if answer.status_code == 200:
            return Accepted(message_id)
        if answer.status_code == 409 and status == "ALREADY_EXISTS":
            # Our messageId is taken: by this very message, on an attempt whose answer
            # was lost.
            return Accepted(message_id)
        if answer.status_code == 404:
            return Rejected(
                f"{request.to} cannot receive RCS messages (Google RBM: {status or 404} {text})"
            )
        if answer.status_code == 401:
            self.tokens.forget(urls.rbm_token, account, token)
            return Retry(f"Google RBM refused the access token ({text}); a new one is fetched")
        return refused(answer, f"Google RBM error {answer.status_code} {status}: {text}")
