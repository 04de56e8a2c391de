"""Request body limit, enforced before the body is parsed (pure ASGI middleware)."""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimitMiddleware:
    """`max_bytes` for every path, except those under a prefix of `larger` (or matching
    one of its patterns), which get their own limit: providers' webhooks batch many
    events in one body, and a bot's flow is a document of its own."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, larger: dict[str | re.Pattern[str], int] | None = None
    ) -> None:
        self.app = app
        self.default_bytes = max_bytes
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = next(
            (
                n
                for rule, n in self.larger.items()
                if (path.startswith(rule) if isinstance(rule, str) else rule.fullmatch(path))
            ),
            self.default_bytes,
        )
        await self._limited(scope, receive, send, limit)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _reject(send, 400, "bad_request", "invalid Content-Length")
                    return
                if declared > max_bytes:
                    await _reject(
                        send, 413, "body_too_large", f"the body exceeds {max_bytes} bytes"
                    )
                    return
        # Chunked bodies carry no length: read at most the limit before handing over.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                await _reject(send, 413, "body_too_large", f"the body exceeds {max_bytes} bytes")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reject(send: Send, status: int, code: str, message: str) -> None:
    payload = json.dumps({"error": {"code": code, "message": message, "details": {}}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
