"""Expected replies passed to the business's webhook: signed, retried with back-off
until its endpoint takes them (a 2xx), at least once. The body carries the notification
id, so the business drops a repeat it already has.

A round claims due webhooks by moving their due time past a lease (so a second process,
or this one after a crash, does not call at the same time), calls outside the
transaction, then records each outcome on the notification (`Notification.webhook_status`:
attempts, last error, next attempt) and, at the end, in the decisions: `webhook_accepted`
or `webhook_failed`, apart from the reply's own `webhook` entry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from threadline.adapters.bots.http import BotHttp
from threadline.adapters.providers.base import Secrets
from threadline.core.proactive.notification import Notification
from threadline.service.proactive.setup import template_by_id
from threadline.service.unit_of_work import Transactor, UnitOfWork

log = logging.getLogger(__name__)

SECRET_NAME, SECRET_PART = "notifications", "WEBHOOK_KEY"
ROUND = 20
# A call's budget, and the lease that keeps other rounds off it meanwhile.
TIMEOUT = timedelta(seconds=10)
LEASE = timedelta(seconds=60)
# Back-off 30 s, 1, 2, 4 … minutes, at most an hour; a day of tries before giving up
# (an endpoint down longer than that needs a person, and the record says so).
BASE, CAP, ATTEMPTS = timedelta(seconds=30), timedelta(hours=1), 30


@dataclass(frozen=True)
class _Call:
    notification: Notification
    url: str
    body: dict[str, Any]


async def claim(uow: UnitOfWork, now: datetime) -> list[_Call]:
    calls = []
    due = await uow.notifications.webhooks_due(now, ROUND)
    for n in due:
        assert n.webhook is not None
        template = (await template_by_id(uow, n.template_id)).template
        if template.webhook_url is None:
            # The template lost its webhook since the reply: nobody to tell, and the
            # record says so rather than leaving it pending for ever.
            n.webhook_abandoned("no_webhook_url", "the template has no webhook_url", now)
            continue
        n.webhook_due_at = now + LEASE
        calls.append(_Call(n, template.webhook_url, n.webhook_body))
    await uow.notifications.save_all(due)
    await uow.notifications.record(r for n in due for r in n.records)
    return calls


def retry_at(attempts: int, now: datetime) -> datetime | None:
    """When to call again after `attempts` failed calls; None: give up."""
    if attempts >= ATTEMPTS:
        return None
    backoff: timedelta = min(CAP, BASE * 2 ** (attempts - 1))
    return now + backoff


async def record(uow: UnitOfWork, outcomes: list[tuple[_Call, str | None]], now: datetime) -> None:
    changed: list[Notification] = []
    for call, error in outcomes:
        n = await uow.notifications.get(call.notification.id, for_update=True)
        if n is None or n.webhook is None or n.webhook_due_at is None:
            continue
        n.webhook_called(error, now, retry_at=retry_at(n.webhook_attempts + 1, now))
        changed.append(n)
    await uow.notifications.save_all(changed)
    await uow.notifications.record(r for n in changed for r in n.records)


async def run_round(
    tx: Transactor, http: BotHttp, secrets: Secrets, clock: Callable[[], datetime]
) -> int:
    calls = await tx.write(lambda uow: claim(uow, clock()))
    if not calls:
        return 0
    secret = secrets.get(SECRET_NAME, SECRET_PART)

    async def one(call: _Call) -> str | None:
        if not secret:
            return f"THREADLINE_SECRET_{SECRET_NAME}_{SECRET_PART} is not set".upper()
        result = await http.call(
            call.url,
            body=call.body,
            timeout=TIMEOUT.total_seconds(),
            secret=secret.encode(),
            idempotency_key=str(call.notification.id),
        )
        if result.status is not None and 200 <= result.status < 300:
            return None
        return result.error or f"the endpoint answered {result.status}"

    errors = await asyncio.gather(*(one(c) for c in calls))
    await tx.write(lambda uow: record(uow, list(zip(calls, errors, strict=True)), clock()))
    return len(calls)
