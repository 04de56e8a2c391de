"""Apple Messages for Business: the messages Apple's gateway forwards from customers'
devices to Threadline as messaging service provider.

The gateway authenticates with a Bearer JWT (HS256, the MSP's secret, audience the MSP
id) and names the business in `destination-id`. Apple appends /message to the MSP's
registered URL: registered as .../webhooks/apple, it posts to .../webhooks/apple/message,
and both are served. Typing indicators and a closed chat are acknowledged and dropped.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Request, Response

from threadline.adapters.providers import apple
from threadline.adapters.providers.base import BadSignature, MalformedPayload
from threadline.adapters.providers.signing import apple_token_valid
from threadline.api import webhooks
from threadline.api.security import Ctx

router = APIRouter(tags=["webhooks"], prefix="/webhooks/apple", include_in_schema=True)

_PROVIDER = apple.AppleBusiness.name


@router.post("", response_class=Response)
@router.post("/message", response_class=Response)
async def apple_message(request: Request, ctx: Ctx) -> Response:
    """A customer's message (200 once stored, or when it is a retry of one stored)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise BadSignature(
            "the Authorization header is missing or not a Bearer token", header="Authorization"
        )
    _, _, business = apple.required_headers(request.headers)
    conn, inbox = await webhooks.connection(ctx, _PROVIDER, business)
    secret = webhooks.secret(ctx, conn, "secret")
    if not apple_token_valid(token, secret, conn.account, ctx.now()):
        raise BadSignature("the Authorization token is not valid for this business's provider")
    limit = ctx.settings.webhook_max_body_bytes
    try:
        raw = apple.inflate(await request.body(), request.headers.get("Content-Encoding"), limit)
    except apple.TooLarge as exc:
        raise HTTPException(413, str(exc)) from exc
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload("the body is not JSON") from exc
    message = apple.parse(request.headers, body)
    if message is not None:
        await webhooks.deliver(ctx, conn, inbox, message)
    return Response(status_code=200)
