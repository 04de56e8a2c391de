"""A business's own bot behind the webhook protocol, end to end: the documented
example bot on loopback answering customers of an API-channel inbox, and a bot that is
down or slow, which must never strand a customer."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.bots import BOT_KEY, BotWorld, bare_world
from tests.support.clock import FakeClock
from tests.support.live import free_port
from threadline.bots.shop import serve_app

HANDOFF = "I'm passing you to a colleague, who will see everything you've told me."
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "external_bot.py"


def example_app() -> Starlette:
    spec = importlib.util.spec_from_file_location("external_bot_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app: Starlette = module.create_app(BOT_KEY.encode())
    return app


def slow_app(seconds: float) -> Starlette:
    async def answer(request: Request) -> JSONResponse:
        await asyncio.sleep(seconds)
        return JSONResponse({"messages": [{"text": "Too late to matter"}]})

    return Starlette(routes=[Route("/threadline", answer, methods=["POST"])])


@pytest.fixture
async def world(database_url: str, clock: FakeClock) -> AsyncIterator[BotWorld]:
    async with bare_world(database_url, clock) as running:
        yield running


def handed_off(detail: dict[str, Any]) -> dict[str, Any]:
    [event] = [e for e in detail["events"] if e["type"] == "conversation.handed_off"]
    payload: dict[str, Any] = event["payload"]
    return payload


async def test_the_business_bot_answers_closes_and_hands_over_with_its_fields(
    world: BotWorld,
) -> None:
    carol = await world.live.agent("carol", skills=("billing",))
    async with serve_app(example_app()) as url:
        assert (await world.use_external(f"{url}/threadline")).status_code == 200
        dana = world.customer("dana")
        assert await dana.says("when are you open?") == [
            "We're open 9:00-20:00, Monday to Saturday."
        ]
        assert await dana.says("thanks, bye") == ["You're welcome. Goodbye!"]
        detail = await world.live.conversation(world.admin, dana.conversation_id or "")
        assert detail["conversation"]["state"] == "closed"

        lola = world.customer("lola")
        assert await lola.says("I was charged twice on my invoice") == [
            "I'm passing you to our billing team."
        ]
    detail = await world.live.conversation(carol, lola.conversation_id or "")
    conv = detail["conversation"]
    assert (conv["state"], conv["assigned_agent_id"], conv["queue"]) == (
        "assigned",
        carol.id,
        "billing",
    )
    assert conv["handoff"]["fields"]["topic"] == "billing"
    assert conv["handoff"]["intent"] == "billing"
    assert handed_off(detail)["detail"] == "billing question"


async def test_a_bot_that_is_down_hands_the_customer_to_a_human_within_its_timeout(
    world: BotWorld,
) -> None:
    assert (
        await world.use_external(f"http://127.0.0.1:{free_port()}/threadline")
    ).status_code == 200
    dana = world.customer("dana")
    started = time.monotonic()
    assert await dana.says("hello, anyone there?") == [HANDOFF]
    assert time.monotonic() - started < 2.0 + 1.0
    detail = await world.live.conversation(world.admin, dana.conversation_id or "")
    assert detail["conversation"]["state"] == "queued"
    why = handed_off(detail)
    assert why["reason"] == "bot_unavailable"
    assert "connect" in why["detail"] or "refused" in why["detail"]
    assert "bot was unavailable" in detail["conversation"]["handoff"]["summary"]


async def test_a_slow_bot_is_cut_off_at_its_timeout_and_a_human_takes_over(
    world: BotWorld,
) -> None:
    async with serve_app(slow_app(5.0)) as url:
        assert (await world.use_external(f"{url}/threadline", timeout=1.0)).status_code == 200
        dana = world.customer("dana")
        started = time.monotonic()
        # The late answer is never sent; the customer is told a person is coming.
        assert await dana.says("hello?") == [HANDOFF]
        assert time.monotonic() - started < 1.0 + 1.5
    detail = await world.live.conversation(world.admin, dana.conversation_id or "")
    why = handed_off(detail)
    assert why["reason"] == "bot_unavailable"
    assert "timed out" in why["detail"]


async def test_an_external_bot_needs_its_signing_key_in_the_environment(
    world: BotWorld,
) -> None:
    r = await world.live.http.put(
        f"/api/v1/inboxes/{world.inbox.id}/bot",
        json={"kind": "external", "url": "https://bots.example/hook", "secret_name": "other"},
        headers=world.admin.headers,
    )
    assert r.status_code == 422, r.text
    assert "THREADLINE_SECRET_OTHER_BOT_KEY" in r.json()["error"]["message"]
    gone = await world.live.http.get(
        f"/api/v1/inboxes/{world.inbox.id}/bot", headers=world.admin.headers
    )
    assert gone.status_code == 404
