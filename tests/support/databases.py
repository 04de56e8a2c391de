"""Test databases: a migrated SQLite template copied per test, and one PostgreSQL
database per session, truncated between tests."""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg

from threadline.adapters.migrate import upgrade
from threadline.adapters.schema import metadata

PG_HOST = os.environ.get("THREADLINE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("THREADLINE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("THREADLINE_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("THREADLINE_TEST_PG_DB", "test")
IN_CI = os.environ.get("CI", "").lower() == "true"

# Every table but the sequence row, from the schema itself so that a new table cannot
# be forgotten and leak rows from one test into the next.
TABLES = [t.name for t in metadata.sorted_tables if t.name != "event_sequence"]


def pg_url(database: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


async def _admin() -> asyncpg.Connection:
    return await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB, timeout=5
    )


def pg_unreachable_reason() -> str | None:
    async def probe() -> None:
        conn = await _admin()
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {PG_HOST}:{PG_PORT} is unreachable: {exc}"
    return None


def create_pg_database() -> str:
    name = f"threadline_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await _admin()
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    upgrade(pg_url(name))
    return name


def drop_pg_database(name: str) -> None:
    async def drop() -> None:
        conn = await _admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


async def truncate_pg(name: str) -> None:
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=name, timeout=5)
    try:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        await conn.execute("UPDATE event_sequence SET last_seq = 0")
    finally:
        await conn.close()
