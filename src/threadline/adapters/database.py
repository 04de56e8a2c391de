"""The database engine: SQLite (embedded default) or PostgreSQL, behind one interface."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from threadline.adapters import sqlite_inline

# Errors after which re-running the whole transaction is correct: PostgreSQL deadlock
# (40P01) and serialization failure (40001), SQLite's busy lock between processes.
_RETRYABLE_PG_CODES = frozenset({"40P01", "40001"})


def is_busy(exc: BaseException) -> bool:
    """SQLite's write lock is held by another connection (another process)."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    code = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
    if code in _RETRYABLE_PG_CODES:
        return True
    return is_busy(exc)


# How long a task waits for a connection before its use case fails (SQLAlchemy's pool
# default): a stuck transaction then shows as errors, not as a service that hangs.
WAIT_SECONDS = 30.0


class Database:
    def __init__(
        self, url: str, *, pool_size: int = 10, wait_seconds: float = WAIT_SECONDS
    ) -> None:
        parsed = make_url(url)
        self.url = url
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite or postgresql")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            # One connection: SQLite has one writer at a time anyway, and queueing in
            # the pool is cheaper than spinning on SQLITE_BUSY inside one process.
            path = parsed.database or ":memory:"
            kwargs.update(
                pool_size=1, max_overflow=0, async_creator=lambda: sqlite_inline.connect(path)
            )
        else:
            # No pre-ping: it costs a round trip on every checkout. A connection that died
            # (a server restart) fails its transaction once and the Transactor retries.
            kwargs.update(
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_recycle=1800,
                pool_timeout=wait_seconds,
            )
            # asyncpg prepares every statement, and PostgreSQL then switches to a generic
            # plan, costed once and kept. Costed while a table was small (a new
            # deployment, an import), it stays a bad plan as the table grows until the
            # next ANALYZE: measured, 100 ms instead of 1 ms for the batch look-ups of the
            # ingest path. Planning each execution costs PostgreSQL a few tens of µs.
            kwargs["connect_args"] = {"server_settings": {"plan_cache_mode": "force_custom_plan"}}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self._turns: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._wait_seconds = wait_seconds
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextlib.asynccontextmanager
    async def connect(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        if not self.is_sqlite:
            async with self.engine.connect() as conn:
                yield conn
            return
        # SQLite's one connection is handed out in turn. The pool's own queue is not
        # fair: a task that gives the connection back and asks again at once (the
        # notification dispatcher's rounds through a 100,000-recipient batch) gets it
        # back before any waiter wakes, and the outbox, routing and every API call
        # waited out the pool's 30 s. An asyncio.Lock serves waiters first come, first
        # served.
        turn = self._turn()
        try:
            async with asyncio.timeout(self._wait_seconds):
                await turn.acquire()
        except TimeoutError:
            raise PoolTimeout(
                f"SQLite's connection was not free within {self._wait_seconds:g} s"
            ) from None
        try:
            async with self.engine.connect() as conn:
                if write:
                    conn = await conn.execution_options(sqlite_immediate=True)
                yield conn
        finally:
            turn.release()

    def _turn(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        # One lock per event loop: a Database outlives the loop of a CLI command or test.
        if self._turns is None or self._turns[0] is not loop:
            self._turns = (loop, asyncio.Lock())
        return self._turns[1]

    async def dispose(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN, so writers can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode is durable across application crashes; only a power loss
        # can drop the last commits, which is the usual trade for an embedded database.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(sqlite_inline.BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads and
        # then writes can fail with SQLITE_BUSY when another process wrote in between.
        if conn.get_execution_options().get("sqlite_immediate"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")
