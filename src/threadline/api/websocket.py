"""A stream subscription over a WebSocket, shared by agents', visitors' and in-app
customers' streams: the hello that opens it, then pumping its events down."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from threadline.adapters.repositories.events import StoredEvent
from threadline.adapters.stream import EventStream, Signal, Subscription, TooFarBehind
from threadline.core.errors import Unauthenticated, Unavailable

# Long enough for a slow mobile network to send one frame, short enough that idle
# unauthenticated sockets do not pile up.
HELLO_TIMEOUT = 10.0


@dataclass(frozen=True)
class Hello:
    token: str
    # The stream position to resume after; None: from now.
    after: int | None
    # An in-app chat's app key, which names the inbox whose business signed the token.
    key: str | None = None


async def receive_hello(websocket: WebSocket) -> tuple[str, int | None] | None:
    """The client's `{"type": "hello", "token", "after"?}`: its token and resume position.
    Anything else closes the socket with 4400 and gives None."""
    hello = await read_hello(websocket)
    return None if hello is None else (hello.token, hello.after)


async def read_hello(
    websocket: WebSocket, *, max_token_chars: int = 200, with_key: bool = False
) -> Hello | None:
    """`receive_hello` for any stream: tokens up to `max_token_chars` (a signed identity
    is longer than our own tokens), and with `with_key` a required string `key`."""
    try:
        data = json.loads(await asyncio.wait_for(websocket.receive_text(), HELLO_TIMEOUT))
    except (TimeoutError, ValueError, WebSocketDisconnect, KeyError, RuntimeError):
        await close(websocket, 4400, "expected a hello frame")
        return None
    hello = _parse_hello(data, max_token_chars, with_key)
    if hello is None:
        wanted = "a token, a key" if with_key else "a token"
        await close(websocket, 4400, f"hello needs {wanted} and an optional integer 'after'")
    return hello


def _parse_hello(data: Any, max_token_chars: int, with_key: bool) -> Hello | None:
    if not isinstance(data, dict) or data.get("type") != "hello":
        return None
    token, after, key = data.get("token"), data.get("after"), data.get("key")
    if not isinstance(token, str) or not token or len(token) > max_token_chars:
        return None
    if after is not None and (isinstance(after, bool) or not isinstance(after, int)):
        return None
    if with_key and (not isinstance(key, str) or not 0 < len(key) <= 64):
        return None
    return Hello(token, after, key if with_key else None)


async def serve_subscription(
    websocket: WebSocket,
    stream: EventStream,
    subscribe: Callable[[], Awaitable[Subscription]],
    render: Callable[[StoredEvent], str],
    still_valid: Callable[[], Awaitable[bool]],
    recheck_seconds: float,
) -> None:
    """After the hello: `subscribe` (its refusals close the socket with their code), say
    ready at the subscription's position, and pump until either side ends."""
    try:
        sub = await subscribe()
    except Unauthenticated as exc:
        await close(websocket, 4401, f"{exc.code}: {exc.message}")
        return
    except Unavailable as exc:
        await close(websocket, 1013, f"{exc.code}: {exc.message}")  # try again later
        return
    except TooFarBehind:
        await close(websocket, 4409, "too far behind: refetch and reconnect without 'after'")
        return
    except ValueError as exc:
        await close(websocket, 4400, str(exc))
        return
    try:
        await websocket.send_json({"type": "ready", "seq": sub.delivered})
        await pump(websocket, sub, render, still_valid, recheck_seconds)
    finally:
        stream.unsubscribe(sub)


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
    # A close frame's reason is at most 123 bytes (RFC 6455 §5.5): longer is cut.
    reason = reason.encode()[:123].decode(errors="ignore")
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code=code, reason=reason)
