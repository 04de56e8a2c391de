"""Fixtures shared by the whole suite.

Every database test runs on SQLite and on PostgreSQL. PostgreSQL is expected on
127.0.0.1:5432 (trust auth, database `test`); when it is unreachable the PostgreSQL
half is skipped on a developer's machine, and fails when CI=true.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support import databases
from tests.support.clock import FakeClock
from tests.support.live import Live, serve
from threadline.adapters.migrate import upgrade

# Cheap password hashing for the suite only (hundreds of agents are created); settings
# are read lazily, after this. Production keeps the RFC 9106 defaults.
os.environ.setdefault("THREADLINE_PASSWORD_TIME_COST", "1")
os.environ.setdefault("THREADLINE_PASSWORD_MEMORY_KIB", "1024")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    reason = databases.pg_unreachable_reason()
    if reason is not None:
        if databases.IN_CI:
            pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)")
        pytest.skip(reason)
    name = databases.create_pg_database()
    yield name
    databases.drop_pg_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "threadline.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    name = request.getfixturevalue("pg_database")
    asyncio.run(databases.truncate_pg(name))
    return databases.pg_url(name)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def live(database_url: str, clock: FakeClock) -> AsyncIterator[Live]:
    async with serve(database_url, clock) as running:
        yield running
