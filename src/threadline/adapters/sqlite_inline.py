"""SQLite calls on the event loop's own thread.

aiosqlite runs every call (cursor, execute, fetch, commit…) on a worker thread and
wakes the event loop when it is done. A SQLite statement takes microseconds, but each
of those hand-overs costs a queue put, a thread wake-up and a self-pipe wake of the
loop: measured here, ~38 of them per inbound message and ~5 ms of CPU, which capped
the service at ~150 messages/s. Running the calls inline removes the hand-overs and
keeps aiosqlite's API, so SQLAlchemy's aiosqlite dialect works unchanged.

What makes blocking the loop acceptable: the database is local and statements are
short. Waiting for another process's lock is never done here: the busy timeout is
zero (`BUSY_TIMEOUT_SECONDS`) and `Transactor` retries "database is locked" with
asynchronous sleeps, so a lock held elsewhere never freezes the loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite

# Zero: SQLite's own busy wait would sleep on the event loop's thread. A locked
# database fails at once and the Transactor waits asynchronously instead.
BUSY_TIMEOUT_SECONDS = 0.0


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
    connection = InlineConnection(connector, iter_chunk_size=64)
    # A daemon, as SQLAlchemy makes aiosqlite's own: an engine left undisposed (a
    # failed start-up) must not keep the process alive.
    connection._thread.daemon = True
    return await connection
