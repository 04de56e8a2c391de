"""The outbox worker: claims due messages, sends them through their providers, and
records each outcome.

Three steps, so no transaction is held open across a provider's answer: a short
transaction claims a batch (a lease per row), the sends run concurrently outside any
transaction, and a second transaction records the outcomes. A worker that dies between
the steps leaves leased rows, which the next claim after the lease takes over
(core.outbox decides whether that means sending again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from threadline.adapters.providers.base import (
    Connection,
    OutboundRequest,
    Provider,
    ProviderUrls,
    Secrets,
)
from threadline.adapters.worker import BackgroundWorker
from threadline.core.consent import Consent, ConsentState
from threadline.core.conversations import Conversation
from threadline.core.customers import Identity
from threadline.core.messages import DeliveryStatus, Message, advance_status
from threadline.core.outbox import (
    Accepted,
    OutboxItem,
    OutboxState,
    Rejected,
    Retry,
    RetryPolicy,
    SendOutcome,
    Unknown,
)
from threadline.core.rich import Template
from threadline.service.outbound import change_status
from threadline.service.outbox import channel_of
from threadline.service.unit_of_work import Transactor, UnitOfWork

log = logging.getLogger(__name__)

ACTOR = "outbox"


@dataclass(frozen=True)
class Work:
    item: OutboxItem
    provider: Provider
    connection: Connection
    request: OutboundRequest


@dataclass(frozen=True)
class DeliveryConfig:
    urls: ProviderUrls
    secrets: Secrets
    policy: RetryPolicy
    lease: timedelta
    # Rows claimed per round, all sent at once: never more than can be in flight, so no
    # claimed row waits for a slot while its lease runs down.
    concurrency: int
    # The most one send may take, its token fetch included; must stay well inside the
    # lease, so that no live worker's send is ever taken over.
    send_timeout: timedelta
    # This service as providers reach it, for per-message status callback URLs.
    public_url: str


class OutboxSender(BackgroundWorker):
    def __init__(
        self,
        tx: Transactor,
        http: httpx.AsyncClient,
        config: DeliveryConfig,
        clock: Callable[[], datetime],
        interval: float,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._tx = tx
        self._http = http
        self._config = config
        self._clock = clock
        self._interval = interval
        self._jitter = jitter
        self._wake = asyncio.Event()
        self._stopping = False

    def nudge(self) -> None:
        """Something was queued: look now rather than at the next tick."""
        self._wake.set()

    async def stop(self) -> None:
        """Lets a round in flight finish (its sends are bounded by the send timeout),
        so a restart does not leave claimed rows whose outcome is unknown."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(
                    asyncio.shield(self._task), self._config.send_timeout.total_seconds() + 5
                )
        await super().stop()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                while not self._stopping and await self.run_once() >= self._config.concurrency:
                    pass
            except Exception:
                log.exception("outbox round failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()

    async def run_once(self) -> int:
        """One round: claim, send, record. Returns how many rows it claimed."""
        now = self._clock()
        works = await self._tx.write(
            lambda uow: claim(uow, now, self._config, self._config.concurrency)
        )
        if not works:
            return 0
        outcomes = await asyncio.gather(*(self._send(w) for w in works))
        done = self._clock()
        await self._tx.write(
            lambda uow: record(
                uow, list(zip(works, outcomes, strict=True)), done, self._config, self._jitter
            )
        )
        return len(works)

    async def _send(self, work: Work) -> SendOutcome:
        try:
            async with asyncio.timeout(self._config.send_timeout.total_seconds()):
                return await work.provider.send(
                    self._http,
                    self._config.urls,
                    work.connection,
                    self._config.secrets,
                    work.request,
                    self._clock(),
                )
        except TimeoutError:
            return Unknown("no answer from the provider in time")
        except LookupError as missing:
            return Retry(f"{missing} is not set in the server's environment")
        except Exception as exc:  # an adapter bug must not kill the worker
            log.exception("provider %s failed to send", work.provider.name)
            return Retry(f"internal error while sending ({type(exc).__name__})")


@dataclass(frozen=True)
class _Round:
    """What a round's requests are made from, read for all its rows at once: four
    queries a round rather than four a message (a notification batch's rounds are full)."""

    messages: dict[uuid.UUID, Message]
    conversations: dict[uuid.UUID, Conversation]
    consents: dict[tuple[uuid.UUID, str], Consent]
    identities: dict[uuid.UUID, list[Identity]]

    @classmethod
    async def read(cls, uow: UnitOfWork, items: list[OutboxItem]) -> _Round:
        msgs = await uow.messages.many({i.message_id for i in items})
        convs = await uow.conversations.many({m.conversation_id for m in msgs.values()})
        customers = sorted({c.customer_id for c in convs.values()})
        return cls(
            msgs,
            convs,
            await uow.consents.for_customers(customers),
            await uow.customers.identities(customers),
        )


async def claim(uow: UnitOfWork, now: datetime, config: DeliveryConfig, limit: int) -> list[Work]:
    works: list[Work] = []
    changed: list[OutboxItem] = []
    # A round's rows mostly share a few inboxes: each connection is read once.
    connections: dict[uuid.UUID, tuple[Connection, Provider] | None] = {}
    items = await uow.outbox.claimable(now, limit)
    known = await _Round.read(uow, items)
    for item in items:
        if item.inbox_id not in connections:
            connections[item.inbox_id] = await channel_of(uow, item.inbox_id)
        found = connections[item.inbox_id]
        msg = known.messages[item.message_id]  # a foreign key guarantees it
        changed.append(item)
        if found is None:
            if item.claim(now, config.lease, idempotent=False):
                item.record(
                    Rejected("the inbox no longer has a provider connection"),
                    now,
                    config.policy,
                    idempotent=False,
                    jitter=0.0,
                )
            await _settle(uow, item, msg, now)
            continue
        conn, prov = found
        if msg.delivery_status is not DeliveryStatus.QUEUED:
            # The provider has it: its own status report has come in since (after a
            # worker died mid-send, or an answer that did not say it was taken).
            item.claim(now, config.lease, idempotent=True)
            item.record(
                Accepted(msg.external_id or ""), now, config.policy, idempotent=True, jitter=0.0
            )
            continue
        if not item.claim(now, config.lease, idempotent=prov.idempotent):
            await _settle(uow, item, msg, now)
            continue
        request = _request(known, item, msg, prov, config)
        if isinstance(request, Rejected):
            item.record(request, now, config.policy, idempotent=False, jitter=0.0)
            await _settle(uow, item, msg, now)
            continue
        works.append(Work(item, prov, conn, request))
    await uow.outbox.save_all(changed, now)
    return works


def _request(
    known: _Round, item: OutboxItem, msg: Message, prov: Provider, config: DeliveryConfig
) -> OutboundRequest | Rejected:
    conv = known.conversations[msg.conversation_id]
    # Consent is checked again at sending: a STOP that arrived after the reply was
    # queued still stops it.
    consent = known.consents.get((conv.customer_id, conv.channel))
    if (
        consent is not None
        and consent.state is ConsentState.OPTED_OUT
        and not item.payload.get("compliance")
        and not item.payload.get("survives_opt_out")
    ):
        return Rejected("the customer opted out of messages on this channel")
    identities = known.identities.get(conv.customer_id, [])
    addresses = [i.address for i in identities if i.channel == conv.channel]
    if not addresses:
        return Rejected(f"the customer has no {conv.channel} address")
    if len(addresses) > 1:
        # Which one they wrote from is not recorded, and the other may be a number
        # that now belongs to someone else: sending to neither is the safe failure.
        return Rejected(
            f"the customer has {len(addresses)} {conv.channel} addresses and which one "
            "to answer is not known: remove the stale one from the customer"
        )
    [to] = addresses
    template = item.payload.get("template")
    callback = (
        f"{config.public_url}{prov.status_path}?message={msg.id}" if prov.status_path else None
    )
    return OutboundRequest(
        message_id=msg.id,
        to=to,
        text=msg.body,
        idempotency_key=item.idempotency_key,
        suggestions=tuple(item.payload.get("suggestions", ())),
        template=Template(
            template["name"], template["language"], tuple(template["parameters"]), msg.body
        )
        if template
        else None,
        tag=item.payload.get("tag"),
        status_callback=callback,
    )


async def record(
    uow: UnitOfWork,
    results: list[tuple[Work, SendOutcome]],
    now: datetime,
    config: DeliveryConfig,
    jitter: Callable[[], float],
) -> None:
    changed: list[OutboxItem] = []
    for work, outcome in results:
        item = await uow.outbox.get(work.item.id, for_update=True)
        # Another worker took the row over after our lease ran out: its record wins.
        if item is None or item.state is not OutboxState.SENDING:
            continue
        if item.attempts != work.item.attempts:
            continue
        msg = await uow.messages.get(item.message_id, for_update=True)
        assert msg is not None
        if not isinstance(outcome, Accepted) and msg.delivery_status is not DeliveryStatus.QUEUED:
            # The answer to our send did not say the provider took it, but the
            # provider's own status report did: it has the message.
            outcome = Accepted(msg.external_id or "")
        item.record(
            outcome, now, config.policy, idempotent=work.provider.idempotent, jitter=jitter()
        )
        changed.append(item)
        if isinstance(outcome, Accepted) and outcome.provider_id and msg.external_id is None:
            await uow.messages.set_external_id(msg.id, outcome.provider_id)
        await _settle(uow, item, msg, now)
    await uow.outbox.save_all(changed, now)


async def _settle(uow: UnitOfWork, item: OutboxItem, msg: Message, now: datetime) -> None:
    """The message's status after its row's outcome: sent once the provider has it,
    failed (with the reason, for the agent) once the row has failed."""
    if item.state is OutboxState.SENT:
        status, error = advance_status(msg.delivery_status, DeliveryStatus.SENT), None
    elif item.state is OutboxState.FAILED:
        status, error = DeliveryStatus.FAILED, item.last_error
    else:
        return
    if status is msg.delivery_status:
        return
    await change_status(uow, msg, status, now, ACTOR, error)
