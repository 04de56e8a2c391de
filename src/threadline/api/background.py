"""Periodic work a serving process does besides answering requests."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from threadline.adapters.worker import BackgroundWorker
from threadline.api.context import AppContext
from threadline.service.agents import step_away_from_empty_desks
from threadline.service.routing import route_waiting
from threadline.service.timers import BATCH_SIZE, fire_due

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


class TimerLoop(BackgroundWorker):
    """Fires the durable timers that are due, every `interval` seconds, and sets away
    the agents whose desks are gone (a timeout of the same kind, kept on the agent row)."""

    def __init__(self, ctx: AppContext, interval: float) -> None:
        self._ctx = ctx
        self._interval = interval
        self._grace = timedelta(seconds=ctx.settings.desk_away_after_seconds)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                # A full batch means more may be due (after downtime): keep going.
                while await self._ctx.tx.write(lambda uow: fire_due(uow, self._ctx.now())) >= (
                    BATCH_SIZE
                ):
                    pass
                await self._ctx.tx.write(
                    lambda uow: step_away_from_empty_desks(uow, self._ctx.now(), self._grace)
                )
            except Exception:
                log.exception("firing timers failed; will retry")
