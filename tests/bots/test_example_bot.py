"""The example bot in the protocol's docs, served on loopback and asked through
Threadline's own client: the documented example keeps working."""

from __future__ import annotations

import ast
import importlib.util
import re
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Protocol

import httpx
import pytest

from threadline.adapters.bots.external import ask_external
from threadline.adapters.bots.http import BotHttp
from threadline.adapters.bots.signing import SIGNATURE_HEADER, sign
from threadline.bots.shop import serve_app
from threadline.core.bots.outcome import BotAnswer, Finish, HandoffReason, HandTo, Reply
from threadline.core.bots.protocol import ExternalBotConfig, ExternalTurn, TurnMessage

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLE = DOCS / "examples" / "external_bot.py"
SECRET = b"example-bot-secret-0123456789abcdef"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("external_bot_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Ask(Protocol):
    async def __call__(self, text: str, secret: bytes = ...) -> BotAnswer: ...


@pytest.fixture
async def ask() -> AsyncIterator[Ask]:
    app = load_example().create_app(SECRET)
    async with serve_app(app) as url, httpx.AsyncClient() as client:
        http = BotHttp(client)
        config = ExternalBotConfig(f"{url}/threadline", 2.0, "example_bot")

        async def asking(text: str, secret: bytes = SECRET) -> BotAnswer:
            return await ask_external(http, config, secret, turn(text))

        yield asking


def turn(text: str) -> ExternalTurn:
    at = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
    return ExternalTurn(
        event="message",
        idempotency_key="k-1",
        conversation_id="c-1",
        session_id="s-1",
        inbox_id="i-1",
        channel="web",
        customer_id="cu-1",
        customer_name="Ana",
        verification="anonymous",
        language="en",
        message=TurnMessage("m-1", 1, text, at),
    )


async def test_the_example_answers_opening_hours_itself(ask: Ask) -> None:
    answer = await ask("What are your opening hours?")
    assert answer == BotAnswer((Reply("We're open 9:00-20:00, Monday to Saturday."),))


async def test_the_example_hands_billing_to_a_human_with_fields(ask: Ask) -> None:
    answer = await ask("My invoice is wrong")
    assert answer.replies == (Reply("I'm passing you to our billing team."),)
    assert answer.fields == {"topic": "billing", "said": "my invoice is wrong"}
    assert answer.end == HandTo(
        HandoffReason.FLOW,
        skill="billing",
        intent="billing",
        confidence=0.9,
        detail="billing question",
    )


async def test_the_example_closes_when_thanked(ask: Ask) -> None:
    answer = await ask("thanks, bye")
    assert answer.end == Finish()


async def test_the_example_offers_suggestions_otherwise(ask: Ask) -> None:
    answer = await ask("hello")
    assert answer.replies[0].suggestions == ("Opening hours", "A billing question")
    assert answer.end is None


async def test_the_example_refuses_a_wrong_signature(ask: Ask) -> None:
    answer = await ask("What are your opening hours?", secret=b"not the secret")
    assert answer == BotAnswer(
        end=HandTo(HandoffReason.BOT_UNAVAILABLE, detail="the bot answered 401")
    )


async def test_the_example_refuses_a_signature_made_for_another_path_or_method() -> None:
    body = b'{"event":"message","message":{"text":"hours"}}'
    app = load_example().create_app(SECRET)
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:

        def signed(method: str, target: str) -> dict[str, str]:
            header = sign(SECRET, body, int(time.time()), method=method, target=target)
            return {SIGNATURE_HEADER: header}

        right = await client.post(
            "/threadline", content=body, headers=signed("POST", "/threadline")
        )
        assert right.status_code == 200
        for method, target in (
            ("POST", "/other"),
            ("GET", "/threadline"),
            ("POST", "/threadline?x=1"),
        ):
            moved = await client.post("/threadline", content=body, headers=signed(method, target))
            assert moved.status_code == 401, (method, target)


def test_the_example_needs_nothing_from_threadline() -> None:
    # A business copies it into its own code base, where there is no threadline package.
    tree = ast.parse(EXAMPLE.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}  # fmt: skip
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported
    assert not {name for name in imported if name.split(".")[0] == "threadline"}


def documented_check() -> Callable[..., bool]:
    """The Python check shown under "The signature" in the protocol's docs."""
    text = (DOCS / "bots-protocol.md").read_text()
    section = text[text.index("## The signature") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    namespace: dict[str, object] = {}
    exec(code[1], namespace)
    check = namespace["signed"]
    assert callable(check)
    return check


def test_the_documented_check_accepts_threadlines_signature_for_that_request_only() -> None:
    check = documented_check()
    body = b'{"event":"message"}'
    target = "/orders/ana%40mail.example?lang=es"
    header = sign(SECRET, body, int(time.time()), method="GET", target=target)
    assert check(SECRET, "GET", target, body, header)
    assert not check(SECRET, "GET", "/orders/ana@mail.example?lang=es", body, header)
    assert not check(SECRET, "POST", target, body, header)
    assert not check(SECRET, "GET", target, body + b" ", header)
    assert not check(b"another secret", "GET", target, body, header)
