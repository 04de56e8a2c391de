"""A web chat visitor's live updates: a WebSocket, or long polling where one is blocked.

WebSocket `/api/v1/widget/stream` (JSON text frames):
  client → {"type": "hello", "token": "<visitor token>", "after": <event_seq, optional>}
  server → {"type": "ready", "seq": N}
  server → {"type": "event", "event": {"seq": N, "kind": "message"|"read"|"closed", …}}
  server → {"type": "typing", "typing": bool, "name": "<agent>"}   (ephemeral, no seq)
Close codes as the agents' stream: 4400 bad hello, 4401 bad token, 4409 reload.

`GET /api/v1/widget/events?after=N&wait=S` answers the same events as one JSON body,
waiting up to S seconds for the first: what a browser behind a proxy that blocks
WebSockets polls instead.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, WebSocket
from pydantic import BaseModel, Field

from threadline.adapters.repositories.events import StoredEvent
from threadline.adapters.stream import Signal, Subscription, TooFarBehind
from threadline.api.context import AppContext, ws_ctx
from threadline.api.routes.widget import CurrentVisitor
from threadline.api.security import Ctx
from threadline.api.websocket import receive_hello, serve_subscription
from threadline.core.errors import Unauthenticated
from threadline.core.widgets import Visitor
from threadline.service import visitors

router = APIRouter(tags=["web chat"], prefix="/widget")

# Under the 30-60 s idle timeouts of common proxies and load balancers, so a held poll
# is answered before something in between gives up on it.
MAX_WAIT = 25.0
# A long-poll answer carries what is there once the first event arrives, and whatever
# follows within this moment: one answer for a burst, not one poll per event.
GATHER_SECONDS = 0.05


class PollOut(BaseModel):
    events: list[dict[str, Any]]
    typing: bool | None = Field(
        description="The agent's latest typing notice during the wait, if any."
    )
    seq: int = Field(description="Pass as the next `after`.")
    reset: bool = Field(
        default=False, description="Too far behind: refetch /widget/messages and poll on."
    )


async def subscribe_visitor(ctx: AppContext, visitor: Visitor, after: int | None) -> Subscription:
    conv = await ctx.tx.read(lambda uow: visitors.conversation_of(uow, visitor))
    audience = visitors.VisitorAudience(visitor, conv.id if conv else None)
    sub = await ctx.stream.subscribe(audience.events, after, signals=audience.signals)
    if audience.conversation_id is None:
        # Opened between that read and the stream's head: not in the replay, so read
        # again. (A client reloads the thread on every "ready", which covers the rest.)
        conv = await ctx.tx.read(lambda uow: visitors.conversation_of(uow, visitor))
        if conv is not None and audience.conversation_id is None:
            audience.conversation_id = conv.id
    return sub


@router.get("/events", response_model=PollOut)
async def poll(
    request: Request,
    ctx: Ctx,
    visitor: CurrentVisitor,
    after: Annotated[int, Query(ge=0, le=2**62)],
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT)] = MAX_WAIT,
) -> PollOut:
    try:
        sub = await subscribe_visitor(ctx, visitor, after)
    except TooFarBehind:
        head = await ctx.tx.read(lambda uow: uow.events.head())
        return PollOut(events=[], typing=None, seq=head, reset=True)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    events: list[dict[str, Any]] = []
    typing: bool | None = None
    first = asyncio.ensure_future(sub.queue.get())
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        # A client that gave up (a closed tab) frees its subscription at once.
        await asyncio.wait({first, gone}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        items: list[StoredEvent | Signal | None] = []
        if first.done():
            items.append(first.result())
            await asyncio.sleep(GATHER_SECONDS)
        else:
            first.cancel()  # a pending get gives its item up when cancelled
        # Whatever is queued now is answered now: `sub.delivered` counts it, and the
        # client resumes after it.
        while not sub.queue.empty():
            items.append(sub.queue.get_nowait())
        for item in items:
            if isinstance(item, Signal):
                typing = bool(item.frame["typing"])
            elif item is not None:
                events.append(visitors.visitor_event(item))
        return PollOut(events=events, typing=typing, seq=sub.delivered)
    finally:
        for task in (first, gone):
            task.cancel()
        ctx.stream.unsubscribe(sub)


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


@router.websocket("/stream")
async def stream(websocket: WebSocket) -> None:
    ctx = ws_ctx(websocket)
    await websocket.accept()
    hello = await receive_hello(websocket)
    if hello is None:
        return
    token, after = hello

    async def visitor() -> Visitor:
        return await ctx.tx.read(lambda uow: visitors.authenticate(uow, token, ctx.now()))

    async def subscribe() -> Subscription:
        return await subscribe_visitor(ctx, await visitor(), after)

    async def still_valid() -> bool:
        try:
            await visitor()
        except Unauthenticated:
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


def render_visitor_event(event: StoredEvent) -> str:
    return json.dumps({"type": "event", "event": visitors.visitor_event(event)})
