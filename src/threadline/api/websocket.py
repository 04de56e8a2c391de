"""A stream subscription over a WebSocket, shared by agents' and visitors' streams: the
hello that opens it, then pumping its events down."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from threadline.adapters.repositories.events import StoredEvent
from threadline.adapters.stream import Signal, Subscription

# Long enough for a slow mobile network to send one frame, short enough that idle
# unauthenticated sockets do not pile up.
HELLO_TIMEOUT = 10.0


async def receive_hello(websocket: WebSocket) -> tuple[str, int | None] | None:
    """The client's `{"type": "hello", "token", "after"?}`: its token and resume position.
    Anything else closes the socket with 4400 and gives None."""
    try:
        data = json.loads(await asyncio.wait_for(websocket.receive_text(), HELLO_TIMEOUT))
    except (TimeoutError, ValueError, WebSocketDisconnect, KeyError, RuntimeError):
        await close(websocket, 4400, "expected a hello frame")
        return None
    hello = _parse_hello(data)
    if hello is None:
        await close(websocket, 4400, "hello needs a token and an optional integer 'after'")
    return hello


def _parse_hello(data: Any) -> tuple[str, int | None] | None:
    if not isinstance(data, dict) or data.get("type") != "hello":
        return None
    token, after = data.get("token"), data.get("after")
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    if after is not None and (isinstance(after, bool) or not isinstance(after, int)):
        return None
    return token, after


async def pump(
    websocket: WebSocket,
    sub: Subscription,
    render: Callable[[StoredEvent], str],
    still_valid: Callable[[], Awaitable[bool]] | None = None,
    recheck_seconds: float = 30.0,
) -> None:
    """Send the subscription's events (as `render` writes them) and signals until either
    side ends; answer pings meanwhile. `still_valid` is asked every `recheck_seconds`
    whether the client's token still holds; when it does not, the socket closes 4401."""

    async def send() -> None:
        while True:
            item = await sub.queue.get()
            if isinstance(item, Signal):
                await websocket.send_json(item.frame)
                continue
            if item is None:
                code = 4408 if sub.overflowed else 1001
                await close(
                    websocket,
                    code,
                    "fell behind: reconnect with the last seq" if sub.overflowed else "bye",
                )
                return
            await websocket.send_text(render(item))

    async def receive() -> None:
        while True:
            text = await websocket.receive_text()
            with contextlib.suppress(ValueError):
                if json.loads(text) == {"type": "ping"}:
                    await websocket.send_json({"type": "pong"})

    async def recheck() -> None:
        if still_valid is None:
            await asyncio.Event().wait()  # never: nothing to recheck
        while True:
            await asyncio.sleep(recheck_seconds)
            assert still_valid is not None
            if not await still_valid():
                await close(websocket, 4401, "the token is no longer valid: sign in again")
                return

    tasks = [asyncio.create_task(f()) for f in (send, receive, recheck)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code=code, reason=reason)
