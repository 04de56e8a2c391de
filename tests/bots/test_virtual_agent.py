"""The built-in virtual agent end to end: a customer on the API channel, the demo flow,
the demo shop on loopback for lookups and codes, agents on the HTTP API."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.bots import BotWorld, a_worker_claims_and_dies, bot_world, demo_flow
from tests.support.clock import FakeClock
from threadline.core.agents import Role


@pytest.fixture
async def world(database_url: str, clock: FakeClock) -> AsyncIterator[BotWorld]:
    async with bot_world(database_url, clock) as running:
        yield running


def events_of(detail: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in detail["events"] if e["type"] == kind]


async def test_an_faq_is_answered_and_the_conversation_closes_contained(world: BotWorld) -> None:
    dana = world.customer("dana")
    heard = await dana.says("what time do you open on saturday?")
    assert "Hi! I'm Acme's assistant" in heard[0]
    assert any("Monday to Saturday, 9:00 to 20:00" in text for text in heard)
    assert heard[-1] == "Is there anything else I can help you with?"

    assert await dana.says("no thanks, that's all") == ["Thanks for shopping with Acme. Goodbye!"]
    detail = await world.detail(world.admin, dana.conversation_id or "")
    assert detail["conversation"]["state"] == "closed"
    [closed] = events_of(detail, "conversation.closed")
    assert closed["payload"]["reason"] == "bot"
    assert events_of(detail, "conversation.assigned") == []
    assert events_of(detail, "conversation.queued") == []

    r = await world.live.http.get("/api/v1/reports/bots", headers=world.admin.headers)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["episodes"], report["contained"], report["escalated"]) == (1, 1, 0)
    assert report["containment_rate"] == 1.0


async def test_an_order_is_looked_up_in_the_business_system(world: BotWorld) -> None:
    dana = world.customer("dana")
    heard = await dana.says("where is my order?")
    assert heard[-1] == "What's your order number? It looks like A-12345."
    heard = await dana.says("it's A-10001")
    assert any("A-10001" in t and "shipped" in t and "tomorrow before 20:00" in t for t in heard)
    # A number the shop does not know is said so, and asked again.
    sam = world.customer("sam")
    await sam.says("track my parcel")
    heard = await sam.says("A-99999")
    assert heard == [
        "I couldn't find order A-99999. Could you check the number?",
        "What's your order number? It looks like A-12345.",
    ]


async def test_asking_for_a_human_hands_over_with_everything_the_bot_learned(
    world: BotWorld,
) -> None:
    alice = await world.live.agent("alice", skills=("orders",))
    dana = world.customer("dana")
    await dana.says("where is my order?")
    await dana.says("A-10004")
    heard = await dana.says("this is taking forever, I want to talk to a human")
    assert heard == ["I'm passing you to a colleague, who will see everything you've told me."]

    detail = await world.detail(alice, dana.conversation_id or "")
    conv = detail["conversation"]
    assert conv["state"] == "assigned"
    assert conv["assigned_agent_id"] == alice.id
    assert conv["queue"] == "orders"  # the routing skill comes from the intent
    handoff = conv["handoff"]
    assert handoff["bot"] == "Acme assistant"
    assert handoff["intent"] == "order_status"
    assert handoff["confidence"] == 1.0  # recognised by the flow's pattern
    assert handoff["fields"]["order_number"] == "A-10004"
    assert handoff["fields"]["status"] == "delayed at the courier"
    assert "They asked for a person." in handoff["summary"]
    assert "A-10004" in handoff["summary"]
    assert conv["verification"] == "identified"
    # The whole exchange with the bot is the thread the agent reads.
    senders = [m["sender_type"] for m in detail["messages"]]
    assert senders.count("bot") >= 3
    assert senders.count("customer") == 3
    [handed] = events_of(detail, "conversation.handed_off")
    assert handed["payload"]["reason"] == "customer_asked"
    # The customer is not asked again: the agent's reply is the next thing they hear.
    await world.live.reply(alice, dana.conversation_id or "", "Sorry about A-10004, checking now.")
    assert await dana.reads() == ["Sorry about A-10004, checking now."]


async def test_asking_for_a_human_in_spanish_hands_over(world: BotWorld) -> None:
    await world.live.agent("alice", skills=("general",))
    lola = world.customer("lola")
    heard = await lola.says("quiero hablar con un agente por favor")
    assert heard[-1] == "I'm passing you to a colleague, who will see everything you've told me."
    detail = await world.detail(world.admin, lola.conversation_id or "")
    assert detail["conversation"]["state"] == "assigned"
    assert detail["conversation"]["handoff"]["intent"] is None


async def test_two_messages_not_understood_in_a_row_hand_over(world: BotWorld) -> None:
    dana = world.customer("dana")
    await dana.says("hello")
    heard = await dana.says("blorp fizzle wobble")
    assert heard[0].startswith("Sorry, I didn't get that.")
    heard = await dana.says("zzzz qqqq")
    assert heard == ["I'm passing you to a colleague, who will see everything you've told me."]
    detail = await world.detail(world.admin, dana.conversation_id or "")
    assert detail["conversation"]["state"] == "queued"
    [handed] = events_of(detail, "conversation.handed_off")
    assert handed["payload"]["reason"] == "fallbacks"


async def test_three_wrong_codes_hand_over_without_disclosing_account_data(
    world: BotWorld,
) -> None:
    dana = world.customer("dana")
    await dana.says("I need to change the delivery address of my order")
    heard = await dana.says("A-10002")
    assert any("the number ending 0002" in t for t in heard)
    codes = (await world.live.http.get(f"{world.shop_url}/codes")).json()["codes"]
    sent = codes[0]["code"]
    wrong = "000000" if sent != "000000" else "111111"
    assert await dana.says(wrong) == ["That code isn't right. Please try again."]
    assert await dana.says(wrong) == ["That code isn't right. Please try again."]
    heard = await dana.says(wrong)
    assert heard == ["I'm passing you to a colleague, who will see everything you've told me."]

    # Nothing the shop holds about the order was shown to the customer.
    order = (await world.live.http.get(f"{world.shop_url}/orders/A-10002")).status_code
    assert order == 401  # the shop answers only signed requests
    for text in dana.heard:
        assert "Rua das Flores" not in text
        assert "+15550100002" not in text
        assert "being prepared" not in text
    detail = await world.detail(world.admin, dana.conversation_id or "")
    conv = detail["conversation"]
    assert conv["verification"] == "identified"
    [handed] = events_of(detail, "conversation.handed_off")
    assert handed["payload"]["reason"] == "verification_failed"
    assert "could not verify their identity" in conv["handoff"]["summary"]


async def test_the_right_code_verifies_the_customer_and_the_flow_goes_on(world: BotWorld) -> None:
    dana = world.customer("dana")
    await dana.says("I need to change the delivery address of my order")
    await dana.says("A-10002")
    code = (await world.live.http.get(f"{world.shop_url}/codes")).json()["codes"][0]["code"]
    heard = await dana.says(f"the code is {code}")
    assert heard[0] == "Thank you, you're verified."
    assert heard[-1] == "What's the new delivery address, with the postcode?"
    heard = await dana.says("Avenida Central 5, Valencia 46002")
    assert any("Avenida Central 5" in t for t in heard)
    detail = await world.detail(world.admin, dana.conversation_id or "")
    assert detail["conversation"]["verification"] == "verified"
    assert len(events_of(detail, "conversation.verified")) == 1


async def test_out_of_hours_the_bot_says_when_the_team_is_back_and_the_request_waits_for_them(
    world: BotWorld,
) -> None:
    await world.live.agent("alice", skills=("orders",), online=False)  # the team, not in yet
    # Monday 10:00 in Madrid (the test clock): the orders team starts at 14:00.
    r = await world.live.http.put(
        "/api/v1/queues/orders/hours",
        json={"timezone": "Europe/Madrid", "weekly": {"mon": ["14:00-18:00"]}},
        headers=world.admin.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["open_now"] is False
    dana = world.customer("dana")
    await dana.says("where is my order?")
    heard = await dana.says("I'd rather speak to a person")
    assert "today at 14:00 (Europe/Madrid)" in heard[-1]
    # The request goes to the team's queue, not to the bot.
    assert await dana.says("My parcel A-10004 is late, please call me back") == []
    detail = await world.detail(world.admin, dana.conversation_id or "")
    conv = detail["conversation"]
    assert conv["state"] == "queued"
    assert conv["queue"] == "orders"
    assert detail["messages"][-1]["text"] == "My parcel A-10004 is late, please call me back"
    [handed] = events_of(detail, "conversation.handed_off")
    assert handed["payload"]["out_of_hours"] is True
    # The respond-by starts when the team is back, not now.
    assert conv["respond_by"] > "2026-03-02T13:00:00"


async def test_a_goodbye_is_not_the_end_when_the_customer_wrote_again_meanwhile(
    world: BotWorld,
) -> None:
    dana = world.customer("dana")
    await dana.says("what are your opening hours?")
    conversation_id = dana.conversation_id or ""
    await a_worker_claims_and_dies(world, conversation_id)
    await world.live.customer_says(world.inbox, "dana", "no thanks")
    await world.live.customer_says(world.inbox, "dana", "oh wait, what about returns?")
    world.live.clock.advance(121)  # the dead worker's lease runs out
    await world.settled(conversation_id)
    heard = await dana.reads()
    assert any("return anything within 30 days" in t for t in heard)
    detail = await world.detail(world.admin, conversation_id)
    assert detail["conversation"]["state"] == "bot"


async def test_a_conversation_whose_bot_is_gone_goes_to_a_human(world: BotWorld) -> None:
    dana = world.customer("dana")
    await dana.says("hello")
    conversation_id = dana.conversation_id or ""
    inbox_id = uuid.UUID(world.inbox.id)
    # The bot is removed as a message arrives (the race remove_bot cannot see).
    await world.live.tx.write(lambda uow: uow.bots.remove(inbox_id))
    await world.live.customer_says(world.inbox, "dana", "are you there?")
    await world.settled(conversation_id)
    detail = await world.detail(world.admin, conversation_id)
    assert detail["conversation"]["state"] == "queued"
    [handed] = events_of(detail, "conversation.handed_off")
    assert handed["payload"]["reason"] == "bot_unavailable"


async def test_an_agent_hands_a_routine_to_the_bot_and_gets_the_results_back(
    world: BotWorld,
) -> None:
    alice = await world.live.agent("alice", skills=("general",))
    dana = world.customer("dana")
    await dana.says("I want to talk to someone")
    conversation_id = dana.conversation_id or ""
    await world.live.reply(alice, conversation_id, "I'll take your card details securely now.")
    await dana.reads()
    r = await world.live.http.post(
        f"/api/v1/conversations/{conversation_id}/bot",
        json={"routine": "collect_payment"},
        headers=alice.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "bot"
    await world.settled(conversation_id)
    assert await dana.reads() == ["Please type the card number."]
    assert await dana.says("4242 4242 4242 4242") == ["And its expiry date (MM/YY)?"]
    heard = await dana.says("12/30")
    assert heard == [
        "Thanks, the payment details have gone through. Your agent is back with you now."
    ]
    detail = await world.detail(alice, conversation_id)
    conv = detail["conversation"]
    assert conv["state"] == "assigned"
    assert conv["assigned_agent_id"] == alice.id
    assert conv["handoff"]["fields"]["card_number"] == "•••• 4242"
    # The card number was never stored in clear, in the thread or anywhere the agent sees.
    for m in detail["messages"]:
        assert "4242 4242 4242 4242" not in m["text"]
    assert not re.search(r"4242\s?4242", str(detail))


@pytest.mark.parametrize(
    ("flow", "line", "words"),
    [
        ("name: Shop\nmessages: {greeting: hi}\n", 1, "intents"),
        (
            "name: Shop\nmessages: {greeting: hi}\nintents:\n  faq:\n    answer: hi\n"
            "    examples: [a, b]\n    skil: x\n",
            7,
            "skil",
        ),
    ],
)
async def test_a_bad_flow_is_refused_with_the_line_of_the_mistake(
    world: BotWorld, flow: str, line: int, words: str
) -> None:
    before = await world.live.http.get(
        f"/api/v1/inboxes/{world.inbox.id}/bot", headers=world.admin.headers
    )
    r = await world.live.http.put(
        f"/api/v1/inboxes/{world.inbox.id}/bot",
        json={"kind": "builtin", "flow": flow},
        headers=world.admin.headers,
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"]["message"].startswith(f"line {line}: ")
    assert words in body["error"]["message"]
    after = await world.live.http.get(
        f"/api/v1/inboxes/{world.inbox.id}/bot", headers=world.admin.headers
    )
    assert after.json() == before.json()


async def test_a_supervisor_takes_a_conversation_from_the_bot_to_a_queue(world: BotWorld) -> None:
    sam = await world.live.agent("sam", role=Role.SUPERVISOR, skills=("orders",), online=False)
    carol = await world.live.agent("carol", skills=("orders",))
    dana = world.customer("dana")
    await dana.says("where is my order?")
    await dana.says("A-10002")
    conversation_id = dana.conversation_id or ""
    refused = await world.live.http.post(
        f"/api/v1/conversations/{conversation_id}/transfer",
        json={"to_queue": "orders"},
        headers=carol.headers,  # an agent cannot take it from the bot
    )
    assert refused.status_code == 404
    r = await world.live.http.post(
        f"/api/v1/conversations/{conversation_id}/transfer",
        json={"to_queue": "orders"},
        headers=sam.headers,
    )
    assert r.status_code == 200, r.text
    detail = await world.detail(carol, conversation_id)
    conv = detail["conversation"]
    assert (conv["state"], conv["assigned_agent_id"]) == ("assigned", carol.id)
    assert conv["handoff"]["fields"]["order_number"] == "A-10002"
    [handed] = events_of(detail, "conversation.handed_off")
    assert handed["payload"]["reason"] == "taken_by_staff"


async def test_the_business_own_bot_can_hand_over_in_front_of_ours(world: BotWorld) -> None:
    r = await world.live.http.post(
        "/api/v1/channel/messages",
        json={
            "customer": {"address": "dana"},
            "text": "I need help with a refund",
            "handoff": {"bot": "shop-bot", "intent": "refund", "fields": {"order": "A-10001"}},
        },
        headers=world.inbox.headers,
    )
    assert r.status_code == 201, r.text
    conversation_id = r.json()["conversation_id"]
    detail = await world.detail(world.admin, conversation_id)
    conv = detail["conversation"]
    assert conv["state"] == "queued"
    assert conv["handoff"]["fields"] == {"order": "A-10001"}
    assert [m["sender_type"] for m in detail["messages"]] == ["customer"]  # no greeting


@pytest.mark.parametrize(
    "query",
    [
        "since=9999-12-31T23:00:00-05:00",
        "until=9999-12-31T23:00:00-05:00",
        "since=0001-01-01T00:30:00%2B01:00&until=2026-01-01T00:00:00Z",
        "since=2026-03-02T00:00:00",
        "since=2026-03-03T00:00:00Z&until=2026-03-02T00:00:00Z",
    ],
)
async def test_a_bad_report_period_is_refused_clearly(world: BotWorld, query: str) -> None:
    r = await world.live.http.get(f"/api/v1/reports/bots?{query}", headers=world.admin.headers)
    assert r.status_code in (400, 422), r.text
    assert r.json()["error"]["code"] in ("invalid_input", "validation_error")


async def test_hours_and_bots_refuse_what_would_strand_customers(world: BotWorld) -> None:
    headers = world.admin.headers
    nowhere = await world.live.http.put(
        "/api/v1/queues/nosuchqueue/hours",
        json={"timezone": "Europe/Madrid", "weekly": {"mon": ["08:00-18:00"]}},
        headers=headers,
    )
    assert (nowhere.status_code, nowhere.json()["error"]["code"]) == (404, "unknown_queue")
    never = await world.live.http.put(
        "/api/v1/queues/general/hours",
        json={"timezone": "Europe/Madrid", "weekly": {}},
        headers=headers,
    )
    assert never.status_code == 422, never.text
    assert never.json()["error"]["details"]["field"] == "weekly"
    unsigned = await world.live.http.put(
        f"/api/v1/inboxes/{world.inbox.id}/bot",
        json={"kind": "builtin", "flow": demo_flow(world.shop_url)},  # lookups, no key
        headers=headers,
    )
    assert unsigned.status_code == 422, unsigned.text
    assert unsigned.json()["error"]["details"]["field"] == "secret_name"
    kept = await world.live.http.get(f"/api/v1/inboxes/{world.inbox.id}/bot", headers=headers)
    assert kept.json()["secret_name"] == "acme"
