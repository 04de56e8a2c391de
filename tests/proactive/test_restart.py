"""A batch of 10,000 survives a restart: the process stops while the batch is being
decided and sent, a new one finishes it, and every customer's thread gets their message
exactly once.

The notifications go by the API channel, whose messages wait for the business to collect
them: what is tested is the notification pipeline (decide, write the message and its
delivery row in one transaction, resume after a restart). The outbox's own guarantee
across restarts, for provider channels, is tests/channels/test_outbox_restart.py's; with a
provider in the loop this test would spend its minutes waiting on sends.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections import Counter
from typing import Any

import sqlalchemy as sa

from tests.support.clock import FakeClock
from tests.support.live import AgentHandle, Live, free_port, serve
from tests.support.proactive import FRAUD_CHECK, put_template
from threadline.adapters.schema import conversations, customer_identities, customers, messages
from threadline.core.agents import Role
from threadline.service.unit_of_work import UnitOfWork

RECIPIENTS = int(os.environ.get("THREADLINE_RESTART_RECIPIENTS", "10000"))
# 10:00 in New York: inside the default contact window.
MORNING = 15 * 3600
# Rounds follow each other at once: the test should not wait on the worker's tick.
SETTINGS: dict[str, Any] = {"notification_interval_seconds": 0.05}


def _address(i: int) -> str:
    return f"cust-{i:05d}"


async def _many_customers(live: Live, count: int) -> list[str]:
    """`count` customers of the API channel, written in one transaction (the API would
    take a request each)."""
    now = live.clock()
    ids = [uuid.uuid4() for _ in range(count)]

    async def write(uow: UnitOfWork) -> None:
        await uow.conn.execute(
            customers.insert(),
            [
                {
                    "id": c,
                    "display_name": f"Customer {i}",
                    "timezone": "America/New_York",
                    "preferred_channel": "api",
                    "created_at": now,
                }
                for i, c in enumerate(ids)
            ],
        )
        await uow.conn.execute(
            customer_identities.insert(),
            [
                {"channel": "api", "address": _address(i), "customer_id": c, "created_at": now}
                for i, c in enumerate(ids)
            ],
        )

    await live.tx.write(write)
    return [str(c) for c in ids]


async def _states(live: Live, admin: AgentHandle, batch_id: str) -> dict[str, int]:
    # Over HTTP while rounds go on back to back: an API call gets its turn between two
    # rounds (SQLite's one connection once went round after round to the dispatcher,
    # and the call came back only when the batch was done).
    r = await live.http.get(
        f"/api/v1/notifications/batches/{batch_id}", headers=admin.headers, timeout=60
    )
    assert r.status_code == 200, r.text
    return dict(r.json()["states"])


async def _outbound_per_customer(live: Live) -> Counter[str]:
    async def read(uow: UnitOfWork) -> Counter[str]:
        rows = await uow.conn.execute(
            sa.select(customer_identities.c.address, messages.c.body)
            .select_from(
                messages.join(conversations, conversations.c.id == messages.c.conversation_id)
                .join(customers, customers.c.id == conversations.c.customer_id)
                .join(customer_identities, customer_identities.c.customer_id == customers.c.id)
            )
            .where(messages.c.direction == "outbound")
        )
        return Counter(f"{r.address}|{r.body}" for r in rows)

    return await live.tx.read(read)


async def _sent_decisions(live: Live, admin: AgentHandle) -> Counter[str]:
    """The "sent" decisions per notification, read page by page as a client would."""
    sent: Counter[str] = Counter()
    after = 0
    while True:
        r = await live.http.get(
            "/api/v1/notifications/decisions",
            params={"after": after, "limit": 1000},
            headers=admin.headers,
            timeout=60,
        )
        assert r.status_code == 200, r.text
        page = r.json()
        if not page:
            return sent
        sent.update(d["notification_id"] for d in page if d["decision"] == "sent")
        after = page[-1]["seq"]


async def test_a_batch_interrupted_by_a_restart_reaches_every_customer_exactly_once(
    database_url: str, clock: FakeClock
) -> None:
    clock.advance(MORNING - 9 * 3600)
    port = free_port()
    async with serve(database_url, clock, port=port, **SETTINGS) as live:
        admin = await live.agent("ada", role=Role.ADMIN, online=False)
        await live.inbox("Acme app", channel="api")
        await put_template(live, admin, "card_fraud_check", FRAUD_CHECK)
        people = await _many_customers(live, RECIPIENTS)
        rows = [
            {
                "customer_id": c,
                "reference": f"alert-{i}",
                "variables": {"amount": f"${i}.00", "merchant": "ACME STORE"},
            }
            for i, c in enumerate(people)
        ]
        r = await live.http.post(
            "/api/v1/notifications/batches?template=card_fraud_check",
            content=json.dumps(rows),
            headers={**admin.headers, "content-type": "application/json"},
            timeout=120,
        )
        assert r.status_code == 201, r.text
        batch_id = r.json()["batch_id"]
        at_stop: dict[str, int] = {}
        for _ in range(6000):
            at_stop = await _states(live, admin, batch_id)
            if at_stop.get("sent"):
                break
            await asyncio.sleep(0.01)
    # Stopped midway: some sent (a round in flight commits or not, as a whole), the
    # rest still pending.
    assert 0 < at_stop.get("sent", 0) < RECIPIENTS, at_stop

    async with serve(database_url, clock, port=port, **SETTINGS) as live:
        admin = await live.login("ada")
        states: dict[str, int] = {}
        for _ in range(6000):
            states = await _states(live, admin, batch_id)
            if "pending" not in states:
                break
            await asyncio.sleep(0.05)
        assert states == {"sent": RECIPIENTS}
        sent = await _sent_decisions(live, admin)
        threads = await _outbound_per_customer(live)

    wanted = {
        f"{_address(i)}|Acme Bank: did you make a ${i}.00 purchase at ACME STORE? Reply YES or NO."
        for i in range(RECIPIENTS)
    }
    assert set(threads) == wanted
    assert set(threads.values()) == {1}  # no customer got theirs twice
    assert len(sent) == RECIPIENTS
    assert set(sent.values()) == {1}
