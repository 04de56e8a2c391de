"""End-to-end pipeline benchmark: customer message in through the API channel, out on
an agent's WebSocket, on one Threadline process, against SQLite and PostgreSQL.

What one run does, for each database asked for:

1. Starts `threadline serve` (one uvicorn process) on a free loopback port, against a
   fresh database (a SQLite file in a temporary directory, or a PostgreSQL database
   created for the run and dropped at the end), migrated with `threadline db upgrade`.
2. Creates an admin and one inbox with the CLI, then K agents through the API (skill
   `general`, P = M = 50, so agent capacity is never the bottleneck), logs them in,
   sets them online and connects K WebSockets.
3. Warm-up: the first message of every customer (first contact: the conversation is
   opened, queued and routed in the same request), then a short steady phase.
4. Rising-rate steps, open loop: messages are sent on a fixed schedule whatever the
   responses do, each from one of C customers chosen at random, so most messages land
   in conversations that are already assigned (the steady state of a contact center).
   Latency runs from the *scheduled* send time of the POST to the moment the first
   agent WebSocket receives the `message.received` event of that message, so time the
   request spends waiting in the client for a free connection counts too (no
   coordinated omission). A message whose event never arrives is counted as lost.
5. The same load against a bare ASGI endpoint, defined below, that does one INSERT in
   one transaction into a fresh database of the same kind, with the same driver stack
   (SQLAlchemy async) and the same engine settings as Threadline; its latency is the
   POST round trip, since it has no WebSocket.

A step is *sustained* when the achieved rate is at least 95% of the target, p99 is at
most 100 ms, and nothing failed or was lost. One JSON document goes to stdout (and to
`--output` if given); progress goes to stderr.

The load generator (HTTP client and WebSocket receivers, one Python process) runs on
the same machine as the service and competes with it for the same cores; its CPU use
is reported with every step so that its share is visible.

    .venv/bin/python benchmarks/pipeline.py                    # full run, both databases
    .venv/bin/python benchmarks/pipeline.py --quick --databases sqlite   # smoke check
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect as ws_connect

import threadline
from threadline.adapters.database import Database

LOOPBACK = "127.0.0.1"
HERE = Path(__file__).resolve().parent
PASSWORD = "bench-password-123"
DEFAULT_RATES = [50, 100, 150, 200, 300, 400, 500, 600, 800, 1000, 1200, 1500, 2000, 2500]
QUICK_RATES = [100, 300]
P99_TARGET_MS = 100.0
RATE_FRACTION = 0.95
SERVER_START_SECONDS = 60.0
CLI_SECONDS = 120.0

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# The bare baseline: one POST endpoint, one INSERT. Run by uvicorn in a subprocess as
# `pipeline:bare_app` (factory), configured by THREADLINE_BENCH_BARE_URL.
# ---------------------------------------------------------------------------------------

_bare_metadata = sa.MetaData()
bare_messages = sa.Table(
    "bare_messages",
    _bare_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("external_id", sa.String(255), nullable=False, unique=True),
    sa.Column("address", sa.String(255), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


def _bare_engine(url: str) -> AsyncEngine:
    """Threadline's own engine (threadline.adapters.database.Database), so the baseline
    has exactly the service's connection handling: pool, SQLite pragmas, inline calls."""
    return Database(url).engine


def bare_app() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """A raw ASGI app: POST /messages stores the message with one INSERT, answers 201."""
    url = os.environ["THREADLINE_BENCH_BARE_URL"]
    state: dict[str, AsyncEngine] = {}
    insert = bare_messages.insert()

    async def respond(send: Send, status: int, payload: bytes) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                engine = _bare_engine(url)
                async with engine.begin() as conn:
                    await conn.run_sync(_bare_metadata.create_all)
                state["engine"] = engine
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if "engine" in state:
                    await state["engine"].dispose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] == "/healthz":
            await respond(send, 200, b'{"status":"ok"}')
            return
        if scope["path"] != "/messages" or scope["method"] != "POST":
            await respond(send, 404, b'{"error":"not found"}')
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        try:
            data = json.loads(b"".join(chunks))
            row = {
                "id": uuid.uuid4(),
                "external_id": str(data["external_id"]),
                "address": str(data["customer"]["address"]),
                "body": str(data["text"]),
                "created_at": datetime.now(UTC),
            }
        except (ValueError, KeyError, TypeError):
            await respond(send, 422, b'{"error":"bad body"}')
            return
        async with state["engine"].begin() as conn:
            await conn.execute(insert, row)
        await respond(send, 201, json.dumps({"message_id": str(row["id"])}).encode())

    return app


# ---------------------------------------------------------------------------------------
# Resources: subprocesses, temporary files and databases, always cleaned up.
# ---------------------------------------------------------------------------------------


class Resources:
    def __init__(self, pg_admin_dsn: str) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="threadline-bench-"))
        self.pg_admin_dsn = pg_admin_dsn
        self.processes: dict[int, asyncio.subprocess.Process] = {}
        self.pg_databases: list[str] = []

    async def create_pg_database(self, name: str) -> str:
        conn = await asyncpg.connect(self.pg_admin_dsn, timeout=10)
        try:
            self.pg_databases.append(name)
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return name

    async def drop_pg_database(self, name: str) -> None:
        conn = await asyncpg.connect(self.pg_admin_dsn, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        if name in self.pg_databases:
            self.pg_databases.remove(name)

    async def start(
        self, argv: list[str], env: dict[str, str], log_name: str
    ) -> asyncio.subprocess.Process:
        log_path = self.tmp / log_name
        with log_path.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                env={**os.environ, **env},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # our own Ctrl-C handling stops it, in order
            )
        self.processes[proc.pid] = proc
        return proc

    async def stop(self, proc: asyncio.subprocess.Process, grace: float = 15.0) -> None:
        """SIGINT (graceful for uvicorn and py-spy), then SIGKILL after `grace` seconds."""
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 5)
        self.processes.pop(proc.pid, None)

    def cleanup(self) -> None:
        """Last-resort cleanup, outside any event loop: kill, drop, remove."""
        for pid in list(self.processes):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        self.processes.clear()
        if self.pg_databases:

            async def drop_all() -> None:
                for name in list(self.pg_databases):
                    try:
                        await asyncio.wait_for(self.drop_pg_database(name), 20)
                    except Exception as exc:
                        log(f"could not drop database {name}: {exc!r}")

            asyncio.run(drop_all())
        shutil.rmtree(self.tmp, ignore_errors=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc, in seconds (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu_seconds(database: str | None) -> dict[int, float]:
    """CPU per process of the PostgreSQL backends serving `database`, plus the server's
    background processes (WAL writer, checkpointer...), which work for every database.
    Backends of other databases (someone else's tests, say) are left out."""
    found: dict[int, float] = {}
    if database is None:
        return found
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if not (entry / "comm").read_text().startswith("postgres"):
                continue
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        is_backend = "(" in title or "[local]" in title
        if database in title or not is_backend:
            found[int(entry.name)] = _cpu_seconds(int(entry.name))
    return found


def _machine_busy_seconds() -> tuple[float, float]:
    """CPU time of the whole machine (all cores), from /proc/stat: (busy, of which
    interrupt and softirq time, e.g. the kernel's loopback network processing)."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return 0.0, 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq + steal) / tick, (irq + softirq) / tick


def _all_processes() -> dict[int, tuple[str, float]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            found[int(entry.name)] = (name, used)
    return found


class PostgresCpu:
    """CPU used by the PostgreSQL processes of one database since `start`, polled often
    enough to count the backends that a pool opens and closes under load (its overflow
    connections); a backend that lives less than one poll is partly missed."""

    POLL = 0.2

    def __init__(self, database: str) -> None:
        self.database = database
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._first = _postgres_cpu_seconds(self.database)
        self._last = dict(self._first)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def poll(self) -> None:
        for pid, used in _postgres_cpu_seconds(self.database).items():
            self._first.setdefault(pid, 0.0)  # born after start: all its CPU counts
            self._last[pid] = used

    def pids(self) -> set[int]:
        return set(self._last)

    def total(self) -> float:
        self.poll()
        return sum(self._last[pid] - self._first.get(pid, 0.0) for pid in self._last)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.POLL)
            self.poll()


# Outside load (CPU of processes that are not part of the benchmark, in % of one core)
# above which a step is flagged as disturbed: its figures understate the service.
DISTURBED_PCT = 15.0


@dataclass
class CpuSample:
    at: float
    server: float
    client: float
    postgres: float
    machine: float
    interrupts: float
    processes: dict[int, tuple[str, float]]
    ours: set[int]

    @classmethod
    def take(cls, server_pid: int, postgres: PostgresCpu | None) -> CpuSample:
        machine, interrupts = _machine_busy_seconds()
        ours = {server_pid, os.getpid()} | (postgres.pids() if postgres is not None else set())
        return cls(
            at=time.monotonic(),
            server=_cpu_seconds(server_pid),
            client=time.process_time(),
            postgres=postgres.total() if postgres is not None else 0.0,
            machine=machine,
            interrupts=interrupts,
            processes=_all_processes(),
            ours=ours,
        )

    def since(self, earlier: CpuSample) -> dict[str, Any]:
        """Shares of one core (100 = one core busy; the machine has os.cpu_count())."""
        span = max(self.at - earlier.at, 1e-9)

        def pct(now: float, then: float) -> float:
            return round(100 * (now - then) / span, 1)

        out = {
            "server_pct": pct(self.server, earlier.server),
            "load_generator_pct": pct(self.client, earlier.client),
        }
        if self.postgres:
            out["postgres_pct"] = pct(self.postgres, earlier.postgres)
        out["machine_pct"] = pct(self.machine, earlier.machine)
        out["irq_softirq_pct"] = pct(self.interrupts, earlier.interrupts)
        ours = sum(out[k] for k in ("server_pct", "load_generator_pct", "postgres_pct") if k in out)
        # Interrupt time is the kernel's work for every process (mostly our own loopback
        # traffic), so it is not counted as outside load.
        out["outside_pct"] = round(max(0.0, out["machine_pct"] - ours - out["irq_softirq_pct"]), 1)
        used: Counter[str] = Counter()
        for pid, (name, now) in self.processes.items():
            if pid not in self.ours and pid not in earlier.ours:
                used[name] += now - earlier.processes.get(pid, (name, 0.0))[1]
        out["outside_top"] = {
            name: round(100 * t / span, 1) for name, t in used.most_common(3) if t > 0
        }
        return out


async def wait_quiet(limit_s: float) -> dict[str, Any]:
    """Wait (at most `limit_s`) until the machine has been nearly idle for 3 seconds."""
    started = time.monotonic()
    quiet_since = None
    last = _machine_busy_seconds()[0]
    while time.monotonic() - started < limit_s:
        await asyncio.sleep(1.0)
        now = _machine_busy_seconds()[0]
        busy_pct = 100 * (now - last)
        last = now
        if busy_pct < DISTURBED_PCT:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 3.0:
                return {"waited_s": round(time.monotonic() - started, 1), "quiet": True}
        else:
            quiet_since = None
    return {"waited_s": round(time.monotonic() - started, 1), "quiet": False}


# ---------------------------------------------------------------------------------------
# A small HTTP/1.1 keep-alive client. httpx costs ~10x more CPU per request, and the
# load generator shares the machine's two cores with the service.
# ---------------------------------------------------------------------------------------


class _HttpConnection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: Any = None  # uvloop's transports do not subclass asyncio.Transport
        self.broken = False
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.broken = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("connection closed by the server"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is not None:
            self._parse()

    def request(self, payload: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        return self._waiter

    def close(self) -> None:
        self.broken = True
        if self.transport is not None:
            self.transport.close()

    def _parse(self) -> None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        lines = bytes(self._buffer[:end]).split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                self.broken = True
        waiter = self._waiter
        assert waiter is not None
        if length is None:
            self._waiter = None
            self.close()
            waiter.set_exception(ConnectionError("response without Content-Length"))
            return
        total = end + 4 + length
        if len(self._buffer) < total:
            return
        body = bytes(self._buffer[end + 4 : total])
        del self._buffer[:total]
        self._waiter = None
        if not waiter.done():
            waiter.set_result((status, body))


class HttpPool:
    """At most `size` keep-alive connections; further requests wait for a free one."""

    def __init__(self, port: int, size: int) -> None:
        self.port = port
        self._idle: list[_HttpConnection] = []
        self._all: set[_HttpConnection] = set()
        self._slots = asyncio.Semaphore(size)

    def request_bytes(self, path: str, headers: dict[str, str], body: bytes) -> bytes:
        head = f"POST {path} HTTP/1.1\r\nHost: {LOOPBACK}:{self.port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        return head.encode() + body

    async def send(self, payload: bytes) -> tuple[int, bytes]:
        async with self._slots:
            conn = None
            while self._idle:
                candidate = self._idle.pop()
                if not candidate.broken:
                    conn = candidate
                    break
                self._all.discard(candidate)
            if conn is None:
                loop = asyncio.get_running_loop()
                _, conn = await loop.create_connection(_HttpConnection, LOOPBACK, self.port)
                self._all.add(conn)
            try:
                result = await conn.request(payload)
            except BaseException:
                conn.close()
                self._all.discard(conn)
                raise
            if conn.broken:
                conn.close()
                self._all.discard(conn)
            else:
                self._idle.append(conn)
            return result

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._idle.clear()


# ---------------------------------------------------------------------------------------
# Load steps.
# ---------------------------------------------------------------------------------------


def percentiles_ms(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values)

    def pct(q: float) -> float:
        index = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
        return round(ordered[index] * 1000, 2)

    return {
        "p50": pct(0.50),
        "p90": pct(0.90),
        "p99": pct(0.99),
        "max": round(ordered[-1] * 1000, 2),
        "mean": round(statistics.fmean(ordered) * 1000, 2),
    }


@dataclass
class StepStats:
    label: str
    rate: float
    seconds: float
    start: float = 0.0
    sent: int = 0
    accepted: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    round_trips: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    last_done: float = 0.0
    lost: int = 0
    outstanding: int = 0
    drained: asyncio.Event | None = None

    def done(self, at: float, latency: float) -> None:
        self.latencies.append(latency)
        self.last_done = max(self.last_done, at)


class Tracker:
    """Matches POST responses with the WebSocket events of the same message_id.

    The event may arrive before the HTTP response does; both orders are handled.
    """

    def __init__(self) -> None:
        self.pending: dict[str, tuple[float, StepStats]] = {}
        self.early: dict[str, float] = {}
        self.ws_closed: list[str] = []
        self.events_seen = 0

    def on_accepted(self, message_id: str, scheduled: float, stats: StepStats) -> None:
        seen = self.early.pop(message_id, None)
        if seen is not None:
            stats.done(seen, seen - scheduled)
        else:
            self.pending[message_id] = (scheduled, stats)
            stats.outstanding += 1

    def on_event(self, message_id: str, at: float) -> None:
        self.events_seen += 1
        found = self.pending.pop(message_id, None)
        if found is None:
            self.early.setdefault(message_id, at)
            return
        scheduled, stats = found
        stats.done(at, at - scheduled)
        stats.outstanding -= 1
        if stats.outstanding == 0 and stats.drained is not None:
            stats.drained.set()

    def settle(self, stats: StepStats) -> None:
        stats.lost = sum(1 for _, s in self.pending.values() if s is stats)
        self.pending = {k: v for k, v in self.pending.items() if v[1] is not stats}
        self.early.clear()


class Target:
    """One service under load: Threadline (end to end) or the bare endpoint (round trip)."""

    kind = "?"

    def __init__(self, port: int, pool_size: int, request_timeout: float) -> None:
        self.port = port
        self.pool = HttpPool(port, pool_size)
        self.request_timeout = request_timeout
        self.path = ""
        self.headers: dict[str, str] = {}
        self.run_id = uuid.uuid4().hex[:8]
        self.counter = 0

    def payload(self, customer: int) -> bytes:
        self.counter += 1
        body = {
            "external_id": f"bench-{self.run_id}-{self.counter}",
            "customer": {"address": f"cust-{customer:05d}", "name": f"Customer {customer}"},
            "text": f"Hello, this is message {self.counter} about my order",
        }
        return self.pool.request_bytes(self.path, self.headers, json.dumps(body).encode())

    async def send(self, payload: bytes, scheduled: float, stats: StepStats) -> None:
        stats.lags.append(time.monotonic() - scheduled)
        try:
            async with asyncio.timeout(scheduled + self.request_timeout - time.monotonic()):
                status, body = await self.pool.send(payload)
        except TimeoutError:
            stats.errors["timeout"] += 1
            return
        except Exception as exc:  # counted and reported: a benchmark step must not die
            stats.errors[type(exc).__name__] += 1
            return
        now = time.monotonic()
        stats.round_trips.append(now - scheduled)
        if status != 201:
            stats.errors[f"http_{status}"] += 1
            return
        stats.accepted += 1
        try:
            self.accepted(body, scheduled, now, stats)
        except (ValueError, KeyError) as exc:
            stats.errors[f"bad_response_{type(exc).__name__}"] += 1

    def accepted(self, body: bytes, scheduled: float, now: float, stats: StepStats) -> None:
        stats.done(now, now - scheduled)

    async def settle(self, stats: StepStats, wait_limit: float) -> None:
        """Wait for what the step still owes; count what never came as lost."""


class ThreadlineTarget(Target):
    kind = "threadline"

    def __init__(self, port: int, pool_size: int, request_timeout: float, inbox_token: str) -> None:
        super().__init__(port, pool_size, request_timeout)
        self.path = "/api/v1/channel/messages"
        self.headers = {"Authorization": f"Bearer {inbox_token}"}
        self.tracker = Tracker()

    def accepted(self, body: bytes, scheduled: float, now: float, stats: StepStats) -> None:
        self.tracker.on_accepted(json.loads(body)["message_id"], scheduled, stats)

    async def settle(self, stats: StepStats, wait_limit: float) -> None:
        if stats.outstanding > 0:
            stats.drained = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stats.drained.wait(), wait_limit)
        self.tracker.settle(stats)


async def run_step(
    target: Target, label: str, rate: float, customers: list[int], settle_limit: float
) -> StepStats:
    """Send `rate * seconds` messages on a fixed schedule (open loop), then settle."""
    loop = asyncio.get_running_loop()
    count = len(customers)
    stats = StepStats(label=label, rate=rate, seconds=count / rate)
    tasks: set[asyncio.Task[None]] = set()
    interval = 1.0 / rate
    # time.monotonic, not loop.time: uvloop's clock has a resolution of one millisecond.
    stats.start = time.monotonic() + 0.01
    for i, customer in enumerate(customers):
        scheduled = stats.start + i * interval
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = loop.create_task(target.send(target.payload(customer), scheduled, stats))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        stats.sent += 1
    if tasks:
        # Every request is bounded by its own timeout; this bound is a second guard.
        _, still = await asyncio.wait(set(tasks), timeout=target.request_timeout + 5)
        for task in still:
            task.cancel()
            stats.errors["cancelled"] += 1
    await target.settle(stats, settle_limit)
    return stats


def summarize(
    stats: StepStats, cpu: dict[str, float] | None, *, measured: bool = True
) -> dict[str, Any]:
    delivered = len(stats.latencies)
    span = max(stats.last_done - stats.start, stats.seconds) if delivered else stats.seconds
    achieved = delivered / span if span > 0 else 0.0
    latency = percentiles_ms(stats.latencies)
    out: dict[str, Any] = {
        "step": stats.label,
        "target_rate": stats.rate,
        "seconds": round(stats.seconds, 2),
        "sent": stats.sent,
        "accepted": stats.accepted,
        "delivered": delivered,
        "errors": sum(stats.errors.values()),
        "error_kinds": dict(stats.errors),
        "lost": stats.lost,
        "achieved_rate": round(achieved, 1),
        "latency_ms": latency,
        "post_round_trip_ms": percentiles_ms(stats.round_trips),
        "send_lag_ms": {k: percentiles_ms(stats.lags)[k] for k in ("p50", "p99", "max")},
    }
    if cpu is not None:
        out["cpu"] = cpu
    if measured:
        p99 = latency["p99"]
        out["sustained"] = bool(
            achieved >= RATE_FRACTION * stats.rate
            and p99 is not None
            and p99 <= P99_TARGET_MS
            and not stats.errors
            and stats.lost == 0
            and delivered == stats.sent
        )
    return out


# ---------------------------------------------------------------------------------------
# Bringing the services up.
# ---------------------------------------------------------------------------------------


def threadline_cli() -> list[str]:
    beside = Path(sys.executable).parent / "threadline"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("threadline")
    if found:
        return [found]
    return [sys.executable, "-c", "from threadline.cli.main import app; app()"]


async def run_cli(argv: list[str], env: dict[str, str] | None = None) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), CLI_SECONDS)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        raise
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[:4])} failed ({proc.returncode}): {err.decode()[-2000:]}"
        )
    return out.decode()


def _tail(path: Path, size: int = 3000) -> str:
    return path.read_text(errors="replace")[-size:] if path.exists() else ""


async def wait_healthy(port: int, proc: asyncio.subprocess.Process, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    async with httpx.AsyncClient(base_url=f"http://{LOOPBACK}:{port}", timeout=2) as http:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not become healthy; log:\n{_tail(log_path)}")


@dataclass
class Service:
    proc: asyncio.subprocess.Process
    port: int
    log_path: Path


async def start_service(
    res: Resources, label: str, argv: list[str], env: dict[str, str], profile_dir: Path | None
) -> Service:
    port = free_port()
    env = {**env, "THREADLINE_HOST": LOOPBACK, "THREADLINE_PORT": str(port)}
    argv = [a.replace("{port}", str(port)) for a in argv]
    if profile_dir is not None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        out = profile_dir / f"{label}.txt"
        # --gil: only samples of the thread holding the GIL, i.e. where the Python CPU goes.
        record = ["record", "--format", "raw", "--rate", "200", "--gil", "--nonblocking"]
        argv = [spy, *record, "-o", str(out), "--", *argv]
    log_name = f"{label}.log"
    proc = await res.start(argv, env, log_name)
    await wait_healthy(port, proc, res.tmp / log_name)
    return Service(proc, port, res.tmp / log_name)


@dataclass
class Agent:
    id: str
    username: str
    token: str


async def prepare_threadline(res: Resources, url: str, label: str, agents: int) -> str:
    """Migrate, create the admin and the inbox with the CLI; return the inbox token."""
    cli = threadline_cli()
    await run_cli([*cli, "db", "upgrade", "--database-url", url])
    await run_cli(
        [*cli, "agent", "create", "bench-admin", "--role", "admin", "--database-url", url],
        env={"THREADLINE_AGENT_PASSWORD": PASSWORD},
    )
    out = await run_cli(
        [*cli, "inbox", "create", f"Bench {label}", "--queue", "general", "--database-url", url]
    )
    match = re.search(r"token \(shown once\): (\S+)", out)
    if match is None:
        raise RuntimeError(f"no inbox token in: {out!r}")
    return match.group(1)


async def bring_agents_online(port: int, count: int) -> list[Agent]:
    async with httpx.AsyncClient(base_url=f"http://{LOOPBACK}:{port}/api/v1", timeout=30) as http:
        login = await http.post(
            "/auth/login", json={"username": "bench-admin", "password": PASSWORD}
        )
        login.raise_for_status()
        admin = {"Authorization": f"Bearer {login.json()['token']}"}
        found: list[Agent] = []
        for i in range(count):
            username = f"bench-agent-{i:03d}"
            created = await http.post(
                "/agents",
                headers=admin,
                json={
                    "username": username,
                    "password": PASSWORD,
                    "skills": ["general"],
                    "preferred_concurrency": 50,
                    "max_load": 50,
                },
            )
            created.raise_for_status()
            login = await http.post(
                "/auth/login", json={"username": username, "password": PASSWORD}
            )
            login.raise_for_status()
            data = login.json()
            agent = Agent(id=data["agent"]["id"], username=username, token=data["token"])
            status = await http.put(
                f"/agents/{agent.id}/status",
                headers={"Authorization": f"Bearer {agent.token}"},
                json={"status": "online"},
            )
            status.raise_for_status()
            found.append(agent)
    return found


async def agent_stream(
    port: int, agent: Agent, tracker: Tracker, ready: asyncio.Future[None]
) -> None:
    url = f"ws://{LOOPBACK}:{port}/api/v1/stream"
    try:
        async with ws_connect(url, open_timeout=10, close_timeout=2, max_size=2**22) as ws:
            await ws.send(json.dumps({"type": "hello", "token": agent.token}))
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if first.get("type") != "ready":
                raise RuntimeError(f"unexpected first frame {first!r}")
            ready.set_result(None)
            async for raw in ws:
                at = time.monotonic()
                if "message.received" not in raw:
                    continue
                event = json.loads(raw).get("event") or {}
                if event.get("type") == "message.received":
                    tracker.on_event(event["payload"]["message_id"], at)
            tracker.ws_closed.append(f"{agent.username}: closed by the server")
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        tracker.ws_closed.append(f"{agent.username}: {exc!r}")
        if not ready.done():
            ready.set_exception(exc)


# ---------------------------------------------------------------------------------------
# One database: Threadline then the bare endpoint.
# ---------------------------------------------------------------------------------------


@dataclass
class Plan:
    rates: list[float]
    step_seconds: float
    agents: int
    customers: int
    connections: int
    request_timeout: float
    settle_seconds: float
    first_contact_rate: float
    warmup_seconds: float
    early_stop: bool
    seed: int
    profile_dir: Path | None
    wait_quiet: float
    disturbed_retries: int


async def drive(
    target: Target, plan: Plan, server_pid: int, pg_database: str | None
) -> dict[str, Any]:
    postgres = PostgresCpu(pg_database) if pg_database is not None else None
    if postgres is not None:
        postgres.start()
    try:
        return await _drive(target, plan, server_pid, postgres)
    finally:
        if postgres is not None:
            await postgres.stop()


async def _drive(
    target: Target, plan: Plan, server_pid: int, postgres: PostgresCpu | None
) -> dict[str, Any]:
    rng = random.Random(plan.seed)
    result: dict[str, Any] = {}
    if plan.wait_quiet > 0:
        log(f"  {target.kind}: waiting (at most {plan.wait_quiet:g} s) for a quiet machine")
        result["quiet_wait"] = await wait_quiet(plan.wait_quiet)

    log(
        f"  {target.kind}: first contact of {plan.customers} customers "
        f"at {plan.first_contact_rate:g}/s"
    )
    stats = await run_step(
        target,
        "first_contact",
        plan.first_contact_rate,
        list(range(plan.customers)),
        plan.settle_seconds,
    )
    result["first_contact"] = summarize(stats, None, measured=False)
    log(f"    {_line(result['first_contact'])}")

    warm_rate = plan.rates[0]
    warm = [
        rng.randrange(plan.customers) for _ in range(max(1, round(warm_rate * plan.warmup_seconds)))
    ]
    stats = await run_step(target, "warmup", warm_rate, warm, plan.settle_seconds)
    result["warmup"] = summarize(stats, None, measured=False)
    await asyncio.sleep(0.5)

    steps: list[dict[str, Any]] = []
    discarded: list[dict[str, Any]] = []
    failed_in_a_row = 0
    for rate in plan.rates:
        for attempt in range(1 + plan.disturbed_retries):
            customers = [
                rng.randrange(plan.customers)
                for _ in range(max(1, round(rate * plan.step_seconds)))
            ]
            before = CpuSample.take(server_pid, postgres)
            stats = await run_step(target, f"{rate:g}/s", rate, customers, plan.settle_seconds)
            cpu = CpuSample.take(server_pid, postgres).since(before)
            step = summarize(stats, cpu)
            step["disturbed"] = cpu["outside_pct"] > DISTURBED_PCT
            log(f"    {_line(step)}")
            # Let a backlog drain before the next step so steps do not bleed into each other.
            await asyncio.sleep(1.0)
            if step["sustained"] or not step["disturbed"] or attempt == plan.disturbed_retries:
                break
            # Other processes took CPU during a failed step: measure it again.
            discarded.append(step)
            if plan.wait_quiet > 0:
                await wait_quiet(plan.wait_quiet)
        steps.append(step)
        if step["sustained"]:
            failed_in_a_row = 0
            continue
        failed_in_a_row += 1
        overloaded = step["achieved_rate"] < 0.8 * rate or (step["latency_ms"]["p99"] or 1e9) > 1000
        if plan.early_stop and (overloaded or failed_in_a_row >= 2):
            log(f"  {target.kind}: stopping after {rate:g}/s (not sustained)")
            break
    result["steps"] = steps
    if discarded:
        result["discarded_disturbed_steps"] = discarded
    result["disturbed_steps"] = [s["step"] for s in steps if s["disturbed"]]
    sustained = [s for s in steps if s["sustained"]]
    best = max(sustained, key=lambda s: s["target_rate"]) if sustained else None
    result["max_sustained_rate"] = best["target_rate"] if best else 0
    result["at_max_sustained"] = (
        {
            "achieved_rate": best["achieved_rate"],
            **{k: best["latency_ms"][k] for k in ("p50", "p99")},
        }
        if best
        else None
    )
    result["peak_achieved_rate"] = max((s["achieved_rate"] for s in steps), default=0)
    result["top_rate_tried"] = steps[-1]["target_rate"] if steps else None
    result["all_rates_sustained"] = bool(steps) and all(s["sustained"] for s in steps)
    return result


def _line(step: dict[str, Any]) -> str:
    lat = step["latency_ms"]
    text = (
        f"{step['step']:>14}: achieved {step['achieved_rate']:7.1f}/s  p50 {lat['p50']} ms  "
        f"p99 {lat['p99']} ms  errors {step['errors']}  lost {step['lost']}"
    )
    if "cpu" in step:
        text += f"  cpu {step['cpu']}"
    if "sustained" in step:
        text += "  SUSTAINED" if step["sustained"] else "  not sustained"
    if step.get("disturbed"):
        text += "  (DISTURBED by outside load)"
    return text


async def bench_threadline(
    res: Resources, db: str, url: str, plan: Plan, pg_database: str | None
) -> dict[str, Any]:
    log(f"[{db}] threadline: preparing {url}")
    token = await prepare_threadline(res, url, db, plan.agents)
    source = _source_digest()  # the code this server process loads
    env = {"THREADLINE_DATABASE_URL": url, "THREADLINE_LOG_LEVEL": "warning"}
    service = await start_service(
        res, f"threadline-{db}", [*threadline_cli(), "serve"], env, plan.profile_dir
    )
    target = ThreadlineTarget(service.port, plan.connections, plan.request_timeout, token)
    streams: list[asyncio.Task[None]] = []
    try:
        agents = await bring_agents_online(service.port, plan.agents)
        loop = asyncio.get_running_loop()
        readies: list[asyncio.Future[None]] = []
        for agent in agents:
            ready: asyncio.Future[None] = loop.create_future()
            readies.append(ready)
            streams.append(
                asyncio.create_task(agent_stream(service.port, agent, target.tracker, ready))
            )
        await asyncio.wait_for(asyncio.gather(*readies), 30)
        log(
            f"[{db}] threadline on port {service.port}: "
            f"{len(agents)} agents online, WebSockets ready"
        )
        result = await drive(target, plan, service.proc.pid, pg_database)
        result["threadline_source"] = source
        result["websocket_disconnects"] = list(target.tracker.ws_closed)
        if service.proc.returncode is not None:
            result["server_exited"] = service.proc.returncode
        return result
    finally:
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
        target.pool.close()
        await res.stop(service.proc)


async def bench_bare(
    res: Resources, db: str, url: str, plan: Plan, pg_database: str | None
) -> dict[str, Any]:
    log(f"[{db}] bare endpoint: {url}")
    argv = [
        sys.executable, "-m", "uvicorn", "--factory", "pipeline:bare_app",
        "--app-dir", str(HERE),
        "--host", LOOPBACK, "--port", "{port}", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    env = {"THREADLINE_BENCH_BARE_URL": url}
    service = await start_service(res, f"bare-{db}", argv, env, None)
    target = Target(service.port, plan.connections, plan.request_timeout)
    target.path = "/messages"
    target.kind = "bare"
    try:
        result = await drive(target, plan, service.proc.pid, pg_database)
        if service.proc.returncode is not None:
            result["server_exited"] = service.proc.returncode
        return result
    finally:
        target.pool.close()
        await res.stop(service.proc)


def verdict(threadline: dict[str, Any], bare: dict[str, Any] | None) -> dict[str, Any]:
    rate = threadline["max_sustained_rate"]
    out: dict[str, Any] = {
        "sustained_500_per_s_with_p99_le_100ms": rate >= 500,
    }
    if bare is not None and bare["max_sustained_rate"]:
        ratio = rate / bare["max_sustained_rate"]
        out["ratio_threadline_to_bare_sustained"] = round(ratio, 3)
        out["ratio_threadline_to_bare_peak"] = round(
            threadline["peak_achieved_rate"] / max(bare["peak_achieved_rate"], 1e-9), 3
        )
        out["at_least_half_of_bare"] = ratio >= 0.5
        if bare.get("all_rates_sustained"):
            out["note"] = (
                "the bare endpoint sustained every rate tried: its real limit is higher, so the "
                "ratio is an upper bound"
            )
    out["all_targets_met"] = all(v for k, v in out.items() if isinstance(v, bool))
    return out


async def bench_database(res: Resources, db: str, plan: Plan, targets: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    suffix = uuid.uuid4().hex[:8]
    for kind in targets:
        name: str | None = None
        if db == "sqlite":
            path = res.tmp / f"{kind}-{suffix}.db"
            url = f"sqlite+aiosqlite:///{path}"
        else:
            name = await res.create_pg_database(f"bench_{suffix}_{kind}")
            url = _pg_url(res.pg_admin_dsn, name)
        try:
            if kind == "threadline":
                out["threadline"] = await bench_threadline(res, db, url, plan, name)
            else:
                out["bare"] = await bench_bare(res, db, url, plan, name)
        finally:
            if name is not None:
                await res.drop_pg_database(name)
    if "threadline" in out:
        out["targets"] = verdict(out["threadline"], out.get("bare"))
    return out


def _pg_url(admin_dsn: str, database: str) -> str:
    rest = admin_dsn.split("://", 1)[1]
    server = rest.rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{server}/{database}"


def _source_digest() -> dict[str, Any]:
    """Which Threadline code was measured: a digest of the package's Python files (the
    benchmark does not ask git; the tree may hold uncommitted work)."""
    root = Path(threadline.__file__).resolve().parent
    digest = hashlib.sha256()
    files = sorted(root.rglob("*.py"))
    for path in files:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return {"path": str(root), "python_files": len(files), "sha256": digest.hexdigest()[:16]}


def _host_info() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem = re.search(r"MemTotal:\s*(\d+) kB", meminfo)
    versions = {}
    for package in (
        "threadline", "fastapi", "starlette", "uvicorn", "uvloop", "httptools", "websockets",
        "sqlalchemy", "aiosqlite", "asyncpg", "pydantic",
    ):  # fmt: skip
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpu_model": model.group(1).strip() if model else None,
        "memory_gib": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": versions,
        "threadline_source": _source_digest(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }
    return info


async def machine_info(res: Resources, databases: list[str]) -> dict[str, Any]:
    info = _host_info()
    if "postgresql" in databases:
        conn = await asyncpg.connect(res.pg_admin_dsn, timeout=10)
        try:
            info["postgresql"] = await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
    return info


async def amain(args: argparse.Namespace, res: Resources, report: dict[str, Any]) -> None:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    async with asyncio.timeout(args.max_seconds):
        report["machine"] = await machine_info(res, args.databases)
        plan = Plan(
            rates=args.rates,
            step_seconds=args.step_seconds,
            agents=args.agents,
            customers=args.customers,
            connections=args.connections,
            request_timeout=args.request_timeout,
            settle_seconds=args.event_timeout,
            first_contact_rate=args.first_contact_rate,
            warmup_seconds=args.warmup_seconds,
            early_stop=not args.no_early_stop,
            wait_quiet=args.wait_quiet,
            disturbed_retries=args.disturbed_retries,
            seed=args.seed,
            profile_dir=args.profile,
        )
        for db in args.databases:
            report["results"][db] = await bench_database(res, db, plan, args.targets)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql"
    )
    parser.add_argument(
        "--targets", default="threadline,bare", help="comma-separated: threadline,bare"
    )
    parser.add_argument(
        "--agents", type=int, default=10, help="agents online, each P=M=50 (default 10)"
    )
    parser.add_argument(
        "--customers", type=int, default=200, help="distinct customer addresses (default 200)"
    )
    parser.add_argument(
        "--step-seconds", type=float, default=8.0, help="length of each rate step (default 8)"
    )
    parser.add_argument("--rates", help="comma-separated target rates in messages/s")
    parser.add_argument(
        "--connections", type=int, default=64, help="HTTP keep-alive connections (default 64)"
    )
    parser.add_argument(
        "--request-timeout", type=float, default=10.0, help="per POST, from its scheduled time"
    )
    parser.add_argument(
        "--event-timeout", type=float, default=10.0, help="wait for events after a step"
    )
    parser.add_argument(
        "--first-contact-rate", type=float, default=50.0, help="rate of the first messages"
    )
    parser.add_argument(
        "--warmup-seconds", type=float, default=2.0, help="steady warm-up before the steps"
    )
    parser.add_argument(
        "--no-early-stop", action="store_true", help="run every rate even after failures"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        help="before each service, wait at most this many seconds for the machine to be idle "
        "(other processes skew the figures; default 0: do not wait)",
    )
    parser.add_argument(
        "--disturbed-retries",
        type=int,
        default=1,
        help="re-run a failed step this many times when outside load disturbed it (default 1)",
    )
    parser.add_argument("--seed", type=int, default=1, help="customer choice seed")
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--output", type=Path, help="also write the JSON report here")
    parser.add_argument("--pg-admin-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--profile",
        type=Path,
        help="run the Threadline server under `py-spy record` (raw collapsed stacks into this "
        "directory); the sampling slows the server, so figures from such a run are "
        "not the benchmark's",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=3600.0, help="hard bound on the whole run"
    )
    args = parser.parse_args(argv)
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if unknown := set(args.databases) - {"sqlite", "postgresql"}:
        parser.error(f"unknown database(s): {', '.join(sorted(unknown))}")
    if unknown := set(args.targets) - {"threadline", "bare"}:
        parser.error(f"unknown target(s): {', '.join(sorted(unknown))}")
    if args.quick:
        args.step_seconds = min(args.step_seconds, 2.0)
        args.customers = min(args.customers, 50)
        args.agents = min(args.agents, 3)
        args.first_contact_rate = max(args.first_contact_rate, 100.0)
        args.warmup_seconds = min(args.warmup_seconds, 1.0)
        args.event_timeout = min(args.event_timeout, 5.0)
    rates = args.rates or ",".join(str(r) for r in (QUICK_RATES if args.quick else DEFAULT_RATES))
    args.rates = [float(r) for r in rates.split(",") if r.strip()]
    if not args.rates or min(args.rates) <= 0:
        parser.error("--rates needs positive numbers")
    if args.agents < 1 or args.customers < 1 or args.connections < 1:
        parser.error("--agents, --customers and --connections must be at least 1")
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    res = Resources(args.pg_admin_dsn)
    report: dict[str, Any] = {
        "benchmark": "threadline pipeline: API channel POST to agent WebSocket",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "parameters": {
            "databases": args.databases,
            "targets": args.targets,
            "agents": args.agents,
            "agent_capacity": "skill general, P=M=50 each",
            "customers": args.customers,
            "rates": args.rates,
            "step_seconds": args.step_seconds,
            "http_connections": args.connections,
            "first_contact_rate": args.first_contact_rate,
            "warmup_seconds": args.warmup_seconds,
            "request_timeout_s": args.request_timeout,
            "event_timeout_s": args.event_timeout,
            "sustained_when": (
                f"achieved >= {RATE_FRACTION:.0%} of target, p99 <= {P99_TARGET_MS:g} ms, "
                "no errors, nothing lost"
            ),
            "server": (
                "one uvicorn process (threadline serve, log level warning); uvloop + httptools"
            ),
            "profiled": args.profile is not None,
        },
        "notes": [
            "latency: from the scheduled send time of the POST to the first agent WebSocket "
            "receiving message.received (Threadline) or to the POST response (bare endpoint)",
            "the load generator is one Python process on the same 2 cores as the service and "
            "the database; its CPU share is in each step's cpu.load_generator_pct",
            "bare endpoint: raw ASGI, one INSERT per request through SQLAlchemy async with the "
            "same engine settings as Threadline, into a fresh database of the same kind",
        ],
        "results": {},
    }
    code = 0
    try:
        try:
            import uvloop

            uvloop.run(amain(args, res, report))
        except ImportError:
            asyncio.run(amain(args, res, report))
    except (KeyboardInterrupt, asyncio.CancelledError):
        report["error"] = "interrupted"
        code = 130
    except TimeoutError:
        report["error"] = f"the run exceeded --max-seconds={args.max_seconds:g}"
        code = 1
    except Exception as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
        code = 1
    finally:
        res.cleanup()
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    if "machine" in report:
        at_end = _source_digest()
        if at_end != report["machine"].get("threadline_source"):
            report["machine"]["threadline_source_at_end"] = at_end
            report.setdefault("notes", []).append(
                "WARNING: the Threadline source changed during the run; figures mix two versions"
            )
    text = json.dumps(report, indent=2)
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n")
    if "error" in report:
        log(f"error: {report['error']}")
    return code


if __name__ == "__main__":
    sys.exit(main())
