"""One signed JSON call to a business's endpoint: a lookup, a step-up code to deliver,
or a turn for its external bot.

Whatever the other side does (refuse the connection, hang, redirect, answer 503,
answer a gigabyte of HTML), the call ends within its timeout with a CallResult that
says what happened in words an agent can read; it never raises for the network's or
the business's faults, so the caller can always hand the customer to a human.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import httpx

from threadline.adapters.bots.signing import SIGNATURE_HEADER, sign

USER_AGENT = "Threadline-Bot/1"
# A bot's reply or an order's record is a few KiB; anything near this is not an answer
# meant for us, and reading on would only cost memory.
MAX_ANSWER = 256 * 1024


@dataclass(frozen=True)
class CallResult:
    """`status` None: no HTTP answer at all. `error` None: a 2xx whose body is the
    parsed JSON (None when it was empty). An `error` with a 2xx status is about the
    body: a caller that needs none (code delivery) can go by the status."""

    status: int | None
    body: object | None
    error: str | None
    timed_out: bool = False

    @property
    def retryable(self) -> bool:
        """Worth one more try: no answer, or the other side said it is busy or broken."""
        return self.status is None or self.status == 429 or self.status >= 500


def _no_json_constant(name: str) -> object:
    # NaN and Infinity are Python's JSON extensions, not JSON.
    raise ValueError(f"{name} is not JSON")


def _connect_failure(exc: BaseException) -> str:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "host not found"
        seen = seen.__cause__ or seen.__context__
    return "could not connect"


class BotHttp:
    """Calls through a shared client (its connection pool); redirects are never
    followed, whatever the client's own setting."""

    def __init__(self, client: httpx.AsyncClient, *, wall: Callable[[], float] = time.time):
        self._client = client
        # Signatures carry the wall-clock time the receiver compares with its own.
        self._wall = wall

    async def call(
        self,
        url: str,
        *,
        method: Literal["POST", "GET"] = "POST",
        body: Mapping[str, object] | None,
        # The endpoint's configured budget, not the caller's: it also names the failure.
        timeout: float,  # noqa: ASYNC109
        secret: bytes | None,
        idempotency_key: str | None = None,
    ) -> CallResult:
        """`timeout` bounds the whole call: connecting, sending and reading."""
        if method == "GET" and body is not None:
            raise ValueError("a GET carries no body")
        content = (
            b""
            if body is None
            else json.dumps(
                body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode()
        )
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            # Compressed, a small answer could inflate past the cap within one chunk.
            "Accept-Encoding": "identity",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        spent = f"timed out after {timeout:.1f} s"
        if timeout <= 0:
            return CallResult(None, None, spent, timed_out=True)
        try:
            request = self._client.build_request(
                method,
                url,
                content=content if body is not None else None,
                headers=headers,
                timeout=httpx.Timeout(timeout),
            )
            if secret is not None:
                # The target as it goes on the wire (httpx's own encoding of the URL),
                # which is what the receiver sees and checks.
                request.headers[SIGNATURE_HEADER] = sign(
                    secret,
                    content,
                    int(self._wall()),
                    method=request.method,
                    target=request.url.raw_path.decode("ascii"),
                )
            async with asyncio.timeout(timeout):
                response = await self._client.send(request, stream=True, follow_redirects=False)
                try:
                    return await _read(response)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return CallResult(None, None, spent, timed_out=True)
        except httpx.ConnectError as exc:
            return CallResult(None, None, _connect_failure(exc))
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            return CallResult(None, None, "not a valid http(s) URL")
        except httpx.HTTPError as exc:
            return CallResult(None, None, f"the connection failed ({type(exc).__name__})")


async def _read(response: httpx.Response) -> CallResult:
    status = response.status_code
    if not 200 <= status < 300:
        why = f"answered {status}"
        if 300 <= status < 400:
            why += " (a redirect, not followed)"
        return CallResult(status, None, why)
    too_big = CallResult(status, None, f"answer larger than {MAX_ANSWER // 1024} KiB")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER:
        return too_big
    raw = bytearray()
    async for chunk in response.aiter_bytes():
        raw += chunk
        if len(raw) > MAX_ANSWER:
            return too_big
    if not raw:
        return CallResult(status, None, None)
    try:
        return CallResult(status, json.loads(raw, parse_constant=_no_json_constant), None)
    # RecursionError: a few thousand nested brackets.
    except (ValueError, RecursionError):
        return CallResult(status, None, "answer is not JSON")
