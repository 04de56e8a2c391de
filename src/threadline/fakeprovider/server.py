"""Assembling the fake provider's ASGI app, and serving it on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from threadline.adapters.loopback import require_loopback, serve_on_loopback
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


@contextlib.asynccontextmanager
async def serve_fake_provider(
    accounts: FakeAccounts,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clock: Clock = system_clock,
) -> AsyncIterator[FakeProvider]:
    """The fake on a loopback port (0: any free one), in the running event loop."""
    app = create_fake_provider(accounts, clock=clock)
    async with serve_on_loopback(app, "the fake provider", host, port, lifespan="on") as url:
        yield FakeProvider(url, app.core)


def run(accounts: FakeAccounts, host: str = "127.0.0.1", port: int = 8025) -> None:
    """Serve the fake until interrupted (for a CLI command); blocks."""
    require_loopback(host, "the fake provider")
    uvicorn.run(
        create_fake_provider(accounts),
        host=host,
        port=port,
        log_level="info",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
