"""Web chat as a visitor's browser uses it, over real HTTP and WebSocket."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from tests.support.live import AgentHandle, Live


@dataclass
class VisitorHandle:
    token: str
    customer_id: str
    verification: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def web_inbox(live: Live, admin: AgentHandle, **look: Any) -> tuple[str, str]:
    """A web inbox with a widget: (inbox id, widget key)."""
    inbox = await live.inbox(f"Web chat {uuid.uuid4().hex[:6]}", channel="web")
    r = await live.http.put(f"/api/v1/inboxes/{inbox.id}/widget", json=look, headers=admin.headers)
    assert r.status_code == 200, r.text
    return inbox.id, r.json()["key"]


async def visit(live: Live, key: str, **body: Any) -> VisitorHandle:
    r = await live.http.post(f"/api/v1/widget/{key}/sessions", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    return VisitorHandle(data["visitor_token"], data["customer_id"], data["verification"])


async def visitor_says(
    live: Live, visitor: VisitorHandle, text: str, client_id: str | None = None
) -> dict[str, Any]:
    r = await live.http.post(
        "/api/v1/widget/messages",
        json={"text": text, "client_id": client_id or uuid.uuid4().hex},
        headers=visitor.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def thread(live: Live, visitor: VisitorHandle, after_seq: int = 0) -> dict[str, Any]:
    r = await live.http.get(
        "/api/v1/widget/messages", params={"after_seq": after_seq}, headers=visitor.headers
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def signed_identity(
    secret: str, sub: str, now: datetime, *, lifetime: float = 600, **claims: Any
) -> str:
    """What a business's back end signs for a signed-in customer (exp on `now`'s clock)."""
    exp = int(now.timestamp() + lifetime)
    return jwt.encode({"sub": sub, "exp": exp, **claims}, secret, algorithm="HS256")


async def next_frame(ws: Any, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next frame of `kind` ("typing", or an event kind such as "message")."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame["type"] == kind or (frame["type"] == "event" and frame["event"]["kind"] == kind):
            return dict(frame)
