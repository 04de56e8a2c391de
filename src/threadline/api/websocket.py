"""Pumping a stream subscription down a WebSocket: shared by agents' and visitors' streams."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

from fastapi import WebSocket, WebSocketDisconnect

from threadline.adapters.repositories.events import StoredEvent
from threadline.adapters.stream import Signal, Subscription


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
