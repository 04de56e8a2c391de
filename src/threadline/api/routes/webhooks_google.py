"""Google's RCS Business Messaging webhook: user messages, delivery events, and the
verification request Google makes when the webhook is configured.

Pushes are signed (X-Goog-Signature over the decoded event) with the client token of
the connection their agent names. The verification request is not signed: whoever
knows a connection's client token is answered with the secret it sent, which is all
Google checks. Connect the inbox before configuring the webhook at Google, so the
token is known here when Google asks.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from threadline.adapters.providers import rbm
from threadline.adapters.providers.base import (
    BadSignature,
    CustomerMessage,
    MalformedPayload,
    StatusReport,
)
from threadline.adapters.providers.signing import rbm_signature, same
from threadline.api import webhooks
from threadline.api.context import AppContext
from threadline.api.security import Ctx
from threadline.service.unit_of_work import UnitOfWork

router = APIRouter(tags=["webhooks"], prefix="/webhooks/google", include_in_schema=True)

_HEADER = "X-Goog-Signature"
_PROVIDER = rbm.RbmRcs.name


@router.post("/rbm", response_class=Response)
async def rbm_push(request: Request, ctx: Ctx) -> Response:
    """A user message or event for one of our agents (200 once handled, or when it is
    a retry of one already handled), or Google's verification request."""
    signature = request.headers.get(_HEADER)
    raw = await request.body()
    try:
        pushed = rbm.decode(raw)
    except MalformedPayload:
        # Unsigned bytes are refused as unsigned, whatever they hold.
        webhooks.require_signature(signature, _HEADER)
        raise
    if isinstance(pushed, rbm.Handshake):
        return await _verification(ctx, pushed)
    signature = webhooks.require_signature(signature, _HEADER)
    conn, inbox = await webhooks.connection(ctx, _PROVIDER, rbm.agent_of(pushed.event))
    token = webhooks.secret(ctx, conn, "client_token")
    if not same(signature, rbm_signature(pushed.data, token)):
        raise BadSignature(f"the {_HEADER} does not match this event")
    found = rbm.parse(pushed.event)
    if isinstance(found, CustomerMessage):
        await webhooks.deliver(ctx, conn, inbox, found)
    elif isinstance(found, StatusReport):
        await webhooks.report(ctx, conn, [found])
    elif found is not None:
        await webhooks.consent(ctx, inbox, found)
    return Response(status_code=200)


async def _verification(ctx: AppContext, handshake: rbm.Handshake) -> Response:
    for name in await ctx.tx.read(_secret_names):
        token = ctx.secrets.get(name, "client_token")
        if token and same(handshake.client_token, token):
            return PlainTextResponse(handshake.secret)
    raise BadSignature(
        "the clientToken is not the client token of any RBM connection here",
        code="unknown_client_token",
    )


async def _secret_names(uow: UnitOfWork) -> list[str]:
    return await uow.connections.secret_names(_PROVIDER)
