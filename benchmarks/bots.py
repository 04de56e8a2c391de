"""Bot benchmark: customers writing to an inbox whose virtual agent answers them, through
the API channel, with the demo flow and the demo shop on loopback. Prints one JSON
document.

- FAQ turns: N new customers each ask an FAQ (C in flight); the rate is bot turns
  completed per second (from the first POST until every customer's answer is stored),
  and each turn's latency is from the POST to its answer being stored (polled every
  5 ms, so latencies are rounded up by up to that).
- Lookup turns: N customers already asked "where is my order?" answer with an order
  number; each turn calls the demo shop over HTTP before answering.
- References measured in the same run: the same N first messages posted to an inbox
  without a bot (storing and routing only), and the engine alone deciding the FAQ turn
  in memory (what the turn costs before any I/O).

    .venv/bin/python benchmarks/bots.py --customers 300 --database sqlite
    .venv/bin/python benchmarks/bots.py --database postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import sqlalchemy as sa
import uvicorn

from threadline.adapters.database import Database
from threadline.adapters.lexicons import shipped_classifier
from threadline.adapters.migrate import upgrade
from threadline.adapters.providers.base import Secrets
from threadline.adapters.schema import messages
from threadline.api.app import create_app
from threadline.bots.shop import serve_shop
from threadline.core.bots.config import BotKind
from threadline.core.bots.engine import Context, Engine
from threadline.core.bots.intents import Recognizer
from threadline.core.bots.load import load_flow
from threadline.core.bots.state import BotState
from threadline.core.verification import Verification
from threadline.demo_bots import demo_flow
from threadline.service import bot_settings, inboxes
from threadline.service.unit_of_work import Transactor, UnitOfWork
from threadline.settings import Settings

KEY = "bench-bot-key-0123456789abcdef"
FAQ = "what are your opening hours?"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "p50_ms": round(pick(0.5) * 1000, 1),
        "p99_ms": round(pick(0.99) * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


async def bot_replies(tx: Transactor, conversation_ids: list[str]) -> dict[str, int]:
    ids = [uuid.UUID(c) for c in conversation_ids]

    async def read(uow: UnitOfWork) -> dict[str, int]:
        rows = await uow.conn.execute(
            sa.select(messages.c.conversation_id, sa.func.count())
            .where(messages.c.conversation_id.in_(ids), messages.c.sender_type == "bot")
            .group_by(messages.c.conversation_id)
        )
        return {str(r[0]): int(r[1]) for r in rows}

    return await tx.read(read)


async def turns(
    http: httpx.AsyncClient,
    tx: Transactor,
    token: str,
    customers: list[str],
    text: str | list[str],
    concurrency: int,
    known: dict[str, str],
) -> dict[str, Any]:
    """Each customer says `text` once; returns the rate and latency of the bot's turns."""
    before = await bot_replies(tx, list(known.values())) if known else {}
    posted: dict[str, float] = {}
    answered: dict[str, float] = {}
    queue = iter(enumerate(customers))

    async def say() -> None:
        for i, address in queue:
            body = text if isinstance(text, str) else text[i]
            r = await http.post(
                "/api/v1/channel/messages",
                headers={"Authorization": f"Bearer {token}"},
                json={"customer": {"address": address}, "text": body},
            )
            assert r.status_code == 201, r.text
            known[address] = r.json()["conversation_id"]
            posted[known[address]] = time.perf_counter()

    async def watch() -> None:
        while len(answered) < len(customers):
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            counts = await bot_replies(tx, list(posted))
            for cid, n in counts.items():
                if cid not in answered and n > before.get(cid, 0):
                    answered[cid] = now

    began = time.perf_counter()
    await asyncio.gather(*(say() for _ in range(concurrency)), watch())
    elapsed = max(answered.values()) - began
    return {
        "turns": len(customers),
        "seconds": round(elapsed, 3),
        "per_second": round(len(customers) / elapsed, 1),
        **summary([answered[c] - posted[c] for c in answered]),
    }


async def reference_ingest(
    http: httpx.AsyncClient, token: str, count: int, concurrency: int, run: str
) -> dict[str, Any]:
    latencies: list[float] = []
    queue = iter(range(count))

    async def say() -> None:
        for i in queue:
            start = time.perf_counter()
            r = await http.post(
                "/api/v1/channel/messages",
                headers={"Authorization": f"Bearer {token}"},
                json={"customer": {"address": f"plain-{run}-{i}"}, "text": FAQ},
            )
            assert r.status_code == 201, r.text
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(say() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    return {"messages": count, "per_second": round(count / elapsed, 1), **summary(latencies)}


def engine_alone(rounds: int) -> dict[str, Any]:
    flow = load_flow(demo_flow("http://127.0.0.1:9"))
    began = time.perf_counter()
    recognizer = Recognizer.train(flow.intents, threshold=flow.threshold, language=flow.language)
    trained = time.perf_counter() - began
    engine = Engine(flow, recognizer, shipped_classifier())
    ctx = Context(
        now=datetime.now(UTC),
        verification=Verification.IDENTIFIED,
        default_skill="general",
        new_code="123456",
        code_salt="s",
    )
    began = time.perf_counter()
    for _ in range(rounds):
        engine.on_message(BotState(), FAQ, ctx)
    each = (time.perf_counter() - began) / rounds
    return {"training_ms": round(trained * 1000, 1), "faq_turn_ms": round(each * 1000, 3)}


async def measure(args: argparse.Namespace, url: str) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    run = uuid.uuid4().hex[:6]
    async with serve_shop(port=0, secret=KEY.encode()) as shop:
        db = Database(url)
        tx = Transactor(db)
        now = datetime.now(UTC)
        bot_inbox = await tx.write(
            lambda uow: inboxes.create(uow, None, "Bot", "api", "general", now)
        )
        plain = await tx.write(
            lambda uow: inboxes.create(uow, None, "Plain", "api", "general", now)
        )
        settings = Settings(
            database_url=url,
            port=port,
            channel_secrets={"BENCH_BOT_KEY": KEY},
            password_time_cost=1,
            password_memory_kib=1024,
        )
        await tx.write(
            lambda uow: bot_settings.set_bot(
                uow,
                None,
                bot_inbox.inbox.id,
                kind=BotKind.BUILTIN,
                now=now,
                secrets=Secrets(settings.channel_secrets),
                flow=demo_flow(shop),
                secret_name="bench",
            )
        )
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), port=port, log_level="warning")
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
            await asyncio.sleep(0.02)
        try:
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                n, c = args.customers, args.concurrency
                reference = await reference_ingest(http, plain.token, n, c, run)
                known: dict[str, str] = {}
                faq_customers = [f"faq-{run}-{i}" for i in range(n)]
                faq = await turns(http, tx, bot_inbox.token, faq_customers, FAQ, c, known)
                order_customers = [f"order-{run}-{i}" for i in range(n)]
                await turns(
                    http, tx, bot_inbox.token, order_customers, "where is my order?", c, known
                )
                numbers = [f"A-1000{1 + i % 5}" for i in range(n)]
                lookups = await turns(http, tx, bot_inbox.token, order_customers, numbers, c, known)
        finally:
            server.should_exit = True
            await serving
            await db.dispose()
    return {
        "database": args.database,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "customers": args.customers,
        "concurrency": args.concurrency,
        "faq_turns": faq,
        "lookup_turns": lookups,
        "reference_ingest_without_bot": reference,
        "reference_engine_alone": engine_alone(2000),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="tl-bots-bench-"))
    pg_name = f"threadline_bots_bench_{uuid.uuid4().hex[:8]}"
    if args.database == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    else:
        admin = await asyncpg.connect(args.postgresql_admin_dsn)
        await admin.execute(f'CREATE DATABASE "{pg_name}"')
        await admin.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{pg_name}"
    try:
        await asyncio.to_thread(upgrade, url)
        return await measure(args, url)
    finally:
        if args.database == "postgresql":
            admin = await asyncpg.connect(args.postgresql_admin_dsn)
            await admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--postgresql-admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
