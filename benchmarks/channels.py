"""Channel benchmark: signed provider webhooks in, and the outbox out, against the fake
provider on loopback. Prints one JSON document.

Inbound: N customer messages are posted as signed webhooks (Twilio SMS form posts, Meta
WhatsApp JSON) with C in flight at a time; the rate is messages stored per second and
the latency is each POST's round trip. The same run posts the same number through the
API channel (`POST /api/v1/channel/messages`), the bare reference: what the webhook
path adds is signature checking, provider parsing and the connection look-up.

Outbound, live: N agent replies are written (C in flight) and each goes out as it is
queued; the rate is replies written per second, and the time until the fake provider
has accepted all N. Outbound, backlog: the provider is down while N more are written,
then comes back, and the outbox's drain rate is N over the time from the first to the
last acceptance at the provider. The reference is the same N sends posted straight to
the fake provider's Messages API with the outbox's concurrency, i.e. the rate the
provider end allows on this machine.

Threadline, the fake provider and the load generator share one process and event loop
here (as they share the machine's cores in any case), so the figures are a floor.

    .venv/bin/python benchmarks/channels.py --messages 2000 --database sqlite
    .venv/bin/python benchmarks/channels.py --database postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
import uvicorn

from threadline.adapters.database import Database
from threadline.adapters.migrate import upgrade
from threadline.adapters.providers.signing import meta_signature, twilio_signature
from threadline.api.app import create_app
from threadline.api.context import system_clock
from threadline.core.agents import Role
from threadline.demo_channels import (
    SMS_NUMBER,
    TWILIO_ACCOUNT,
    WHATSAPP_DISPLAY,
    WHATSAPP_NUMBER_ID,
    DemoSecrets,
    fake_provider,
    seed,
)
from threadline.service import agents, inboxes
from threadline.service.unit_of_work import Transactor
from threadline.settings import Settings

# Customers per channel: few enough that one agent (M = 50) holds them all, so most
# messages land in assigned conversations, the steady state of a contact center.
CUSTOMERS = 15
PASSWORD = "bench-password-123"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def backlog_of(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        return await Transactor(db).read(lambda uow: uow.outbox.backlog())
    finally:
        await db.dispose()


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": round(pick(0.5) * 1000, 2), "p99_ms": round(pick(0.99) * 1000, 2)}


async def pump(
    count: int, concurrency: int, one: Callable[[int], Awaitable[bool]]
) -> dict[str, Any]:
    latencies: list[float] = []
    failures = 0
    queue = iter(range(count))

    async def worker() -> None:
        nonlocal failures
        for i in queue:
            start = time.perf_counter()
            ok = await one(i)
            latencies.append(time.perf_counter() - start)
            failures += 0 if ok else 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    return {
        "messages": count,
        "failed": failures,
        "seconds": round(elapsed, 3),
        "per_second": round(count / elapsed, 1),
        **percentiles(latencies),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="tl-bench-"))
    pg_name = f"threadline_channels_bench_{uuid.uuid4().hex[:8]}"
    if args.database == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    else:  # a database of its own, dropped at the end
        admin = await asyncpg.connect(args.postgresql_admin_dsn)
        await admin.execute(f'CREATE DATABASE "{pg_name}"')
        await admin.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{pg_name}"
    try:
        await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
        return await _measure(args, url)
    finally:
        if args.database == "postgresql":
            admin = await asyncpg.connect(args.postgresql_admin_dsn)
            await admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await admin.close()


async def _measure(args: argparse.Namespace, url: str) -> dict[str, Any]:
    made_up = DemoSecrets()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    report: dict[str, Any] = {
        "database": args.database,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "messages": args.messages,
        "concurrency": args.concurrency,
    }
    async with fake_provider(base, made_up) as fake:
        db = Database(url)
        tx = Transactor(db)
        await seed(tx, made_up)
        now = system_clock()
        api = await tx.write(
            lambda uow: inboxes.create(uow, None, "Bench API", "api", "general", now)
        )
        new = agents.NewAgent("bench", PASSWORD, None, Role.AGENT, frozenset({"general"}), 50, 50)
        await agents.create_agent(tx, None, new, now)
        await db.dispose()
        settings = Settings(
            database_url=url,
            port=port,
            public_url=base,
            channel_secrets=made_up.environment(),
            twilio_api_base=fake.base_url,
            meta_graph_base=fake.base_url,
            # Retries soon after the provider is back, so the backlog phase measures the
            # drain, not the back-off.
            outbox_backoff_base_seconds=0.5,
            outbox_backoff_cap_seconds=2.0,
            password_time_cost=1,
            password_memory_kib=1024,
        )
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), port=port, log_level="warning")
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            run_id = uuid.uuid4().hex[:6]

            async def sms(i: int) -> bool:
                form = {
                    "AccountSid": TWILIO_ACCOUNT,
                    "MessageSid": "SM" + uuid.uuid4().hex,
                    "From": f"+1555{i % CUSTOMERS:07d}",
                    "To": SMS_NUMBER,
                    "Body": f"Where is my order {i}?",
                    "NumMedia": "0",
                }
                path = "/webhooks/twilio/sms"
                signature = twilio_signature(base + path, form.items(), made_up.twilio_auth_token)
                r = await http.post(
                    path,
                    content=urlencode(form),
                    headers={
                        "X-Twilio-Signature": signature,
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                )
                return r.status_code == 200

            async def whatsapp(i: int) -> bool:
                body = json.dumps(
                    {
                        "object": "whatsapp_business_account",
                        "entry": [
                            {
                                "id": "102290129340398",
                                "changes": [
                                    {
                                        "field": "messages",
                                        "value": {
                                            "messaging_product": "whatsapp",
                                            "metadata": {
                                                "display_phone_number": WHATSAPP_DISPLAY,
                                                "phone_number_id": WHATSAPP_NUMBER_ID,
                                            },
                                            "contacts": [
                                                {
                                                    "profile": {"name": "Bench"},
                                                    "wa_id": f"1666{i % CUSTOMERS:07d}",
                                                }
                                            ],
                                            "messages": [
                                                {
                                                    "from": f"1666{i % CUSTOMERS:07d}",
                                                    "id": f"wamid.{run_id}{i}",
                                                    "timestamp": str(int(time.time())),
                                                    "type": "text",
                                                    "text": {"body": f"Hello {i}"},
                                                }
                                            ],
                                        },
                                    }
                                ],
                            }
                        ],
                    }
                ).encode()
                r = await http.post(
                    "/webhooks/meta/whatsapp",
                    content=body,
                    headers={
                        "X-Hub-Signature-256": meta_signature(body, made_up.meta_app_secret),
                        "Content-Type": "application/json",
                    },
                )
                return r.status_code == 200

            async def api_channel(i: int) -> bool:
                r = await http.post(
                    "/api/v1/channel/messages",
                    headers={"Authorization": f"Bearer {api.token}"},
                    json={
                        "external_id": f"{run_id}-{i}",
                        "customer": {"address": f"bench-{i % CUSTOMERS}"},
                        "text": f"Where is my order {i}?",
                    },
                )
                return r.status_code == 201

            login = await http.post(
                "/api/v1/auth/login", json={"username": "bench", "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            me = login.json()["agent"]["id"]
            await http.put(
                f"/api/v1/agents/{me}/status", json={"status": "online"}, headers=headers
            )
            inbound: dict[str, Any] = {}
            log("inbound sms…")
            inbound["sms"] = await pump(args.messages, args.concurrency, sms)
            # Outbound: the agent replies in as many conversations as it holds.
            listed = await http.get("/api/v1/conversations", params={"limit": 200}, headers=headers)
            sms_convs = [
                c["id"] for c in listed.json() if c["channel"] == "sms" and c["state"] == "assigned"
            ]
            replies = args.replies

            async def reply(i: int) -> bool:
                r = await http.post(
                    f"/api/v1/conversations/{sms_convs[i % len(sms_convs)]}/messages",
                    json={"text": f"Reply {i}"},
                    headers=headers,
                )
                return r.status_code == 201

            async def all_sent(count: int) -> list[datetime]:
                while len(fake.sent("twilio")) < count:  # noqa: ASYNC110 - polls the fake
                    await asyncio.sleep(0.005)
                return [m.at for m in fake.sent("twilio")]

            # Live: replies written with C in flight, each sent as it is queued.
            log(f"outbound: {replies} replies over {len(sms_convs)} SMS conversations…")
            began = time.perf_counter()
            live = await pump(replies, args.concurrency, reply)
            await all_sent(replies)
            live["all_sent_seconds"] = round(time.perf_counter() - began, 3)
            # Backlog: the provider down while they are written, then back: how fast the
            # outbox drains what waited (first to last acceptance at the provider).
            fake.behave("down", provider="twilio")
            await pump(replies, args.concurrency, reply)
            while (await http.get(f"{base}/healthz")).status_code == 200:
                backlog = await backlog_of(url)
                if backlog.get("pending", 0) >= replies:
                    break
                await asyncio.sleep(0.1)
            fake.behave("ok")
            times = (await all_sent(2 * replies))[replies:]
            drain = (max(times) - min(times)).total_seconds()
            auth = (TWILIO_ACCOUNT, made_up.twilio_auth_token)

            async def direct(i: int) -> bool:
                r = await http.post(
                    f"{fake.base_url}/2010-04-01/Accounts/{TWILIO_ACCOUNT}/Messages.json",
                    data={"To": "+15550009999", "From": SMS_NUMBER, "Body": f"Direct {i}"},
                    auth=auth,
                )
                return r.status_code == 201

            for name, one in (("api_channel_reference", api_channel), ("whatsapp", whatsapp)):
                log(f"inbound {name}…")
                inbound[name] = await pump(args.messages, args.concurrency, one)
            report["inbound"] = inbound
            report["outbound"] = {
                "replies_live": live,
                "backlog_drain": {
                    "messages": replies,
                    "seconds": round(drain, 3),
                    "per_second": round(replies / drain, 1) if drain else None,
                },
                "direct_to_fake_reference": await pump(
                    replies, settings.outbox_concurrency, direct
                ),
            }
        server.should_exit = True
        await serving
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--replies", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--postgresql-admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    started = time.time()
    report = asyncio.run(run(args))
    report["wall_seconds"] = round(time.time() - started, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
