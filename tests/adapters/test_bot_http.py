"""The HTTP side of bots against real loopback servers: signed calls, a bounded wait,
a capped answer, no redirects, and an external bot that is slow, down or wrong
handing the customer to a human with the reason."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from threadline.adapters.bots.external import ask_external
from threadline.adapters.bots.http import MAX_ANSWER, BotHttp, CallResult
from threadline.adapters.bots.signing import SIGNATURE_HEADER, received_target, verify
from threadline.bots.shop import serve_app
from threadline.core.bots.outcome import BotAnswer, HandoffReason, HandTo, Reply
from threadline.core.bots.protocol import ExternalBotConfig, ExternalTurn, TurnMessage

SECRET = b"k" * 32
ANSWER = {"messages": [{"text": "We're open 9 to 20."}]}


@dataclass
class Seen:
    """What the test server received, and how its flaky routes behave."""

    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def keys(self, path: str) -> list[str | None]:
        return [h.get("idempotency-key") for p, h, _ in self.requests if p == path]


def bot_app(seen: Seen) -> Starlette:
    async def record(request: Request) -> bytes:
        body = await request.body()
        seen.requests.append((request.url.path, dict(request.headers), body))
        seen.hits[request.url.path] += 1
        return body

    async def echo(request: Request) -> Response:
        body = await record(request)
        target = received_target(request.scope)
        signed = verify(
            SECRET,
            body,
            request.headers.get(SIGNATURE_HEADER, ""),
            int(time.time()),
            method=request.method,
            target=target,
        )
        return JSONResponse(
            {"signed": signed, "received": json.loads(body or b"null"), "target": target}
        )

    async def answer(request: Request) -> Response:
        await record(request)
        return JSONResponse(ANSWER)

    async def slow(request: Request) -> Response:
        await record(request)
        # Released when the test ends: the server's shutdown then waits for no one.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(seen.release.wait(), 2)
        return JSONResponse(ANSWER)

    async def failing_then_ok(request: Request) -> Response:
        path = request.url.path
        await record(request)
        status = int(request.path_params["status"])
        failures = int(request.path_params["times"])
        if seen.hits[path] <= failures:
            return JSONResponse({"error": "busy"}, status_code=status)
        return JSONResponse(ANSWER)

    async def late_503(request: Request) -> Response:
        await record(request)
        if seen.hits[request.url.path] == 1:
            await asyncio.sleep(float(request.path_params["delay"]))
            return Response(status_code=503)
        await seen.release.wait()
        return JSONResponse(ANSWER)

    async def not_json(request: Request) -> Response:
        await record(request)
        return Response("<html>Bad gateway</html>", media_type="text/html")

    async def bad_answer(request: Request) -> Response:
        await record(request)
        return JSONResponse({"messages": [{"text": "   "}]})

    async def empty(request: Request) -> Response:
        await record(request)
        return Response(status_code=204)

    async def huge(request: Request) -> Response:
        await record(request)

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"messages": [{"text": "'
            for _ in range(16):
                yield b"x" * 65536

        # Streamed without a length: only reading stops it.
        return StreamingResponse(chunks(), media_type="application/json")

    async def huge_declared(request: Request) -> Response:
        await record(request)
        return Response(b" " * (MAX_ANSWER + 1), media_type="application/json")

    async def redirect(request: Request) -> Response:
        await record(request)
        return RedirectResponse("/echo", status_code=307)

    return Starlette(
        routes=[
            Route("/echo", echo, methods=["GET", "POST"]),
            Route("/echo/{rest:path}", echo, methods=["GET", "POST"]),
            Route("/answer", answer, methods=["POST"]),
            Route("/slow", slow, methods=["POST"]),
            Route("/fail/{status}/{times}", failing_then_ok, methods=["POST"]),
            Route("/late503/{delay}", late_503, methods=["POST"]),
            Route("/not-json", not_json, methods=["POST"]),
            Route("/bad-answer", bad_answer, methods=["POST"]),
            Route("/empty", empty, methods=["POST"]),
            Route("/huge", huge, methods=["POST"]),
            Route("/huge-declared", huge_declared, methods=["POST"]),
            Route("/redirect", redirect, methods=["POST"]),
        ]
    )


@dataclass
class Server:
    url: str
    seen: Seen


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    seen = Seen()
    async with serve_app(bot_app(seen)) as url:
        try:
            yield Server(url, seen)
        finally:
            seen.release.set()


@pytest.fixture
async def http() -> AsyncIterator[BotHttp]:
    async with httpx.AsyncClient() as client:
        yield BotHttp(client)


@pytest.fixture
def closed_port() -> int:
    # Bound then closed: nothing listens there for the test's short life.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def a_turn() -> ExternalTurn:
    at = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
    return ExternalTurn(
        event="message",
        idempotency_key="turn-1",
        conversation_id="c-1",
        session_id="s-1",
        inbox_id="i-1",
        channel="web",
        customer_id="cu-1",
        customer_name=None,
        verification="anonymous",
        language="en",
        message=TurnMessage("m-1", 1, "when are you open?", at),
    )


def config(url: str, timeout: float = 2.0) -> ExternalBotConfig:
    return ExternalBotConfig(url, timeout, "acme_bot")


# --- BotHttp.call --------------------------------------------------------------------


async def test_a_signed_call_verifies_at_the_receiver(server: Server, http: BotHttp) -> None:
    result = await http.call(
        f"{server.url}/echo",
        body={"text": "héllo"},
        timeout=2,
        secret=SECRET,
        idempotency_key="key-1",
    )
    assert result == CallResult(
        200, {"signed": True, "received": {"text": "héllo"}, "target": "/echo"}, None
    )
    _, headers, _ = server.seen.requests[0]
    assert headers["user-agent"] == "Threadline-Bot/1"
    assert headers["idempotency-key"] == "key-1"
    assert headers["content-type"] == "application/json"


async def test_a_get_is_signed_over_an_empty_body(server: Server, http: BotHttp) -> None:
    result = await http.call(
        f"{server.url}/echo", method="GET", body=None, timeout=2, secret=SECRET
    )
    assert result.body == {"signed": True, "received": None, "target": "/echo"}


async def test_the_signature_covers_the_path_and_query_as_sent(
    server: Server, http: BotHttp
) -> None:
    # As a lookup's URL arrives, its {field}s percent-encoded: what is signed is what
    # goes on the wire, escapes and all.
    url = f"{server.url}/echo/customers/ana%40mail.example?lang=es&q=a%20b"
    result = await http.call(url, method="GET", body=None, timeout=2, secret=SECRET)
    assert result.body == {
        "signed": True,
        "received": None,
        "target": "/echo/customers/ana%40mail.example?lang=es&q=a%20b",
    }


async def test_a_captured_signature_does_not_open_another_path_or_method(
    server: Server, http: BotHttp
) -> None:
    await http.call(f"{server.url}/echo/orders/A-10001", method="GET", body=None, timeout=2,
                    secret=SECRET)  # fmt: skip
    _, headers, _ = server.seen.requests[0]
    captured = {SIGNATURE_HEADER: headers[SIGNATURE_HEADER.lower()]}
    async with httpx.AsyncClient(base_url=server.url) as replayer:
        same = await replayer.get("/echo/orders/A-10001", headers=captured)
        other = await replayer.get("/echo/orders/A-10002", headers=captured)
        queried = await replayer.get("/echo/orders/A-10001?all=1", headers=captured)
        posted = await replayer.post("/echo/orders/A-10001", headers=captured)
    assert same.json()["signed"]
    assert not other.json()["signed"]
    assert not queried.json()["signed"]
    assert not posted.json()["signed"]


async def test_an_unsigned_call_carries_no_signature(server: Server, http: BotHttp) -> None:
    result = await http.call(f"{server.url}/echo", body={}, timeout=2, secret=None)
    assert result.body == {"signed": False, "received": {}, "target": "/echo"}
    assert SIGNATURE_HEADER.lower() not in server.seen.requests[0][1]


async def test_a_slow_endpoint_is_given_up_on_within_the_timeout(
    server: Server, http: BotHttp
) -> None:
    started = time.monotonic()
    result = await http.call(f"{server.url}/slow", body={}, timeout=0.3, secret=SECRET)
    assert time.monotonic() - started < 0.6
    assert result == CallResult(None, None, "timed out after 0.3 s", timed_out=True)


async def test_a_refused_connection_is_said_so(http: BotHttp, closed_port: int) -> None:
    result = await http.call(
        f"http://127.0.0.1:{closed_port}/bot", body={}, timeout=2, secret=SECRET
    )
    assert result == CallResult(None, None, "connection refused")
    assert result.retryable


async def test_an_error_status_is_reported_without_its_body(server: Server, http: BotHttp) -> None:
    result = await http.call(f"{server.url}/fail/503/1", body={}, timeout=2, secret=None)
    assert result == CallResult(503, None, "answered 503")
    assert result.retryable
    not_found = await http.call(f"{server.url}/fail/404/1", body={}, timeout=2, secret=None)
    assert not_found == CallResult(404, None, "answered 404")
    assert not not_found.retryable


async def test_a_redirect_is_not_followed(server: Server, http: BotHttp) -> None:
    result = await http.call(f"{server.url}/redirect", body={}, timeout=2, secret=SECRET)
    assert result.status == 307
    assert result.error == "answered 307 (a redirect, not followed)"
    assert server.seen.hits["/echo"] == 0


async def test_an_answer_that_is_not_json_is_an_error(server: Server, http: BotHttp) -> None:
    result = await http.call(f"{server.url}/not-json", body={}, timeout=2, secret=None)
    assert result == CallResult(200, None, "answer is not JSON")


async def test_an_empty_answer_has_no_body_and_no_error(server: Server, http: BotHttp) -> None:
    result = await http.call(f"{server.url}/empty", body={}, timeout=2, secret=None)
    assert result == CallResult(204, None, None)


@pytest.mark.parametrize("path", ["/huge", "/huge-declared"])
async def test_an_oversized_answer_is_cut_off(server: Server, http: BotHttp, path: str) -> None:
    result = await http.call(f"{server.url}{path}", body={}, timeout=2, secret=None)
    assert result == CallResult(200, None, "answer larger than 256 KiB")


async def test_an_invalid_url_is_an_error_not_an_exception(http: BotHttp) -> None:
    result = await http.call("gopher://example/x", body={}, timeout=1, secret=None)
    assert (result.status, result.error) == (None, "not a valid http(s) URL")


# --- ask_external --------------------------------------------------------------------


async def test_the_bots_answer_is_returned(server: Server, http: BotHttp) -> None:
    answer = await ask_external(http, config(f"{server.url}/answer"), SECRET, a_turn())
    assert answer == BotAnswer((Reply("We're open 9 to 20."),))
    _, headers, body = server.seen.requests[0]
    assert json.loads(body)["message"]["text"] == "when are you open?"
    signature = headers[SIGNATURE_HEADER.lower()]
    assert verify(SECRET, body, signature, int(time.time()), method="POST", target="/answer")


async def test_an_empty_answer_is_nothing_to_say(server: Server, http: BotHttp) -> None:
    assert await ask_external(http, config(f"{server.url}/empty"), SECRET, a_turn()) == (
        BotAnswer()
    )


@pytest.mark.parametrize("status", [503, 429])
async def test_a_busy_bot_is_retried_once_with_the_same_idempotency_key(
    server: Server, http: BotHttp, status: int
) -> None:
    path = f"/fail/{status}/1"
    answer = await ask_external(http, config(f"{server.url}{path}"), SECRET, a_turn())
    assert answer.replies == (Reply("We're open 9 to 20."),)
    assert server.seen.keys(path) == ["turn-1", "turn-1"]


def unavailable(detail: str) -> BotAnswer:
    return BotAnswer(end=HandTo(HandoffReason.BOT_UNAVAILABLE, detail=detail))


async def test_a_bot_failing_twice_hands_over_saying_why(server: Server, http: BotHttp) -> None:
    answer = await ask_external(http, config(f"{server.url}/fail/503/5"), SECRET, a_turn())
    assert answer == unavailable("the bot answered 503; on a retry, the bot answered 503")
    assert server.seen.hits["/fail/503/5"] == 2


async def test_a_client_error_is_not_retried(server: Server, http: BotHttp) -> None:
    answer = await ask_external(http, config(f"{server.url}/fail/401/5"), SECRET, a_turn())
    assert answer == unavailable("the bot answered 401")
    assert server.seen.hits["/fail/401/5"] == 1


async def test_a_slow_bot_hands_over_within_its_timeout(server: Server, http: BotHttp) -> None:
    started = time.monotonic()
    answer = await ask_external(http, config(f"{server.url}/slow", 0.5), SECRET, a_turn())
    assert time.monotonic() - started < 0.8
    assert answer == unavailable("the bot timed out after 0.5 s")
    assert server.seen.hits["/slow"] == 1


async def test_no_retry_when_less_than_half_the_timeout_is_left(
    server: Server, http: BotHttp
) -> None:
    path = "/late503/0.3"
    answer = await ask_external(http, config(f"{server.url}{path}", 0.5), SECRET, a_turn())
    assert answer == unavailable("the bot answered 503")
    assert server.seen.hits[path] == 1


async def test_the_retry_only_gets_what_the_first_try_left(server: Server, http: BotHttp) -> None:
    path = "/late503/0.1"
    started = time.monotonic()
    answer = await ask_external(http, config(f"{server.url}{path}", 0.6), SECRET, a_turn())
    assert time.monotonic() - started < 0.9
    assert answer == unavailable(
        "the bot answered 503; on a retry, the bot timed out (0.6 s in all)"
    )
    assert server.seen.keys(path) == ["turn-1", "turn-1"]


async def test_a_bot_that_is_down_hands_over(http: BotHttp, closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/bot"
    answer = await ask_external(http, config(url), SECRET, a_turn())
    assert answer == unavailable(
        "the bot could not be reached (connection refused); on a retry, "
        "the bot could not be reached (connection refused)"
    )


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/not-json", "the bot's answer was unusable (answer is not JSON)"),
        ("/huge", "the bot's answer was unusable (answer larger than 256 KiB)"),
        ("/bad-answer", "the bot's answer was invalid (messages[0].text: must not be empty)"),
        ("/redirect", "the bot answered 307 (a redirect, not followed)"),
    ],
)
async def test_an_unusable_answer_hands_over_saying_why(
    server: Server, http: BotHttp, path: str, detail: str
) -> None:
    answer = await ask_external(http, config(f"{server.url}{path}"), SECRET, a_turn())
    assert answer == unavailable(detail)
    assert server.seen.hits[path] == 1
