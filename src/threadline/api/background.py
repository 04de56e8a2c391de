"""Periodic work a serving process does besides answering requests."""

from __future__ import annotations

import asyncio
import logging

from threadline.adapters.worker import BackgroundWorker
from threadline.api.context import AppContext
from threadline.service.routing import route_waiting

log = logging.getLogger(__name__)


class RoutingLoop(BackgroundWorker):
    def __init__(self, ctx: AppContext, interval: float) -> None:
        self._ctx = ctx
        self._interval = interval

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._ctx.tx.write(lambda uow: route_waiting(uow, self._ctx.now()))
            except Exception:
                log.exception("periodic routing pass failed; will retry")
