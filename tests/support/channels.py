"""Threadline and the fake provider side by side on loopback, with inboxes connected to
it: the harness of the channel tests.

Each provider's secrets are made up per run and given to both sides, as an operator
would put the same token in the provider's console and in Threadline's environment.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.clock import FakeClock
from tests.support.live import AgentHandle, InboxHandle, Live, free_port, serve
from threadline.adapters.schema import outbox
from threadline.core.agents import Role
from threadline.fakeprovider.config import FakeAccounts
from threadline.fakeprovider.handle import FakeProvider
from threadline.fakeprovider.server import serve_fake_provider
from threadline.service.unit_of_work import UnitOfWork

# The ids of the recorded fixtures (tests/fixtures/), so a fixture posted to a test
# server names a connected inbox.
TWILIO_ACCOUNT = "AC" + "a" * 32
SMS_NUMBER = "+15550001111"
WHATSAPP_ACCOUNT = "102290129340398"
WHATSAPP_NUMBER_ID = "106540352242922"
WHATSAPP_DISPLAY_NUMBER = "15550002222"
META_APP_ID = "1234567890123456"
MESSENGER_PAGE = "112233445566778"
RBM_AGENT = "threadline-demo-agent@rbm.goog"
RBM_SERVICE_ACCOUNT = "threadline-rbm@threadline-demo.iam.gserviceaccount.com"
APPLE_CSP_ID = "6f5b2d3e-8a41-4c1b-9d2e-7a6b5c4d3e2f"
APPLE_BUSINESS = "e0a5a1b2-7f2c-4f6e-9b8a-0c1d2e3f4a5b"
CUSTOMER_PHONE = "+15557654321"


@dataclass(frozen=True)
class ProviderSecrets:
    twilio_auth_token: str
    meta_app_secret: str
    whatsapp_access_token: str
    messenger_page_token: str
    meta_verify_token: str
    rbm_client_token: str
    rbm_private_key_pem: str
    rbm_public_key_pem: str
    apple_secret_b64: str

    @classmethod
    def made_up(cls) -> ProviderSecrets:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        return cls(
            twilio_auth_token=secrets.token_hex(16),
            meta_app_secret=secrets.token_hex(16),
            whatsapp_access_token="EAAG" + secrets.token_urlsafe(24),
            messenger_page_token="EAAP" + secrets.token_urlsafe(24),
            meta_verify_token=secrets.token_urlsafe(12),
            rbm_client_token=secrets.token_urlsafe(16),
            rbm_private_key_pem=private,
            rbm_public_key_pem=public,
            apple_secret_b64=base64.b64encode(secrets.token_bytes(32)).decode(),
        )

    def environment(self) -> dict[str, str]:
        """THREADLINE_SECRET_<NAME>_<PART>, without the prefix (Settings.channel_secrets)."""
        return {
            "ACME_SMS_AUTH_TOKEN": self.twilio_auth_token,
            "ACME_WA_APP_SECRET": self.meta_app_secret,
            "ACME_WA_ACCESS_TOKEN": self.whatsapp_access_token,
            "ACME_WA_VERIFY_TOKEN": self.meta_verify_token,
            "ACME_FB_APP_SECRET": self.meta_app_secret,
            "ACME_FB_PAGE_ACCESS_TOKEN": self.messenger_page_token,
            "ACME_FB_VERIFY_TOKEN": self.meta_verify_token,
            "ACME_RCS_CLIENT_TOKEN": self.rbm_client_token,
            "ACME_RCS_PRIVATE_KEY": self.rbm_private_key_pem,
            "ACME_APPLE_SECRET": self.apple_secret_b64,
        }


# What an admin PUTs to connect each kind of inbox (docs/channels/).
CONNECTIONS: dict[str, dict[str, Any]] = {
    "sms": {
        "provider": "twilio",
        "account": TWILIO_ACCOUNT,
        "address": SMS_NUMBER,
        "secret_name": "acme_sms",
    },
    "whatsapp": {
        "provider": "whatsapp",
        "account": WHATSAPP_ACCOUNT,
        "address": WHATSAPP_NUMBER_ID,
        "secret_name": "acme_wa",
    },
    "messenger": {
        "provider": "messenger",
        "account": META_APP_ID,
        "address": MESSENGER_PAGE,
        "secret_name": "acme_fb",
    },
    "rcs": {
        "provider": "rbm",
        "account": RBM_SERVICE_ACCOUNT,
        "address": RBM_AGENT,
        "secret_name": "acme_rcs",
    },
    "apple": {
        "provider": "apple",
        "account": APPLE_CSP_ID,
        "address": APPLE_BUSINESS,
        "secret_name": "acme_apple",
    },
}


@dataclass
class World:
    live: Live
    fake: FakeProvider
    admin: AgentHandle
    secrets: ProviderSecrets

    async def connected_inbox(
        self,
        channel: str,
        *,
        name: str | None = None,
        queue: str = "general",
        options: dict[str, Any] | None = None,
    ) -> InboxHandle:
        inbox = await self.live.inbox(name or f"Acme {channel}", queue=queue, channel=channel)
        body = {**CONNECTIONS[channel], "options": options or {}}
        r = await self.live.http.put(
            f"/api/v1/inboxes/{inbox.id}/connection", json=body, headers=self.admin.headers
        )
        assert r.status_code == 200, r.text
        return inbox


@contextlib.asynccontextmanager
async def fake_for(
    threadline_port: int, made_up: ProviderSecrets, clock: FakeClock
) -> AsyncIterator[FakeProvider]:
    """The fake provider, holding the same accounts and secrets as Threadline and
    sending its webhooks to Threadline's port."""
    accounts = FakeAccounts(
        webhook_base=f"http://127.0.0.1:{threadline_port}",
        twilio={TWILIO_ACCOUNT: made_up.twilio_auth_token},
        meta_app_secret=made_up.meta_app_secret,
        meta_access_tokens=frozenset({made_up.whatsapp_access_token, made_up.messenger_page_token}),
        rbm_client_token=made_up.rbm_client_token,
        rbm_service_accounts={RBM_SERVICE_ACCOUNT: made_up.rbm_public_key_pem},
        apple_csp_id=APPLE_CSP_ID,
        apple_secret_b64=made_up.apple_secret_b64,
        whatsapp_business_account_id=WHATSAPP_ACCOUNT,
        messenger_page_id=MESSENGER_PAGE,
        rbm_agent_id=RBM_AGENT,
    )
    async with serve_fake_provider(accounts, clock=clock) as fake:
        yield fake


@contextlib.asynccontextmanager
async def threadline_for(
    database_url: str,
    clock: FakeClock,
    port: int,
    fake: FakeProvider,
    made_up: ProviderSecrets,
    **overrides: Any,
) -> AsyncIterator[Live]:
    """Threadline on `port`, its provider URLs pointing at the fake."""
    settings: dict[str, Any] = {
        "public_url": f"http://127.0.0.1:{port}",
        "channel_secrets": made_up.environment(),
        "twilio_api_base": fake.base_url,
        "meta_graph_base": fake.base_url,
        "rbm_api_base": fake.base_url,
        "rbm_token_url": f"{fake.base_url}/oauth2/token",
        "apple_gateway_base": fake.base_url,
        # Sends go out within a tick; retries wait on the test's clock.
        "outbox_interval_seconds": 0.05,
        "provider_timeout_seconds": 2.0,
        **overrides,
    }
    async with serve(database_url, clock, port=port, **settings) as live:
        yield live


@contextlib.asynccontextmanager
async def channel_world(
    database_url: str, clock: FakeClock, **overrides: Any
) -> AsyncIterator[World]:
    made_up = ProviderSecrets.made_up()
    port = free_port()
    async with (
        fake_for(port, made_up, clock) as fake,
        threadline_for(database_url, clock, port, fake, made_up, **overrides) as live,
    ):
        admin = await live.agent("ada", role=Role.ADMIN, online=False)
        yield World(live, fake, admin, made_up)


async def outbox_rows(live: Live) -> list[tuple[str, int]]:
    """(state, attempts) of every outbox row, sorted."""

    async def rows(uow: UnitOfWork) -> list[tuple[str, int]]:
        found = await uow.conn.execute(sa.select(outbox.c.state, outbox.c.attempts))
        return sorted((r.state, r.attempts) for r in found)

    return await live.tx.read(rows)


async def until_each_tried_once(live: Live, count: int) -> None:
    """Until `count` rows have each failed one attempt and wait for their retry (a new
    row is pending too, before its first attempt)."""
    wanted = [("pending", 1)] * count
    for _ in range(250):
        if await outbox_rows(live) == wanted:
            return
        await asyncio.sleep(0.02)
    assert await outbox_rows(live) == wanted
