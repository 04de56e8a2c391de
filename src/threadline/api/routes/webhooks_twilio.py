"""Twilio's webhooks: inbound SMS/MMS and message status callbacks.

Both are form posts signed with X-Twilio-Signature over the URL Twilio called and the
sorted parameters. Twilio is answered with an empty TwiML response: replies go through
the outbox, never inline, so they are retried like any other.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from threadline.adapters.providers import twilio
from threadline.adapters.providers.base import BadSignature, Connection, MalformedPayload
from threadline.adapters.providers.signing import same, twilio_signature
from threadline.api import webhooks
from threadline.api.security import Ctx
from threadline.core.inboxes import Inbox

router = APIRouter(tags=["webhooks"], prefix="/webhooks/twilio", include_in_schema=True)

_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
_HEADER = "X-Twilio-Signature"


async def _verified(
    request: Request, ctx: Ctx, business_of: str
) -> tuple[twilio.Form, Connection, Inbox]:
    signature = webhooks.require_signature(request.headers.get(_HEADER), _HEADER)
    raw = await request.body()
    try:
        form = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayload(
            "the body is not a form (application/x-www-form-urlencoded)"
        ) from exc
    business = twilio.business_of(form) if business_of == "To" else twilio.sender_of(form)
    conn, inbox = await webhooks.connection(ctx, twilio.TwilioSms.name, business)
    token = webhooks.secret(ctx, conn, "auth_token")
    if not same(signature, twilio_signature(webhooks.public_url(ctx, request), form, token)):
        raise BadSignature(f"the {_HEADER} does not match this request")
    if twilio.account_of(form) != conn.account:
        raise BadSignature("the AccountSid is not this number's account", code="unknown_account")
    return form, conn, inbox


@router.post("/sms", response_class=Response)
async def inbound_sms(request: Request, ctx: Ctx) -> Response:
    """A customer's SMS or MMS. A retry of one already stored answers 200 as well."""
    form, conn, inbox = await _verified(request, ctx, "To")
    await webhooks.deliver(ctx, conn, inbox, twilio.parse_message(form))
    return Response(_EMPTY_TWIML, media_type="application/xml")


@router.post("/status", status_code=204, response_class=Response)
async def status_callback(request: Request, ctx: Ctx, message: str | None = None) -> Response:
    """A delivery status of one of our messages; `message` is our id, put in the
    callback URL when the message was sent (and covered by the signature)."""
    form, conn, _ = await _verified(request, ctx, "From")
    await webhooks.report(ctx, conn, [twilio.parse_status(form, message)])
    return Response(status_code=204)
