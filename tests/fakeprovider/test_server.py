"""Serving the fake: loopback only, its own clock, usable in process."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from tests.fakeprovider.credentials import APPLE_CSP, APPLE_SECRET
from threadline.adapters.providers.signing import apple_token
from threadline.fakeprovider import FakeAccounts, create_fake_provider, run, serve_fake_provider


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.test"])
async def test_the_fake_refuses_to_listen_beyond_loopback(
    accounts: FakeAccounts, host: str
) -> None:
    with pytest.raises(ValueError, match="loopback"):
        async with serve_fake_provider(accounts, host=host):
            pass
    with pytest.raises(ValueError, match="loopback"):
        run(accounts, host=host)


def test_accounts_need_an_http_webhook_base(accounts: FakeAccounts) -> None:
    with pytest.raises(ValueError, match="webhook_base"):
        dataclasses.replace(accounts, webhook_base="127.0.0.1:8000")


async def test_the_app_answers_in_process_without_a_server(accounts: FakeAccounts) -> None:
    app = create_fake_provider(accounts)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as http:
        r = await http.get("/_fake/sent")

    assert (r.status_code, r.json()) == (200, [])


async def test_the_fake_keeps_time_by_the_clock_it_is_given(accounts: FakeAccounts) -> None:
    then = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    async with serve_fake_provider(accounts, clock=lambda: then) as fake:
        message_id = str(uuid.uuid4())
        async with httpx.AsyncClient(base_url=fake.base_url, trust_env=False) as http:
            r = await http.post(
                "/v1/message",
                json={"v": 1, "type": "text", "id": message_id, "body": "Hi"},
                headers={
                    "id": message_id,
                    "source-id": "business",
                    "destination-id": "customer",
                    # Valid at the fake's time, long expired by the wall clock's or not
                    # yet issued: the fake must judge it by its own clock.
                    "Authorization": f"Bearer {apple_token(APPLE_SECRET, APPLE_CSP, then)}",
                },
            )

        assert r.status_code == 200
        assert fake.sent()[0].at == then


def test_a_naive_clock_is_refused(accounts: FakeAccounts) -> None:
    app = create_fake_provider(accounts, clock=lambda: datetime(2026, 1, 1))

    with pytest.raises(ValueError, match="timezone-aware"):
        app.core.now()
