"""Group commit for inbound messages.

Each transaction has fixed costs that dwarf a message's own work: BEGIN and COMMIT,
authenticating the inbox, drawing event sequence numbers, inserting the events, and
the live stream's read of them. Under load, messages that arrive while a transaction
is running wait for it and then share the next one, so those costs are paid once per
batch. A lone message still goes through at once, in a batch of one.

The batch is one call of `inbound.ingest_many`, whose reads and writes are set-based,
so the round trips per batch hardly grow with its size. Isolation between its
messages rests on one rule: a refused message (bad token, duplicate id, invalid text)
writes nothing, so a refusal leaves the shared transaction clean. Any other failure
rolls the batch back, and its messages are then retried one transaction each, so one
poison message cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import OperationalError

from threadline.adapters.worker import BackgroundWorker
from threadline.core.classify import Classifier
from threadline.core.conversations import ConversationState
from threadline.core.errors import Conflict, DomainError, Unauthenticated
from threadline.core.inboxes import Inbox
from threadline.service import auth, inbound
from threadline.service.unit_of_work import CommitFailed, Transactor, UnitOfWork

log = logging.getLogger(__name__)

# Large enough to amortise a transaction's fixed cost almost entirely; small enough that
# one batch holds the database (SQLite's single writer) for only a few milliseconds.
MAX_BATCH = 64


@dataclass
class _Item:
    # An inbox token to check in the batch's transaction, or an inbox a webhook's
    # signature has already authenticated.
    token: str | Inbox
    message: inbound.InboundMessage
    received_at: datetime
    future: asyncio.Future[inbound.IngestResult] = field(repr=False)


class IngestBatcher(BackgroundWorker):
    def __init__(self, tx: Transactor, classifier: Classifier | None = None) -> None:
        self._tx = tx
        self._classifier = classifier
        self._pending: list[_Item] = []
        self._in_flight: list[_Item] = []
        self._wake = asyncio.Event()
        # Called after a commit that gave a bot something to answer.
        self.for_bots: Callable[[], None] | None = None

    async def stop(self) -> None:
        await super().stop()
        # Waiters of the batch interrupted mid-transaction, and of those not yet taken:
        # their clients get an error (and retry) instead of waiting forever.
        for item in [*self._in_flight, *self._pending]:
            item.future.cancel()
        self._in_flight.clear()
        self._pending.clear()

    async def ingest(
        self, token: str | Inbox, message: inbound.InboundMessage, received_at: datetime
    ) -> inbound.IngestResult:
        """Store one customer message; returns when its transaction has committed."""
        future: asyncio.Future[inbound.IngestResult] = asyncio.get_running_loop().create_future()
        self._pending.append(_Item(token, message, received_at, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                self._in_flight = batch
                try:
                    await self._commit(batch)
                except (CommitFailed, OperationalError) as exc:
                    # A commit of unknown outcome must not run again, and a database
                    # that stayed locked will not unlock for one message at a time.
                    for item in batch:
                        if not item.future.done():
                            item.future.set_exception(exc)
                except Exception:  # the batch failed as a whole: one transaction each
                    log.warning(
                        "batch of %d failed; retrying one by one", len(batch), exc_info=True
                    )
                    for item in batch:
                        await self._commit([item])
                self._in_flight = []

    async def _commit(self, batch: list[_Item]) -> None:
        """One transaction for the batch; each item's future gets its own outcome."""
        live = [item for item in batch if not item.future.done()]
        if not live:
            return

        async def use_case(uow: UnitOfWork) -> list[inbound.IngestResult | DomainError]:
            inboxes: dict[str | Inbox, Inbox | None] = {}
            refused: dict[str | Inbox, DomainError] = {}
            for item in live:
                if item.token in inboxes:
                    continue
                if isinstance(item.token, Inbox):
                    inboxes[item.token] = item.token
                    continue
                inbox = await auth.inbox_for(uow, item.token)
                if inbox is None:
                    refused[item.token] = Unauthenticated("invalid inbox token")
                elif await uow.connections.for_inbox(inbox.id) is not None:
                    # Its messages come through the provider's signed webhook, where
                    # compliance keywords and addresses are checked; not around it.
                    refused[item.token] = Conflict(
                        "this inbox receives its customers' messages through its "
                        "provider's webhook, not the API channel",
                        code="provider_delivers",
                    )
                    inbox = None
                inboxes[item.token] = inbox
            arrivals = [
                inbound.Arrival(inbox, item.message, item.received_at)
                for item in live
                if (inbox := inboxes[item.token]) is not None
            ]
            stored = iter(await inbound.ingest_many(uow, arrivals, self._classifier))
            return [
                next(stored) if inboxes[item.token] is not None else refused[item.token]
                for item in live
            ]

        try:
            outcomes = await self._tx.write(use_case)
        except Exception as exc:
            if len(live) > 1:
                raise
            if not live[0].future.done():
                live[0].future.set_exception(exc)
            return
        if self.for_bots is not None and any(
            not isinstance(o, DomainError) and o.state is ConversationState.BOT for o in outcomes
        ):
            self.for_bots()
        for item, outcome in zip(live, outcomes, strict=True):
            if item.future.done():  # the client went away; its message is stored anyway
                continue
            if isinstance(outcome, DomainError):
                item.future.set_exception(outcome)
            else:
                item.future.set_result(outcome)
