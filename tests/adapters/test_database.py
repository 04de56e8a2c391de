"""Connection settings the engine applies to every PostgreSQL connection, and how long a
task waits for SQLite's one connection."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tests.support import databases
from threadline.adapters.database import Database


@pytest.mark.postgres
async def test_postgresql_plans_each_execution_for_its_parameters(pg_database: str) -> None:
    # Generic plans cached while tables were small turned 1 ms batch look-ups into
    # 100 ms ones as the tables grew (see adapters/database.py).
    db = Database(databases.pg_url(pg_database))
    try:
        for write in (False, True):
            async with db.connect(write=write) as conn:
                mode = (await conn.execute(sa.text("SHOW plan_cache_mode"))).scalar_one()
                assert mode == "force_custom_plan"
    finally:
        await db.dispose()


async def test_a_task_waiting_for_sqlites_connection_gives_up_after_the_wait_not_never(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'wait.db'}", wait_seconds=0.2)
    held, done = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with db.connect(write=True) as conn:
            await conn.execute(sa.text("SELECT 1"))
            held.set()
            await done.wait()  # a transaction stuck on something slow

    try:
        holding = asyncio.create_task(holder())
        await held.wait()
        with pytest.raises(PoolTimeout, match=r"not free within 0\.2 s"):
            await asyncio.wait_for(db.connect(write=False).__aenter__(), 5)
        done.set()
        await holding
        async with db.connect(write=False) as conn:  # the turn was not lost
            assert (await conn.execute(sa.text("SELECT 1"))).scalar_one() == 1
    finally:
        await db.dispose()
