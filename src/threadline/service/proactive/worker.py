"""The serving process's notification worker: dispatch rounds while notifications are
due, then the replies' webhooks; woken at once when a request creates due work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from threadline.adapters.bots.http import BotHttp
from threadline.adapters.providers.base import Secrets
from threadline.adapters.worker import BackgroundWorker
from threadline.service.proactive import webhooks
from threadline.service.proactive.dispatch import ROUND, dispatch_due
from threadline.service.unit_of_work import Transactor

log = logging.getLogger(__name__)


class NotificationWorker(BackgroundWorker):
    def __init__(
        self,
        tx: Transactor,
        http: BotHttp,
        secrets: Secrets,
        clock: Callable[[], datetime],
        interval: float,
        after_send: Callable[[], None] = lambda: None,
    ) -> None:
        self._tx = tx
        self._http = http
        self._secrets = secrets
        self._clock = clock
        self._interval = interval
        # Sent notifications are outbox rows: the outbox is nudged to send them now.
        self.after_send = after_send
        self._wake = asyncio.Event()

    def nudge(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Dispatch rounds until fewer than a round's worth were due; then webhooks."""
        # Most ticks find nothing: a read then, so an idle worker does not take
        # SQLite's one writer every second in every server.
        if not await self._tx.read(lambda uow: uow.notifications.any_due(self._clock())):
            return 0
        total = 0
        while True:
            done = await self._tx.write(lambda uow: dispatch_due(uow, self._clock()))
            total += done
            if done:
                self.after_send()
            if done < ROUND:
                break
        await webhooks.run_round(self._tx, self._http, self._secrets, self._clock)
        return total

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("notification round failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
