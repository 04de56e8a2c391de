"""SQLite's write lock held by another process: a write waits for it asleep, so the
event loop keeps serving, and succeeds when the lock is released."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from pathlib import Path

from tests.support.clock import FakeClock
from threadline.adapters.database import Database
from threadline.service import inboxes
from threadline.service.unit_of_work import Transactor


async def test_a_write_waits_asleep_while_another_process_holds_the_lock(
    tmp_path: Path, sqlite_template: Path, clock: FakeClock
) -> None:
    path = tmp_path / "locked.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite+aiosqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # as another process's write transaction would
    try:
        write = asyncio.create_task(
            Transactor(db).write(
                lambda uow: inboxes.create(uow, None, "Web", "api", "general", clock())
            )
        )
        started = time.monotonic()
        for _ in range(10):  # the loop keeps turning while the write waits
            await asyncio.sleep(0.01)
        assert time.monotonic() - started < 0.5
        assert not write.done()

        other.execute("COMMIT")
        created = await asyncio.wait_for(write, 5)
    finally:
        other.close()
        await db.dispose()
    assert created.inbox.name == "Web"
