"""A second (third…) application process for concurrency tests: it works on the same
database as the test, through the service layer, at the same moment as its twin.

    python -m tests.support.contender route  <database_url> <supervisor_id> <tag> <start_at>
    python -m tests.support.contender timers <database_url> <now_iso> <start_at>

`route`: for a few seconds, customers write (new work), a supervisor closes assigned
conversations (freeing slots, which routes the next) and routing passes run.
`timers`: fires every timer due at `now`. Both wait until the wall-clock `start_at`
(a Unix time) so that the processes really overlap, and print a JSON summary.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from threadline.adapters.database import Database
from threadline.adapters.schema import conversations, inboxes
from threadline.core.access import Principal
from threadline.core.agents import Role
from threadline.core.errors import DomainError
from threadline.core.inboxes import Inbox
from threadline.service import conversations as conversation_service
from threadline.service import inbound, timers
from threadline.service.inbound import InboundMessage
from threadline.service.routing import route_waiting
from threadline.service.unit_of_work import Transactor, UnitOfWork

ROUTE_SECONDS = 4.0


async def _wait_for(start_at: float) -> None:
    await asyncio.sleep(max(0.0, start_at - time.time()))


async def _route(url: str, supervisor: uuid.UUID, tag: str, start_at: float) -> dict[str, int]:
    db = Database(url)
    tx = Transactor(db)
    lead = Principal(supervisor, Role.SUPERVISOR, frozenset())
    rng = random.Random(tag)

    async def first_inbox(uow: UnitOfWork) -> Inbox:
        row = (await uow.conn.execute(sa.select(inboxes))).first()
        assert row is not None
        return Inbox(row.id, row.name, row.channel, row.skill, row.created_at)

    async def assigned(uow: UnitOfWork) -> list[uuid.UUID]:
        c = conversations.c
        rows = await uow.conn.execute(sa.select(c.id).where(c.state == "assigned"))
        return [r.id for r in rows]

    inbox = await tx.read(first_inbox)
    done = {"ingested": 0, "closed": 0, "passes": 0, "refused": 0}
    await _wait_for(start_at)
    deadline = time.monotonic() + ROUTE_SECONDS
    n = 0
    while time.monotonic() < deadline:
        now = datetime.now(UTC)
        n += 1
        message = InboundMessage(f"{tag}-{n}", "Hello, I need help", external_id=f"{tag}-{n}")
        await tx.write(lambda uow, m=message, t=now: inbound.ingest(uow, inbox, m, t))
        done["ingested"] += 1
        held = await tx.read(assigned)
        if held and rng.random() < 0.5:
            victim = rng.choice(held)
            try:
                await tx.write(
                    lambda uow, v=victim, t=now: conversation_service.close(uow, lead, v, t)
                )
                done["closed"] += 1
            except DomainError:
                done["refused"] += 1  # the twin closed it first
        await tx.write(lambda uow, t=now: route_waiting(uow, t))
        done["passes"] += 1
    await db.dispose()
    return done


async def _timers(url: str, now: datetime, start_at: float) -> dict[str, int]:
    db = Database(url)
    tx = Transactor(db)
    await _wait_for(start_at)
    handled = 0
    while True:
        # Small batches, so the two processes interleave rather than one taking all.
        got = await tx.write(lambda uow: timers.fire_due(uow, now, limit=5))
        handled += got
        if got == 0:
            # Nothing taken: done, or the twin holds the rest (SKIP LOCKED) for now.
            if not await tx.read(lambda uow: uow.timers.due(now, limit=1)):
                break
            await asyncio.sleep(0.01)
    await db.dispose()
    return {"handled": handled}


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "route":
        url, supervisor, tag, start_at = argv[1:5]
        result = asyncio.run(_route(url, uuid.UUID(supervisor), tag, float(start_at)))
    elif mode == "timers":
        url, now, start_at = argv[1:4]
        result = asyncio.run(_timers(url, datetime.fromisoformat(now), float(start_at)))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
