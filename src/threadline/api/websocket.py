"""Pumping a stream subscription down a WebSocket: shared by agents' and visitors' streams."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable

from fastapi import WebSocket, WebSocketDisconnect

from threadline.adapters.repositories.events import StoredEvent
from threadline.adapters.stream import Signal, Subscription


async def pump(
    websocket: WebSocket, sub: Subscription, render: Callable[[StoredEvent], str]
) -> None:
    """Send the subscription's events (as `render` writes them) and signals until either
    side ends; answer pings meanwhile."""

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

    tasks = [asyncio.create_task(send()), asyncio.create_task(receive())]
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
