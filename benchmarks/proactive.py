"""Proactive notifications at scale: a batch of N recipients (default 100,000) uploaded as
CSV, decided on by the governance checks, written to the outbox and sent to the fake
provider on loopback. Prints one JSON document.

The pipeline, measured with everything running as in production (Threadline's workers,
the fake provider posting its delivery reports back) in one process and event loop:

- **upload**: the CSV through `POST /api/v1/notifications/batches` (rows resolved by
  their `sms:` address, references checked, one pending notification each); rows/s.
- **dispatch**: the notification worker's rounds (service.proactive.dispatch: the
  facts, `decide()`, the message in the customer's thread and its outbox row, the
  decision record), from the start of the first round to the end of the last one;
  notifications/s.
- **delivery**: the outbox sending to the fake provider's Messages API, from the
  first to the last message it accepted; messages/s.
- **end to end**: from the start of the upload to the last message accepted by the
  provider; notifications/s, and the process's CPU per notification. Then the time
  until every delivery report has been applied (each message brings two status
  callbacks; `--delivery-reports off` holds them back until after the run, to measure
  the send path alone).
- **healthz while running**: `GET /healthz` twice a second throughout, i.e. how long
  any API call waited while the batch went through.

Then, in the same run and database, with the server stopped, a second campaign to the
same customers (scheduled for the next day, so each already has one reminder within
the caps' week) and what it costs without governance:

- **dispatcher alone**: `dispatch_due` rounds until none is due, nothing else running;
- **bare reference**: the same number of thread messages and outbox rows written in
  rounds of the same size through the same repositories: the conversations read,
  each message added to its thread, the outbox row, nothing decided and no notification
  bookkeeping;
- **decide() alone**: the governance decision on facts shaped as that campaign's, in
  memory.

The customers (one SMS identity each, in America/New_York, preferring SMS) are inserted
in bulk before anything is timed. Threadline's clock is the real one shifted to
10:00 in New York on a weekday, inside the default contact window.

    .venv/bin/python benchmarks/proactive.py                         # 100,000, SQLite
    .venv/bin/python benchmarks/proactive.py --recipients 5000       # a quick run
    .venv/bin/python benchmarks/proactive.py --database postgresql   # a database of its own
    .venv/bin/python benchmarks/proactive.py --database-url postgresql+asyncpg://...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import sqlalchemy as sa
import uvicorn

from threadline.adapters.database import Database
from threadline.adapters.migrate import upgrade
from threadline.adapters.schema import customer_identities, customers, messages, outbox
from threadline.adapters.schema_proactive import notification_decisions, notifications
from threadline.api.app import create_app
from threadline.core.agents import Role
from threadline.core.messages import SenderType, to_customer
from threadline.core.outbox import OutboxItem, OutboxState
from threadline.core.proactive.decide import ChannelFacts, Facts, decide
from threadline.core.proactive.policy import parse_policy
from threadline.core.proactive.purposes import Purpose
from threadline.core.proactive.quiet import zone
from threadline.demo_channels import (
    DEMO_SMS,
    TWILIO_ACCOUNT,
    WHATSAPP_ACCOUNT,
    DemoSecrets,
    seed,
)
from threadline.fakeprovider.config import FakeAccounts
from threadline.fakeprovider.handle import FakeProvider
from threadline.fakeprovider.server import serve_fake_provider
from threadline.service import agents
from threadline.service.proactive import requests, worker
from threadline.service.proactive.dispatch import ROUND, dispatch_due
from threadline.service.unit_of_work import Transactor, UnitOfWork
from threadline.settings import Settings

PASSWORD = "bench-password-123"
ZONE = "America/New_York"
# 10:00 in New York (EST) on a Tuesday: inside the default 08:00-21:00 window, with
# eleven hours to spare, so however long the run takes nothing meets quiet hours.
START = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
TEMPLATE = "payment_reminder"
REMINDER: dict[str, Any] = {
    "purpose": "reminder",
    "variables": [
        {"name": "amount", "example": "$42.00", "max_length": 12},
        {"name": "due", "example": "March 9", "max_length": 16},
    ],
    "variants": [
        {
            "language": "en",
            "text": "Acme Bank: your card payment of {amount} is due on {due}. "
            "Reply STOP to opt out.",
        }
    ],
}
# Caps that every decision checks (on SMS and across channels); none is reached, since
# a customer gets one reminder per campaign and two campaigns in the benchmark.
POLICY: dict[str, Any] = {
    "caps": [
        {"purpose": "reminder", "channel": "sms", "limit": 3, "period_seconds": 7 * 86400},
        {"purpose": "reminder", "channel": "*", "limit": 4, "period_seconds": 7 * 86400},
    ]
}
# Customers inserted per transaction while setting up.
SETUP_CHUNK = 10_000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def phone(i: int) -> str:
    return f"+1555{i:07d}"


class ShiftedClock:
    """The real clock moved to START when the run begins: time passes as it does, and
    `jump` moves it on (the next day's campaign)."""

    def __init__(self) -> None:
        self.offset = START - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def real(self, at: datetime) -> datetime:
        return at - self.offset


def rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds > 0 else None


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "commit": commit,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


async def add_customers(tx: Transactor, count: int, now: datetime) -> list[uuid.UUID]:
    """`count` customers with one SMS identity each, a few set-based inserts per
    transaction (the API's one customer per request would take longer than the run)."""
    ids = [uuid.uuid4() for _ in range(count)]
    for start in range(0, count, SETUP_CHUNK):
        chunk = range(start, min(count, start + SETUP_CHUNK))

        async def insert(uow: UnitOfWork, chunk: range = chunk) -> None:
            await uow.conn.execute(
                customers.insert(),
                [
                    {
                        "id": ids[i],
                        "display_name": f"Customer {i}",
                        "timezone": ZONE,
                        "preferred_channel": "sms",
                        "created_at": now,
                    }
                    for i in chunk
                ],
            )
            await uow.conn.execute(
                customer_identities.insert(),
                [
                    {
                        "channel": "sms",
                        "address": phone(i),
                        "customer_id": ids[i],
                        "created_at": now,
                    }
                    for i in chunk
                ],
            )

        await tx.write(insert)
    return ids


def upload_csv(count: int, campaign: str, send_at: datetime | None) -> bytes:
    lines = ["channel_address,reference,send_at,amount,due"]
    at = send_at.isoformat() if send_at else ""
    for i in range(count):
        lines.append(f"sms:{phone(i)},{campaign}-{i},{at},${10 + i % 990}.{i % 100:02d},March 9")
    return ("\n".join(lines) + "\n").encode()


async def upload(
    http: httpx.AsyncClient, headers: dict[str, str], body: bytes
) -> tuple[dict[str, Any], float, float]:
    began = time.perf_counter()
    r = await http.post(
        "/api/v1/notifications/batches",
        params={"template": TEMPLATE},
        content=body,
        headers={**headers, "Content-Type": "text/csv"},
        timeout=1800,
    )
    ended = time.perf_counter()
    if r.status_code != 201:
        raise SystemExit(f"upload refused: {r.status_code} {r.text[:500]}")
    return dict(r.json()), began, ended


async def batch_states(tx: Transactor, batch_id: uuid.UUID) -> dict[str, int]:
    return await tx.read(lambda uow: uow.notifications.counts(batch_id))


async def round_times(tx: Transactor, batch_id: uuid.UUID) -> tuple[datetime, datetime]:
    """When the first and the last dispatch round that sent this batch began (each
    round stamps its notifications with its `now`)."""

    async def read(uow: UnitOfWork) -> tuple[datetime, datetime]:
        row = (
            await uow.conn.execute(
                sa.select(
                    sa.func.min(notifications.c.sent_at), sa.func.max(notifications.c.sent_at)
                ).where(notifications.c.batch_id == batch_id)
            )
        ).one()
        return row[0], row[1]

    return await tx.read(read)


async def stored_counts(tx: Transactor, inbox_id: uuid.UUID) -> dict[str, Any]:
    async def read(uow: UnitOfWork) -> dict[str, Any]:
        async def scalar(stmt: Any) -> int:
            return int((await uow.conn.execute(stmt)).scalar_one())

        states = await uow.conn.execute(
            sa.select(outbox.c.state, sa.func.count())
            .where(outbox.c.inbox_id == inbox_id)
            .group_by(outbox.c.state)
        )
        return {
            "messages": await scalar(
                sa.select(sa.func.count())
                .select_from(messages)
                .where(messages.c.inbox_id == inbox_id)
            ),
            "outbox": {r[0]: r[1] for r in states},
            "sent_decisions": await scalar(
                sa.select(sa.func.count())
                .select_from(notification_decisions)
                .where(notification_decisions.c.decision == "sent")
            ),
        }

    return await tx.read(read)


async def bare_writes(
    tx: Transactor, inbox_id: uuid.UUID, customer_ids: list[uuid.UUID], now: datetime
) -> float:
    """The reference: what sending N notifications writes, without governance."""
    began = time.perf_counter()
    for start in range(0, len(customer_ids), ROUND):
        chunk = customer_ids[start : start + ROUND]

        async def write(uow: UnitOfWork, chunk: list[uuid.UUID] = chunk) -> None:
            found = await uow.conversations.for_customers(inbox_id, chunk, for_update=True)
            written = []
            for conv in found.values():
                message_id = uuid.uuid4()
                seq = conv.record_notification(message_id, now)
                uow.collect(conv)
                written.append(
                    to_customer(
                        conv, message_id, seq, "Bare reference", now, sender_type=SenderType.SYSTEM
                    )
                )
            await uow.conversations.save_all(list(found.values()))
            await uow.messages.add_all(written)
            for msg in written:
                await uow.outbox.add(
                    OutboxItem(
                        id=uuid.uuid4(),
                        message_id=msg.id,
                        inbox_id=inbox_id,
                        state=OutboxState.PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                        payload={},
                    )
                )

        await tx.write(write)
    return time.perf_counter() - began


def decide_alone(count: int, now: datetime) -> float:
    """decide() on facts shaped as the second campaign's: SMS usable with one reminder
    sent there yesterday, the fallback channels passed over as the dispatcher finds
    them (no address, or no sender)."""
    policy = parse_policy(POLICY)
    where = zone(ZONE)
    yesterday = (now - timedelta(days=1),)
    others = [("whatsapp", "no_address")] + [
        (c, "no_sender") for c in ("rcs", "messenger", "apple", "app", "api")
    ]
    facts = [
        Facts(
            purpose=Purpose.REMINDER,
            zone=where,
            region=None,
            channels=(
                ChannelFacts("sms", sent=yesterday),
                *(ChannelFacts(c, unusable=why) for c, why in others),
            ),
            sent_anywhere=yesterday,
        )
        for _ in range(count)
    ]
    began = time.perf_counter()
    for f in facts:
        decision = decide(f, policy, now)
    elapsed = time.perf_counter() - began
    assert decision.channel == "sms", decision
    return elapsed


@contextlib.asynccontextmanager
async def fake_provider(
    webhook_base: str, made_up: DemoSecrets, reports: bool
) -> AsyncIterator[FakeProvider]:
    """The demo's fake provider (demo_channels.fake_provider), whose delivery reports
    come a second after each send, or, without reports, only after the run (they are
    dropped when it stops)."""
    accounts = FakeAccounts(
        webhook_base=webhook_base,
        twilio={TWILIO_ACCOUNT: made_up.twilio_auth_token},
        meta_app_secret=made_up.meta_app_secret,
        meta_access_tokens=frozenset({made_up.whatsapp_token}),
        rbm_client_token=secrets.token_urlsafe(16),
        rbm_service_accounts={},
        apple_csp_id="00000000-0000-4000-8000-000000000000",
        apple_secret_b64="ZGVtbw==",
        whatsapp_business_account_id=WHATSAPP_ACCOUNT,
        status_delay_seconds=1.0 if reports else 30 * 86400.0,
    )
    async with serve_fake_provider(accounts) as fake:
        yield fake


async def probe_health(
    http: httpx.AsyncClient, latencies: list[float], stop: asyncio.Event
) -> None:
    """GET /healthz twice a second: how long any API call waits while the batch runs."""
    while not stop.is_set():
        began = time.perf_counter()
        try:
            await http.get("/healthz", timeout=600)
        except httpx.HTTPError:
            latencies.append(float("inf"))  # counted, as a failure
        else:
            latencies.append(time.perf_counter() - began)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


def spread(latencies: list[float]) -> dict[str, Any]:
    ordered = sorted(latencies)
    if not ordered:
        return {}

    def pick(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {
        "probes": len(ordered),
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
        "max_ms": pick(1.0),
        "over_1s": sum(x > 1 for x in ordered),
        "failed": sum(x == float("inf") for x in ordered),
    }


class Observed:
    """Times the dispatcher's rounds and the upload's transaction as the server runs
    them, by wrapping the two service functions (nothing else changes)."""

    def __init__(self) -> None:
        self.rounds: list[tuple[float, float, int]] = []  # start, end, notifications taken
        self.batches: list[tuple[float, float]] = []
        self._undo: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> Observed:
        original_dispatch = worker.dispatch_due
        original_batch = requests.create_batch

        async def dispatch(uow: UnitOfWork, now: datetime, limit: int = ROUND) -> int:
            began = time.perf_counter()
            taken = await original_dispatch(uow, now, limit)
            self.rounds.append((began, time.perf_counter(), taken))
            return taken

        async def create_batch(*args: Any, **kwargs: Any) -> requests.BatchResult:
            began = time.perf_counter()
            result = await original_batch(*args, **kwargs)
            self.batches.append((began, time.perf_counter()))
            return result

        for module, name, wrapper in (
            (worker, "dispatch_due", dispatch),
            (requests, "create_batch", create_batch),
        ):
            self._undo.append((module, name, getattr(module, name)))
            setattr(module, name, wrapper)
        return self

    def __exit__(self, *_: object) -> None:
        for module, name, original in self._undo:
            setattr(module, name, original)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.database_url:
        return await _prepared(args, args.database_url)
    if args.database == "sqlite":
        with tempfile.TemporaryDirectory(prefix="tl-bench-proactive-") as tmp:
            return await _prepared(args, f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
    name = f"threadline_proactive_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.postgresql_admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        return await _prepared(args, f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    finally:  # a database of its own, dropped at the end
        admin = await asyncpg.connect(args.postgresql_admin_dsn)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _prepared(args: argparse.Namespace, url: str) -> dict[str, Any]:
    await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
    return await _measure(args, url)


async def _measure(args: argparse.Namespace, url: str) -> dict[str, Any]:
    n = args.recipients
    made_up = DemoSecrets()
    clock = ShiftedClock()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    report: dict[str, Any] = {
        "benchmark": "proactive notifications: upload, governance, outbox, fake provider",
        "database": url.split("+", 1)[0].split(":", 1)[0],
        "recipients": n,
        "machine": machine(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }

    # Set-up, not timed: inboxes connected to the fake provider, an admin, customers.
    db = Database(url)
    tx = Transactor(db)
    await seed(tx, made_up)
    await agents.create_agent(
        tx, None, agents.NewAgent("bench-admin", PASSWORD, None, Role.ADMIN), clock()
    )
    began = time.perf_counter()
    customer_ids = await add_customers(tx, n, clock())
    report["setup_customers_seconds"] = round(time.perf_counter() - began, 2)
    sms_inbox = next(
        i.id for i in await tx.read(lambda uow: uow.access.list_inboxes()) if i.name == DEMO_SMS
    )
    log(f"{n} customers in {report['setup_customers_seconds']} s")

    profiles = {"pipeline": cProfile.Profile(), "dispatcher_alone": cProfile.Profile()}
    reports_on = args.delivery_reports == "on"
    report["delivery_reports"] = args.delivery_reports
    async with fake_provider(base, made_up, reports_on) as fake:
        settings = Settings(
            database_url=url,
            port=port,
            public_url=base,
            channel_secrets=made_up.environment(),
            twilio_api_base=fake.base_url,
            meta_graph_base=fake.base_url,
            password_time_cost=1,
            password_memory_kib=1024,
        )
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings, clock=clock), port=port, log_level="warning")
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            login = await http.post(
                "/api/v1/auth/login", json={"username": "bench-admin", "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            for path, body in (
                (f"/api/v1/notification-templates/{TEMPLATE}", REMINDER),
                ("/api/v1/proactive/policy", POLICY),
            ):
                r = await http.put(path, json=body, headers=headers)
                assert r.status_code == 200, r.text

            # The pipeline, from the upload to every delivery report applied.
            csv = upload_csv(n, "first", None)
            log(f"uploading {n} recipients ({len(csv) / 1e6:.1f} MB of CSV)…")
            if args.profile:
                profiles["pipeline"].enable()
            stop_probe, health = asyncio.Event(), []
            with Observed() as seen:
                probing = asyncio.create_task(probe_health(http, health, stop_probe))
                cpu = time.process_time()
                answer, t0, t1 = await upload(http, headers, csv)
                batch_id = uuid.UUID(answer["batch_id"])
                log(f"uploaded in {t1 - t0:.1f} s: {answer['created']} created")
                deadline = t0 + args.max_seconds
                last_check = t0
                timed_out = False
                while len(fake.sent("twilio")) < n:
                    # What the outbox gave up on never reaches the provider: the wait ends
                    # when nothing is left to decide or to send.
                    if time.perf_counter() - last_check > 15:
                        last_check = time.perf_counter()
                        states = await batch_states(tx, batch_id)
                        backlog = await tx.read(lambda uow: uow.outbox.backlog())
                        log(f"notifications {states}; at the provider {len(fake.sent('twilio'))}")
                        if "pending" not in states and not {"pending", "sending"} & set(backlog):
                            break
                    if time.perf_counter() > deadline:
                        # Reported as far as it got, and marked: not a full run.
                        timed_out = True
                        log(f"--max-seconds reached: {len(fake.sent('twilio'))} of {n} sent")
                        break
                    # Each look builds the provider's list of messages: not too often.
                    await asyncio.sleep(1.0)
                cpu_accepted = time.process_time() - cpu
                stop_probe.set()
                await probing
                took = time.perf_counter() - t0
                log(f"{len(fake.sent('twilio'))} at the provider after {took:.1f} s")
                if reports_on and not timed_out:
                    await fake.idle()  # every delivery report posted and answered
                    all_delivered = time.perf_counter()
                    cpu_delivered = time.process_time() - cpu
                    log(f"delivery reports all answered after {all_delivered - t0:.1f} s")
            if args.profile:
                profiles["pipeline"].disable()

            # The provider's clock is the real one: its times on perf_counter's scale.
            wall, perf = datetime.now(UTC), time.perf_counter()
            sent = fake.sent("twilio")
            done = len(sent)
            report["timed_out"] = timed_out
            accepted = sorted(perf + (m.at - wall).total_seconds() for m in sent)
            rounds = [r for r in seen.rounds if r[2] and r[0] >= t0]
            [(batch_began, batch_ended)] = seen.batches
            dispatch = rounds[-1][1] - rounds[0][0]
            delivery = accepted[-1] - accepted[0]
            reports = [d for d in fake.deliveries() if d.kind.startswith("twilio.status.")]
            report["pipeline"] = {
                "upload": {
                    "rows": answer["rows"],
                    "created": answer["created"],
                    "errors": len(answer["errors"]),
                    "seconds": round(t1 - t0, 2),
                    "rows_per_second": rate(n, t1 - t0),
                    "batch_transaction_seconds": round(batch_ended - batch_began, 2),
                },
                "dispatch": {
                    "notifications": sum(taken for _, _, taken in rounds),
                    "rounds": len(rounds),
                    "first_round_after_upload_start_s": round(rounds[0][0] - t0, 2),
                    "seconds": round(dispatch, 2),
                    "notifications_per_second": rate(
                        sum(taken for _, _, taken in rounds), dispatch
                    ),
                    "busy_seconds": round(sum(end - start for start, end, _ in rounds), 2),
                    "longest_round_s": round(max(end - start for start, end, _ in rounds), 2),
                },
                "delivery": {
                    "first_accepted_after_upload_start_s": round(accepted[0] - t0, 2),
                    "seconds": round(delivery, 2),
                    "messages_per_second": rate(done, delivery),
                },
                "healthz_while_running": spread(health),
                "end_to_end": {
                    "seconds": round(accepted[-1] - t0, 2),
                    "notifications_per_second": rate(done, accepted[-1] - t0),
                    "cpu_ms_per_notification": round(1000 * cpu_accepted / done, 2),
                },
            }
            if reports_on and not timed_out:
                report["pipeline"]["delivery_reports"] = {
                    "posted": len(reports),
                    "not_2xx": sum(not (d.status and 200 <= d.status < 300) for d in reports),
                    "all_applied_after_upload_start_s": round(all_delivered - t0, 2),
                    "cpu_ms_per_notification_with_reports": round(1000 * cpu_delivered / n, 2),
                }

            # Correctness: every recipient exactly once, every notification sent.
            states = await batch_states(tx, batch_id)
            message_ids = Counter(
                parse_qs(urlsplit(m.payload.get("StatusCallback", "")).query).get("message", [""])[
                    0
                ]
                for m in sent
            )
            recipients = Counter(m.to for m in sent)
            stored = await stored_counts(tx, sms_inbox)
            every_once = recipients == Counter(phone(i) for i in range(n))
            report["correctness"] = {
                "at_provider": len(sent),
                "distinct_recipients": len(recipients),
                "distinct_messages": len(message_ids),
                "every_recipient_once": every_once,
                "notification_states": states,
                "thread_messages": stored["messages"],
                "outbox": stored["outbox"],
                "sent_decisions": stored["sent_decisions"],
                "ok": len(sent) == n
                and len(message_ids) == n
                and every_once
                and states == {"delivered" if reports_on else "sent": n}
                and stored["messages"] == n
                and stored["outbox"] == {"sent": n}
                and stored["sent_decisions"] == n,
            }
            log(f"correct: {report['correctness']['ok']}")

            # The second campaign, uploaded now for tomorrow 10:00 in New York.
            csv = upload_csv(n, "second", START + timedelta(days=1))
            second, began_2, ended_2 = await upload(http, headers, csv)
            report["second_upload"] = {
                "seconds": round(ended_2 - began_2, 2),
                "rows_per_second": rate(n, ended_2 - began_2),
            }
        server.should_exit = True
        await serving
    await db.dispose()

    # References, nothing else running: tomorrow's campaign through the dispatcher
    # alone, then the bare writes, then decide() in memory.
    clock.offset += timedelta(days=1)
    db = Database(url)
    tx = Transactor(db)
    log("second campaign: the dispatcher alone…")
    began, cpu = time.perf_counter(), time.process_time()
    taken = 1
    if args.profile:
        profiles["dispatcher_alone"].enable()
    while taken:
        taken = await tx.write(lambda uow: dispatch_due(uow, clock()))
    if args.profile:
        profiles["dispatcher_alone"].disable()
    alone, alone_cpu = time.perf_counter() - began, time.process_time() - cpu
    states = await batch_states(tx, uuid.UUID(second["batch_id"]))
    log("bare writes…")
    cpu = time.process_time()
    bare = await bare_writes(tx, sms_inbox, customer_ids, clock())
    bare_cpu = time.process_time() - cpu
    await db.dispose()
    decided = decide_alone(n, clock())
    report["references"] = {
        "dispatcher_alone": {
            "seconds": round(alone, 2),
            "notifications_per_second": rate(n, alone),
            "ms_per_notification": round(1000 * alone / n, 3),
            "cpu_ms_per_notification": round(1000 * alone_cpu / n, 3),
            "states": states,
        },
        "bare_writes": {
            "seconds": round(bare, 2),
            "per_second": rate(n, bare),
            "ms_per_message": round(1000 * bare / n, 3),
            "cpu_ms_per_message": round(1000 * bare_cpu / n, 3),
        },
        "decide_alone": {
            "seconds": round(decided, 3),
            "per_second": rate(n, decided),
            "us_per_decision": round(1e6 * decided / n, 2),
        },
        "dispatcher_over_bare": round(alone / bare, 2),
    }
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.profile:
        write_profiles(Path(args.profile), profiles)
    return report


def write_profiles(folder: Path, profiles: dict[str, cProfile.Profile]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, profile in profiles.items():
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats("threadline", 60)
        (folder / f"{name}.txt").write_text(out.getvalue())
        stats.dump_stats(str(folder / f"{name}.prof"))
    log(f"profiles in {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--database-url",
        help="an empty database to use instead (migrated first, left in place)",
    )
    parser.add_argument(
        "--postgresql-admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument(
        "--delivery-reports",
        choices=["on", "off"],
        default="on",
        help="the fake provider's status callbacks, a second after each send (off: none "
        "during the run, so the send path is measured alone)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=4 * 3600,
        help="stop waiting for the provider after this long, and report what got there",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="cProfile the pipeline and the dispatcher alone into DIR (slows them down: "
        "profiled figures are not benchmark figures)",
    )
    parser.add_argument("--output", help="also write the JSON here")
    args = parser.parse_args()
    if not 1 <= args.recipients <= 100_000:
        parser.error("--recipients: 1 to 100,000 (a batch's most rows)")
    started = time.time()
    report = asyncio.run(run(args))
    report["wall_seconds"] = round(time.time() - started, 1)
    text = json.dumps(report, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
