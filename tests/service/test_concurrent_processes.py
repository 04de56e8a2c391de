"""Two application processes on one PostgreSQL database (DESIGN.md §8): routing at the
same moment never gives an agent more than their limits, and a due timer fires once.

Real processes (tests/support/contender.py), not tasks: each has its own connection
pool and its own event loop, as two `threadline serve` processes behind a balancer.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.clock import FakeClock
from threadline.adapters.database import Database
from threadline.adapters.schema import agents, conversation_timers, conversations
from threadline.core.access import Principal
from threadline.core.agents import AgentStatus, Role
from threadline.service import agents as agent_service
from threadline.service import conversations as conversation_service
from threadline.service import inbound, inboxes
from threadline.service.inbound import InboundMessage
from threadline.service.unit_of_work import Transactor, UnitOfWork

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
PREFERRED, MAX_LOAD = 2, 3


def _contenders(*argvs: list[str]) -> list[dict[str, int]]:
    """Run the processes side by side; each prints its JSON summary."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.contender", *argv],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


async def _staff(tx: Transactor, clock: FakeClock, count: int) -> list[Principal]:
    staff = []
    for n in range(count):
        new = agent_service.NewAgent(
            f"agent{n}",
            "password-123",
            None,
            Role.AGENT,
            frozenset({"general"}),
            PREFERRED,
            MAX_LOAD,
        )
        agent = await agent_service.create_agent(tx, None, new, clock())
        principal = Principal(agent.id, Role.AGENT, agent.skills)
        await tx.write(
            lambda uow, p=principal: agent_service.set_status(
                uow, p, p.agent_id, AgentStatus.ONLINE, clock()
            )
        )
        staff.append(principal)
    return staff


def test_two_processes_routing_at_once_never_exceed_an_agent_s_limit(pg_database: str) -> None:
    from tests.support import databases

    asyncio.run(databases.truncate_pg(pg_database))
    url = databases.pg_url(pg_database)

    async def set_up() -> str:
        db = Database(url)
        tx = Transactor(db)
        clock = FakeClock()
        await tx.write(lambda uow: inboxes.create(uow, None, "Web", "api", "general", clock()))
        await _staff(tx, clock, 4)
        lead = agent_service.NewAgent("lead", "password-123", None, Role.SUPERVISOR)
        supervisor = await agent_service.create_agent(tx, None, lead, clock())
        await db.dispose()
        return str(supervisor.id)

    supervisor = asyncio.run(set_up())
    start_at = time.time() + 2.0  # both processes imported and connected by then
    results = _contenders(
        ["route", url, supervisor, "a", str(start_at)],
        ["route", url, supervisor, "b", str(start_at)],
    )
    assert all(r["ingested"] > 10 and r["closed"] > 0 for r in results), results

    async def check() -> None:
        db = Database(url)
        tx = Transactor(db)

        async def read(uow: UnitOfWork) -> None:
            rows = (await uow.conn.execute(sa.select(agents))).all()
            held = Counter(
                r.assigned_agent_id
                for r in await uow.conn.execute(
                    sa.select(conversations.c.assigned_agent_id).where(
                        conversations.c.state == "assigned"
                    )
                )
            )
            for agent in rows:
                assert agent.active_count <= agent.preferred_concurrency, agent.username
                assert agent.active_count == held[agent.id], agent.username
            assigned = [
                e
                for e in await uow.events.after(0, limit=100_000)
                if e.type == ("conversation.assigned")
            ]
            assert len(assigned) > 20  # the processes really competed for slots
            for event in assigned:
                assert event.payload["load"] <= PREFERRED, event

        await tx.read(read)
        await db.dispose()

    asyncio.run(check())


def test_two_processes_firing_timers_at_once_fire_each_once(pg_database: str) -> None:
    from tests.support import databases

    asyncio.run(databases.truncate_pg(pg_database))
    url = databases.pg_url(pg_database)
    conversations_count = 120

    async def set_up() -> str:
        db = Database(url)
        tx = Transactor(db)
        clock = FakeClock()
        created = await tx.write(
            lambda uow: inboxes.create(uow, None, "Web", "api", "general", clock())
        )
        [alice] = await _staff(tx, clock, 1)
        await tx.write(
            lambda uow: agent_service.update_agent(
                uow,
                Principal(alice.agent_id, Role.ADMIN, frozenset()),
                alice.agent_id,
                agent_service.AgentChanges(preferred_concurrency=50, max_load=50),
                clock(),
            )
        )
        for n in range(conversations_count):
            said = await tx.write(
                lambda uow, n=n: inbound.ingest(
                    uow, created.inbox, InboundMessage(f"c{n}", "Hi there"), clock()
                )
            )
            if said.assigned_agent_id is None:
                continue
            await tx.write(
                lambda uow, cid=said.conversation_id: conversation_service.send_message(
                    uow, alice, cid, "Done, it is fixed.", clock()
                )
            )
        await db.dispose()
        # Everything is due by then: inactivity for the answered, breaches for the rest.
        return (clock() + timedelta(days=3)).isoformat()

    now = asyncio.run(set_up())
    first = _fire_in_two_processes(url, now)
    # Each answered conversation went inactive (once); its close is due a day later.
    assert first["conversation.inactive"] == 50
    assert first["conversation.respond_by_breached"] == conversations_count - 50
    assert first["conversation.closed"] == 0
    assert first["timers left"] == 50

    day_later = (datetime.fromisoformat(now) + timedelta(hours=25)).isoformat()
    second = _fire_in_two_processes(url, day_later)
    assert second["conversation.inactive"] == 50  # still once each
    assert second["conversation.closed"] == 50
    assert second["timers left"] == 0


def _fire_in_two_processes(url: str, now: str) -> Counter[str]:
    """Both processes fire what is due at `now`; returns what has fired, by kind, after
    checking that nothing fired twice for a conversation."""
    start_at = time.time() + 2.0
    _contenders(["timers", url, now, str(start_at)], ["timers", url, now, str(start_at)])

    async def read(uow: UnitOfWork) -> Counter[str]:
        fired = Counter(
            (e.type, e.conversation_id)
            for e in await uow.events.after(0, limit=100_000)
            if e.type in FIRED_EVENTS
        )
        twice = [key for key, times in fired.items() if times > 1]
        assert not twice, twice
        kinds = Counter(kind for kind, _ in fired)
        left = await uow.conn.execute(sa.select(sa.func.count()).select_from(conversation_timers))
        kinds["timers left"] = left.scalar_one()
        return kinds

    async def check() -> Counter[str]:
        db = Database(url)
        try:
            return await Transactor(db).read(read)
        finally:
            await db.dispose()

    return asyncio.run(check())


FIRED_EVENTS = (
    "conversation.inactive",
    "conversation.closed",
    "conversation.respond_by_breached",
)


async def test_an_agent_going_offline_while_being_assigned_keeps_nothing(
    pg_database: str,
) -> None:
    """A routing transaction gives Xavier a conversation and has not committed when he
    signs off: the sign-off waits for it, then sends that conversation back too."""
    from tests.support import databases

    await databases.truncate_pg(pg_database)
    db = Database(databases.pg_url(pg_database))
    tx = Transactor(db)
    clock = FakeClock()
    try:
        created = await tx.write(
            lambda uow: inboxes.create(uow, None, "Web", "api", "general", clock())
        )
        [xavier] = await _staff(tx, clock, 1)
        async with db.connect(write=True) as conn:
            routing = await conn.begin()
            uow = UnitOfWork(conn, lock_rows=True)
            said = await inbound.ingest(
                uow, created.inbox, InboundMessage("c1", "My bill is wrong"), clock()
            )
            assert said.assigned_agent_id == xavier.agent_id
            signing_off = asyncio.create_task(
                tx.write(
                    lambda u: agent_service.set_status(
                        u, xavier, xavier.agent_id, AgentStatus.OFFLINE, clock()
                    )
                )
            )
            await asyncio.sleep(0.3)
            assert not signing_off.done()  # waiting for the routing transaction
            await uow.flush_events()
            await routing.commit()
        await signing_off

        async def read(uow: UnitOfWork) -> tuple[Any, list[Any]]:
            agent = (
                await uow.conn.execute(
                    sa.select(agents.c.status, agents.c.active_count).where(
                        agents.c.id == xavier.agent_id
                    )
                )
            ).one()
            convs = (
                await uow.conn.execute(
                    sa.select(conversations.c.state, conversations.c.assigned_agent_id)
                )
            ).all()
            return agent, convs

        agent, convs = await tx.read(read)
        assert tuple(agent) == ("offline", 0)
        assert [tuple(c) for c in convs] == [("queued", None)]
    finally:
        await db.dispose()
