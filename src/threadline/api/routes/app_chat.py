"""The in-app chat API, for a business's own app: its signed-in customer's thread.

Every call carries the identity the business's back end signed for the customer
(`Authorization: Bearer <JWT>`) and the inbox's app key (`X-Threadline-App-Key`); the
WebSocket takes both in its hello. Once verified, the customer is served by the web
chat's own handlers (routes.widget, routes.widget_stream): the same thread, messages,
receipts, typing and live events, on the same terms.

WebSocket `/api/v1/app/stream` (JSON text frames), as the widget's stream:
  client → {"type": "hello", "token": "<JWT>", "key": "<app key>", "after": <seq>?}
  server → {"type": "ready", "seq": N}, then {"type": "event", "event": {...}} and
           {"type": "typing", ...} frames
Close codes: 4400 bad hello, 4401 identity refused or expired (the reason starts with
its code), 4409 too far behind, 1013 the server lacks the app's secret.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from threadline.adapters.identity_tokens import MAX_TOKEN_CHARS
from threadline.adapters.stream import Subscription
from threadline.api.context import AppContext, ws_ctx
from threadline.api.routes import widget
from threadline.api.routes.widget_stream import render_visitor_event, subscribe_visitor
from threadline.api.security import Ctx
from threadline.api.websocket import read_hello, serve_subscription
from threadline.core.errors import DomainError, Unauthenticated
from threadline.core.widgets import Visitor
from threadline.service import app_chat

router = APIRouter(tags=["in-app chat"], prefix="/app")

_identity_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AppIdentity",
    description="A JWT the business's back end signed for the customer (HS256 or RS256, "
    "as the inbox is set up): sub, the customer's id; exp, at most 24 h ahead.",
)


async def admit(ctx: AppContext, key: str, token: str) -> Visitor:
    """The verified customer: a read when they are known, a write on their first call."""
    known = await ctx.tx.read(
        lambda uow: app_chat.known_visitor(uow, ctx.secrets, key, token, ctx.now())
    )
    if known is not None:
        return known
    return await ctx.tx.write(
        lambda uow: app_chat.admitted_visitor(uow, ctx.secrets, key, token, ctx.now())
    )


async def current_customer(
    ctx: Ctx,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_identity_bearer)],
    x_threadline_app_key: Annotated[
        str | None, Header(max_length=64, description="The inbox's app key")
    ] = None,
) -> Visitor:
    if credentials is None or not credentials.credentials:
        raise Unauthenticated(
            "the identity your back end signed for the customer is required as a bearer token"
        )
    return await admit(ctx, x_threadline_app_key or "", credentials.credentials)


CurrentCustomer = Annotated[Visitor, Depends(current_customer)]


@router.get("/messages", response_model=widget.ThreadOut)
async def thread(
    ctx: Ctx,
    customer: CurrentCustomer,
    after_seq: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> widget.ThreadOut:
    """The customer's thread (after `after_seq`). Agents' messages fetched here are
    delivered; `event_seq` is where the stream resumes from."""
    return await widget.thread(ctx, customer, after_seq)


@router.post(
    "/messages",
    response_model=widget.WidgetMessageOut,
    status_code=201,
    responses={
        200: {"model": widget.WidgetMessageOut, "description": "Sent before: the stored message"}
    },
)
async def send(
    body: widget.WidgetSendIn, ctx: Ctx, customer: CurrentCustomer, response: Response
) -> widget.WidgetMessageOut:
    """201 with the new message; 200 with the stored one when `client_id` was sent before."""
    return await widget.send(body, ctx, customer, response)


@router.post("/read", status_code=204, response_class=Response)
async def read(body: widget.WidgetReadIn, ctx: Ctx, customer: CurrentCustomer) -> Response:
    """The customer has seen the thread up to `up_to_seq`: agents' messages are read."""
    return await widget.read(body, ctx, customer)


@router.post("/typing", status_code=204, response_class=Response)
async def typing(body: widget.WidgetTypingIn, ctx: Ctx, customer: CurrentCustomer) -> Response:
    """Shown live on the agent's desk; nothing is stored."""
    return await widget.typing(body, ctx, customer)


@router.websocket("/stream")
async def stream(websocket: WebSocket) -> None:
    ctx = ws_ctx(websocket)
    await websocket.accept()
    hello = await read_hello(websocket, max_token_chars=MAX_TOKEN_CHARS, with_key=True)
    if hello is None:
        return
    key, token = hello.key or "", hello.token

    async def subscribe() -> Subscription:
        return await subscribe_visitor(ctx, await admit(ctx, key, token), hello.after)

    async def still_valid() -> bool:
        # The identity expires (or the inbox's key changes): the app signs a fresh one
        # and reconnects from the last seq it saw.
        try:
            await ctx.tx.read(lambda uow: app_chat.verify(uow, ctx.secrets, key, token, ctx.now()))
        except DomainError:
            return False
        return True

    await serve_subscription(
        websocket,
        ctx.stream,
        subscribe,
        render_visitor_event,
        still_valid,
        ctx.settings.stream_recheck_seconds,
    )
