"""Apple Messages for Business, with Threadline as the messaging service provider (MSP).

Apple's gateway posts each message from a customer's device with headers naming it
(`id`), its sender (`source-id`, an opaque id) and the business (`destination-id`),
authenticated by a short HS256 JWT keyed by the MSP's secret, whose audience is the
MSP's id. Bodies may come gzip-compressed. Outbound messages go to the gateway's
/v1/message with a token the other way round (issued by the MSP). The gateway sends no
delivery receipts, and drops a repeated message id: a send may be repeated.
"""

from __future__ import annotations

import binascii
import re
import uuid
import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, TypeGuard

import httpx

from threadline.adapters.providers.base import (
    Connection,
    CustomerMessage,
    MalformedPayload,
    OutboundRequest,
    ProviderUrls,
    Secrets,
    post,
    refused,
    text_for,
)
from threadline.adapters.providers.signing import apple_token
from threadline.core.messages import MAX_BODY_CHARS, Attachment, storable
from threadline.core.outbox import Accepted, Rejected, Retry, SendOutcome
from threadline.core.rich import with_numbered_options
from threadline.core.windows import WindowRule

_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_OPAQUE = re.compile(r"^\S{1,255}$")
# The balloon of Apple's own interactive messages (list picker, time picker…).
BID = (
    "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:"
    "com.apple.icloud.apps.messages.business.extension"
)
# Types a device sends that are not messages for the thread.
SIGNALS = frozenset({"typing_start", "typing_end", "close"})
# How much of the agent's text a list picker's bubble shows as its title.
_BUBBLE_TITLE_CHARS = 85


class TooLarge(Exception):
    """A compressed body that inflates past the limit (413)."""


def inflate(raw: bytes, encoding: str | None, limit: int) -> bytes:
    """The body as JSON bytes: gunzipped when it says so or looks so (Apple is reported
    to compress large payloads), and never more than `limit` bytes, so a small
    "gzip bomb" cannot take the memory."""
    gzipped = (encoding or "").strip().lower() == "gzip" or raw.startswith(b"\x1f\x8b")
    if not gzipped:
        return raw
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise MalformedPayload("the body is not valid gzip") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise TooLarge(f"the body inflates past {limit} bytes")
    if not inflater.eof:
        raise MalformedPayload("the gzip body is cut short")
    return out


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not storable(value):
        raise MalformedPayload(f"{name} is not a text", field=name)
    # Longer than the thread takes: stored cut rather than refused and retried.
    return value if len(value) <= MAX_BODY_CHARS else value[: MAX_BODY_CHARS - 1] + "…"


def _attachments(found: Any) -> tuple[Attachment, ...]:
    """Attachments by reference: Apple's are encrypted, fetched and decrypted on demand
    (a key in each reference), never by Threadline on receipt."""
    if found is None:
        return ()
    if not isinstance(found, list) or len(found) > 20:
        raise MalformedPayload("attachments is not a list", field="attachments")
    out = []
    for item in found:
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str) or not url or not storable(url):
            raise MalformedPayload("an attachment has no url", field="attachments")
        assert isinstance(item, dict)
        mime, name = item.get("mimeType"), item.get("name")
        out.append(
            Attachment(
                content_type=mime if _fits(mime, 255) else "application/octet-stream",
                url=url,
                caption=name if _fits(name, 1024) else None,
            )
        )
    return tuple(out)


def _fits(value: Any, limit: int) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= limit and storable(value)


def _chosen(interactive: Any) -> str:
    """What the customer picked: the titles of the items a list picker's reply carries
    (only the selected ones), a quick reply's item, else the reply bubble's title."""
    if not isinstance(interactive, dict):
        raise MalformedPayload("interactiveData is not an object", field="interactiveData")
    data = interactive.get("data")
    titles: list[str] = []
    if isinstance(data, dict):
        picker = data.get("listPicker")
        sections = picker.get("sections") if isinstance(picker, dict) else None
        for section in sections if isinstance(sections, list) else []:
            items = section.get("items") if isinstance(section, dict) else None
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and isinstance(item.get("title"), str):
                    titles.append(item["title"])
        quick = data.get("quick-reply")
        if not titles and isinstance(quick, dict):
            titles.extend(_quick_reply(quick))
        reply = data.get("replyMessage")
        if not titles and isinstance(reply, dict) and isinstance(reply.get("title"), str):
            titles.append(reply["title"])
    titles = [t.strip() for t in titles if t.strip()]
    if not titles:
        raise MalformedPayload(
            "the interactive reply names nothing chosen", field="interactiveData"
        )
    return _text(", ".join(titles), "interactiveData")


def _quick_reply(quick: dict[str, Any]) -> list[str]:
    """A quick reply's chosen item (its shape is not documented where we could read it:
    by identifier or by index)."""
    found = quick.get("items")
    items = [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []
    selected, index = quick.get("selectedIdentifier"), quick.get("selectedIndex")
    chosen = [i for i in items if selected is not None and i.get("identifier") == selected]
    if not chosen and isinstance(index, int) and not isinstance(index, bool):
        chosen = items[index : index + 1] if 0 <= index < len(items) else []
    return [i["title"] for i in chosen[:1] if isinstance(i.get("title"), str)]


def parse(headers: Mapping[str, str], body: Any) -> CustomerMessage | None:
    """A customer's message; None for typing indicators, a closed chat, and types this
    version does not know. The headers name the message, its sender and the business;
    the body must not say otherwise."""
    if not isinstance(body, dict):
        raise MalformedPayload("the body is not a JSON object")
    message_id, sender, business = required_headers(headers)
    for field, expected in (("id", message_id), ("sourceId", sender), ("destinationId", business)):
        if field in body and body[field] != expected:
            raise MalformedPayload(f"the body's {field} is not the header's", field=field)
    kind = body.get("type")
    if not isinstance(kind, str):
        raise MalformedPayload("the message has no type", field="type")
    if kind in SIGNALS:
        return None
    if kind == "text":
        attachments = _attachments(body.get("attachments"))
        text = text_for(_text(body.get("body", ""), "body"), attachments)
        if not text.strip():
            raise MalformedPayload("a text message with neither body nor attachments", field="body")
        return CustomerMessage(business, sender, text, message_id, None, attachments)
    if kind == "interactive":
        ref = body.get("interactiveDataRef")
        if "interactiveData" not in body and isinstance(ref, dict):
            # Over 10 KB Apple sends a reference to an encrypted download instead; its
            # title is what the customer's reply bubble showed.
            text = _text(ref.get("title") or "[interactive reply]", "interactiveDataRef")
        else:
            text = _chosen(body.get("interactiveData"))
        return CustomerMessage(business, sender, text, message_id)
    return None


def required_headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    found = []
    for name in ("id", "source-id", "destination-id"):
        value = headers.get(name)
        if not value or not _OPAQUE.fullmatch(value):
            raise MalformedPayload(f"the {name} header is missing or not an id", header=name)
        found.append(value)
    return found[0], found[1], found[2]


def gateway_token(secret_b64: str, msp_id: str, now: datetime) -> str | None:
    """The MSP's token for the gateway (None: the secret is not base64)."""
    try:
        return apple_token(secret_b64, msp_id, now)
    except (binascii.Error, ValueError):
        return None


def body_of(request: OutboundRequest, business: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "v": 1,
        "id": str(request.message_id),
        "sourceId": business,
        "destinationId": request.to,
    }
    if not request.suggestions:
        return {**message, "type": "text", "body": request.text}
    title = request.text.strip().splitlines()[0] if request.text.strip() else "Choose one"
    if len(title) > _BUBBLE_TITLE_CHARS:
        title = title[: _BUBBLE_TITLE_CHARS - 1] + "…"
    items = [
        {"identifier": str(i), "title": s, "order": i, "style": "default"}
        for i, s in enumerate(request.suggestions)
    ]
    return {
        **message,
        "type": "interactive",
        # The text with numbered options, for a device that cannot show a list picker.
        "body": with_numbered_options(request.text, request.suggestions),
        "interactiveData": {
            "bid": BID,
            "data": {
                "version": "1.0",
                # Ties the customer's reply to this picker.
                "requestIdentifier": str(uuid.uuid5(request.message_id, "list-picker")),
                "listPicker": {
                    "sections": [
                        {"title": "Options", "order": 0, "multipleSelection": False, "items": items}
                    ]
                },
            },
            "receivedMessage": {"title": title, "subtitle": "Tap to choose", "style": "icon"},
            "replyMessage": {"title": "Your choice", "style": "icon"},
        },
    }


class AppleBusiness:
    name: ClassVar[str] = "apple"
    channel: ClassVar[str] = "apple"
    secret_parts: ClassVar[tuple[str, ...]] = ("secret",)
    # The gateway drops a message whose id it has seen.
    idempotent: ClassVar[bool] = True
    rich_replies: ClassVar[bool] = True
    window: ClassVar[WindowRule | None] = None
    status_path: ClassVar[str | None] = None
    keywords: ClassVar[bool] = False
    options: ClassVar[frozenset[str]] = frozenset()
    account_pattern: ClassVar[str] = _UUID  # the MSP (CSP) id
    address_pattern: ClassVar[str] = _UUID  # the business id

    async def send(
        self,
        http: httpx.AsyncClient,
        urls: ProviderUrls,
        conn: Connection,
        secrets: Secrets,
        request: OutboundRequest,
        now: datetime,
    ) -> SendOutcome:
        token = gateway_token(secrets.require(conn.secret_name, "secret"), conn.account, now)
        if token is None:
            # The operator can fix the setting, so the message waits rather than fails.
            name = f"THREADLINE_SECRET_{conn.secret_name}_SECRET".upper()
            return Retry(f"{name} is not base64")
        message_id = str(request.message_id)
        answer = await post(
            http,
            f"{urls.apple}/v1/message",
            json=body_of(request, conn.address),
            headers={
                "Authorization": f"Bearer {token}",
                "id": message_id,
                "source-id": conn.address,
                "destination-id": request.to,
            },
        )
        if not isinstance(answer, httpx.Response):
            return answer
        if answer.status_code == 200:
            return Accepted(message_id)
        if answer.status_code == 404:
            return Rejected(f"Apple does not know the business id {conn.address} (404)")
        return refused(answer, f"Apple Messages for Business answered {answer.status_code}")
