"""The agents' WebSocket: events that concern them, in order, resumable.

Protocol (JSON text frames):
  client → {"type": "hello", "token": "<agent token>", "after": <last seq seen, optional>}
  server → {"type": "ready", "seq": <the stream position now>, "now": <server time>}
  server → {"type": "event", "event": {"seq": N, "type": ..., ...}}   (in increasing seq)
  client → {"type": "ping"}  server → {"type": "pong"}
Close codes: 4400 bad hello, 4401 bad token, 4409 `after` too far behind (reload and
reconnect without it), 4408 the client fell too far behind while connected (reconnect
with the last seq you saw; nothing is lost).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, WebSocket

from threadline.adapters.repositories.events import StoredEvent
from threadline.adapters.stream import TooFarBehind, for_principal
from threadline.api.context import AppContext, ws_ctx
from threadline.api.websocket import close, pump, receive_hello
from threadline.service import agents, auth

router = APIRouter(tags=["stream"])


@router.websocket("/stream")
async def stream(websocket: WebSocket) -> None:
    ctx = ws_ctx(websocket)
    await websocket.accept()
    hello = await receive_hello(websocket)
    if hello is None:
        return
    token, after = hello
    principal = await ctx.tx.read(lambda uow: auth.principal_for(uow, token, ctx.now()))
    if principal is None:
        await close(websocket, 4401, "invalid or expired token")
        return
    try:
        sub = await ctx.stream.subscribe(
            for_principal(principal),
            after,
            # Typing notices for the conversations on this agent's desk.
            signals=lambda signal: signal.agent_id == principal.agent_id,
        )
    except TooFarBehind:
        await close(websocket, 4409, "too far behind: reload and reconnect without 'after'")
        return
    except ValueError as exc:
        await close(websocket, 4400, str(exc))
        return
    try:
        # The server's time, so that clients count down to respond-by times on the
        # server's clock rather than a laptop's that may be minutes off.
        now = ctx.now().isoformat()
        await websocket.send_json({"type": "ready", "seq": sub.delivered, "now": now})

        async def still_valid() -> bool:
            found = await ctx.tx.read(lambda uow: auth.principal_for(uow, token, ctx.now()))
            if found is not None:
                await _seen(ctx, principal.agent_id)
            return found is not None

        await _seen(ctx, principal.agent_id)

        await pump(
            websocket,
            sub,
            _render,
            still_valid,
            ctx.settings.stream_recheck_seconds,
        )
    finally:
        ctx.stream.unsubscribe(sub)


async def _seen(ctx: AppContext, agent_id: uuid.UUID) -> None:
    """The desk is connected: presence (agents.step_away_from_empty_desks) counts on it."""
    await ctx.tx.write(lambda uow: agents.seen_at_desk(uow, agent_id, ctx.now()))


def _render(event: StoredEvent) -> str:
    return f'{{"type":"event","event":{event.json_text}}}'
