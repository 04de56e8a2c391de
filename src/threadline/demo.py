"""`threadline demo`: the service on a demo database, with agents to log in as and a
stream of simulated customers who write in, and answer agents, through the API channel,
and over SMS and WhatsApp through the fake provider (demo_channels); cardholders get
proactive fraud alerts by SMS and answer them (demo_proactive).

The customers go through the public HTTP API exactly as a business's back end would,
so everything an agent sees in the demo is the real pipeline at work.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import uuid
from dataclasses import dataclass, field

import httpx
import uvicorn

from threadline import demo_bots, demo_channels, demo_proactive
from threadline.adapters.database import Database
from threadline.api.app import create_app
from threadline.api.context import system_clock
from threadline.core.agents import Role
from threadline.core.canned import new_canned
from threadline.core.widgets import WidgetLook
from threadline.fakeprovider.handle import FakeProvider
from threadline.service import agents, inboxes, widgets
from threadline.service.unit_of_work import Transactor, UnitOfWork
from threadline.settings import Settings, secrets_from

DEMO_AGENTS = [
    ("alice", "Alice Moreau", Role.AGENT, {"general", "billing", "orders"}, 3, 5),
    ("bob", "Bob Okafor", Role.AGENT, {"general", "orders"}, 2, 4),
    ("carol", "Carol Nguyen", Role.AGENT, {"billing"}, 3, 5),
    ("sam", "Sam Supervisor", Role.SUPERVISOR, {"general", "billing", "orders"}, 2, 3),
    ("ada", "Ada Admin", Role.ADMIN, {"general"}, 1, 1),
]
DEMO_INBOXES = [("Web shop", "general"), ("Billing line", "billing")]
# The web chat you can try yourself at /widget/demo.html.
DEMO_WEB_CHAT = "Acme Outdoor chat"
# Their customers meet the virtual agent first (demo_bots); the billing line goes
# straight to agents.
DEMO_BOT_INBOXES = ["Web shop", DEMO_WEB_CHAT]
DEMO_CANNED = [
    ("hello", "Hi! Thanks for getting in touch. How can I help you today?"),
    ("order", "Could you give me your order number, please? It starts with AC-."),
    ("refund", "Your refund is on its way: it shows on your statement within 5 working days."),
    ("bye", "Is there anything else I can help you with?"),
]

OPENERS = [
    "Hi, my order hasn't arrived yet. Can you check?",
    "I was charged twice for the same purchase",
    "How do I change the delivery address on my order?",
    "Is the blue jacket back in stock in size M?",
    "I need an invoice for my last payment",
    "My card was declined but I have funds",
]
FOLLOW_UPS = [
    "The order number is 48213",
    "It was last Tuesday, around noon",
    "Yes, the email is the one on my account",
    "Ok, and how long will that take?",
]


@dataclass
class Persona:
    name: str
    address: str
    pace_seconds: float  # how long they take to answer an agent
    turns_left: int = field(default_factory=lambda: random.randint(2, 4))  # noqa: S311


async def seed(tx: Transactor, password: str) -> tuple[dict[str, str], str]:
    """Create the demo agents, inboxes, web chat and canned responses once; return
    fresh inbox tokens each start, and the web chat's widget key."""
    now = system_clock()

    async def existing(uow: UnitOfWork) -> set[str]:
        return {a.username for a in await uow.agents.all()}

    have = await tx.read(existing)
    for username, display, role, skills, p, m in DEMO_AGENTS:
        if username not in have:
            new = agents.NewAgent(username, password, display, role, frozenset(skills), p, m)
            await agents.create_agent(tx, None, new, now)

    async def tokens(uow: UnitOfWork) -> dict[str, str]:
        found = {i.name: i for i in await uow.access.list_inboxes()}
        out = {}
        for name, queue in DEMO_INBOXES:
            if name in found:
                from threadline.adapters.passwords import new_token, token_hash

                token = new_token("inbox")
                await uow.access.rotate_inbox_token(found[name].id, token_hash(token))
            else:
                token = (await inboxes.create(uow, None, name, "api", queue, now)).token
            out[name] = token
        return out

    async def web_chat(uow: UnitOfWork) -> str:
        found = {i.name: i for i in await uow.access.list_inboxes()}
        inbox = found.get(DEMO_WEB_CHAT)
        if inbox is None:
            inbox = (await inboxes.create(uow, None, DEMO_WEB_CHAT, "web", "general", now)).inbox
        widget = await uow.widgets.for_inbox(inbox.id)
        if widget is None:
            look = WidgetLook("Acme Outdoor", "Hi! Questions about an order? We're here.")
            widget = await widgets.configure(uow, None, inbox.id, look, [], now)
        have = {c.shortcut for c in await uow.canned.all()}
        for shortcut, text in DEMO_CANNED:
            if shortcut not in have:
                await uow.canned.add(new_canned(uuid.uuid4(), shortcut, text, now))
        return widget.key

    return await tx.write(tokens), await tx.write(web_chat)


async def simulate(base_url: str, tokens: dict[str, str], per_minute: float) -> None:
    """Customers arrive at random; each answers the agent at their own pace."""
    rng = random.Random()  # noqa: S311 - demo traffic, not security
    personas: dict[str, tuple[Persona, str]] = {}  # conversation id -> persona, inbox token
    names = ["Marcus", "Sophie", "Yuki", "Omar", "Lena", "Diego", "Priya", "Tom"]
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:

        async def say(token: str, persona: Persona, text: str) -> str | None:
            r = await client.post(
                "/api/v1/channel/messages",
                headers={"Authorization": f"Bearer {token}"},
                json={"customer": {"address": persona.address, "name": persona.name}, "text": text},
            )
            return str(r.json()["conversation_id"]) if r.status_code == 201 else None

        async def answer_later(token: str, persona: Persona, text: str) -> None:
            await asyncio.sleep(rng.expovariate(1 / persona.pace_seconds))
            await say(token, persona, text)

        async def arrivals() -> None:
            n = 0
            while per_minute > 0:
                await asyncio.sleep(rng.expovariate(per_minute / 60))
                n += 1
                token = rng.choice(list(tokens.values()))
                engaged = rng.random() < 0.6
                persona = Persona(
                    name=f"{rng.choice(names)} {n}",
                    address=f"demo-{os.getpid()}-{n}",
                    pace_seconds=rng.uniform(5, 20) if engaged else rng.uniform(60, 240),
                )
                conv = await say(token, persona, rng.choice(OPENERS))
                if conv:
                    personas[conv] = (persona, token)

        async def replies() -> None:
            while True:
                await asyncio.sleep(2)
                for token in tokens.values():
                    r = await client.get(
                        "/api/v1/channel/outbound", headers={"Authorization": f"Bearer {token}"}
                    )
                    for item in r.json() if r.status_code == 200 else []:
                        found = personas.get(item["conversation_id"])
                        if found is None:
                            # Someone trying the demo by hand: theirs to collect.
                            continue
                        await client.post(
                            f"/api/v1/channel/outbound/{item['message_id']}/status",
                            headers={"Authorization": f"Bearer {token}"},
                            json={"status": "delivered"},
                        )
                        persona, ptoken = found
                        to_bot = demo_bots.answer_to_bot(item["text"], rng)
                        if to_bot is not None:
                            asyncio.create_task(answer_later(ptoken, persona, to_bot))  # noqa: RUF006
                            continue
                        if "passing you to a colleague" in item["text"]:
                            continue  # the agent speaks next
                        persona.turns_left -= 1
                        text = (
                            rng.choice(FOLLOW_UPS)
                            if persona.turns_left > 0
                            else "No, that's all. Thanks!"
                        )
                        asyncio.create_task(answer_later(ptoken, persona, text))  # noqa: RUF006

        await asyncio.gather(arrivals(), replies())


async def run_demo(database_url: str, host: str, port: int, per_minute: float) -> None:
    if port == 0:
        with socket.socket() as probe:  # the fake provider must know where to post
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    made_up = demo_channels.DemoSecrets()
    key = demo_bots.DemoBotKey()
    async with (
        demo_channels.fake_provider(f"http://{host}:{port}", made_up) as fake,
        demo_bots.demo_shop(key) as shop_url,
    ):
        await _run(database_url, host, port, per_minute, fake, made_up, _Shop(shop_url, key))


@dataclass(frozen=True)
class _Shop:
    url: str
    key: demo_bots.DemoBotKey


async def _run(
    database_url: str,
    host: str,
    port: int,
    per_minute: float,
    fake: FakeProvider,
    made_up: demo_channels.DemoSecrets,
    shop: _Shop,
) -> None:
    password = os.environ.get("THREADLINE_DEMO_PASSWORD", "threadline-demo")
    fraud_pace = demo_proactive.Pace.from_environment(os.environ)
    db = Database(database_url)
    try:
        tokens, widget_key = await seed(Transactor(db), password)
        await demo_channels.seed(Transactor(db), made_up)
        await demo_bots.seed(Transactor(db), DEMO_BOT_INBOXES, shop.url, shop.key)
        await demo_proactive.seed(Transactor(db), password)
    finally:
        await db.dispose()
    settings = Settings(
        database_url=database_url,
        host=host,
        port=port,
        public_url=f"http://{host}:{port}",
        # The operator's own secrets too, so an admin can connect more inboxes.
        channel_secrets={
            **secrets_from(os.environ),
            **made_up.environment(),
            **shop.key.environment(),
        },
        twilio_api_base=fake.base_url,
        meta_graph_base=fake.base_url,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=5,  # held long polls must not hold up Ctrl-C
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving
            return
        await asyncio.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://{host}:{bound}"
    print(f"Threadline demo running at {base}  (agent desk: {base}/desk/, API docs: {base}/docs)")
    print(
        "Log in as alice, bob, carol, fran (agents; fran is the fraud team), sam (supervisor) "
        "or ada (admin); "
        f"password: {password}"
    )
    print(
        f"  curl -s {base}/api/v1/auth/login -H 'content-type: application/json' "
        f'-d \'{{"username":"alice","password":"{password}"}}\''
    )
    name, token = next(iter(tokens.items()))
    print(
        f"Write in as a customer through the {name!r} inbox (its token is new each start):\n"
        f"  curl -s {base}/api/v1/channel/messages -H 'Authorization: Bearer {token}' "
        "-H 'content-type: application/json' "
        '-d \'{"customer": {"address": "me"}, "text": "Where is my order?"}\''
    )
    print(f"Chat as a web visitor yourself: {base}/widget/demo.html?key={widget_key}")
    print(
        f"The {' and '.join(repr(n) for n in DEMO_BOT_INBOXES)} inboxes open with the virtual "
        "agent (docs/bots.md): ask where order A-10001 is, about opening hours, or for an "
        f"agent. Its step-up codes go to the demo shop: {shop.url}/codes"
    )
    print(
        f"SMS and WhatsApp customers write in through the fake provider at {fake.base_url} "
        "(it plays Twilio and Meta). Text in as an SMS customer yourself:\n"
        f"  curl -s {fake.base_url}/_fake/inbound/twilio -H 'content-type: application/json' "
        f'-d \'{{"from": "+15557650000", "to": "{demo_channels.SMS_NUMBER}", '
        '"body": "Hi, where is my order?"}\''
    )
    print(demo_proactive.describe(base, fraud_pace))
    print(f"Simulated customers: about {per_minute:g} new conversations a minute. Ctrl-C stops.")
    sims = [
        asyncio.create_task(simulate(base, tokens, per_minute / 2)),
        asyncio.create_task(demo_channels.simulate(fake, per_minute / 2)),
        asyncio.create_task(demo_proactive.simulate(base, fake, password, fraud_pace)),
    ]
    try:
        await serving
    finally:
        for sim in sims:
            sim.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sim
