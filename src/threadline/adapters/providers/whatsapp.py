"""WhatsApp through Meta's Cloud API.

Webhooks (meta.py: envelope, signature, handshake) carry customers' messages and the
statuses of ours, each change naming the business phone number id it concerns. Sends
go to the Graph API's messages endpoint of that number with the system user's access
token. Every send carries our message id as `biz_opaque_callback_data`, which Meta
echoes in that message's status webhooks, so a status that overtakes the answer to our
send (whose id we would not know yet) still finds its message.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from threadline.adapters.providers import meta
from threadline.adapters.providers.base import (
    Connection,
    CustomerMessage,
    Inbound,
    MalformedPayload,
    OutboundRequest,
    ProviderUrls,
    Secrets,
    StatusReport,
    json_of,
    post,
    text_for,
)
from threadline.core.messages import Attachment, DeliveryStatus
from threadline.core.outbox import Accepted, Rejected, SendOutcome, Unknown
from threadline.core.rich import with_numbered_options
from threadline.core.windows import WindowRule

OBJECT = "whatsapp_business_account"
MEDIA = ("image", "document", "audio", "video", "sticker")
# Meta's limits on interactive messages (reply buttons and lists).
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_INTERACTIVE_BODY = 1024
LIST_BUTTON = "Choose"
RE_ENGAGEMENT = 131047

# The statuses Meta reports and what they mean for Threadline; others ("deleted",
# "warning", ones yet to come) change nothing.
_STATUSES: dict[str, DeliveryStatus] = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    # A voice message listened to: it was read.
    "played": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}


# -- webhooks -------------------------------------------------------------------------


def _changes(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """An entry's changes about messages; other fields (template reviews, account
    updates…) are not for us."""
    changes = [meta.obj(c, "changes[]") for c in meta.lst(entry.get("changes"), "changes")]
    return [
        meta.obj(c.get("value"), "changes[].value") for c in changes if c.get("field") == "messages"
    ]


def _business(value: dict[str, Any]) -> str:
    metadata = meta.obj(value.get("metadata"), "value.metadata")
    return meta.meta_id(metadata.get("phone_number_id"), "value.metadata.phone_number_id")


def named(entries: Sequence[dict[str, Any]]) -> dict[str, set[str]]:
    """The business phone number ids a webhook body names, each with the business
    accounts (entry ids) it names it under: every one must be ours and sign the body."""
    found: dict[str, set[str]] = {}
    for entry in entries:
        account = meta.meta_id(entry.get("id"), "entry[].id")
        for value in _changes(entry):
            found.setdefault(_business(value), set()).add(account)
    return found


def parse(entries: Sequence[dict[str, Any]]) -> list[Inbound]:
    """Customer messages and status reports, in the order Meta gave them. Raises
    MalformedPayload for any event of the wrong shape, so a body is taken whole or not
    at all; kinds of message Threadline does not show (reactions, orders…) are skipped."""
    found: list[Inbound] = []
    for entry in entries:
        for value in _changes(entry):
            business = _business(value)
            contacts = [
                meta.obj(c, "contacts[]")
                for c in meta.lst(value.get("contacts"), "contacts", optional=True)
            ]
            for item in meta.lst(value.get("messages"), "messages", optional=True):
                message = parse_message(business, meta.obj(item, "messages[]"), contacts)
                if message is not None:
                    found.append(message)
            for item in meta.lst(value.get("statuses"), "statuses", optional=True):
                found.append(parse_status(business, meta.obj(item, "statuses[]")))
    return found


def _sender(item: dict[str, Any], contacts: list[dict[str, Any]]) -> str:
    sender = item.get("from")
    if not sender and len(contacts) == 1:
        # Customers who adopted a WhatsApp username may come without a phone number:
        # their business-scoped user id stands in for it.
        sender = contacts[0].get("user_id")
    return meta.address(sender, "messages[].from")


def _name(sender: str, contacts: list[dict[str, Any]]) -> str | None:
    matching = [c for c in contacts if sender in (c.get("wa_id"), c.get("user_id"))]
    contact = matching[0] if matching else contacts[0] if len(contacts) == 1 else None
    profile = contact.get("profile") if contact else None
    return meta.name(profile.get("name")) if isinstance(profile, dict) else None


def parse_message(
    business: str, item: dict[str, Any], contacts: list[dict[str, Any]]
) -> CustomerMessage | None:
    kind = item.get("type")
    if not isinstance(kind, str):
        raise MalformedPayload("messages[].type is not a string", field="messages[].type")
    attachments: tuple[Attachment, ...] = ()
    if kind == "text":
        body = meta.text(meta.obj(item.get("text"), "text").get("body"), "text.body")
    elif kind in MEDIA:
        media = meta.obj(item.get(kind), kind)
        caption = meta.optional_string(media.get("caption"), f"{kind}.caption")
        attachments = (
            Attachment(
                content_type=meta.optional_string(
                    media.get("mime_type"), f"{kind}.mime_type", max_chars=255
                )
                or "application/octet-stream",
                media_id=meta.string(media.get("id"), f"{kind}.id", max_chars=255),
                caption=caption,
            ),
        )
        body = text_for(caption or "", attachments)
    elif kind == "interactive":
        interactive = meta.obj(item.get("interactive"), "interactive")
        reply_kind = interactive.get("type")
        if reply_kind not in ("button_reply", "list_reply"):
            return None  # a flow's answer, a payment…: not a message of the thread
        reply = meta.obj(interactive.get(reply_kind), f"interactive.{reply_kind}")
        body = meta.text(reply.get("title"), f"interactive.{reply_kind}.title")
    elif kind == "button":
        # A quick-reply button of a template.
        body = meta.text(meta.obj(item.get("button"), "button").get("text"), "button.text")
    elif kind == "location":
        body = _location(meta.obj(item.get("location"), "location"))
    elif kind == "unsupported":
        unsupported = item.get("unsupported")
        what = meta.line(unsupported.get("type"), 64) if isinstance(unsupported, dict) else None
        detail = f" ({what})" if what else ""
        body = f"[The customer sent a kind of message WhatsApp does not pass on{detail}]"
    else:
        return None  # reactions, orders, system notices…
    external_id = meta.string(item.get("id"), "messages[].id", max_chars=meta.MAX_EXTERNAL_ID)
    sender = _sender(item, contacts)
    return CustomerMessage(
        business, sender, body, external_id, _name(sender, contacts), attachments
    )


def _location(location: dict[str, Any]) -> str:
    latitude = meta.number(location.get("latitude"), "location.latitude")
    longitude = meta.number(location.get("longitude"), "location.longitude")
    label = ", ".join(
        part
        for key in ("name", "address")
        if (part := meta.optional_string(location.get(key), f"location.{key}", max_chars=1024))
    )
    where = f"{latitude:.6f}, {longitude:.6f}"
    return f"Shared a location: {label} ({where})" if label else f"Shared a location: {where}"


def parse_status(business: str, item: dict[str, Any]) -> StatusReport:
    external_id = meta.string(item.get("id"), "statuses[].id", max_chars=meta.MAX_EXTERNAL_ID)
    reported = meta.string(item.get("status"), "statuses[].status", max_chars=64)
    status = _STATUSES.get(reported)
    error = None
    if status is DeliveryStatus.FAILED:
        errors = meta.lst(item.get("errors"), "statuses[].errors", optional=True)
        error = _error(errors[0]) if errors else "WhatsApp reported the message failed"
    return StatusReport(
        business, external_id, status, error, _reference(item.get("biz_opaque_callback_data"))
    )


def _error(found: Any) -> str:
    error = meta.obj(found, "statuses[].errors[]")
    code = error.get("code")
    text = meta.line(error.get("message"), 512) or meta.line(error.get("title"), 512)
    number = code if isinstance(code, int) and not isinstance(code, bool) else "?"
    return f"WhatsApp error {number}: {text or 'no reason given'}"


def _reference(value: Any) -> uuid.UUID | None:
    """Our message id, echoed back; anything else there (another application's data,
    sent from the same number) names none of our messages."""
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# -- sending --------------------------------------------------------------------------


def message_body(request: OutboundRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": request.to,
        "biz_opaque_callback_data": str(request.message_id),
    }
    if request.template is not None:
        template: dict[str, Any] = {
            "name": request.template.name,
            "language": {"code": request.template.language},
        }
        if request.template.parameters:
            parameters = [{"type": "text", "text": p} for p in request.template.parameters]
            template["components"] = [{"type": "body", "parameters": parameters}]
        return {**body, "type": "template", "template": template}
    interactive = _interactive(request.text, request.suggestions)
    if interactive is not None:
        return {**body, "type": "interactive", "interactive": interactive}
    text = with_numbered_options(request.text, request.suggestions)
    return {**body, "type": "text", "text": {"body": text, "preview_url": False}}


def _interactive(text: str, suggestions: tuple[str, ...]) -> dict[str, Any] | None:
    """Reply buttons for up to three short suggestions, else a list; None where
    WhatsApp's limits allow neither (the suggestions are then written into the text)."""
    if not suggestions or len(text) > MAX_INTERACTIVE_BODY:
        return None
    if len(suggestions) <= MAX_BUTTONS and all(len(s) <= MAX_BUTTON_TITLE for s in suggestions):
        buttons = [{"type": "reply", "reply": {"id": s, "title": s}} for s in suggestions]
        return {"type": "button", "body": {"text": text}, "action": {"buttons": buttons}}
    if len(suggestions) <= MAX_ROWS and all(len(s) <= MAX_ROW_TITLE for s in suggestions):
        rows = [{"id": s, "title": s} for s in suggestions]
        return {
            "type": "list",
            "body": {"text": text},
            "action": {"button": LIST_BUTTON, "sections": [{"rows": rows}]},
        }
    return None


class WhatsAppCloud:
    name: ClassVar[str] = "whatsapp"
    channel: ClassVar[str] = "whatsapp"
    secret_parts: ClassVar[tuple[str, ...]] = ("app_secret", "access_token", "verify_token")
    # The Graph API takes no idempotency key: a send whose outcome is unknown is not
    # repeated (core.outbox).
    idempotent: ClassVar[bool] = False
    rich_replies: ClassVar[bool] = True
    window: ClassVar[WindowRule | None] = WindowRule(timedelta(hours=24), templates_outside=True)
    # Statuses come to the app's webhook, naming the number.
    status_path: ClassVar[str | None] = None
    keywords: ClassVar[bool] = False
    options: ClassVar[frozenset[str]] = frozenset({"templates"})
    # The WhatsApp Business Account id, and the business phone number's id.
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
        token = secrets.require(conn.secret_name, "access_token")
        url = f"{urls.meta}/{urls.meta_version}/{conn.address}/messages"
        answer = await post(
            http,
            url,
            json=message_body(request),
            headers={"Authorization": f"Bearer {token}"},
        )
        if not isinstance(answer, httpx.Response):
            return answer
        if answer.is_success:
            messages = json_of(answer).get("messages")
            first = messages[0] if isinstance(messages, list) and messages else None
            wamid = first.get("id") if isinstance(first, dict) else None
            if isinstance(wamid, str) and wamid:
                return Accepted(wamid)
            return Unknown(f"WhatsApp answered {answer.status_code} without a message id")
        error = meta.graph_error(answer)
        if error.code == RE_ENGAGEMENT:
            return Rejected(
                f"WhatsApp error {RE_ENGAGEMENT}: more than 24 hours have passed since the "
                "customer last wrote, so only an approved template can be sent until they "
                "write again"
            )
        token_name = meta.token_name(conn.secret_name, "access_token", "access token")
        return meta.refusal(answer, error, "WhatsApp", token_name)
