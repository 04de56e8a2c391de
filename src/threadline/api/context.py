"""What every request handler needs, built once per app in its lifespan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request, WebSocket

from threadline.adapters.database import Database
from threadline.adapters.providers.base import Secrets
from threadline.adapters.stream import EventStream
from threadline.core.classify import Classifier
from threadline.core.time import require_utc
from threadline.service.batching import IngestBatcher
from threadline.service.bot_worker import BotWorker
from threadline.service.delivery import OutboxSender
from threadline.service.proactive.worker import NotificationWorker
from threadline.service.unit_of_work import Transactor
from threadline.settings import Settings

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    db: Database
    tx: Transactor
    stream: EventStream
    ingest: IngestBatcher
    classifier: Classifier
    clock: Clock
    secrets: Secrets
    outbox: OutboxSender
    bots: BotWorker
    notifications: NotificationWorker

    def now(self) -> datetime:
        return require_utc(self.clock(), "clock")


# A coroutine on purpose: FastAPI runs a plain-function dependency in its thread pool,
# a thread hop per request for what is an attribute read.
async def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def ws_ctx(websocket: WebSocket) -> AppContext:
    ctx: AppContext = websocket.app.state.ctx
    return ctx
