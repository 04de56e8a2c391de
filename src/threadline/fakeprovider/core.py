"""The fake provider's engine, shared by every provider API, the control API and the
in-process handle: accounts, clock, memory, behaviours, webhooks, and the path every
send takes (behaviour, authentication, idempotency)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from threadline.fakeprovider.behaviour import Behaviour, Behaviours
from threadline.fakeprovider.config import Clock, FakeAccounts, now_utc
from threadline.fakeprovider.state import CachedResponse, FakeState, Provider
from threadline.fakeprovider.webhooks import Delivery, Webhook, WebhookSender

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_REPEAT = 5

ErrorShape = Callable[[int], dict[str, Any] | None]
"""A provider's error body for an HTTP status (None: the provider sends no body)."""
Authorize = Callable[[], Awaitable[Response | None]]
"""None when the request may go on, else the provider's refusal."""
Process = Callable[[str | None], Awaitable[Response]]
"""Validates, records and answers a send; given the request's Idempotency-Key."""


class FakeInputError(ValueError):
    """A control-API or handle request the fake cannot act on (unknown account, …)."""


@dataclass(frozen=True)
class InboundResult:
    """What became of an inbound webhook: its provider message id and each attempt."""

    message_id: str
    attempts: list[Delivery]

    @property
    def status(self) -> int | None:
        """Threadline's status code on the last attempt."""
        return self.attempts[-1].status

    @property
    def body(self) -> str:
        return self.attempts[-1].response

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "body": self.body,
            "message_id": self.message_id,
            "attempts": [attempt.to_json() for attempt in self.attempts],
        }


class FakeCore:
    def __init__(self, accounts: FakeAccounts, clock: Clock) -> None:
        self.accounts = accounts
        self.clock = clock
        self.state = FakeState()
        self.behaviours = Behaviours()
        self.webhooks = WebhookSender(clock)

    def now(self) -> datetime:
        return now_utc(self.clock)

    def reset(self) -> None:
        self.state.reset()
        self.behaviours.reset()
        self.webhooks.reset()

    async def send(
        self,
        request: Request,
        provider: Provider,
        *,
        error_shape: ErrorShape,
        authorize: Authorize,
        process: Process,
    ) -> Response:
        behaviour = self.behaviours.take(provider) or Behaviour()
        if behaviour.mode == "down":
            return Response(status_code=503)
        if behaviour.mode == "error":
            body = behaviour.error if behaviour.error is not None else error_shape(behaviour.status)
            if body is None:
                return Response(status_code=behaviour.status)
            return JSONResponse(body, status_code=behaviour.status)
        if behaviour.mode == "delay":
            await asyncio.sleep(behaviour.delay_seconds)

        refused = await authorize()
        if refused is not None:
            return refused
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            response = await process(None)
        else:
            response = await self._once(provider, key, process)

        if behaviour.mode == "hang":
            # Accepted and recorded, as a provider whose answer got lost would have; the
            # client sees nothing until it gives up.
            await asyncio.sleep(behaviour.delay_seconds)
        return response

    async def _once(self, provider: Provider, key: str, process: Process) -> Response:
        async with self.state.key_lock(provider, key):
            cached = self.state.answers.get((provider, key))
            if cached is not None:
                return Response(
                    cached.body, status_code=cached.status_code, media_type=cached.media_type
                )
            response = await process(key)
            # Only a send that went through is remembered: a refused one may be retried.
            if 200 <= response.status_code < 300:
                self.state.answers[(provider, key)] = CachedResponse(
                    response.status_code, bytes(response.body), response.media_type
                )
            return response

    async def deliver(self, webhook: Webhook, repeat: int) -> list[Delivery]:
        """Post an inbound webhook `repeat` times, unchanged, as a provider retrying
        after a lost answer would."""
        if not 1 <= repeat <= MAX_REPEAT:
            raise FakeInputError(f"repeat must be between 1 and {MAX_REPEAT}")
        return [await self.webhooks.post(webhook) for _ in range(repeat)]


async def json_object(request: Request) -> dict[str, Any] | None:
    """The request's JSON body when it is an object; None when it is anything else."""
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def as_dict(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one: sends are checked field by
    field, and a field of the wrong type reads as missing."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def random_hex(length: int) -> str:
    return secrets.token_hex((length + 1) // 2)[:length]


def random_token(length: int) -> str:
    return secrets.token_urlsafe(length)[:length]
