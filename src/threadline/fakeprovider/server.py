"""Assembling the fake provider's ASGI app, and serving it on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from threadline.fakeprovider.apple import AppleApi
from threadline.fakeprovider.config import Clock, FakeAccounts, system_clock
from threadline.fakeprovider.control import ControlApi
from threadline.fakeprovider.core import FakeCore
from threadline.fakeprovider.google_token import GoogleTokens
from threadline.fakeprovider.handle import FakeProvider
from threadline.fakeprovider.messenger import MessengerApi
from threadline.fakeprovider.rbm import RbmApi
from threadline.fakeprovider.twilio import TwilioApi
from threadline.fakeprovider.whatsapp import WhatsAppApi


class FakeProviderApp(Starlette):
    """The ASGI app; `core` is the state its control API and any handle share."""

    core: FakeCore


def create_fake_provider(accounts: FakeAccounts, *, clock: Clock = system_clock) -> FakeProviderApp:
    core = FakeCore(accounts, clock)
    tokens = GoogleTokens(core)
    routes: list[BaseRoute] = [
        *ControlApi(core).routes(),
        *TwilioApi(core).routes(),
        *tokens.routes(),
        *RbmApi(core, tokens).routes(),
        *AppleApi(core).routes(),
        # Messenger's /{version}/me/messages before WhatsApp's /{version}/{id}/messages,
        # which would otherwise take "me" for a phone number id.
        *MessengerApi(core).routes(),
        *WhatsAppApi(core).routes(),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        # Callbacks still due are dropped: nobody is left to receive them.
        await core.webhooks.aclose()

    app = FakeProviderApp(routes=routes, lifespan=lifespan)
    app.core = core
    return app


def _require_loopback(host: str) -> None:
    # The control API has no authentication: it must not be reachable from elsewhere.
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the fake provider only listens on loopback, not {host!r}")


@contextlib.asynccontextmanager
async def serve_fake_provider(
    accounts: FakeAccounts,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clock: Clock = system_clock,
) -> AsyncIterator[FakeProvider]:
    """The fake on a loopback port (0: any free one), in the running event loop."""
    _require_loopback(host)
    app = create_fake_provider(accounts, clock=clock)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="on",
            # A "hang" behaviour holds requests open: it must not hold up the shutdown.
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
        raise RuntimeError("the fake provider did not start")
    if not server.started:
        server.should_exit = True
        await task
        raise RuntimeError("the fake provider did not start in time")
    bound = server.servers[0].sockets[0].getsockname()
    authority = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    try:
        yield FakeProvider(f"http://{authority}:{bound[1]}", app.core)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def run(accounts: FakeAccounts, host: str = "127.0.0.1", port: int = 8025) -> None:
    """Serve the fake until interrupted (for a CLI command); blocks."""
    _require_loopback(host)
    uvicorn.run(
        create_fake_provider(accounts),
        host=host,
        port=port,
        log_level="info",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
