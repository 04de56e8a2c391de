"""The demo's SMS and WhatsApp customers, through the fake provider that ships with
Threadline: it plays Twilio and Meta, posts signed webhooks to the demo service, takes
the agents' replies on its Messages and Graph APIs, and reports their delivery.

Secrets are made up at each start and given to both sides, the way an operator copies
a token from a provider's console into Threadline's environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from threadline.adapters.providers.base import Connection, Secrets
from threadline.api.context import system_clock
from threadline.fakeprovider.config import FakeAccounts
from threadline.fakeprovider.handle import FakeProvider
from threadline.fakeprovider.server import serve_fake_provider
from threadline.service import connections, inboxes
from threadline.service.unit_of_work import Transactor, UnitOfWork

TWILIO_ACCOUNT = "AC" + "0d" * 16
SMS_NUMBER = "+15550001111"
WHATSAPP_ACCOUNT = "102290129340398"
WHATSAPP_NUMBER_ID = "106540352242922"
WHATSAPP_DISPLAY = "15550002222"
DEMO_SMS = "Acme SMS"
DEMO_WHATSAPP = "Acme WhatsApp"
TEMPLATES = [
    {
        "name": "order_update",
        "language": "en_US",
        "text": "Hi {{1}}, an update on your order {{2}}: reply here to talk to us.",
    },
    {"name": "follow_up", "language": "en_US", "text": "Hi {{1}}, is there anything else?"},
]


@dataclass(frozen=True)
class DemoSecrets:
    twilio_auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    meta_app_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    whatsapp_token: str = field(default_factory=lambda: "EAAG" + secrets.token_urlsafe(24))
    verify_token: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    def environment(self) -> dict[str, str]:
        return {
            "DEMO_SMS_AUTH_TOKEN": self.twilio_auth_token,
            "DEMO_WA_APP_SECRET": self.meta_app_secret,
            "DEMO_WA_ACCESS_TOKEN": self.whatsapp_token,
            "DEMO_WA_VERIFY_TOKEN": self.verify_token,
        }


@contextlib.asynccontextmanager
async def fake_provider(webhook_base: str, made_up: DemoSecrets) -> AsyncIterator[FakeProvider]:
    accounts = FakeAccounts(
        webhook_base=webhook_base,
        twilio={TWILIO_ACCOUNT: made_up.twilio_auth_token},
        meta_app_secret=made_up.meta_app_secret,
        meta_access_tokens=frozenset({made_up.whatsapp_token}),
        # The demo has no RCS or Apple inbox: these only satisfy the fake's accounts.
        rbm_client_token=secrets.token_urlsafe(16),
        rbm_service_accounts={},
        apple_csp_id="00000000-0000-4000-8000-000000000000",
        apple_secret_b64="ZGVtbw==",  # noqa: S106 - no Apple inbox in the demo
        whatsapp_business_account_id=WHATSAPP_ACCOUNT,
        # Delivery reports a second after a send, as a phone network would.
        status_delay_seconds=1.0,
    )
    async with serve_fake_provider(accounts) as fake:
        yield fake


async def seed(tx: Transactor, made_up: DemoSecrets) -> None:
    """The SMS and WhatsApp inboxes, connected to the fake provider."""
    now = system_clock()
    known = Secrets(made_up.environment())

    async def create(uow: UnitOfWork) -> None:
        found = {i.name: i for i in await uow.access.list_inboxes()}
        for name, channel, wanted in (
            (DEMO_SMS, "sms", ("twilio", TWILIO_ACCOUNT, SMS_NUMBER, "demo_sms", {})),
            (
                DEMO_WHATSAPP,
                "whatsapp",
                (
                    "whatsapp",
                    WHATSAPP_ACCOUNT,
                    WHATSAPP_NUMBER_ID,
                    "demo_wa",
                    {"templates": TEMPLATES},
                ),
            ),
        ):
            inbox = (
                found.get(name)
                or (await inboxes.create(uow, None, name, channel, "general", now)).inbox
            )
            provider, account, address, secret_name, options = wanted
            conn = Connection(inbox.id, provider, account, address, secret_name, options)
            await connections.connect(uow, None, inbox.id, conn, known, now)

    await tx.write(create)


OPENERS = [
    "Hi, my parcel says delivered but it isn't here",
    "Can I still change the size on my order?",
    "Do you ship to Canada?",
    "I'd like to return the boots I bought last week",
]
FOLLOW_UPS = ["It's order AC-48213", "Yes please", "Ok, how long will that take?"]


async def simulate(fake: FakeProvider, per_minute: float) -> None:
    """Customers text in over SMS and WhatsApp, and answer each reply the fake provider
    carries to their phone after a while, until they are done."""
    rng = random.Random()  # noqa: S311 - demo traffic, not security
    turns: dict[str, int] = {}
    answered = 0
    names = ["Nadia", "Kofi", "Hana", "Luis", "Mei", "Jonas"]

    async def write(phone: str, text: str, whatsapp: bool) -> None:
        if whatsapp:
            await fake.inbound_whatsapp(
                phone_number_id=WHATSAPP_NUMBER_ID,
                display_phone_number=WHATSAPP_DISPLAY,
                from_=phone.lstrip("+"),
                name=rng.choice(names),
                text=text,
            )
        else:
            await fake.inbound_twilio(from_=phone, to=SMS_NUMBER, body=text)

    pending: set[asyncio.Task[None]] = set()

    async def answer(phone: str, text: str, whatsapp: bool, after: float) -> None:
        await asyncio.sleep(after)  # a customer's time to read and type
        await write(phone, text, whatsapp)

    async def arrivals() -> None:
        n = 0
        while per_minute > 0:
            await asyncio.sleep(rng.expovariate(per_minute / 60))
            n += 1
            phone = f"+1555{rng.randint(2000000, 9999999)}"
            whatsapp = n % 2 == 0
            turns[phone.lstrip("+")] = rng.randint(1, 3)
            turns[phone] = turns[phone.lstrip("+")]
            await write(phone, rng.choice(OPENERS), whatsapp)

    async def replies() -> None:
        nonlocal answered
        while True:
            await asyncio.sleep(2)
            sent = fake.sent()
            for message in sent[answered:]:
                left = turns.get(message.to, 0)
                if left <= 0:
                    continue
                turns[message.to] = left - 1
                text = rng.choice(FOLLOW_UPS) if left > 1 else "No, that's all. Thanks!"
                whatsapp = message.provider == "whatsapp"
                phone = message.to if message.to.startswith("+") else "+" + message.to
                task = asyncio.create_task(answer(phone, text, whatsapp, rng.uniform(5, 30)))
                pending.add(task)
                task.add_done_callback(pending.discard)
            answered = len(sent)

    await asyncio.gather(arrivals(), replies())
