"""Facebook Messenger through Meta's Messenger Platform.

Webhooks (meta.py: envelope, signature, handshake) carry, per page, messaging events:
customers' messages and postbacks, and the delivery and read receipts of ours. A
receipt names message ids, or only a watermark, an instant before which everything
sent to that customer was delivered or read. Sends go to the Send API with the page's
access token, as a RESPONSE inside the 24-hour window or with a message tag outside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from threadline.adapters.providers import meta
from threadline.adapters.providers.base import (
    Connection,
    CustomerMessage,
    MalformedPayload,
    OutboundRequest,
    ProviderUrls,
    Secrets,
    json_of,
    post,
    text_for,
)
from threadline.core.messages import Attachment, DeliveryStatus
from threadline.core.outbox import Accepted, Rejected, SendOutcome, Unknown
from threadline.core.rich import with_numbered_options
from threadline.core.windows import WindowRule

OBJECT = "page"
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE = 20
# Code 10 with this subcode: "This message is sent outside of allowed window".
PERMISSION = 10
OUTSIDE_WINDOW = 2018278
# Epoch milliseconds up to the year 5138: enough for any real watermark, small enough
# for a datetime.
MAX_EPOCH_MS = 10**14

# Messenger names an attachment's kind, not its MIME type.
_CONTENT_TYPES = {
    "image": "image/*",
    "video": "video/*",
    "audio": "audio/*",
    "file": "application/octet-stream",
}


@dataclass(frozen=True)
class Receipt:
    """Messages to `sender` reached `status`: those named by id, and (the watermark)
    every one sent up to `up_to`."""

    business: str
    sender: str
    status: DeliveryStatus
    external_ids: tuple[str, ...]
    up_to: datetime | None


Event = CustomerMessage | Receipt


# -- webhooks -------------------------------------------------------------------------


def named(entries: Sequence[dict[str, Any]]) -> set[str]:
    """The pages a webhook body names: every one must be ours and sign the body."""
    return {meta.meta_id(entry.get("id"), "entry[].id") for entry in entries}


def parse(entries: Sequence[dict[str, Any]]) -> list[Event]:
    """The events of a webhook body, in order. Raises MalformedPayload for any event of
    the wrong shape, so a body is taken whole or not at all; events Threadline has no
    use for (echoes of our own sends, reactions, opt-ins…) are skipped. Events of a
    conversation another app controls (`standby`) are not ours to answer."""
    found: list[Event] = []
    for entry in entries:
        page = meta.meta_id(entry.get("id"), "entry[].id")
        for item in meta.lst(entry.get("messaging"), "messaging", optional=True):
            found.extend(parse_event(page, meta.obj(item, "messaging[]")))
    return found


def _sender(event: dict[str, Any]) -> str:
    return meta.address(meta.obj(event.get("sender"), "sender").get("id"), "sender.id")


def parse_event(page: str, event: dict[str, Any]) -> list[Event]:
    if "message" in event:
        message = meta.obj(event["message"], "message")
        if message.get("is_echo") is True:
            return []  # our own send, as the page's inbox shows it
        return [_message(page, _sender(event), message)]
    if "postback" in event:
        return [_postback(page, _sender(event), event)]
    if "delivery" in event:
        delivery = meta.obj(event["delivery"], "delivery")
        mids = tuple(
            meta.string(mid, "delivery.mids[]", max_chars=meta.MAX_EXTERNAL_ID)
            for mid in meta.lst(delivery.get("mids"), "delivery.mids", optional=True)
        )
        watermark = delivery.get("watermark")
        up_to = None if watermark is None and mids else _instant(watermark, "delivery.watermark")
        return [Receipt(page, _sender(event), DeliveryStatus.DELIVERED, mids, up_to)]
    if "read" in event:
        read = meta.obj(event["read"], "read")
        up_to = _instant(read.get("watermark"), "read.watermark")
        return [Receipt(page, _sender(event), DeliveryStatus.READ, (), up_to)]
    return []


def _message(page: str, sender: str, message: dict[str, Any]) -> CustomerMessage:
    mid = meta.string(message.get("mid"), "message.mid", max_chars=meta.MAX_EXTERNAL_ID)
    # A tapped quick reply arrives as its title in `text`, with its payload beside it.
    words = meta.optional_string(message.get("text"), "message.text")
    attachments = tuple(
        _attachment(meta.obj(a, "message.attachments[]"))
        for a in meta.lst(message.get("attachments"), "message.attachments", optional=True)
    )
    text = text_for(words or "", attachments)
    if not text.strip():
        text = "[The customer sent a kind of message Messenger does not pass on]"
    return CustomerMessage(page, sender, meta.text(text, "message.text"), mid, None, attachments)


def _attachment(attachment: dict[str, Any]) -> Attachment:
    kind = attachment.get("type")
    payload = attachment.get("payload")
    url = payload.get("url") if isinstance(payload, dict) else None
    return Attachment(
        content_type=_CONTENT_TYPES.get(kind, "application/octet-stream")
        if isinstance(kind, str)
        else "application/octet-stream",
        url=meta.optional_string(url, "message.attachments[].payload.url"),
    )


def _postback(page: str, sender: str, event: dict[str, Any]) -> CustomerMessage:
    """A tapped button: its title is what the customer "said"."""
    postback = meta.obj(event["postback"], "postback")
    title = meta.optional_string(postback.get("title"), "postback.title")
    said = title if title and title.strip() else postback.get("payload")
    text = meta.text(said, "postback.title")
    mid = meta.optional_string(postback.get("mid"), "postback.mid", max_chars=200)
    if mid is None:
        # Older postbacks carry no id: the sender and the instant make one, the same
        # on every retry of the webhook.
        at = _instant(event.get("timestamp"), "timestamp")
        made = f"postback:{sender}:{int(at.timestamp() * 1000)}"
        if len(made) > meta.MAX_EXTERNAL_ID:
            raise MalformedPayload("the sender id is too long", field="sender.id")
        mid = made
    return CustomerMessage(page, sender, text, mid)


def _instant(value: Any, where: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < MAX_EPOCH_MS:
        raise MalformedPayload(f"{where} is not a time in epoch milliseconds", field=where)
    return datetime.fromtimestamp(value / 1000, UTC)


# -- sending --------------------------------------------------------------------------


def message_body(request: OutboundRequest) -> dict[str, Any]:
    """Inside the window a RESPONSE; outside it only a tagged message may go (the
    service has checked the tag against the window before the message was stored)."""
    message: dict[str, Any] = {"text": request.text, "metadata": str(request.message_id)}
    suggestions = request.suggestions
    if suggestions and (
        len(suggestions) <= MAX_QUICK_REPLIES
        and all(len(s) <= MAX_QUICK_REPLY_TITLE for s in suggestions)
    ):
        message["quick_replies"] = [
            {"content_type": "text", "title": s, "payload": s} for s in suggestions
        ]
    else:
        message["text"] = with_numbered_options(request.text, suggestions)
    body: dict[str, Any] = {"recipient": {"id": request.to}, "message": message}
    if request.tag is not None:
        return {**body, "messaging_type": "MESSAGE_TAG", "tag": request.tag}
    return {**body, "messaging_type": "RESPONSE"}


class MessengerPage:
    name: ClassVar[str] = "messenger"
    channel: ClassVar[str] = "messenger"
    secret_parts: ClassVar[tuple[str, ...]] = ("app_secret", "page_access_token", "verify_token")
    # The Send API takes no idempotency key: a send whose outcome is unknown is not
    # repeated (core.outbox).
    idempotent: ClassVar[bool] = False
    rich_replies: ClassVar[bool] = True
    # 24 hours after the customer's last message; then only tagged messages: a
    # person's reply up to 7 days after (HUMAN_AGENT), and three kinds of
    # non-promotional update at any time.
    window: ClassVar[WindowRule | None] = WindowRule(
        timedelta(hours=24),
        tags={
            "HUMAN_AGENT": timedelta(days=7),
            "ACCOUNT_UPDATE": None,
            "CONFIRMED_EVENT_UPDATE": None,
            "POST_PURCHASE_UPDATE": None,
        },
    )
    status_path: ClassVar[str | None] = None
    keywords: ClassVar[bool] = False
    options: ClassVar[frozenset[str]] = frozenset()
    # The Meta app's id, and the page's.
    account_pattern: ClassVar[str] = meta.ID_PATTERN
    address_pattern: ClassVar[str] = meta.ID_PATTERN

    async def send(
        self,
        http: httpx.AsyncClient,
        urls: ProviderUrls,
        conn: Connection,
        secrets: Secrets,
        request: OutboundRequest,
        now: datetime,
    ) -> SendOutcome:
        del now
        token = secrets.require(conn.secret_name, "page_access_token")
        answer = await post(
            http,
            f"{urls.meta}/{urls.meta_version}/me/messages",
            json=message_body(request),
            headers={"Authorization": f"Bearer {token}"},
        )
        if not isinstance(answer, httpx.Response):
            return answer
        if answer.is_success:
            mid = json_of(answer).get("message_id")
            if isinstance(mid, str) and mid:
                return Accepted(mid)
            return Unknown(f"Messenger answered {answer.status_code} without a message id")
        error = meta.graph_error(answer)
        if error.code == PERMISSION and error.subcode == OUTSIDE_WINDOW:
            return Rejected(
                f"Messenger error {PERMISSION}: sent outside the 24-hour window; after it a "
                "message needs a message tag (HUMAN_AGENT for a person's reply within 7 days)"
            )
        token_name = meta.token_name(conn.secret_name, "page_access_token", "page access token")
        return meta.refusal(answer, error, "Messenger", token_name)
