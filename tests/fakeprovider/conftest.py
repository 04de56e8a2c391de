"""A fake provider on loopback, with a receiver standing in for Threadline's webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fakeprovider.credentials import (
    APPLE_CSP,
    APPLE_SECRET,
    META_SECRET,
    META_TOKEN,
    RBM_CLIENT_TOKEN,
    RBM_EMAIL,
    TWILIO_SID,
    TWILIO_TOKEN,
    assertion,
    grant,
    rsa_key_pem,
)
from tests.fakeprovider.receiver import Receiver, serve_receiver
from threadline.fakeprovider import FakeAccounts, FakeProvider, serve_fake_provider


@pytest.fixture(scope="session")
def service_account_key() -> tuple[bytes, bytes]:
    return rsa_key_pem()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve_receiver() as running:
        yield running


@pytest.fixture
def accounts(receiver: Receiver, service_account_key: tuple[bytes, bytes]) -> FakeAccounts:
    return FakeAccounts(
        webhook_base=receiver.base_url,
        twilio={TWILIO_SID: TWILIO_TOKEN},
        meta_app_secret=META_SECRET,
        meta_access_tokens=frozenset({META_TOKEN}),
        rbm_client_token=RBM_CLIENT_TOKEN,
        rbm_service_accounts={RBM_EMAIL: service_account_key[1].decode()},
        apple_csp_id=APPLE_CSP,
        apple_secret_b64=APPLE_SECRET,
        status_delay_seconds=0.01,
    )


@pytest.fixture
async def fake(accounts: FakeAccounts, receiver: Receiver) -> AsyncIterator[FakeProvider]:
    async with serve_fake_provider(accounts) as running:
        yield running
        # uvicorn takes a fifth of a second to stop: both servers take it at once.
        receiver.stop_soon()


@pytest.fixture
async def http(fake: FakeProvider) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake.base_url, timeout=5, trust_env=False) as client:
        yield client


@pytest.fixture
async def rbm_token(http: httpx.AsyncClient, service_account_key: tuple[bytes, bytes]) -> str:
    """An access token granted by the fake's token endpoint."""
    r = await grant(http, assertion(service_account_key[0]))
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])
