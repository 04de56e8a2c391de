"""A fraud alert end to end: template, policy, the alert by SMS through the fake
provider, and the customer's answers."""

from __future__ import annotations

from typing import Any

from tests.support.channels import CUSTOMER_PHONE, SMS_NUMBER, World
from tests.support.live import AgentHandle
from tests.support.proactive import (
    FRAUD_CHECK,
    customer,
    notify,
    put_template,
    until_state,
)

# 10:00 in New York: inside the default contact window.
MORNING = 15 * 3600


async def _alert(world: World) -> tuple[str, dict[str, object]]:
    live, admin = world.live, world.admin
    live.clock.advance(MORNING - 9 * 3600)
    await world.connected_inbox("sms")
    await put_template(live, admin, "card_fraud_check", FRAUD_CHECK)
    dana = await customer(live, admin, [("sms", CUSTOMER_PHONE)], preferred="sms")
    sent = await notify(
        live,
        admin,
        "card_fraud_check",
        dana,
        variables={"amount": "$420.00", "merchant": "ACME STORE"},
        reference="alert-1",
    )
    return dana, await until_state(live, admin, str(sent["id"]), "delivered")


async def test_a_fraud_alert_no_opens_a_conversation_to_the_fraud_queue_with_the_alert_in_context(
    world: World,
) -> None:
    live = world.live
    fraud = await live.agent("fran", skills=("fraud",))
    _, alert = await _alert(world)
    [texted] = world.fake.sent("twilio")
    assert texted.text == (
        "Acme Bank: did you make a $420.00 purchase at ACME STORE? Reply YES or NO."
    )
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="No")
    answered = await until_state(live, world.admin, str(alert["id"]), "delivered")
    assert answered["outcome"] == "handed_off"
    r = await live.http.get("/api/v1/conversations", headers=fraud.headers)
    [conv] = r.json()
    assert conv["id"] == alert["conversation_id"]
    detail = await live.conversation(fraud, conv["id"])
    assert detail["conversation"]["state"] == "assigned"
    assert detail["conversation"]["queue"] == "fraud"
    texts = [m["text"] for m in detail["messages"]]
    assert texts[:2] == [texted.text, "No"]
    assert texts[2].startswith("We have frozen the card")
    handoff = detail["conversation"]["handoff"]
    assert "card_fraud_check" in handoff["summary"]
    assert handoff["fields"] == {"amount": "$420.00", "merchant": "ACME STORE"}
    decisions = [d["decision"] for d in answered["decisions"]]
    assert decisions[0] == "sent"
    assert decisions[-1] == "handed_off"


async def test_a_fraud_alert_no_moves_an_open_conversation_to_the_fraud_queue(
    world: World,
) -> None:
    live = world.live
    alice = await live.agent("alice", skills=("general",))
    fraud = await live.agent("fran", skills=("fraud",))
    live.clock.advance(MORNING - 9 * 3600)
    await world.connected_inbox("sms")
    # She is already talking to Alice about something else when the alert comes.
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="Hi, my address?")
    [open_conv] = (await live.http.get("/api/v1/conversations", headers=alice.headers)).json()
    detail = await _alert_answered_no(world, open_conv, fraud)
    assert detail["conversation"]["queue"] == "fraud"
    assert detail["conversation"]["assigned_agent_id"] == fraud.id
    assert "card_fraud_check" in detail["conversation"]["handoff"]["summary"]
    # Alice's slot was given back.
    assert (await live.http.get("/api/v1/conversations", headers=alice.headers)).json() == []


async def test_a_fraud_alert_no_in_an_inactive_conversation_reaches_the_fraud_queue_not_its_owner(
    world: World,
) -> None:
    live = world.live
    alice = await live.agent("alice", skills=("general",))
    fraud = await live.agent("fran", skills=("fraud",))
    live.clock.advance(MORNING - 9 * 3600)
    await world.connected_inbox("sms")
    # She talked to Alice earlier, and Alice set the conversation aside: it is hers
    # again when the customer next writes, by stickiness.
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="Hi, my address?")
    [open_conv] = (await live.http.get("/api/v1/conversations", headers=alice.headers)).json()
    await live.reply(alice, open_conv["id"], "Your address is updated.")
    r = await live.http.post(
        f"/api/v1/conversations/{open_conv['id']}/inactive", headers=alice.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "inactive"
    detail = await _alert_answered_no(world, open_conv, fraud)
    assert detail["conversation"]["state"] == "assigned"
    assert detail["conversation"]["queue"] == "fraud"
    assert detail["conversation"]["assigned_agent_id"] == fraud.id
    assert "card_fraud_check" in detail["conversation"]["handoff"]["summary"]
    assert [m["text"] for m in detail["messages"]][-3:-1] == [
        "Acme Bank: did you make a $420.00 purchase at ACME STORE? Reply YES or NO.",
        "NO",
    ]
    # Nothing is left on Alice's desk: neither her work nor her inactive list.
    for state in (None, "inactive"):
        params = {"state": state} if state else {}
        mine = await live.http.get("/api/v1/conversations", params=params, headers=alice.headers)
        assert mine.json() == []


async def _alert_answered_no(
    world: World, conv: dict[str, Any], fraud: AgentHandle
) -> dict[str, Any]:
    """A fraud alert into the customer's conversation `conv`, answered NO: the
    conversation as the fraud team's agent then sees it."""
    live = world.live
    await put_template(live, world.admin, "card_fraud_check", FRAUD_CHECK)
    sent = await notify(
        live,
        world.admin,
        "card_fraud_check",
        str(conv["customer_id"]),
        variables={"amount": "$420.00", "merchant": "ACME STORE"},
    )
    alert = await until_state(live, world.admin, str(sent["id"]), "delivered")
    assert alert["conversation_id"] == conv["id"]
    await world.fake.inbound_twilio(from_=CUSTOMER_PHONE, to=SMS_NUMBER, body="NO")
    answered = await until_state(live, world.admin, str(sent["id"]), "delivered")
    assert answered["outcome"] == "handed_off"
    [mine] = (await live.http.get("/api/v1/conversations", headers=fraud.headers)).json()
    assert mine["id"] == conv["id"]
    return await live.conversation(fraud, mine["id"])
