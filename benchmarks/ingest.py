"""The ingest data path alone, without HTTP: how many customer messages per second the
group-committing batcher stores, and the process's CPU per message.

    .venv/bin/python benchmarks/ingest.py [--messages 3000] [--producers 64]

Prints JSON. Runs against a fresh SQLite file and a fresh PostgreSQL database it
creates on the local server (postgresql://postgres@127.0.0.1:5432/test) and drops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from threadline.adapters.database import Database
from threadline.adapters.migrate import upgrade
from threadline.service import inboxes
from threadline.service.batching import IngestBatcher
from threadline.service.inbound import InboundMessage
from threadline.service.unit_of_work import Transactor

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
CUSTOMERS = 200


def now() -> datetime:
    return datetime.now(UTC)


async def measure(url: str, messages: int, producers: int) -> dict[str, float]:
    db = Database(url)
    tx = Transactor(db)
    token = (
        await tx.write(lambda uow: inboxes.create(uow, None, "Bench", "api", "general", now()))
    ).token
    batcher = IngestBatcher(tx)
    batcher.start()
    try:
        for n in range(CUSTOMERS):  # first contact: customers and conversations exist
            await batcher.ingest(token, InboundMessage(f"c{n}", "hello", f"first-{n}"), now())
        numbers = iter(range(messages))

        async def producer() -> None:
            for n in numbers:
                msg = InboundMessage(f"c{n % CUSTOMERS}", "again", f"m-{n}")
                await batcher.ingest(token, msg, now())

        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(producer() for _ in range(producers)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await batcher.stop()
        await db.dispose()
    return {
        "messages_per_s": round(messages / wall, 1),
        "cpu_ms_per_message": round(1000 * cpu / messages, 3),
    }


async def on_postgresql(messages: int, producers: int) -> dict[str, float]:
    name = f"bench_ingest_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        await asyncio.to_thread(upgrade, url)
        return await measure(url, messages, producers)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--producers", type=int, default=64)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    for database in args.databases.split(","):
        if database == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'ingest.db'}"
                upgrade(url)
                results["sqlite"] = asyncio.run(measure(url, args.messages, args.producers))
        elif database == "postgresql":
            results["postgresql"] = asyncio.run(on_postgresql(args.messages, args.producers))
    print(
        json.dumps(
            {
                "benchmark": "ingest data path (batcher, no HTTP)",
                "messages": args.messages,
                "producers": args.producers,
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
