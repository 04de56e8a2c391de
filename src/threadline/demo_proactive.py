"""The demo's proactive fraud alerts: every few minutes the shop texts one of its
cardholders "did you just order ...? Reply YES or NO" through the public notifications
API, and the cardholder's phone (the fake provider) answers after a while, YES mostly:
the alert is resolved without an agent (deflected); NO now and then: the conversation
goes to the fraud queue with the alert as its context, for the fraud team (fran).

Everything goes through the real pipeline: the template and the outreach policy are set
with the service functions an admin's requests call, the alerts are sent by POST
/api/v1/notifications as the business's own systems would, the dispatcher decides and
the outbox sends them to the fake provider, and the answers come back as Twilio webhooks.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from threadline.api.context import system_clock
from threadline.core.access import Principal
from threadline.core.agents import Role
from threadline.core.errors import InvalidInput
from threadline.demo_channels import DEMO_SMS, SMS_NUMBER
from threadline.fakeprovider.handle import FakeProvider
from threadline.service import agents, customers
from threadline.service.proactive import setup
from threadline.service.unit_of_work import Transactor, UnitOfWork

log = logging.getLogger(__name__)

TEMPLATE = "order_fraud_check"
FRAUD_QUEUE = "fraud"
# Seeded with the other demo agents' password: the fraud team the "NO" answers reach.
FRAUD_AGENT = ("fran", "Fran Castillo", frozenset({FRAUD_QUEUE}), 2, 3)
# The admin whose session sends the alerts, as a business's back end would hold one.
SENDER = "ada"

ORDER_FRAUD_CHECK: dict[str, Any] = {
    "purpose": "fraud_alert",
    "variables": [
        {"name": "item", "example": "a Trailhead 2 tent", "max_length": 40},
        {"name": "amount", "example": "$349.00", "max_length": 20},
    ],
    "variants": [
        {
            "language": "en",
            "text": "Acme Outdoor: did you just order {item} for {amount}? Reply YES or NO.",
        }
    ],
    "replies": [
        {"words": ["YES", "Y"], "action": "resolve", "answer": "Thanks! Your order is on its way."},
        {
            "words": ["NO", "N"],
            "action": "handoff",
            "queue": FRAUD_QUEUE,
            "answer": "We have stopped the order. Someone from our fraud team will write here.",
        },
    ],
    # An order check unanswered for hours is moot: the order has shipped or been held.
    "expires_after_seconds": 4 * 3600,
}

DEMO_POLICY: dict[str, Any] = {
    # The business's choice, not Threadline's default: its fraud alerts may go at any
    # hour (a customer would rather be woken than robbed), which also lets the demo show
    # them whenever it runs. Every other purpose keeps the default 08:00-21:00 in the
    # recipient's time zone.
    "windows_by_purpose": {"fraud_alert": "00:00-24:00"},
    "senders": {"sms": DEMO_SMS},
}

# Account holders with a phone on file, in several time zones. Their numbers are outside
# the range demo_channels' texters draw from, so those never answer an alert.
CARDHOLDERS = [
    ("Ines Duarte", "+15550100001", "America/New_York"),
    ("Ravi Menon", "+15550100002", "America/Chicago"),
    ("Ella Fischer", "+15550100003", "America/Denver"),
    ("Sven Larsen", "+15550100004", "America/Los_Angeles"),
    ("Aiko Tanaka", "+15550100005", "Pacific/Honolulu"),
    ("Noah Brooks", "+15550100006", "America/Anchorage"),
]
ORDERS = [
    ("a Trailhead 2 tent", "$349.00"),
    ("two pairs of Summit boots", "$418.00"),
    ("a Glacier down jacket", "$289.99"),
    ("a $500 gift card", "$500.00"),
    ("a Ridgeline 40L backpack", "$179.00"),
]
YES = ["YES", "Yes", "yes", "Yes!", "Y"]
NO = ["NO", "No", "no", "NO!"]
# How long a phone waits for an alert before its holder stops expecting it (the
# provider may be down, an admin may have changed the policy).
_GIVE_UP_SECONDS = 300.0
# A cardholder who answered NO has their account on hold with the fraud team: no alert
# lands in the fraud conversation until this many more have gone to others.
_ON_HOLD_FOR = 20

# Names of the settings, all optional, in the environment `threadline demo` runs in.
EVERY = "THREADLINE_DEMO_FRAUD_ALERT_SECONDS"
ANSWER = "THREADLINE_DEMO_FRAUD_ANSWER_SECONDS"
SEED = "THREADLINE_DEMO_FRAUD_SEED"


@dataclass(frozen=True)
class Pace:
    """How often alerts go out and how the cardholders answer them."""

    every_seconds: float = 180.0  # between alerts, on average; 0: no alerts
    answer_seconds: float = 45.0  # the longest a cardholder takes to read and answer
    yes_share: float = 0.8  # most alerts are about the customer's own order
    seed: int | None = None  # the same seed, the same alerts and answers in order

    @property
    def first_after_seconds(self) -> float:
        """The first alert comes within a minute of start, so a visitor sees one."""
        return min(self.every_seconds, 60.0) / 2

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Pace:
        """The pace the environment asks for (tests ask for a fast one); InvalidInput
        naming the variable for a bad value."""

        def number(name: str, default: float, low: float, high: float) -> float:
            raw = env.get(name)
            if raw is None or not raw.strip():
                return default
            try:
                value = float(raw)
            except ValueError:
                value = float("nan")
            if not low <= value <= high:
                raise InvalidInput(f"{name}: a number of seconds from {low:g} to {high:g}")
            return value

        seed = env.get(SEED)
        if seed is not None and not seed.strip().isdigit():
            raise InvalidInput(f"{SEED}: a whole number")
        return cls(
            every_seconds=number(EVERY, cls.every_seconds, 0, 86400),
            answer_seconds=number(ANSWER, cls.answer_seconds, 0, 3600),
            seed=int(seed) if seed is not None else None,
        )


async def seed(tx: Transactor, password: str) -> None:
    """The fraud agent, the alert template, the policy and the cardholders, once: a
    template or policy an admin has changed in the demo since is theirs to keep."""
    now = system_clock()

    async def admin_and_agents(uow: UnitOfWork) -> tuple[Principal, set[str]]:
        everyone = await uow.agents.all()
        [ada] = [a for a in everyone if a.username == SENDER]
        return Principal(ada.id, ada.role, ada.skills), {a.username for a in everyone}

    admin, have = await tx.read(admin_and_agents)
    username, display, skills, preferred, most = FRAUD_AGENT
    if username not in have:
        new = agents.NewAgent(username, password, display, Role.AGENT, skills, preferred, most)
        await agents.create_agent(tx, None, new, now)

    async def outreach(uow: UnitOfWork) -> None:
        if await uow.outreach.template_named(TEMPLATE) is None:
            await setup.put_template(uow, admin, TEMPLATE, ORDER_FRAUD_CHECK, now)
        if await uow.outreach.policy() is None:
            await setup.put_policy(uow, admin, DEMO_POLICY, now)
        known = await uow.customers.owners_of("sms", [phone for _, phone, _ in CARDHOLDERS])
        for name, phone, timezone in CARDHOLDERS:
            if phone not in known:
                new = customers.NewCustomer(name, timezone, "sms", [("sms", phone)])
                await customers.create(uow, admin, new, now)

    await tx.write(outreach)


def describe(base: str, pace: Pace) -> str:
    """The banner's lines about the alerts: what happens, and where to watch it."""
    if pace.every_seconds <= 0:
        return f"Fraud alerts are off ({EVERY}=0)."
    every = pace.every_seconds
    often = f"{every / 60:g} minutes" if every >= 120 else f"{every:g} s"
    return (
        f"Fraud alerts: about every {often} a cardholder gets the {TEMPLATE!r} SMS and "
        "answers YES (resolved, no agent needed) or, now and then, NO (to the "
        f"{FRAUD_QUEUE!r} queue: log in as {FRAUD_AGENT[0]}). Watch them on the desk's "
        "Floor tab as sam, or in the figures with sam's token (log in as above):\n"
        f"  curl -s {base}/api/v1/reports/notifications -H 'Authorization: Bearer <token>'"
    )


@dataclass(frozen=True)
class _Alert:
    phone: str
    item: str
    amount: str
    answer: str
    answer_after: float


async def simulate(base_url: str, fake: FakeProvider, password: str, pace: Pace) -> None:
    """Sends an alert to an idle cardholder now and then; each one's phone answers it."""
    if pace.every_seconds <= 0:
        return
    # Every draw is made here, in order, whatever the pipeline's timing: one seed gives
    # the same alerts and answers. Demo traffic, not security.
    rng = random.Random(pace.seed)  # noqa: S311
    waiting: set[str] = set()  # phones with an alert not answered yet
    on_hold: dict[str, int] = {}  # phone -> the alert number its hold ends at
    phones: set[asyncio.Task[None]] = set()

    async def phone(alert: _Alert, already: int) -> None:
        try:
            await _answer(fake, alert, already)
        finally:
            waiting.discard(alert.phone)

    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        sender = _Sender(client, password)
        delay = pace.first_after_seconds
        try:
            for n in itertools.count():
                await asyncio.sleep(delay)
                delay = pace.every_seconds * rng.uniform(0.5, 1.5)
                start = rng.randrange(len(CARDHOLDERS))
                item, amount = rng.choice(ORDERS)
                says = rng.choice(YES) if rng.random() < pace.yes_share else rng.choice(NO)
                after = rng.uniform(pace.answer_seconds / 5, pace.answer_seconds)
                # The first cardholder from `start` on who is not answering an alert.
                turn = CARDHOLDERS[start:] + CARDHOLDERS[:start]
                idle = [c for c in turn if c[1] not in waiting and on_hold.get(c[1], 0) <= n]
                if not idle:
                    continue
                number = idle[0][1]
                alert = _Alert(number, item, amount, says, after)
                already = len(fake.sent("twilio"))
                try:
                    await sender.send(alert)
                except httpx.HTTPError as exc:
                    # An admin may have changed the template or the demo's passwords:
                    # say so, and try again with the next alert.
                    log.warning("the demo's fraud alert was not sent: %s", exc)
                    continue
                waiting.add(number)
                if says in NO:
                    on_hold[number] = n + _ON_HOLD_FOR
                task = asyncio.create_task(phone(alert, already))
                phones.add(task)
                task.add_done_callback(phones.discard)
        finally:
            for task in list(phones):
                task.cancel()


class _Sender:
    """The business's back end: a session of the demo admin's, renewed when it ends."""

    def __init__(self, client: httpx.AsyncClient, password: str) -> None:
        self._client = client
        self._password = password
        self._headers: dict[str, str] = {}

    async def send(self, alert: _Alert) -> None:
        body = {
            "template": TEMPLATE,
            "identity": {"channel": "sms", "address": alert.phone},
            "variables": {"item": alert.item, "amount": alert.amount},
        }
        for _ in range(2):
            if not self._headers:
                await self._login()
            r = await self._client.post("/api/v1/notifications", json=body, headers=self._headers)
            if r.status_code != 401:
                r.raise_for_status()
                return
            self._headers = {}  # the session expired: log in again

    async def _login(self) -> None:
        r = await self._client.post(
            "/api/v1/auth/login", json={"username": SENDER, "password": self._password}
        )
        r.raise_for_status()
        self._headers = {"Authorization": f"Bearer {r.json()['token']}"}


async def _answer(fake: FakeProvider, alert: _Alert, already: int) -> None:
    """The cardholder's phone: once the alert has arrived, the answer after a while."""
    waited = 0.0
    while not _arrived(fake, alert.phone, already):
        if waited >= _GIVE_UP_SECONDS:
            return
        await asyncio.sleep(0.25)
        waited += 0.25
    await asyncio.sleep(alert.answer_after)  # reading it, checking the card, typing
    await fake.inbound_twilio(from_=alert.phone, to=SMS_NUMBER, body=alert.answer)


def _arrived(fake: FakeProvider, phone: str, already: int) -> bool:
    return any(
        m.to == phone and "Reply YES or NO" in (m.text or "") for m in fake.sent("twilio")[already:]
    )
