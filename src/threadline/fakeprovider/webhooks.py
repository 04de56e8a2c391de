"""Posting signed webhooks to Threadline: now (inbound messages) or later (status callbacks).

Every delivery is logged, with Threadline's answer, so a test or the demo can see what
was sent and how it was received.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from threadline.fakeprovider.config import Clock, now_utc


@dataclass(frozen=True)
class Webhook:
    """One signed request, ready to post as many times as asked (retries resend it as is)."""

    kind: str
    url: str
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Delivery:
    kind: str
    url: str
    at: datetime
    status: int | None
    """Threadline's HTTP status; None when it could not be reached."""
    response: str
    """Threadline's answer, or why it could not be reached."""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "url": self.url,
            "at": self.at.isoformat(),
            "status": self.status,
            "response": self.response,
        }


class WebhookSender:
    def __init__(self, clock: Clock, timeout_seconds: float = 10.0) -> None:
        self._clock = clock
        self._timeout = timeout_seconds
        self._client: httpx.AsyncClient | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self.deliveries: list[Delivery] = []

    def _http(self) -> httpx.AsyncClient:
        # Made on first use, in the loop that serves the app; trust_env=False so that a
        # proxy configured in the environment never sees loopback traffic.
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, trust_env=False)
        return self._client

    async def post(self, webhook: Webhook) -> Delivery:
        try:
            answer = await self._http().post(
                webhook.url, content=webhook.body, headers=dict(webhook.headers)
            )
            delivery = Delivery(
                webhook.kind, webhook.url, now_utc(self._clock), answer.status_code, answer.text
            )
        except httpx.HTTPError as exc:
            delivery = Delivery(
                webhook.kind,
                webhook.url,
                now_utc(self._clock),
                None,
                f"{type(exc).__name__}: {exc}",
            )
        self.deliveries.append(delivery)
        return delivery

    def later(self, delay_seconds: float, steps: Sequence[Callable[[], Webhook]]) -> None:
        """Post one webhook per step, in order, each `delay_seconds` after the previous.
        A step builds its webhook when due, so it carries the time it is sent."""

        async def run() -> None:
            for step in steps:
                await asyncio.sleep(delay_seconds)
                await self.post(step())

        self.schedule(run())

    def schedule(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def idle(self) -> None:
        """Wait until every scheduled webhook has been posted."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._pending):
            task.cancel()
        for task in list(self._pending):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def reset(self) -> None:
        """Forget past deliveries and drop the callbacks still due: they belong to sends
        the test has just forgotten."""
        for task in list(self._pending):
            task.cancel()
        self.deliveries.clear()
