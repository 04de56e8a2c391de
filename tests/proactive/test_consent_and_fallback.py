"""Governance through the running service: a STOP on one channel (marketing stops there,
fraud alerts go on where the business has that basis), and falling back through the
business's channel order when a provider refuses a notification."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests.support.channels import CUSTOMER_PHONE, SMS_NUMBER, World
from tests.support.clock import FakeClock
from tests.support.proactive import (
    FRAUD_CHECK,
    MARKETING,
    customer,
    decisions_of,
    instant,
    notify,
    outreach_world,
    put_policy,
    put_template,
    record_consent,
    set_clock,
    texts_to,
    until_decided,
    until_state,
)

WA_ID = CUSTOMER_PHONE.lstrip("+")
FRAUD_TEXT = "Acme Bank: did you make a $420.00 purchase at ACME STORE? Reply YES or NO."
OFFER_TEXT = "Acme Bank: 2% cashback this month. Reply STOP to opt out."
APPROVED = {
    "templates": [
        {
            "name": "fraud_check",
            "language": "en",
            "text": "Acme Bank: did you make a {{1}} purchase at {{2}}? Reply YES or NO.",
        },
        {
            "name": "monthly_offer",
            "language": "en",
            "text": "Acme Bank: {{1}} this month. Reply STOP to opt out.",
        },
    ]
}
# MARKETING with the WhatsApp variant its approved template needs.
OFFER: dict[str, Any] = {
    **MARKETING,
    "variants": [
        *MARKETING["variants"],
        {
            "language": "en",
            "channel": "whatsapp",
            "provider_template": "monthly_offer",
            "text": "Acme Bank: {offer} this month. Reply STOP to opt out.",
        },
    ],
}
# The basis a business declares when fraud alerts survive a STOP (nothing does by default).
FRAUD_ALERTS_SURVIVE_STOP = {
    "basis": {
        "without_opt_in": ["collections", "fraud_alert", "reminder", "transactional"],
        "survives_channel_opt_out": ["fraud_alert"],
    }
}


@pytest.fixture
async def world(database_url: str, clock: FakeClock) -> AsyncIterator[World]:
    async with outreach_world(database_url, clock) as running:
        yield running


async def setup(world: World, *, whatsapp: bool = False) -> str:
    """Templates, inboxes and Dana (SMS, and WhatsApp if asked), at 10:00 her time."""
    live, admin = world.live, world.admin
    await world.connected_inbox("sms")
    identities = [("sms", CUSTOMER_PHONE)]
    if whatsapp:
        await world.connected_inbox("whatsapp", options=APPROVED)
        identities.append(("whatsapp", WA_ID))
    await put_template(live, admin, "card_fraud_check", FRAUD_CHECK)
    await put_template(live, admin, "monthly_offer", OFFER)
    dana = await customer(live, admin, identities, preferred="sms")
    set_clock(live, "2026-03-02T10:00:00-05:00")
    return dana


async def fraud_alert(world: World, who: str) -> dict[str, Any]:
    return await notify(
        world.live,
        world.admin,
        "card_fraud_check",
        who,
        variables={"amount": "$420.00", "merchant": "ACME STORE"},
    )


async def offer(world: World, who: str) -> dict[str, Any]:
    return await notify(
        world.live, world.admin, "monthly_offer", who, variables={"offer": "2% cashback"}
    )


async def texts_stop(world: World, dana: str) -> None:
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="STOP")
    r = await world.live.http.get(f"/api/v1/customers/{dana}/consents", headers=world.admin.headers)
    assert r.status_code == 200, r.text
    last = r.json()[-1]
    assert (last["channel"], last["purpose"], last["state"]) == ("sms", None, "opted_out")


# -- opt-out by keyword ------------------------------------------------------------------


async def test_after_stop_by_sms_marketing_is_suppressed_there_but_a_fraud_alert_is_sent(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    dana = await setup(world)
    await put_policy(live, admin, FRAUD_ALERTS_SURVIVE_STOP)
    await record_consent(live, admin, dana, "sms", "opted_in", purpose="marketing")
    live.clock.advance(60)
    await texts_stop(world, dana)

    marketing = await until_state(live, admin, str((await offer(world, dana))["id"]), "suppressed")
    # Her opt-in to marketing came before the STOP: the STOP wins.
    assert marketing["rule"] == "opted_out_of_channel"
    assert decisions_of(marketing)[0] == ("suppressed", None, "opted_out_of_channel")

    alert = await until_state(live, admin, str((await fraud_alert(world, dana))["id"]), "delivered")
    assert decisions_of(alert)[:2] == [("sent", "sms", None), ("delivered", "sms", None)]
    texts = texts_to(world, CUSTOMER_PHONE)
    assert FRAUD_TEXT in texts
    assert OFFER_TEXT not in texts


async def test_a_marketing_opt_in_and_a_stop_at_the_same_instant_the_stop_wins(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    dana = await setup(world)
    await record_consent(live, admin, dana, "sms", "opted_in", purpose="marketing")
    await texts_stop(world, dana)  # the clock has not moved
    marketing = await until_state(live, admin, str((await offer(world, dana))["id"]), "suppressed")
    assert marketing["rule"] == "opted_out_of_channel"
    assert OFFER_TEXT not in texts_to(world, CUSTOMER_PHONE)


async def test_a_marketing_opt_in_recorded_after_a_stop_waits_for_her_start(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    dana = await setup(world)
    await texts_stop(world, dana)
    live.clock.advance(60)
    # The business's web form says yes; the SMS channel still has her STOP, which the
    # platform (and the carrier) honour until she texts START.
    await record_consent(live, admin, dana, "sms", "opted_in", purpose="marketing")
    blocked = await until_state(live, admin, str((await offer(world, dana))["id"]), "suppressed")
    assert decisions_of(blocked) == [("suppressed", None, "opted_out_of_channel")]
    assert OFFER_TEXT not in texts_to(world, CUSTOMER_PHONE)

    live.clock.advance(60)
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="START")
    sent = await until_state(live, admin, str((await offer(world, dana))["id"]), "delivered")
    assert decisions_of(sent)[0] == ("sent", "sms", None)
    assert OFFER_TEXT in texts_to(world, CUSTOMER_PHONE)


async def test_after_stop_a_fraud_alert_is_not_sent_by_sms_without_a_basis_that_survives_it(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    dana = await setup(world)
    await texts_stop(world, dana)  # the default basis: nothing survives a STOP
    alert = await until_state(
        live, admin, str((await fraud_alert(world, dana))["id"]), "suppressed"
    )
    assert alert["rule"] == "opted_out_of_channel"
    assert FRAUD_TEXT not in texts_to(world, CUSTOMER_PHONE)


async def test_a_stop_by_sms_leaves_marketing_on_whatsapp_where_she_opted_in(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    dana = await setup(world, whatsapp=True)
    for channel in ("sms", "whatsapp"):
        await record_consent(live, admin, dana, channel, "opted_in", purpose="marketing")
    live.clock.advance(60)
    await texts_stop(world, dana)
    sent = await until_state(live, admin, str((await offer(world, dana))["id"]), "delivered")
    [record] = [d for d in sent["decisions"] if d["decision"] == "sent"]
    assert record["channel"] == "whatsapp"
    assert record["detail"]["passed_over"] == [{"channel": "sms", "rule": "opted_out_of_channel"}]
    assert OFFER_TEXT not in texts_to(world, CUSTOMER_PHONE)
    [on_whatsapp] = world.fake.sent("whatsapp")
    assert on_whatsapp.template is not None
    assert on_whatsapp.template["name"] == "monthly_offer"


async def test_a_stop_that_arrives_while_a_marketing_sms_waits_to_be_retried_stops_it(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    dana = await setup(world)
    await record_consent(live, admin, dana, "sms", "opted_in", purpose="marketing")
    # Twilio is busy: the message waits in the outbox for its retry.
    world.fake.behave("error", status=503, provider="twilio")
    asked = await offer(world, dana)
    await until_state(live, admin, str(asked["id"]), "sent")
    await texts_stop(world, dana)
    world.fake.behave("ok", provider="twilio")
    live.clock.advance(3600)
    found = await until_state(live, admin, str(asked["id"]), "suppressed", "failed")
    assert OFFER_TEXT not in texts_to(world, CUSTOMER_PHONE)
    # Why it did not go, for the compliance officer: the STOP, not a broken channel.
    assert (found["state"], found["rule"]) == ("suppressed", "opted_out_of_channel")


# -- fallback when a channel fails -------------------------------------------------------


async def test_a_notification_refused_by_sms_falls_back_to_whatsapp_as_the_approved_template(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    dana = await setup(world, whatsapp=True)
    world.fake.behave("error", status=400, provider="twilio")  # final: no retry
    asked = await fraud_alert(world, dana)
    done = await until_state(live, admin, str(asked["id"]), "delivered")
    assert decisions_of(done) == [
        ("sent", "sms", None),
        ("fell_back", "sms", "channel_failed"),
        ("sent", "whatsapp", None),
        ("delivered", "whatsapp", None),
    ]
    assert done["decisions"][2]["detail"]["passed_over"] == [
        {"channel": "sms", "rule": "channel_failed"}
    ]
    assert (done["channel"], done["failed_channels"]) == ("whatsapp", ["sms"])
    assert world.fake.sent("twilio") == []
    [sent] = world.fake.sent("whatsapp")
    assert sent.to == WA_ID
    assert sent.payload["type"] == "template"
    assert sent.template == {
        "name": "fraud_check",
        "language": "en",
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "$420.00"},
                    {"type": "text", "text": "ACME STORE"},
                ],
            }
        ],
    }


async def test_a_notification_every_channel_refuses_ends_failed(world: World) -> None:
    live, admin = world.live, world.admin
    dana = await setup(world, whatsapp=True)
    world.fake.behave("error", status=400)
    asked = await fraud_alert(world, dana)
    done = await until_state(live, admin, str(asked["id"]), "failed")
    assert done["rule"] == "all_channels_failed"
    assert decisions_of(done) == [
        ("sent", "sms", None),
        ("fell_back", "sms", "channel_failed"),
        ("sent", "whatsapp", None),
        ("fell_back", "whatsapp", "channel_failed"),
        ("failed", None, "all_channels_failed"),
    ]
    assert done["failed_channels"] == ["sms", "whatsapp"]
    assert world.fake.sent() == []


async def test_a_notifications_own_failed_attempt_does_not_count_against_its_fallback(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    dana = await setup(world, whatsapp=True)
    for channel in ("sms", "whatsapp"):
        await record_consent(live, admin, dana, channel, "opted_in", purpose="marketing")
    # One marketing message a week, whatever the channel.
    cap = {"purpose": "marketing", "channel": "*", "limit": 1, "period_seconds": 7 * 86400}
    await put_policy(live, admin, {"caps": [cap]})
    world.fake.behave("error", status=400, provider="twilio")
    asked = await offer(world, dana)
    done = await until_state(live, admin, str(asked["id"]), "delivered")
    assert decisions_of(done) == [
        ("sent", "sms", None),
        ("fell_back", "sms", "channel_failed"),
        ("sent", "whatsapp", None),
        ("delivered", "whatsapp", None),
    ]
    assert len(world.fake.sent("whatsapp")) == 1
    # It counts once it has gone: the next one waits a week.
    second = await offer(world, dana)
    held = await until_decided(live, admin, str(second["id"]), "deferred")
    assert held["rule"] == "cap_marketing_any_channel"
    assert instant(held["due_at"]) == instant(done["sent_at"]) + timedelta(days=7)
