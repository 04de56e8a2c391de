"""Serving an ASGI app on a loopback port inside the running event loop: the fake
provider and the demo shop, for the demo and the tests. Both answer anyone who reaches
them (the fake's control API has no authentication, the shop without a secret none),
so they refuse any other address."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator
from typing import Literal

import uvicorn
from starlette.types import ASGIApp


def require_loopback(host: str, what: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"{what} only listens on loopback, not {host!r}")


@contextlib.asynccontextmanager
async def serve_on_loopback(
    app: ASGIApp,
    what: str,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    lifespan: Literal["on", "off"] = "off",
) -> AsyncIterator[str]:
    """`app` on `host:port` (0: any free port); yields its base URL."""
    require_loopback(host, what)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan=lifespan,
            # A request held open (a slow bot, a "hang" behaviour) must not hold up the
            # shutdown.
            timeout_graceful_shutdown=1,
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        await task
        raise RuntimeError(f"{what} did not start on {host}:{port}")
    if not server.started:
        server.should_exit = True
        await task
        raise RuntimeError(f"{what} did not start on {host}:{port} in time")
    bound = server.servers[0].sockets[0].getsockname()
    authority = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    try:
        yield f"http://{authority}:{bound[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
