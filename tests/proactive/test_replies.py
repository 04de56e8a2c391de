"""Customers answering notifications by SMS: an expected reply does what its template
says (resolve it, or pass it to the business's signed webhook, retried until taken), any
other reply reaches an agent below the notification, and a reply after the reply window
is an ordinary message."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.fakeprovider.receiver import Receiver, serve_receiver
from tests.support.channels import (
    CUSTOMER_PHONE,
    SMS_NUMBER,
    ProviderSecrets,
    World,
    fake_for,
    threadline_for,
)
from tests.support.clock import FakeClock
from tests.support.live import AgentHandle, Live, free_port
from tests.support.proactive import (
    FRAUD_CHECK,
    MARKETING,
    customer,
    instant,
    notification,
    notify,
    put_policy,
    put_template,
    until_decided,
    until_state,
)
from threadline.adapters.bots.signing import SIGNATURE_HEADER, verify
from threadline.core.agents import Role

# 10:00 in New York: inside the default contact window.
MORNING = 15 * 3600
ALERT = "Acme Bank: did you make a $420.00 purchase at ACME STORE? Reply YES or NO."
THANKS = "Thanks, nothing more to do."


async def _alert(world: World, template: str = "card_fraud_check") -> dict[str, Any]:
    """A fraud alert delivered to the customer's phone."""
    live, admin = world.live, world.admin
    live.clock.advance(MORNING - 9 * 3600)
    dana = await customer(live, admin, [("sms", CUSTOMER_PHONE)], preferred="sms")
    sent = await notify(
        live,
        admin,
        template,
        dana,
        variables={"amount": "$420.00", "merchant": "ACME STORE"},
        reference="alert-1",
    )
    return await until_state(live, admin, str(sent["id"]), "delivered")


async def _texts_to_customer(world: World, count: int) -> list[str]:
    """What the customer's phone has received, once it has `count` messages."""
    found: list[str] = []
    for _ in range(200):
        found = [s.text or "" for s in world.fake.sent("twilio") if s.to == CUSTOMER_PHONE]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"the customer has {found}, not {count} messages")


async def _until_answered(live: Live, admin: AgentHandle, notification_id: str) -> dict[str, Any]:
    for _ in range(200):
        found = await notification(live, admin, notification_id)
        if found["outcome"] is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("the reply was not taken as an answer")


async def _thread(live: Live, admin: AgentHandle, conversation_id: str) -> dict[str, Any]:
    return await live.conversation(admin, conversation_id)


async def _says(world: World, text: str) -> None:
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body=text)


async def _prepared(world: World) -> None:
    await world.connected_inbox("sms")
    await put_template(world.live, world.admin, "card_fraud_check", FRAUD_CHECK)


async def test_yes_to_a_fraud_alert_resolves_it_with_no_agent_and_answers_by_sms(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    gina = await live.agent("gina", skills=("general", "fraud"))
    await _prepared(world)
    alert = await _alert(world)
    await _says(world, "yes")
    answered = await _until_answered(live, admin, alert["id"])
    assert answered["outcome"] == "resolved"
    assert answered["decisions"][-1]["decision"] == "resolved"
    assert answered["decisions"][-1]["detail"]["reply"] == "YES"
    assert await _texts_to_customer(world, 2) == [ALERT, THANKS]
    thread = await _thread(live, admin, alert["conversation_id"])
    assert thread["conversation"]["state"] == "closed"
    assert [m["text"] for m in thread["messages"]] == [ALERT, "yes", THANKS]
    r = await live.http.get("/api/v1/conversations", headers=gina.headers)
    assert r.json() == []


async def test_any_other_reply_reaches_an_agent_of_the_inbox_queue_below_the_notification(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    gina = await live.agent("gina", skills=("general",))
    await _prepared(world)
    alert = await _alert(world)
    await _says(world, "who is this?")
    answered = await _until_answered(live, admin, alert["id"])
    assert answered["outcome"] == "replied"
    r = await live.http.get("/api/v1/conversations", headers=gina.headers)
    [conv] = r.json()
    assert conv["id"] == alert["conversation_id"]
    thread = await live.conversation(gina, conv["id"])
    assert thread["conversation"]["state"] == "assigned"
    assert thread["conversation"]["queue"] == "general"
    assert [m["text"] for m in thread["messages"]] == [ALERT, "who is this?"]
    # Nothing was sent back on its own: the agent answers.
    assert await _texts_to_customer(world, 1) == [ALERT]
    # A later "no" is the conversation's, not an answer to the alert any more.
    await _says(world, "NO")
    for _ in range(200):
        thread = await live.conversation(gina, conv["id"])
        if len(thread["messages"]) == 3:
            break
        await asyncio.sleep(0.05)
    assert [m["text"] for m in thread["messages"]] == [ALERT, "who is this?", "NO"]
    final = await notification(live, admin, alert["id"])
    assert final["outcome"] == "replied"
    assert [d["decision"] for d in final["decisions"]].count("replied") == 1


async def test_a_reply_after_the_reply_window_is_an_ordinary_message(world: World) -> None:
    live, admin = world.live, world.admin
    fran = await live.agent("fran", skills=("fraud",))
    await _prepared(world)
    await put_policy(live, admin, {"reply_window_seconds": 3600})
    alert = await _alert(world)
    live.clock.advance(3601)
    await _says(world, "NO")
    for _ in range(200):
        thread = await _thread(live, admin, alert["conversation_id"])
        if len(thread["messages"]) == 2:
            break
        await asyncio.sleep(0.05)
    assert [m["text"] for m in thread["messages"]] == [ALERT, "NO"]
    assert thread["conversation"]["queue"] != "fraud"
    late = await notification(live, admin, alert["id"])
    assert late["outcome"] is None
    assert [d["decision"] for d in late["decisions"]] == ["sent", "delivered"]
    r = await live.http.get("/api/v1/conversations", headers=fran.headers)
    assert r.json() == []
    assert await _texts_to_customer(world, 1) == [ALERT]


# -- the business's webhook -------------------------------------------------------------


@contextlib.asynccontextmanager
async def _world_with_webhook_key(
    database_url: str, clock: FakeClock, key: str
) -> AsyncIterator[World]:
    """The channels' world with the notifications' webhook key in Threadline's secrets
    (THREADLINE_SECRET_NOTIFICATIONS_WEBHOOK_KEY), beside the providers' own."""
    made_up = ProviderSecrets.made_up()
    port = free_port()
    environment = {**made_up.environment(), "NOTIFICATIONS_WEBHOOK_KEY": key}
    async with (
        fake_for(port, made_up, clock) as fake,
        threadline_for(
            database_url,
            clock,
            port,
            fake,
            made_up,
            channel_secrets=environment,
            # Webhook rounds run within a tick of a retry falling due, and sign-ins
            # outlast the day of retries a test moves the clock through.
            notification_interval_seconds=0.05,
            token_ttl_hours=72,
        ) as live,
    ):
        admin = await live.agent("ada", role=Role.ADMIN, online=False)
        yield World(live, fake, admin, made_up)


def _webhook_template(receiver: Receiver) -> dict[str, Any]:
    return {
        **FRAUD_CHECK,
        "webhook_url": f"{receiver.base_url}/hooks/fraud?source=threadline",
        "replies": [
            {"words": ["YES", "Y"], "action": "webhook", "answer": THANKS},
            {"words": ["NO", "N"], "action": "handoff", "queue": "fraud"},
        ],
    }


async def _until_webhook(
    live: Live, admin: AgentHandle, notification_id: str, *, attempts: int
) -> dict[str, Any]:
    """The notification once its webhook's calls number `attempts` (each is recorded
    after the call returns)."""
    found: dict[str, Any] = {}
    for _ in range(200):
        found = await notification(live, admin, notification_id)
        if found["webhook"] is not None and found["webhook"]["attempts"] >= attempts:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"the webhook is {found.get('webhook')}, not {attempts} calls in")


async def _calls(receiver: Receiver, count: int) -> None:
    for _ in range(200):
        if len(receiver.received) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the webhook was called {len(receiver.received)} times, not {count}")


async def test_an_expected_reply_reaches_the_business_webhook_signed_and_retried_until_taken(
    database_url: str, clock: FakeClock
) -> None:
    key = secrets.token_hex(16)
    async with (
        serve_receiver() as receiver,
        _world_with_webhook_key(database_url, clock, key) as world,
    ):
        live, admin = world.live, world.admin
        await world.connected_inbox("sms")
        await put_template(live, admin, "card_fraud_check", _webhook_template(receiver))
        receiver.answer_status = 500
        alert = await _alert(world)
        await _says(world, "Y")
        await _calls(receiver, 1)
        answered = await _until_webhook(live, admin, alert["id"], attempts=1)
        assert answered["outcome"] == "webhook"
        # The failed call shows on the notification at once, with the retry's time
        # (after a back-off of 30 s on the service's clock).
        failed_once = answered["webhook"]
        assert failed_once["state"] == "pending"
        assert failed_once["last_error"] == "answered 500"
        assert instant(failed_once["next_attempt_at"]) == live.clock.current + timedelta(seconds=30)
        assert failed_once["accepted_at"] is None
        # Taken at last: the retry after the back-off.
        receiver.answer_status = 200
        for _ in range(200):
            done = await notification(live, admin, alert["id"])
            if done["webhook"]["state"] != "pending":
                break
            live.clock.advance(31)
            await asyncio.sleep(0.05)
        assert done["webhook"]["state"] == "accepted"
        assert done["webhook"]["attempts"] == 2
        assert done["webhook"]["last_error"] is None
        assert done["webhook"]["next_attempt_at"] is None
        assert instant(done["webhook"]["accepted_at"]) is not None
        # The record tells the reply (passed to the webhook) from the call (taken).
        assert [d["decision"] for d in done["decisions"]] == [
            "sent",
            "delivered",
            "webhook",
            "webhook_accepted",
        ]
        assert done["decisions"][2]["detail"]["reply"] == "YES"
        assert done["decisions"][-1]["rule"] is None
        assert done["decisions"][-1]["detail"] == {"attempts": 2}
        # Taken once: no third call comes, however long one waits.
        assert len(receiver.received) == 2
        for call in receiver.received:
            assert call.path == "/hooks/fraud"
            assert call.query == "source=threadline"
            header = call.headers[SIGNATURE_HEADER.lower()]
            target = "/hooks/fraud?source=threadline"
            now = int(time.time())
            assert verify(key.encode(), call.body, header, now, method="POST", target=target)
            assert not verify(b"another key", call.body, header, now, method="POST", target=target)
            assert call.headers["idempotency-key"] == alert["id"]
            body = call.json()
            replied_at = datetime.fromisoformat(body.pop("replied_at"))
            assert replied_at == datetime.fromisoformat(answered["replied_at"])
            assert body == {
                "event": "notification.reply",
                "notification_id": alert["id"],
                "reference": "alert-1",
                "template": "card_fraud_check",
                "customer_id": alert["customer_id"],
                "conversation_id": alert["conversation_id"],
                "reply": "YES",
                "variables": {"amount": "$420.00", "merchant": "ACME STORE"},
            }
        assert receiver.received[0].body == receiver.received[1].body
        # The customer was answered at once, whatever the webhook was doing.
        assert await _texts_to_customer(world, 2) == [ALERT, THANKS]


async def test_a_webhook_the_business_never_takes_shows_each_failure_then_fails_after_its_tries(
    database_url: str, clock: FakeClock
) -> None:
    async with (
        serve_receiver() as receiver,
        _world_with_webhook_key(database_url, clock, secrets.token_hex(16)) as world,
    ):
        live, admin = world.live, world.admin
        await world.connected_inbox("sms")
        await put_template(live, admin, "card_fraud_check", _webhook_template(receiver))
        receiver.answer_status = 503
        alert = await _alert(world)
        assert alert["webhook"] is None  # nothing to call before the reply
        await _says(world, "yes")
        pending = (await _until_webhook(live, admin, alert["id"], attempts=1))["webhook"]
        assert (pending["state"], pending["attempts"]) == ("pending", 1)
        assert pending["last_error"] == "answered 503"
        # Each retry at the time the notification shows, the back-off doubling from
        # 30 s up to an hour.
        found = await notification(live, admin, alert["id"])
        waits = []
        while found["webhook"]["state"] == "pending":
            due = instant(found["webhook"]["next_attempt_at"])
            assert due is not None
            waits.append((due - live.clock.current).total_seconds())
            live.clock.current = due
            attempts = found["webhook"]["attempts"] + 1
            found = await _until_webhook(live, admin, alert["id"], attempts=attempts)
        assert waits[:8] == [30, 60, 120, 240, 480, 960, 1920, 3600]
        assert set(waits[8:]) == {3600}
        given_up = found["webhook"]
        assert given_up["state"] == "failed"
        assert given_up["attempts"] == 30 == len(receiver.received)
        assert given_up["last_error"] == "answered 503"
        assert given_up["next_attempt_at"] is None
        assert instant(given_up["failed_at"]) is not None
        assert given_up["accepted_at"] is None
        last = found["decisions"][-1]
        assert (last["decision"], last["rule"]) == ("webhook_failed", "attempts_exhausted")
        assert last["detail"] == {"attempts": 30, "error": "answered 503"}
        # The reply itself still counts as settled without an agent.
        assert found["outcome"] == "webhook"
        r = await live.http.get(
            "/api/v1/notifications/decisions",
            params={"customer_id": alert["customer_id"]},
            headers=admin.headers,
        )
        assert r.status_code == 200, r.text
        assert [d["decision"] for d in r.json()][-2:] == ["webhook", "webhook_failed"]


async def test_a_webhook_whose_template_lost_its_url_fails_with_that_reason_and_no_call(
    database_url: str, clock: FakeClock
) -> None:
    async with (
        serve_receiver() as receiver,
        _world_with_webhook_key(database_url, clock, secrets.token_hex(16)) as world,
    ):
        live, admin = world.live, world.admin
        await world.connected_inbox("sms")
        await put_template(live, admin, "card_fraud_check", _webhook_template(receiver))
        receiver.answer_status = 500
        alert = await _alert(world)
        await _says(world, "yes")
        await _until_webhook(live, admin, alert["id"], attempts=1)
        # The business drops the webhook before the retry is due.
        await put_template(live, admin, "card_fraud_check", FRAUD_CHECK)
        live.clock.advance(31)
        for _ in range(200):
            found = await notification(live, admin, alert["id"])
            if found["webhook"]["state"] != "pending":
                break
            await asyncio.sleep(0.05)
        assert found["webhook"]["state"] == "failed"
        assert found["webhook"]["attempts"] == 1
        assert found["webhook"]["last_error"] == "the template has no webhook_url"
        last = found["decisions"][-1]
        assert (last["decision"], last["rule"]) == ("webhook_failed", "no_webhook_url")
        assert len(receiver.received) == 1


# -- figures ------------------------------------------------------------------------------


async def _report(live: Live, who: AgentHandle, **period: str) -> dict[str, dict[str, Any]]:
    r = await live.http.get("/api/v1/reports/notifications", params=period, headers=who.headers)
    assert r.status_code == 200, r.text
    return {f["template"]: f for f in r.json()}


async def test_the_figures_count_what_each_template_s_notifications_became(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    await live.agent("fran", skills=("fraud",))
    await _prepared(world)
    await put_template(live, admin, "offers", MARKETING)
    live.clock.advance(MORNING - 9 * 3600)
    values = {"amount": "$420.00", "merchant": "ACME STORE"}
    phones = {"yes": "+15550000001", "no": "+15550000002", "silent": "+15550000003"}
    delivered: dict[str, str] = {}
    for who, phone in phones.items():
        person = await customer(live, admin, [("sms", phone)], preferred="sms")
        sent = await notify(live, admin, "card_fraud_check", person, variables=values)
        delivered[who] = sent["id"]
    # No address to text; due five hours ago (it expires after four); 07:00 in Los Angeles.
    nowhere = await customer(live, admin, [], preferred="sms")
    late = await customer(live, admin, [("sms", "+15550000004")], preferred="sms")
    sleeper = await customer(
        live, admin, [("sms", "+15550000005")], timezone="America/Los_Angeles", preferred="sms"
    )
    five_hours_ago = (live.clock.current - timedelta(hours=5)).isoformat()
    held = {
        "no_address": await notify(live, admin, "card_fraud_check", nowhere, variables=values),
        "expired": await notify(
            live, admin, "card_fraud_check", late, variables=values, send_at=five_hours_ago
        ),
        "quiet_hours": await notify(live, admin, "card_fraud_check", sleeper, variables=values),
        # Marketing needs an opt-in this customer never gave.
        "no_marketing_opt_in": await notify(
            live, admin, "offers", late, variables={"offer": "2% cashback"}
        ),
    }
    for n in delivered.values():
        await until_state(live, admin, n, "delivered")
    for rule, n in held.items():
        found = await until_state(live, admin, n["id"], "suppressed", "pending")
        if found["state"] == "pending":  # not decided on yet, or deferred
            found = await until_decided(live, admin, n["id"], "deferred")
        assert found["rule"] == rule
    await world.fake.inbound_twilio(from_=phones["yes"], to=SMS_NUMBER, body="YES")
    await world.fake.inbound_twilio(from_=phones["no"], to=SMS_NUMBER, body="no")
    await _until_answered(live, admin, delivered["yes"])
    await _until_answered(live, admin, delivered["no"])

    figures = await _report(live, admin)
    fraud = figures["card_fraud_check"]
    assert fraud["purpose"] == "fraud_alert"
    counts = {k: v for k, v in fraud.items() if isinstance(v, int)}
    assert counts == {
        "notifications": 6,
        "pending": 1,
        "sent": 3,
        "delivered": 3,
        "failed": 0,
        "suppressed": 2,
        "replied": 2,
        "deflected": 1,
        "handed_off": 1,
        "deferrals": 1,
        "fell_back": 0,
    }
    assert fraud["delivery_rate"] == 1.0
    assert fraud["reply_rate"] == pytest.approx(2 / 3)
    assert fraud["deflection_rate"] == pytest.approx(1 / 3)
    assert fraud["suppressed_by_rule"] == {"expired": 1, "no_address": 1}
    assert fraud["deferred_by_rule"] == {"quiet_hours": 1}
    offers = figures["offers"]
    assert (offers["notifications"], offers["suppressed"], offers["sent"]) == (1, 1, 0)
    assert offers["suppressed_by_rule"] == {"no_marketing_opt_in": 1}
    assert offers["delivery_rate"] is None
    assert offers["reply_rate"] is None
    # A supervisor reads the same; a period before any of it has nothing.
    supervisor = await live.agent("sue", role=Role.SUPERVISOR, online=False)
    assert await _report(live, supervisor) == figures
    yesterday = {"since": "2026-03-01T00:00:00Z", "until": "2026-03-02T00:00:00Z"}
    assert await _report(live, admin, **yesterday) == {}
