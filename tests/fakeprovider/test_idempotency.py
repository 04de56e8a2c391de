"""Idempotency-Key on every send API: a repeated key answers as the first time did."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.fakeprovider.sends import PROVIDERS, send
from threadline.fakeprovider import FakeProvider


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_repeated_key_replays_the_first_answer_and_sends_once(
    http: httpx.AsyncClient, fake: FakeProvider, rbm_token: str, provider: str
) -> None:
    first = await send(http, provider, rbm_token=rbm_token, key="k-1")
    again = await send(http, provider, rbm_token=rbm_token, key="k-1")

    assert first.status_code in (200, 201)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    [sent] = fake.sent()
    assert sent.idempotency_key == "k-1"


async def test_different_keys_are_different_sends(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    await send(http, "twilio", key="k-1")
    await send(http, "twilio", key="k-2")

    assert len(fake.sent()) == 2


async def test_a_refused_send_does_not_use_up_its_key(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    fake.behave("error", status=500, times=1)
    refused = await send(http, "twilio", key="k-1")
    accepted = await send(http, "twilio", key="k-1")

    assert (refused.status_code, accepted.status_code) == (500, 201)
    assert len(fake.sent()) == 1


async def test_concurrent_sends_with_one_key_send_once(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    answers = await asyncio.gather(*(send(http, "messenger", key="k-1") for _ in range(3)))

    assert {a.json()["message_id"] for a in answers} == {fake.sent()[0].id}
    assert len(fake.sent()) == 1


async def test_a_replay_still_needs_the_right_credentials(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    await send(http, "whatsapp", key="k-1")
    stolen = await http.post(
        "/v21.0/106540352242922/messages",
        json={},
        headers={"Idempotency-Key": "k-1", "Authorization": "Bearer guessed"},
    )

    assert stolen.status_code == 401
