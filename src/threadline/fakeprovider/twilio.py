"""Twilio's Programmable Messaging: the Messages resource, status callbacks, inbound SMS."""

from __future__ import annotations

import base64
import binascii
import math
import re
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from threadline.adapters.providers.signing import same, twilio_signature
from threadline.fakeprovider.core import FakeCore, FakeInputError, random_hex
from threadline.fakeprovider.state import SentMessage
from threadline.fakeprovider.webhooks import Webhook

API_VERSION = "2010-04-01"
INBOUND_PATH = "/webhooks/twilio/sms"
MAX_BODY = 1600
# The error a handset that cannot be reached produces on the status callback.
UNREACHABLE = 30003
# E.164, optionally behind the channel prefix Twilio uses for WhatsApp and Messenger.
_E164 = re.compile(r"^(?:whatsapp:)?\+[1-9]\d{6,14}$")

# GSM 03.38: a message in this alphabet fits 160 characters a segment (153 once split);
# any other character makes the whole message UCS-2, at 70 (67) UTF-16 units.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def segments(body: str) -> int:
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in body):
        septets = sum(2 if c in _GSM_EXTENDED else 1 for c in body)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def error_shape(status: int) -> dict[str, Any]:
    # Twilio's REST errors for plain HTTP failures are numbered 20000 + the status.
    return error(20000 + status, HTTPStatus(status).phrase, status)


def error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _refuse(code: int, message: str, status: int = 400) -> JSONResponse:
    return JSONResponse(error(code, message, status), status_code=status)


def _basic_auth(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class TwilioApi:
    def __init__(self, core: FakeCore) -> None:
        self.core = core

    def routes(self) -> list[BaseRoute]:
        return [
            Route(
                f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json",
                self.create_message,
                methods=["POST"],
            )
        ]

    async def create_message(self, request: Request) -> Response:
        account_sid = request.path_params["account_sid"]

        async def authorize() -> Response | None:
            credentials = _basic_auth(request)
            token = self.core.accounts.twilio.get(account_sid)
            if (
                credentials is None
                or token is None
                or credentials[0] != account_sid
                or not same(credentials[1], token)
            ):
                refusal = _refuse(20003, "Authenticate", 401)
                refusal.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
                return refusal
            return None

        async def process(key: str | None) -> Response:
            form = parse_qsl(
                (await request.body()).decode(errors="replace"), keep_blank_values=True
            )
            return self._accept(account_sid, form, key)

        return await self.core.send(
            request, "twilio", error_shape=error_shape, authorize=authorize, process=process
        )

    def _accept(self, account_sid: str, form: list[tuple[str, str]], key: str | None) -> Response:
        fields = dict(form)
        media = [value for name, value in form if name == "MediaUrl"]
        to = fields.get("To", "")
        sender = fields.get("From") or None
        service = fields.get("MessagingServiceSid") or None
        body = fields.get("Body", "")
        callback = fields.get("StatusCallback") or None
        if not to:
            return _refuse(21604, "A 'To' phone number is required.")
        if not _E164.match(to):
            return _refuse(21211, f"The 'To' number {to} is not a valid phone number.")
        if sender is None and service is None:
            return _refuse(21603, "A 'From' phone number is required.")
        if not body and not media:
            return _refuse(21602, "Message body is required.")
        if len(body) > MAX_BODY:
            return _refuse(21617, "The concatenated message body exceeds the 1600 character limit.")
        if callback is not None and urlsplit(callback).scheme not in ("http", "https"):
            return _refuse(21609, "The StatusCallback URL is not a valid URL.")

        sid = "SM" + random_hex(32)
        now = self.core.now()
        payload: dict[str, Any] = dict(fields)
        if media:
            payload["MediaUrl"] = media
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
        self.core.state.record(
            SentMessage(
                provider="twilio",
                id=sid,
                to=to,
                from_=sender or service,
                text=body or None,
                at=now,
                media=media,
                idempotency_key=key,
                payload=payload,
            )
        )
        if callback is not None:
            self._callbacks(account_sid, sid, to, sender, service, callback)
        stamp = format_datetime(now)
        resource = {
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": stamp,
            "date_sent": None,
            "date_updated": stamp,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": service,
            "num_media": str(len(media)),
            "num_segments": str(segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            # Twilio queues a send from a number; a Messaging Service first "accepts" it
            # while it picks the sender.
            "status": "queued" if sender is not None else "accepted",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": to,
            "uri": f"{uri}.json",
        }
        return JSONResponse(resource, status_code=201)

    def _callbacks(
        self, account_sid: str, sid: str, to: str, sender: str | None, service: str | None, url: str
    ) -> None:
        fails = to in self.core.state.undeliverable
        code = self.core.state.undeliverable.get(to) or UNREACHABLE
        final = "undelivered" if fails else "delivered"
        token = self.core.accounts.twilio[account_sid]

        def status(value: str) -> Webhook:
            params = [
                ("AccountSid", account_sid),
                ("ApiVersion", API_VERSION),
                ("From", sender or self.core.accounts.twilio_pool_number),
                ("MessageSid", sid),
                ("MessageStatus", value),
                ("SmsSid", sid),
                ("SmsStatus", value),
                ("To", to),
            ]
            if service is not None:
                params.append(("MessagingServiceSid", service))
            if value != "sent":
                # The carrier's delivery receipt time, YYMMDDhhmm, on final SMS statuses.
                params.append(("RawDlrDoneDate", self.core.now().strftime("%y%m%d%H%M")))
            if value == "undelivered":
                params.append(("ErrorCode", str(code)))
            return _signed(f"twilio.status.{value}", url, params, token)

        self.core.webhooks.later(
            self.core.accounts.status_delay_seconds,
            [lambda: status("sent"), lambda: status(final)],
        )


def _signed(kind: str, url: str, params: list[tuple[str, str]], token: str) -> Webhook:
    # The exact URL Twilio was given, query string and all, is what it signs.
    return Webhook(
        kind=kind,
        url=url,
        body=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(url, params, token),
            "I-Twilio-Idempotency-Token": random_hex(32),
        },
    )


class Media(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    content_type: str = "image/jpeg"


class TwilioInbound(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_sid: str | None = None
    """Defaults to the first configured account."""
    from_: str = Field(alias="from")
    to: str
    body: str = ""
    media: list[Media] = Field(default_factory=list)
    message_sid: str | None = None
    messaging_service_sid: str | None = None
    repeat: int = 1


def inbound_webhook(core: FakeCore, message: TwilioInbound) -> tuple[str, Webhook]:
    """An incoming SMS/MMS as Twilio posts it to the number's messaging webhook."""
    accounts = core.accounts.twilio
    account_sid = message.account_sid or next(iter(accounts), None)
    if account_sid is None or account_sid not in accounts:
        raise FakeInputError(f"unknown Twilio account {message.account_sid!r}")
    # Twilio names a message with media "MM…" and a plain text one "SM…".
    sid = message.message_sid or ("MM" if message.media else "SM") + random_hex(32)
    params = [
        ("AccountSid", account_sid),
        ("ApiVersion", API_VERSION),
        ("Body", message.body),
        ("From", message.from_),
        ("MessageSid", sid),
        ("NumMedia", str(len(message.media))),
        ("NumSegments", str(segments(message.body))),
        ("SmsMessageSid", sid),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("To", message.to),
    ]
    if message.messaging_service_sid is not None:
        params.append(("MessagingServiceSid", message.messaging_service_sid))
    for index, item in enumerate(message.media):
        params.append((f"MediaContentType{index}", item.content_type))
        params.append((f"MediaUrl{index}", item.url))
    url = core.accounts.webhook_url(INBOUND_PATH)
    return sid, _signed("twilio.inbound", url, params, accounts[account_sid])
