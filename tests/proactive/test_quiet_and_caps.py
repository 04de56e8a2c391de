"""Governance through the running service: quiet hours in the recipient's zone (DST,
midnight, zones other than the business's), expiry, frequency caps at their boundary and
Regulation F's limits per debt. Each notification is asked for over the API, decided on
by the worker, and what the customer received is read from the fake provider."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.channels import CUSTOMER_PHONE, SMS_NUMBER, World
from tests.support.clock import FakeClock
from tests.support.proactive import (
    FRAUD_CHECK,
    customer,
    decisions_of,
    instant,
    notification,
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

WEEK = 7 * 86400

REMINDER: dict[str, Any] = {
    "purpose": "reminder",
    "variables": [{"name": "day", "example": "Friday", "max_length": 20}],
    "variants": [{"language": "en", "text": "Acme Bank: your card payment is due {day}."}],
}

MONTHLY_OFFER: dict[str, Any] = {
    "purpose": "marketing",
    "sender": "Acme Bank",
    "variables": [{"name": "offer", "example": "2% cashback", "max_length": 40}],
    "variants": [
        {"language": "en", "text": "Acme Bank: {offer} this month. Reply STOP to opt out."},
        {
            "language": "en",
            "channel": "whatsapp",
            "provider_template": "monthly_offer",
            "text": "Acme Bank: {offer} this month. Reply STOP to opt out.",
        },
    ],
}

OVERDUE: dict[str, Any] = {
    "purpose": "collections",
    "variables": [{"name": "amount", "example": "$120.00", "max_length": 20}],
    "variants": [
        {
            "language": "en",
            "text": "Acme Bank: a payment of {amount} is overdue. Reply to talk it over. "
            "Reply STOP to opt out.",
        }
    ],
}

OTHER_PHONE = "+15559990000"


@pytest.fixture
async def world(database_url: str, clock: FakeClock) -> AsyncIterator[World]:
    async with outreach_world(database_url, clock) as running:
        yield running


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def settled(world: World) -> None:
    """Returns once the worker has decided on everything due by now: a notification to
    a customer nobody can reach is decided (suppressed) in the same round as every
    other one due by then, or a later one."""
    live, admin = world.live, world.admin
    r = await live.http.post(
        "/api/v1/customers",
        json={"display_name": "Witness", "timezone": "UTC", "identities": []},
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    witness = await notify(live, admin, "witness", str(r.json()["id"]), variables={"day": "today"})
    await until_state(live, admin, str(witness["id"]), "suppressed")


async def reminders(world: World) -> None:
    live, admin = world.live, world.admin
    await world.connected_inbox("sms")
    await put_template(live, admin, "payment_due", REMINDER)
    await put_template(live, admin, "witness", REMINDER)


# -- quiet hours -------------------------------------------------------------------------


async def test_a_notification_due_in_the_recipients_quiet_hours_waits_until_8am_their_time(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    await reminders(world)
    await put_policy(live, admin, {"default_timezone": "America/New_York"})
    dana = await customer(live, admin, [("sms", CUSTOMER_PHONE)], timezone="America/Los_Angeles")
    set_clock(live, "2026-03-02T14:00:00+00:00")  # 09:00 for the business, 06:00 for Dana
    asked = await notify(live, admin, "payment_due", dana, variables={"day": "Friday"})
    held = await until_decided(live, admin, str(asked["id"]), "deferred")
    assert held["state"] == "pending"
    [deferral] = held["decisions"]
    assert (deferral["decision"], deferral["rule"]) == ("deferred", "quiet_hours")
    assert instant(deferral["until"]) == utc("2026-03-02T08:00:00-08:00")

    set_clock(live, "2026-03-02T15:59:59+00:00")
    await settled(world)
    assert (await notification(live, admin, str(asked["id"])))["state"] == "pending"
    assert texts_to(world, CUSTOMER_PHONE) == []

    set_clock(live, "2026-03-02T16:00:00+00:00")
    done = await until_state(live, admin, str(asked["id"]), "delivered")
    assert texts_to(world, CUSTOMER_PHONE) == ["Acme Bank: your card payment is due Friday."]
    assert decisions_of(done) == [
        ("deferred", None, "quiet_hours"),
        ("sent", "sms", None),
        ("delivered", "sms", None),
    ]
    assert instant(done["sent_at"]) == utc("2026-03-02T16:00:00+00:00")


async def test_a_recipient_without_a_zone_gets_the_business_default_and_a_rows_zone_wins(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    await reminders(world)
    await put_policy(live, admin, {"default_timezone": "America/Los_Angeles"})
    r = await live.http.post(
        "/api/v1/customers",
        json={
            "display_name": "Zoneless",
            "identities": [{"channel": "sms", "address": OTHER_PHONE}],
        },
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    zoneless = str(r.json()["id"])
    dana = await customer(live, admin, [("sms", CUSTOMER_PHONE)], timezone="America/New_York")
    set_clock(live, "2026-03-02T14:00:00+00:00")  # 09:00 in New York, 06:00 in LA
    by_default = await notify(live, admin, "payment_due", zoneless, variables={"day": "Friday"})
    # Dana lives in New York, but this row says she is in LA this week: the row wins.
    travelling = await notify(
        live,
        admin,
        "payment_due",
        dana,
        variables={"day": "Monday"},
        timezone="America/Los_Angeles",
    )
    for asked in (by_default, travelling):
        held = await until_decided(live, admin, str(asked["id"]), "deferred")
        [deferral] = held["decisions"]
        assert deferral["rule"] == "quiet_hours"
        assert instant(deferral["until"]) == utc("2026-03-02T16:00:00+00:00")
    # And the other way round: a row in New York goes to an LA customer at once.
    home = await notify(
        live,
        admin,
        "payment_due",
        zoneless,
        variables={"day": "Sunday"},
        timezone="America/New_York",
    )
    done = await until_state(live, admin, str(home["id"]), "delivered")
    assert decisions_of(done)[0] == ("sent", "sms", None)
    assert texts_to(world, OTHER_PHONE) == ["Acme Bank: your card payment is due Sunday."]
    assert texts_to(world, CUSTOMER_PHONE) == []


async def test_a_deferral_that_crosses_midnight_goes_at_8am_the_next_day(world: World) -> None:
    live, admin = world.live, world.admin
    await reminders(world)
    dana = await customer(live, admin, [("sms", CUSTOMER_PHONE)], timezone="America/Chicago")
    set_clock(live, "2026-03-02T22:30:00-06:00")
    asked = await notify(live, admin, "payment_due", dana, variables={"day": "Friday"})
    held = await until_decided(live, admin, str(asked["id"]), "deferred")
    assert instant(held["decisions"][0]["until"]) == utc("2026-03-03T08:00:00-06:00")

    set_clock(live, "2026-03-03T00:00:00-06:00")  # midnight passes: still quiet
    await settled(world)
    assert (await notification(live, admin, str(asked["id"])))["state"] == "pending"
    set_clock(live, "2026-03-03T08:00:00-06:00")
    done = await until_state(live, admin, str(asked["id"]), "delivered")
    assert instant(done["sent_at"]) == utc("2026-03-03T14:00:00+00:00")
    assert texts_to(world, CUSTOMER_PHONE) == ["Acme Bank: your card payment is due Friday."]


async def test_a_states_stricter_hours_hold_a_row_for_that_state_and_no_other(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    await reminders(world)
    await put_policy(live, admin, {"windows_by_region": {"US-FL": "08:00-20:00"}})
    dana = await customer(live, admin, [("sms", CUSTOMER_PHONE)], timezone="America/New_York")
    set_clock(live, "2026-03-02T20:30:00-05:00")
    in_florida = await notify(
        live, admin, "payment_due", dana, variables={"day": "Friday"}, region="US-FL"
    )
    held = await until_decided(live, admin, str(in_florida["id"]), "deferred")
    [deferral] = held["decisions"]
    assert deferral["rule"] == "quiet_hours"
    assert instant(deferral["until"]) == utc("2026-03-03T08:00:00-05:00")
    elsewhere = await notify(
        live, admin, "payment_due", dana, variables={"day": "Monday"}, region="US-NY"
    )
    await until_state(live, admin, str(elsewhere["id"]), "delivered")
    assert texts_to(world, CUSTOMER_PHONE) == ["Acme Bank: your card payment is due Monday."]


@pytest.mark.parametrize(
    ("due", "until"),
    [
        # The spring-forward day: 08:00 is EDT, an hour earlier in UTC than the day before.
        ("2026-03-08T06:30:00-04:00", "2026-03-08T12:00:00+00:00"),
        # Deferred from EST across midnight and the jump into EDT.
        ("2026-03-07T22:30:00-05:00", "2026-03-08T12:00:00+00:00"),
        # Deferred from EDT across midnight and the fall back into EST.
        ("2026-10-31T22:30:00-04:00", "2026-11-01T13:00:00+00:00"),
    ],
)
async def test_a_deferral_across_a_dst_change_lands_on_8am_wall_clock_time(
    world: World, due: str, until: str
) -> None:
    live, admin = world.live, world.admin
    await reminders(world)
    dana = await customer(live, admin, [("sms", CUSTOMER_PHONE)], timezone="America/New_York")
    set_clock(live, due)
    asked = await notify(live, admin, "payment_due", dana, variables={"day": "Friday"})
    held = await until_decided(live, admin, str(asked["id"]), "deferred")
    assert instant(held["decisions"][0]["until"]) == utc(until)
    set_clock(live, until)
    done = await until_state(live, admin, str(asked["id"]), "delivered")
    assert instant(done["sent_at"]) == utc(until)
    assert len(texts_to(world, CUSTOMER_PHONE)) == 1


async def test_a_fraud_alert_that_would_wait_past_its_expiry_is_suppressed_not_sent_at_8am(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    await world.connected_inbox("sms")
    await put_template(live, admin, "card_fraud_check", FRAUD_CHECK)  # expires after 4 h
    dana = await customer(live, admin, [("sms", CUSTOMER_PHONE)], timezone="America/New_York")
    set_clock(live, "2026-03-02T23:00:00-05:00")
    late = await notify(
        live,
        admin,
        "card_fraud_check",
        dana,
        variables={"amount": "$420.00", "merchant": "ACME STORE"},
    )
    found = await until_state(live, admin, str(late["id"]), "suppressed")
    assert found["rule"] == "expired"
    [suppressed] = found["decisions"]
    assert (suppressed["decision"], suppressed["rule"]) == ("suppressed", "expired")
    # What held it back is on the record: the quiet hours until 08:00, past its expiry.
    assert instant(suppressed["until"]) == utc("2026-03-03T08:00:00-05:00")
    assert suppressed["detail"]["passed_over"][-1] == {"channel": "sms", "rule": "quiet_hours"}

    # One due at 06:00 expires at 10:00: deferred to 08:00, and sent then.
    set_clock(live, "2026-03-03T06:00:00-05:00")
    early = await notify(
        live,
        admin,
        "card_fraud_check",
        dana,
        variables={"amount": "$80.00", "merchant": "CORNER SHOP"},
    )
    await until_decided(live, admin, str(early["id"]), "deferred")
    set_clock(live, "2026-03-03T08:00:00-05:00")
    await until_state(live, admin, str(early["id"]), "delivered")
    assert texts_to(world, CUSTOMER_PHONE) == [
        "Acme Bank: did you make a $80.00 purchase at CORNER SHOP? Reply YES or NO."
    ]
    assert (await notification(live, admin, str(late["id"])))["state"] == "suppressed"


# -- frequency caps ----------------------------------------------------------------------


MARKETING_CAP = {
    "caps": [{"purpose": "marketing", "channel": "sms", "limit": 3, "period_seconds": WEEK}]
}


async def _offer(world: World, who: str, n: int) -> dict[str, Any]:
    return await notify(
        world.live, world.admin, "monthly_offer", who, variables={"offer": f"offer {n}"}
    )


async def test_the_fourth_marketing_sms_in_a_week_waits_until_the_first_leaves_the_week(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    await reminders(world)
    await put_policy(live, admin, MARKETING_CAP)
    await put_template(live, admin, "monthly_offer", MONTHLY_OFFER)
    dana = await customer(live, admin, [("sms", CUSTOMER_PHONE)], preferred="sms")
    await record_consent(live, admin, dana, "sms", "opted_in", purpose="marketing")
    first_at = set_clock(live, "2026-03-02T10:00:00-05:00")
    for n in range(3):
        sent = await _offer(world, dana, n)
        done = await until_state(live, admin, str(sent["id"]), "delivered")
        assert decisions_of(done)[0] == ("sent", "sms", None)
        live.clock.advance(3600)
    fourth = await _offer(world, dana, 3)
    held = await until_decided(live, admin, str(fourth["id"]), "deferred")
    [deferral] = held["decisions"]
    assert deferral["rule"] == "cap_marketing_sms"
    # Exactly a week after the first: the rolling week then holds two.
    assert instant(deferral["until"]) == first_at + timedelta(days=7)
    assert deferral["detail"]["passed_over"][0] == {"channel": "sms", "rule": "cap_marketing_sms"}

    set_clock(live, (first_at + timedelta(days=7, seconds=-1)).isoformat())
    await settled(world)
    assert (await notification(live, admin, str(fourth["id"])))["state"] == "pending"
    set_clock(live, (first_at + timedelta(days=7)).isoformat())
    done = await until_state(live, admin, str(fourth["id"]), "delivered")
    assert decisions_of(done)[-2:] == [("sent", "sms", None), ("delivered", "sms", None)]
    assert texts_to(world, CUSTOMER_PHONE) == [
        f"Acme Bank: offer {n} this month. Reply STOP to opt out." for n in range(4)
    ]


async def test_a_batch_of_five_offers_to_one_customer_sends_three_and_defers_two(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    await reminders(world)
    await put_policy(live, admin, MARKETING_CAP)
    await put_template(live, admin, "monthly_offer", MONTHLY_OFFER)
    dana = await customer(live, admin, [("sms", CUSTOMER_PHONE)], preferred="sms")
    await record_consent(live, admin, dana, "sms", "opted_in", purpose="marketing")
    now = set_clock(live, "2026-03-02T10:00:00-05:00")
    rows = [
        {"customer_id": dana, "variables": {"offer": f"offer {n}"}, "reference": f"offer-{n}"}
        for n in range(5)
    ]
    r = await live.http.post(
        "/api/v1/notifications/batches?template=monthly_offer",
        json=rows,
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    batch = r.json()["batch_id"]
    found: list[dict[str, Any]] = []
    for _ in range(200):
        r = await live.http.get(f"/api/v1/notifications?batch_id={batch}", headers=admin.headers)
        found = [await notification(live, admin, n["id"]) for n in r.json()]
        states = sorted(n["state"] for n in found if n["decisions"])
        if states == ["delivered"] * 3 + ["pending"] * 2:
            break
        await asyncio.sleep(0.05)
    held = [n for n in found if n["state"] == "pending"]
    assert len(held) == 2, [n["state"] for n in found]
    for n in held:
        [deferral] = n["decisions"]
        assert deferral["rule"] == "cap_marketing_sms"
        assert instant(deferral["until"]) == now + timedelta(days=7)
    assert len(texts_to(world, CUSTOMER_PHONE)) == 3


async def test_a_channel_at_its_cap_passes_the_notification_to_the_next_channel(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    await reminders(world)
    await world.connected_inbox(
        "whatsapp",
        options={
            "templates": [
                {
                    "name": "monthly_offer",
                    "language": "en",
                    "text": "Acme Bank: {{1}} this month. Reply STOP to opt out.",
                }
            ]
        },
    )
    await put_policy(live, admin, {**MARKETING_CAP, "fallback": ["sms", "whatsapp"]})
    await put_template(live, admin, "monthly_offer", MONTHLY_OFFER)
    dana = await customer(
        live,
        admin,
        [("sms", CUSTOMER_PHONE), ("whatsapp", CUSTOMER_PHONE.lstrip("+"))],
        preferred="sms",
    )
    for channel in ("sms", "whatsapp"):
        await record_consent(live, admin, dana, channel, "opted_in", purpose="marketing")
    set_clock(live, "2026-03-02T10:00:00-05:00")
    for n in range(3):
        sent = await _offer(world, dana, n)
        await until_state(live, admin, str(sent["id"]), "delivered")
    fourth = await _offer(world, dana, 3)
    done = await until_state(live, admin, str(fourth["id"]), "delivered")
    [sent_record] = [d for d in done["decisions"] if d["decision"] == "sent"]
    assert sent_record["channel"] == "whatsapp"
    assert sent_record["detail"]["passed_over"] == [{"channel": "sms", "rule": "cap_marketing_sms"}]
    assert len(texts_to(world, CUSTOMER_PHONE)) == 3
    [on_whatsapp] = world.fake.sent("whatsapp")
    assert on_whatsapp.to == CUSTOMER_PHONE.lstrip("+")
    assert on_whatsapp.template is not None
    assert on_whatsapp.template["name"] == "monthly_offer"


# -- collections (Regulation F, per debt) ------------------------------------------------


async def _overdue(world: World, who: str, debt: str, amount: str) -> dict[str, Any]:
    return await notify(
        world.live,
        world.admin,
        "overdue",
        who,
        variables={"amount": amount},
        debt_reference=debt,
    )


async def _debt_notified(world: World, policy: dict[str, Any] | None = None) -> tuple[str, str]:
    """Dana, and the collections notice about debt D-1 delivered to her at 10:00 on
    2026-03-02 in New York."""
    live, admin = world.live, world.admin
    await reminders(world)
    await put_template(live, admin, "overdue", OVERDUE)
    if policy is not None:
        await put_policy(live, admin, policy)
    dana = await customer(live, admin, [("sms", CUSTOMER_PHONE)], preferred="sms")
    set_clock(live, "2026-03-02T10:00:00-05:00")
    sent = await _overdue(world, dana, "D-1", "$120.00")
    await until_state(live, admin, str(sent["id"]), "delivered")
    return dana, str(sent["id"])


async def test_the_eighth_collections_message_about_a_debt_in_seven_days_waits(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    await reminders(world)
    await put_template(live, admin, "overdue", OVERDUE)
    dana = await customer(live, admin, [("sms", CUSTOMER_PHONE)], preferred="sms")
    first_at = set_clock(live, "2026-03-02T10:00:00-05:00")
    for day in range(7):
        sent = await _overdue(world, dana, "D-1", f"${100 + day}.00")
        done = await until_state(live, admin, str(sent["id"]), "delivered")
        assert decisions_of(done)[0] == ("sent", "sms", None)
        live.clock.advance(86400 - 600)  # the next day, ten minutes earlier each time
    eighth = await _overdue(world, dana, "D-1", "$107.00")
    held = await until_decided(live, admin, str(eighth["id"]), "deferred")
    [deferral] = held["decisions"]
    assert deferral["rule"] == "reg_f_7_in_7"
    assert instant(deferral["until"]) == first_at + timedelta(days=7)
    # Another debt of the same customer has its own seven.
    other = await _overdue(world, dana, "D-2", "$50.00")
    done = await until_state(live, admin, str(other["id"]), "delivered")
    assert decisions_of(done)[0] == ("sent", "sms", None)

    set_clock(live, (first_at + timedelta(days=7)).isoformat())
    await until_state(live, admin, str(eighth["id"]), "delivered")
    assert len(texts_to(world, CUSTOMER_PHONE)) == 9


async def test_a_reply_about_a_debt_silences_that_debt_for_seven_days_and_no_other(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    dana, sent_id = await _debt_notified(world)
    live.clock.advance(3600)
    replied_at = live.clock.current
    await world.fake.inbound_twilio(
        from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="I can pay half on Friday"
    )
    answered = await until_decided(live, admin, sent_id, "replied")
    assert answered["outcome"] == "replied"

    live.clock.advance(3600)
    again = await _overdue(world, dana, "D-1", "$120.00")
    held = await until_decided(live, admin, str(again["id"]), "deferred")
    [deferral] = held["decisions"]
    assert deferral["rule"] == "reg_f_after_conversation"
    assert instant(deferral["until"]) == replied_at + timedelta(days=7)
    # The answer is one conversation, recorded once, however many rules saw it.
    assert await _debt_talks(world, dana) == {"D-1": [replied_at]}
    other = await _overdue(world, dana, "D-2", "$50.00")
    done = await until_state(live, admin, str(other["id"]), "delivered")
    assert decisions_of(done)[0] == ("sent", "sms", None)

    set_clock(live, (replied_at + timedelta(days=7, seconds=-1)).isoformat())
    await settled(world)
    assert (await notification(live, admin, str(again["id"])))["state"] == "pending"
    set_clock(live, (replied_at + timedelta(days=7)).isoformat())
    await until_state(live, admin, str(again["id"]), "delivered")
    assert texts_to(world, CUSTOMER_PHONE)[-1] == (
        "Acme Bank: a payment of $120.00 is overdue. Reply to talk it over. Reply STOP to opt out."
    )


async def _debt_talks(world: World, customer_id: str) -> dict[str, list[datetime]]:
    """The conversations about each debt of the customer the service has recorded."""
    found = await world.live.tx.read(
        lambda uow: uow.outreach.debt_conversations(
            [uuid.UUID(customer_id)], datetime(2000, 1, 1, tzinfo=UTC)
        )
    )
    return {debt: sorted(times) for (_, debt), times in found.items()}


async def _deferrals(world: World, notification_id: str, count: int) -> list[dict[str, Any]]:
    """The notification's deferrals, once it has `count` of them."""
    found: list[dict[str, Any]] = []
    for _ in range(200):
        record = await notification(world.live, world.admin, notification_id)
        found = [d for d in record["decisions"] if d["decision"] == "deferred"]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(found)} deferrals, not {count}")


async def test_a_message_after_the_reply_window_still_silences_the_notified_debt(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    dana, sent_id = await _debt_notified(world, {"reply_window_seconds": 3600})
    # Two days on, long past the reply window: not an answer, still about the debt.
    written_at = set_clock(live, "2026-03-04T10:00:00-05:00")
    await world.fake.inbound_twilio(
        from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="About that payment: can we talk?"
    )
    assert (await notification(live, admin, sent_id))["outcome"] is None

    live.clock.advance(3600)
    again = await _overdue(world, dana, "D-1", "$120.00")
    [deferral] = await _deferrals(world, str(again["id"]), 1)
    assert deferral["rule"] == "reg_f_after_conversation"
    assert instant(deferral["until"]) == written_at + timedelta(days=7)
    assert await _debt_talks(world, dana) == {"D-1": [written_at]}
    # Another debt nobody notified her about in that conversation is not silenced.
    other = await _overdue(world, dana, "D-2", "$50.00")
    done = await until_state(live, admin, str(other["id"]), "delivered")
    assert decisions_of(done)[0] == ("sent", "sms", None)


async def test_a_message_a_month_after_the_notice_is_not_read_as_about_its_debt(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    dana, _ = await _debt_notified(world)
    notified_at = datetime.fromisoformat("2026-03-02T10:00:00-05:00")
    set_clock(live, (notified_at + timedelta(days=30)).isoformat())
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="New address")

    again = await _overdue(world, dana, "D-1", "$120.00")
    done = await until_state(live, admin, str(again["id"]), "delivered")
    assert decisions_of(done)[0] == ("sent", "sms", None)
    assert await _debt_talks(world, dana) == {}


async def test_an_agents_answer_and_the_customers_next_message_each_restart_the_quiet_days(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    alice = await live.agent("alice", skills=("general",))
    dana, sent_id = await _debt_notified(world)
    live.clock.advance(3600)
    replied_at = live.clock.current
    await world.fake.inbound_twilio(
        from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="I can pay half on Friday"
    )
    [conv] = (await live.http.get("/api/v1/conversations", headers=alice.headers)).json()
    assert conv["id"] == (await notification(live, admin, sent_id))["conversation_id"]
    # The next day the agent answers: the collector's side of the same conversation.
    answered_at = set_clock(live, "2026-03-03T10:00:00-05:00")
    await live.reply(alice, conv["id"], "Friday works, thank you.")

    live.clock.advance(3600)
    again = await _overdue(world, dana, "D-1", "$120.00")
    [deferral] = await _deferrals(world, str(again["id"]), 1)
    assert deferral["rule"] == "reg_f_after_conversation"
    assert instant(deferral["until"]) == answered_at + timedelta(days=7)
    # Two days later she writes again, after the agent: that restarts them once more.
    written_at = set_clock(live, "2026-03-05T10:00:00-05:00")
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="Paid half today")
    assert await _debt_talks(world, dana) == {"D-1": [replied_at, answered_at, written_at]}
    set_clock(live, (answered_at + timedelta(days=7)).isoformat())
    second = (await _deferrals(world, str(again["id"]), 2))[1]
    assert second["rule"] == "reg_f_after_conversation"
    assert instant(second["until"]) == written_at + timedelta(days=7)
