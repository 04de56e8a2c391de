"""The demo's virtual agent: the shipped flow on the "Web shop" inbox and the web chat,
its order lookups and step-up codes served by the demo shop on loopback
(threadline.bots.shop), and simulated customers who answer it."""

from __future__ import annotations

import contextlib
import random
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import resources

from threadline.adapters.providers.base import Secrets
from threadline.bots.shop import SEEDED_ORDERS, serve_shop
from threadline.core.bots.config import BotKind
from threadline.service import bot_settings
from threadline.service.unit_of_work import Transactor, UnitOfWork

# THREADLINE_SECRET_DEMO_SHOP_BOT_KEY: signs the bot's requests to the demo shop.
SECRET_NAME = "demo_shop"  # noqa: S105 (a name, not a secret)
DEMO_SHOP_URL = "http://127.0.0.1:8765"
_ORDER_QUESTION = re.compile(r"order number|which order", re.IGNORECASE)


class DemoBotKey:
    """A key made up at each start, like the demo's provider secrets."""

    def __init__(self) -> None:
        self.value = "".join(random.choices("abcdef0123456789", k=32))  # noqa: S311

    def environment(self) -> dict[str, str]:
        return {f"{SECRET_NAME}_BOT_KEY".upper(): self.value}


def demo_flow(shop_url: str) -> str:
    text = resources.files("threadline.bots").joinpath("demo_flow.yaml").read_text("utf-8")
    return text.replace(DEMO_SHOP_URL, shop_url)


@contextlib.asynccontextmanager
async def demo_shop(key: DemoBotKey) -> AsyncIterator[str]:
    """The demo shop on a free loopback port; yields its URL."""
    async with serve_shop(port=0, secret=key.value.encode()) as url:
        yield url


async def seed(tx: Transactor, inbox_names: list[str], shop_url: str, key: DemoBotKey) -> None:
    """The flow on these inboxes, pointed at this start's shop (its port changes)."""
    flow = demo_flow(shop_url)
    secrets = Secrets(key.environment())
    now = datetime.now(UTC)

    async def use_case(uow: UnitOfWork) -> None:
        found = {i.name: i for i in await uow.access.list_inboxes()}
        for name in inbox_names:
            await bot_settings.set_bot(
                uow,
                None,
                found[name].id,
                kind=BotKind.BUILTIN,
                now=now,
                secrets=secrets,
                flow=flow,
                secret_name=SECRET_NAME,
            )

    await tx.write(use_case)


def answer_to_bot(text: str, rng: random.Random) -> str | None:
    """What a simulated customer says to the bot's message, or None to let the
    conversation follow its usual course (an agent's turn)."""
    if _ORDER_QUESTION.search(text):
        # Mostly a real order; now and then a typo, which the bot asks about again.
        return rng.choice([*SEEDED_ORDERS, "A-10O01"]) if rng.random() < 0.9 else "no idea"
    if "anything else" in text.lower():
        return rng.choice(["No, that's all. Thanks!", "no thanks", "I want to talk to a person"])
    if "6-digit code" in text:
        return "I didn't get any code"
    return None
