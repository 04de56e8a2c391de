"""A real service on a loopback port, and helpers that use it as clients would."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from tests.support.clock import FakeClock
from threadline.adapters.database import Database
from threadline.api.app import create_app
from threadline.core.agents import Role
from threadline.service import agents as agent_service
from threadline.service import inboxes as inbox_service
from threadline.service.unit_of_work import Transactor
from threadline.settings import Settings

PASSWORD = "correct horse battery"
_external_ids = itertools.count(1)


@dataclass
class AgentHandle:
    id: str
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class InboxHandle:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Live:
    def __init__(
        self, base_url: str, clock: FakeClock, tx: Transactor, http: httpx.AsyncClient
    ) -> None:
        self.base_url = base_url
        self.ws_url = base_url.replace("http://", "ws://") + "/api/v1/stream"
        self.clock = clock
        self.tx = tx
        self.http = http

    async def agent(
        self,
        username: str,
        *,
        role: Role = Role.AGENT,
        skills: tuple[str, ...] = ("general",),
        preferred: int = 2,
        max_load: int = 4,
        online: bool = True,
    ) -> AgentHandle:
        """An agent created as the operator's CLI would, then logged in over HTTP."""
        new = agent_service.NewAgent(
            username, PASSWORD, None, role, frozenset(skills), preferred, max_load
        )
        await agent_service.create_agent(self.tx, None, new, self.clock())
        handle = await self.login(username)
        if online:
            await self.set_status(handle, "online")
        return handle

    async def login(self, username: str) -> AgentHandle:
        r = await self.http.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        return AgentHandle(id=r.json()["agent"]["id"], username=username, token=r.json()["token"])

    async def set_status(self, agent: AgentHandle, status: str) -> dict[str, Any]:
        r = await self.http.put(
            f"/api/v1/agents/{agent.id}/status", json={"status": status}, headers=agent.headers
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def inbox(
        self, name: str = "Web", *, queue: str = "general", channel: str = "api"
    ) -> InboxHandle:
        created = await self.tx.write(
            lambda uow: inbox_service.create(uow, None, name, channel, queue, self.clock())
        )
        return InboxHandle(id=str(created.inbox.id), token=created.token)

    async def customer_says(
        self, inbox: InboxHandle, address: str, text: str, *, external_id: str | None = None
    ) -> dict[str, Any]:
        body = {
            "external_id": external_id or f"ext-{next(_external_ids)}",
            "customer": {"address": address, "name": address.title()},
            "text": text,
        }
        r = await self.http.post("/api/v1/channel/messages", json=body, headers=inbox.headers)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def reply(
        self, agent: AgentHandle, conversation_id: str, text: str = "On it!"
    ) -> dict[str, Any]:
        """The agent sends a message in the conversation, as the desk would."""
        r = await self.http.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"text": text},
            headers=agent.headers,
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def conversation(self, agent: AgentHandle, conversation_id: str) -> dict[str, Any]:
        r = await self.http.get(f"/api/v1/conversations/{conversation_id}", headers=agent.headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def event_head(self) -> int:
        return await self.tx.read(lambda uow: uow.events.head())

    @contextlib.asynccontextmanager
    async def stream(self, agent: AgentHandle, after: int | None = None) -> AsyncIterator[Stream]:
        async with connect(self.ws_url, open_timeout=5) as ws:
            hello: dict[str, Any] = {"type": "hello", "token": agent.token}
            if after is not None:
                hello["after"] = after
            await ws.send(json.dumps(hello))
            ready = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert ready["type"] == "ready", ready
            yield Stream(ws, ready["seq"])


class Stream:
    def __init__(self, ws: ClientConnection, ready_seq: int) -> None:
        self.ws = ws
        self.ready_seq = ready_seq

    async def next_event(self, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if frame["type"] == "event":
                return dict(frame["event"])

    async def events_until(self, event_type: str, timeout: float = 5.0) -> list[dict[str, Any]]:
        seen = []
        while True:
            event = await self.next_event(timeout)
            seen.append(event)
            if event["type"] == event_type:
                return seen

    async def nothing_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.ws.recv(), seconds)
        except TimeoutError:
            return True
        return False


@contextlib.asynccontextmanager
async def serve(
    database_url: str, clock: FakeClock, *, port: int = 0, **overrides: Any
) -> AsyncIterator[Live]:
    settings = Settings(
        database_url=database_url,
        # Fast polling so cross-process tests do not wait; no periodic routing so that
        # every assignment a test sees was caused by the action it took.
        stream_poll_seconds=0.2,
        routing_interval_seconds=3600,
        # Timers fire within a tick of the test moving the clock past them.
        timer_interval_seconds=0.05,
        # Tests move the fake clock by hours while desks are connected (heartbeats run
        # on real time): presence is tested on its own, with its own setting.
        **{"desk_away_after_seconds": 365 * 86400, **overrides},
    )
    app = create_app(settings, clock=clock)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            # A web chat's long poll held open must not stall the test's teardown.
            timeout_graceful_shutdown=1,
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        await task
        raise RuntimeError("the server did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    db = Database(database_url)
    try:
        # Why 30 s: a call that never answers still fails the test, while one that waits
        # its turn on a machine shared by two xdist workers, a browser and SQLite's one
        # connection (CI's two cores) does not fail it for being slow.
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            yield Live(base, clock, Transactor(db), http)
    finally:
        await db.dispose()
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def new_id() -> str:
    return str(uuid.uuid4())


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# Why below the ephemeral range: a port the kernel hands out for `bind(0)` can be
# handed out again as the *source* port of any outgoing connection before the server
# binds it (CI saw uvicorn fail with EADDRINUSE on a port its own client was using).
# The kernel never picks a source port below the range, and each xdist worker takes
# its own slice of it so two workers never race for one port.
_SLICE = 200
_BASE = 10_000


def _worker_ports() -> itertools.cycle[int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    start = _BASE + (index * _SLICE) % max(_ephemeral_low() - _BASE - _SLICE, _SLICE)
    offset = random.randrange(_SLICE)  # a rerun does not meet the last run's TIME_WAITs
    ports = list(range(start, start + _SLICE))
    return itertools.cycle(ports[offset:] + ports[:offset])


_ports = _worker_ports()


def free_port() -> int:
    """A loopback port nothing listens on now, for a server whose URL must be known
    before it starts (providers' webhooks are addressed to it, a restart reuses it)."""
    for _ in range(_SLICE):
        port = next(_ports)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in this worker's slice")
