"""SQLite calls on the event loop's own thread.

aiosqlite runs every call (cursor, execute, fetch, commit…) on a worker thread and
wakes the event loop when it is done. A SQLite statement takes microseconds, but each
of those hand-overs costs a queue put, a thread wake-up and a self-pipe wake of the
loop: measured here, ~38 of them per inbound message and ~5 ms of CPU, which capped
the service at ~150 messages/s. Running the calls inline removes the hand-overs and
keeps aiosqlite's API, so SQLAlchemy's aiosqlite dialect works unchanged.

What makes blocking the loop acceptable: the database is local, statements are short,
and waiting for another process's lock is not done here. The busy timeout is kept tiny
(`BUSY_TIMEOUT_SECONDS`) and `Transactor` retries "database is locked" with
asynchronous sleeps, so a lock held elsewhere never freezes the loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite

# Long enough to ride over another connection's commit (sub-millisecond in WAL mode),
# short enough that the event loop is never blocked for a noticeable time.
BUSY_TIMEOUT_SECONDS = 0.05


class InlineConnection(aiosqlite.Connection):
    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


async def connect(path: str) -> aiosqlite.Connection:
    """Open `path`. The connection itself is opened on aiosqlite's thread (which then
    only serves SQLAlchemy's one-off isolation-level change), hence check_same_thread."""
    connector = partial(
        sqlite3.connect, path, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False
    )
    return await InlineConnection(connector, iter_chunk_size=64)
