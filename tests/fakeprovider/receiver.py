"""A stand-in for Threadline's webhook endpoints: it records every request it is sent."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class Received:
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode(), keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    answer_status: int = 200
    server: uvicorn.Server | None = None

    def stop_soon(self) -> None:
        """Start shutting down now, so that stopping overlaps the fake's own shutdown."""
        if self.server is not None:
            self.server.should_exit = True

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def record(self, request: Request) -> Response:
        self.received.append(
            Received(
                path=request.url.path,
                query=request.url.query,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=await request.body(),
            )
        )
        return PlainTextResponse("thanks", status_code=self.answer_status)


@contextlib.asynccontextmanager
async def serve_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/{path:path}", receiver.record, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    receiver.server = server
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "the receiver did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    receiver.base_url = f"http://127.0.0.1:{port}"
    try:
        yield receiver
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
