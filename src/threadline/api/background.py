"""Periodic work a serving process does besides answering requests."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from threadline.api.context import AppContext
from threadline.service.routing import route_waiting

log = logging.getLogger(__name__)


class RoutingLoop:
    def __init__(self, ctx: AppContext, interval: float) -> None:
        self._ctx = ctx
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="routing-loop")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._ctx.tx.write(lambda uow: route_waiting(uow, self._ctx.now()))
            except Exception:
                log.exception("periodic routing pass failed; will retry")
