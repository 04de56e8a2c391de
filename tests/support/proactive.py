"""Setting up outreach as a business would, through the API, for the proactive tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from tests.support.channels import World, channel_world
from tests.support.clock import FakeClock
from tests.support.live import AgentHandle, Live

FRAUD_CHECK: dict[str, Any] = {
    "purpose": "fraud_alert",
    "variables": [
        {"name": "amount", "example": "$420.00", "max_length": 20},
        {"name": "merchant", "example": "ACME STORE", "max_length": 40},
    ],
    "variants": [
        {
            "language": "en",
            "text": "Acme Bank: did you make a {amount} purchase at {merchant}? Reply YES or NO.",
        },
        {
            "language": "en",
            "channel": "whatsapp",
            "provider_template": "fraud_check",
            "text": "Acme Bank: did you make a {amount} purchase at {merchant}? Reply YES or NO.",
        },
    ],
    "replies": [
        {"words": ["YES", "Y"], "action": "resolve", "answer": "Thanks, nothing more to do."},
        {
            "words": ["NO", "N"],
            "action": "handoff",
            "queue": "fraud",
            "answer": "We have frozen the card. Someone from our fraud team will write here.",
        },
    ],
    "expires_after_seconds": 4 * 3600,
}

MARKETING: dict[str, Any] = {
    "purpose": "marketing",
    "sender": "Acme Bank",
    "variables": [{"name": "offer", "example": "2% cashback", "max_length": 40}],
    "variants": [
        {"language": "en", "text": "Acme Bank: {offer} this month. Reply STOP to opt out."}
    ],
}


async def put_template(live: Live, admin: AgentHandle, name: str, body: dict[str, Any]) -> None:
    r = await live.http.put(
        f"/api/v1/notification-templates/{name}", json=body, headers=admin.headers
    )
    assert r.status_code == 200, r.text


async def put_policy(live: Live, admin: AgentHandle, body: dict[str, Any]) -> None:
    r = await live.http.put("/api/v1/proactive/policy", json=body, headers=admin.headers)
    assert r.status_code == 200, r.text


async def customer(
    live: Live,
    admin: AgentHandle,
    identities: list[tuple[str, str]],
    *,
    timezone: str = "America/New_York",
    preferred: str | None = None,
) -> str:
    body: dict[str, Any] = {
        "display_name": "Dana",
        "timezone": timezone,
        "identities": [{"channel": c, "address": a} for c, a in identities],
    }
    if preferred:
        body["preferred_channel"] = preferred
    r = await live.http.post("/api/v1/customers", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def notify(
    live: Live, admin: AgentHandle, template: str, customer_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"template": template, "customer_id": customer_id, **fields}
    r = await live.http.post("/api/v1/notifications", json=body, headers=admin.headers)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


async def notification(live: Live, admin: AgentHandle, notification_id: str) -> dict[str, Any]:
    r = await live.http.get(f"/api/v1/notifications/{notification_id}", headers=admin.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def until_state(
    live: Live, admin: AgentHandle, notification_id: str, *states: str, tries: int = 200
) -> dict[str, Any]:
    """The notification once it has reached one of `states` (the worker runs apart)."""
    found: dict[str, Any] = {}
    for _ in range(tries):
        found = await notification(live, admin, notification_id)
        if found["state"] in states:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"still {found.get('state')} ({found.get('rule')}), not {states}")


@contextlib.asynccontextmanager
async def outreach_world(database_url: str, clock: FakeClock) -> AsyncIterator[World]:
    """The channels' world for governance tests: the notification worker looks as often
    as the outbox does, so a deferred notification goes within a tick of the clock
    passing its time, and sign-ins outlast the months a test moves the clock."""
    async with channel_world(
        database_url, clock, notification_interval_seconds=0.05, token_ttl_hours=24 * 400
    ) as running:
        yield running


def set_clock(live: Live, at: str) -> datetime:
    """Moves the service's clock to `at` (ISO 8601 with its offset), never back."""
    when = datetime.fromisoformat(at)
    assert when >= live.clock.current, "the clock only moves forward"
    live.clock.current = when.astimezone(UTC)
    return live.clock.current


def instant(text: str | None) -> datetime | None:
    """A time from the API, as a UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC) if text is not None else None


async def record_consent(
    live: Live,
    admin: AgentHandle,
    customer_id: str,
    channel: str,
    state: str,
    *,
    purpose: str | None = None,
    source: str = "web form",
) -> dict[str, Any]:
    body = {"channel": channel, "purpose": purpose, "state": state, "source": source}
    r = await live.http.post(
        f"/api/v1/customers/{customer_id}/consents", json=body, headers=admin.headers
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def until_decided(
    live: Live, admin: AgentHandle, notification_id: str, decision: str, *, tries: int = 200
) -> dict[str, Any]:
    """The notification once its record holds a `decision` ("deferred", "fell_back"…)."""
    found: dict[str, Any] = {}
    for _ in range(tries):
        found = await notification(live, admin, notification_id)
        if any(d["decision"] == decision for d in found["decisions"]):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {decision!r} among {[d['decision'] for d in found['decisions']]}")


def decisions_of(found: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """(decision, channel, rule) of each entry of a notification's record, in order."""
    return [(d["decision"], d["channel"], d["rule"]) for d in found["decisions"]]


def texts_to(world: World, phone: str) -> list[str]:
    """The texts the fake provider took for `phone` by SMS, oldest first."""
    return [m.text or "" for m in world.fake.sent("twilio") if m.to == phone]
