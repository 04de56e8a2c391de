"""The ASGI application factory."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from threadline import __version__
from threadline.adapters.bots.http import BotHttp
from threadline.adapters.database import Database
from threadline.adapters.lexicons import load_classifier
from threadline.adapters.providers.base import ProviderUrls, Secrets
from threadline.adapters.stream import EventStream
from threadline.api import errors
from threadline.api.background import RoutingLoop, TimerLoop
from threadline.api.context import AppContext, Clock, system_clock
from threadline.api.limits import BodyLimitMiddleware
from threadline.api.routes import (
    agents,
    app_channels,
    app_chat,
    auth,
    bots,
    canned,
    channel,
    channels,
    connections,
    conversations,
    customers,
    inboxes,
    notifications,
    outreach,
    overview,
    stream,
    webhooks_apple,
    webhooks_google,
    webhooks_meta,
    webhooks_twilio,
    widget,
    widget_stream,
    widgets,
    workforce,
)
from threadline.api.static import DeskFiles, WidgetFiles
from threadline.core.outbox import RetryPolicy
from threadline.service.batching import IngestBatcher
from threadline.service.bot_settings import MAX_FLOW_BYTES
from threadline.service.bot_worker import BotWorker, BotWorkerConfig
from threadline.service.delivery import DeliveryConfig, OutboxSender
from threadline.service.proactive.worker import NotificationWorker
from threadline.service.unit_of_work import Transactor
from threadline.settings import Settings, get_settings


class Health(BaseModel):
    status: str
    version: str
    database: str


def delivery_config(settings: Settings, secrets: Secrets) -> DeliveryConfig:
    return DeliveryConfig(
        urls=ProviderUrls(
            twilio=settings.twilio_api_base.rstrip("/"),
            meta=settings.meta_graph_base.rstrip("/"),
            meta_version=settings.meta_graph_version,
            rbm=settings.rbm_api_base.rstrip("/"),
            rbm_token=settings.rbm_token_url,
            apple=settings.apple_gateway_base.rstrip("/"),
        ),
        secrets=secrets,
        policy=RetryPolicy(
            max_attempts=settings.outbox_max_attempts,
            base=timedelta(seconds=settings.outbox_backoff_base_seconds),
            cap=timedelta(seconds=settings.outbox_backoff_cap_seconds),
        ),
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        concurrency=settings.outbox_concurrency,
        # Two requests at most (a token, then the send), each within the timeout.
        send_timeout=timedelta(seconds=2 * settings.provider_timeout_seconds),
        public_url=(settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/"),
    )


def create_app(settings: Settings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url, pool_size=settings.db_pool_size)
        event_stream = EventStream(db, poll_seconds=settings.stream_poll_seconds)
        tx = Transactor(db, event_stream.committed)
        classifier = load_classifier(settings.lexicons_dir)
        http = httpx.AsyncClient(
            timeout=settings.provider_timeout_seconds,
            headers={"User-Agent": f"Threadline/{__version__}"},
            follow_redirects=False,
            # Shorter than the usual 5 s server keep-alive (uvicorn's): a connection the
            # other side is closing is never reused for a send.
            limits=httpx.Limits(keepalive_expiry=2.0),
        )
        secrets = Secrets(settings.channel_secrets)
        ctx = AppContext(
            settings=settings,
            db=db,
            tx=tx,
            stream=event_stream,
            ingest=IngestBatcher(tx, classifier),
            classifier=classifier,
            clock=clock,
            secrets=secrets,
            outbox=OutboxSender(
                tx,
                http,
                delivery_config(settings, secrets),
                clock,
                settings.outbox_interval_seconds,
            ),
            bots=BotWorker(
                tx,
                BotHttp(http),
                secrets,
                classifier,
                clock,
                BotWorkerConfig(
                    interval=settings.bot_interval_seconds,
                    lease=timedelta(seconds=settings.bot_lease_seconds),
                ),
            ),
            notifications=NotificationWorker(
                tx,
                BotHttp(http),
                secrets,
                clock,
                settings.notification_interval_seconds,
            ),
        )
        ctx.notifications.after_send = ctx.outbox.nudge
        # Bots' replies to provider channels go out through the outbox at once.
        ctx.bots.after_apply = ctx.outbox.nudge
        ctx.ingest.for_bots = ctx.bots.nudge
        await event_stream.open()
        ctx.ingest.start()
        ctx.outbox.start()
        ctx.bots.start()
        ctx.notifications.start()
        router_loop = RoutingLoop(ctx, settings.routing_interval_seconds)
        router_loop.start()
        timer_loop = TimerLoop(ctx, settings.timer_interval_seconds)
        timer_loop.start()
        app.state.ctx = ctx
        try:
            yield
        finally:
            await timer_loop.stop()
            await router_loop.stop()
            await ctx.notifications.stop()
            await ctx.bots.stop()
            await ctx.outbox.stop()
            await http.aclose()
            await ctx.ingest.stop()
            await event_stream.stop()
            await db.dispose()

    app = FastAPI(
        title="Threadline",
        version=__version__,
        description="Digital messaging for contact centers. "
        "Every /api/v1 call needs a bearer token.",
        lifespan=lifespan,
        responses=errors.ERROR_RESPONSES,
    )
    errors.install(app)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        larger={
            "/webhooks/": settings.webhook_max_body_bytes,
            # A flow's YAML, up to the loader's own limit, inside its JSON body: each
            # character may be escaped there as up to 12 bytes (a surrogate pair), and
            # a flow past its limit should be told so (422), not cut off as a body.
            re.compile(r"/api/v1/inboxes/[^/]+/bot"): 12 * MAX_FLOW_BYTES + 64 * 1024,
            # A batch of up to 100,000 recipients.
            "/api/v1/notifications/batches": settings.notification_batch_max_body_bytes,
            # A template's variants, each up to 4,096 characters, in every language.
            "/api/v1/notification-templates/": 1024 * 1024,
        },
    )

    # Each module's router straight onto the app: a nested router is matched level by
    # level on every request. The channel comes first because it takes the most traffic.
    for module in (
        channel,
        auth,
        agents,
        customers,
        conversations,
        inboxes,
        channels,
        connections,
        overview,
        canned,
        stream,
        widgets,
        widget,
        widget_stream,
        app_channels,
        app_chat,
        bots,
        workforce,
        notifications,
        outreach,
    ):
        app.include_router(module.router, prefix="/api/v1")

    # Providers' webhooks live outside /api/v1: their URLs are registered at the
    # providers and must not move with the API's version.
    # Out of the OpenAPI document too: providers call them, not API clients, and they
    # are described in docs/channels/ (and fuzzed by their own tests).
    for module in (webhooks_twilio, webhooks_google, webhooks_apple, webhooks_meta):
        app.include_router(module.router, include_in_schema=False)

    app.mount("/desk", DeskFiles(), name="desk")
    app.mount("/widget", WidgetFiles(), name="widget")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/desk/")

    @app.get("/healthz", response_model=Health, tags=["health"])
    async def healthz() -> Health:
        ctx: AppContext = app.state.ctx
        await ctx.tx.read(lambda uow: uow.events.head())
        return Health(status="ok", version=__version__, database=ctx.db.dialect)

    return app
