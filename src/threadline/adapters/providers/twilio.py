"""SMS and MMS through Twilio's Programmable Messaging.

Inbound messages and status callbacks are form posts signed with X-Twilio-Signature;
outbound messages go through the Messages API with the account's SID and auth token.
Each message names its own status callback URL, carrying our message id, so a callback
that overtakes the answer to our send still finds its message.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

import httpx

from threadline.adapters.providers.base import (
    Connection,
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
from threadline.core.messages import Attachment, DeliveryStatus
from threadline.core.outbox import Accepted, Rejected, SendOutcome
from threadline.core.rich import with_numbered_options
from threadline.core.windows import WindowRule

Form = Sequence[tuple[str, str]]

_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
# Twilio writes SIDs in lower case and compares them exactly, as we do.
_ACCOUNT = re.compile(r"^AC[0-9a-f]{32}$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# Twilio allows ten media items a message.
MAX_MEDIA = 10

# Twilio's MessageStatus values and what they mean for Threadline; the in-between
# ones (queued, accepted, sending, scheduled) change nothing.
_STATUSES: dict[str, DeliveryStatus | None] = {
    "accepted": None,
    "scheduled": None,
    "queued": None,
    "sending": None,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}


def _one(form: Form, name: str, *, required: bool = True) -> str:
    values = [v for k, v in form if k == name]
    if len(values) > 1:
        raise MalformedPayload(f"{name} is given more than once", field=name)
    if not values:
        if required:
            raise MalformedPayload(f"{name} is missing", field=name)
        return ""
    return values[0]


def business_of(form: Form) -> str:
    """The business number a webhook names, to find its connection (and its token):
    checked for the shape of a number before anything is looked up with it."""
    return _address(form, "To")


def _address(form: Form, name: str) -> str:
    value = _one(form, name)
    if not _E164.match(value):
        raise MalformedPayload(f"{name} is not a phone number (E.164)", field=name)
    return value


def sender_of(form: Form) -> str:
    """The number a status callback's message came from: ours, naming the connection."""
    return _address(form, "From")


def account_of(form: Form) -> str:
    account = _one(form, "AccountSid")
    if not _ACCOUNT.match(account):
        raise MalformedPayload("AccountSid is not a Twilio account SID", field="AccountSid")
    return account


def parse_message(form: Form) -> CustomerMessage:
    sid = _one(form, "MessageSid")
    if not _SID.match(sid):
        raise MalformedPayload("MessageSid is not a Twilio message SID", field="MessageSid")
    # A customer's number, E.164 as Twilio sends it: a short code or an alphanumeric
    # sender is no customer we can answer, and is refused here, not deeper in.
    sender = _address(form, "From")
    count = _one(form, "NumMedia", required=False) or "0"
    if not (count.isascii() and count.isdigit()) or int(count) > MAX_MEDIA:
        raise MalformedPayload(f"NumMedia is a count of 0-{MAX_MEDIA}", field="NumMedia")
    media = tuple(
        Attachment(
            content_type=_one(form, f"MediaContentType{i}") or "application/octet-stream",
            url=_one(form, f"MediaUrl{i}"),
        )
        for i in range(int(count))
    )
    body = _one(form, "Body", required=False)
    text = text_for(body, media)
    if not text:
        raise MalformedPayload("a message with neither Body nor media", field="Body")
    # Shown as the customer's name (at most 128 characters are kept); never required.
    name = _one(form, "ProfileName", required=False)[:128].strip() or None
    return CustomerMessage(business_of(form), sender, text, sid, name, media)


def parse_status(form: Form, reference: str | None) -> StatusReport:
    sid = _one(form, "MessageSid")
    if not _SID.match(sid):
        raise MalformedPayload("MessageSid is not a Twilio message SID", field="MessageSid")
    reported = _one(form, "MessageStatus")
    if not reported:
        raise MalformedPayload("MessageStatus is empty", field="MessageStatus")
    code = _one(form, "ErrorCode", required=False)
    ref = None
    if reference:
        try:
            ref = uuid.UUID(reference)
        except ValueError as exc:
            raise MalformedPayload("the callback's message reference is not an id") from exc
    business = sender_of(form)
    error = f"Twilio error {code}" if code and code != "0" else None
    # A status Twilio adds later, or one for inbound messages (receiving, received),
    # changes nothing rather than making Twilio retry.
    return StatusReport(business, sid, _STATUSES.get(reported), error, ref)


class TwilioSms:
    name: ClassVar[str] = "twilio"
    channel: ClassVar[str] = "sms"
    secret_parts: ClassVar[tuple[str, ...]] = ("auth_token",)
    # The Messages API has no idempotency key: a send whose outcome is unknown is not
    # repeated (core.outbox).
    idempotent: ClassVar[bool] = False
    rich_replies: ClassVar[bool] = False
    window: ClassVar[WindowRule | None] = None
    status_path: ClassVar[str | None] = "/webhooks/twilio/status"
    keywords: ClassVar[bool] = True
    options: ClassVar[frozenset[str]] = frozenset({"keyword_replies", "messaging_service_sid"})
    account_pattern: ClassVar[str] = _ACCOUNT.pattern
    address_pattern: ClassVar[str] = _E164.pattern

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
        service = conn.options.get("messaging_service_sid")
        form = {
            "To": request.to,
            "Body": with_numbered_options(request.text, request.suggestions),
            **({"MessagingServiceSid": service} if service else {"From": conn.address}),
            **({"StatusCallback": request.status_callback} if request.status_callback else {}),
        }
        url = f"{urls.twilio}/2010-04-01/Accounts/{conn.account}/Messages.json"
        auth = (conn.account, secrets.require(conn.secret_name, "auth_token"))
        answer = await post(http, url, data=form, auth=auth)
        if not isinstance(answer, httpx.Response):
            return answer
        body = json_of(answer)
        if answer.status_code in (200, 201) and isinstance(body.get("sid"), str):
            if body.get("status") == "failed":
                return Rejected(
                    f"Twilio error {body.get('error_code')}: {body.get('error_message')}"
                )
            return Accepted(body["sid"])
        return refused(
            answer,
            f"Twilio error {body.get('code', answer.status_code)}: "
            f"{body.get('message', answer.reason_phrase)}",
        )
