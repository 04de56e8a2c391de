"""Routing that follows the customer's pace (DESIGN.md §2-§4), through the public API,
the live stream and the timer scheduler, with the test moving the service's clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.support.live import AgentHandle, InboxHandle, Live, Stream

# The "api" channel's defaults: pace 120 s, so a customer is inactive after 4 x 120 s.
INACTIVE_AFTER = 480


async def conversations_of(live: Live, agent: AgentHandle) -> list[dict[str, Any]]:
    r = await live.http.get(
        "/api/v1/conversations", params={"agent_id": agent.id}, headers=agent.headers
    )
    assert r.status_code == 200, r.text
    return list(r.json())


async def load_of(live: Live, agent: AgentHandle) -> int:
    r = await live.http.get(f"/api/v1/agents/{agent.id}", headers=agent.headers)
    assert r.status_code == 200, r.text
    return int(r.json()["active_count"])


async def event_of(stream: Stream, event_type: str, conversation_id: str) -> list[dict[str, Any]]:
    """The stream's events up to `event_type` for that conversation."""
    seen: list[dict[str, Any]] = []
    while not seen or (seen[-1]["type"], seen[-1]["conversation_id"]) != (
        event_type,
        conversation_id,
    ):
        seen.extend(await stream.events_until(event_type))
    return seen


async def goes_inactive(
    live: Live, stream: Stream, agent: AgentHandle, inbox: InboxHandle, address: str
) -> str:
    """The customer writes, `agent` answers, the customer stays silent past the timeout."""
    said = await live.customer_says(inbox, address, "My router keeps dropping the line")
    assert said["assigned_agent_id"] == agent.id
    await live.reply(agent, said["conversation_id"], "Please restart it and tell me.")
    live.clock.advance(INACTIVE_AFTER + 1)
    await event_of(stream, "conversation.inactive", said["conversation_id"])
    return str(said["conversation_id"])


async def test_the_engaged_customer_is_served_before_the_one_who_wrote_earlier(
    live: Live,
) -> None:
    """DESIGN.md §4's worked case: Marcus answers within seconds and wrote 2 minutes ago;
    Sophie answers every half hour and wrote 10 minutes ago. Marcus comes first."""
    admin = await live.agent("admin", role="admin", online=False)  # type: ignore[arg-type]
    # SMS: a one-hour response window; alpha 1 makes the pace the last reply's latency,
    # so two exchanges are enough to tell the customers apart.
    r = await live.http.patch(
        "/api/v1/channels/sms/settings", json={"alpha": 1.0}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    inbox = await live.inbox("SMS", channel="sms")
    alice = await live.agent("alice", preferred=2, max_load=3)

    # Sophie writes in her breaks: she answers Alice's question half an hour later.
    sophie = await live.customer_says(inbox, "+15550000001", "Hi, my bill looks wrong")
    await live.reply(alice, sophie["conversation_id"], "Which month?")
    live.clock.advance(1800)
    await live.customer_says(inbox, "+15550000001", "October, the roaming charge")
    live.clock.advance(470)  # Sophie's message is 10 minutes old at the end
    # Marcus is at his screen: he answers Alice within seconds.
    marcus = await live.customer_says(inbox, "+15550000002", "My card was declined")
    live.clock.advance(5)
    await live.reply(alice, marcus["conversation_id"], "Which card?")
    live.clock.advance(5)
    await live.customer_says(inbox, "+15550000002", "The visa ending 4242")
    live.clock.advance(120)  # Marcus's message is 2 minutes old

    listed = await conversations_of(live, alice)

    assert [c["id"] for c in listed] == [marcus["conversation_id"], sophie["conversation_id"]]
    marcus_by, sophie_by = (c["respond_by"] for c in listed)
    # Marcus: 2 x 5 s, raised to SMS's 2-minute floor; Sophie: 2 x 30 min, capped at
    # SMS's one-hour response window.
    assert marcus_by == "2026-03-02T09:40:00Z"
    assert sophie_by == "2026-03-02T10:30:00Z"
    assert marcus_by < sophie_by


async def test_a_silent_customer_frees_the_slot_for_the_next_in_the_queue(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=1, max_load=2)
    async with live.stream(alice) as stream:
        first = await goes_inactive(live, stream, alice, inbox, "c1")
        detail = await live.conversation(alice, first)
        assert detail["conversation"]["state"] == "inactive"
        assert detail["conversation"]["owner_agent_id"] == alice.id
        assert detail["conversation"]["assigned_agent_id"] is None
        assert await load_of(live, alice) == 0

        second = await live.customer_says(inbox, "c2", "Hello, I need a hand")
        assert second["assigned_agent_id"] == alice.id  # the freed slot, at once


async def test_a_reactivated_conversation_returns_to_its_owner_above_preferred_load(
    live: Live,
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=1, max_load=2)
    async with live.stream(alice) as stream:
        first = await goes_inactive(live, stream, alice, inbox, "c1")
        await live.customer_says(inbox, "c2", "New question")  # Alice is at P again
        assert await load_of(live, alice) == 1

        back = await live.customer_says(inbox, "c1", "Restarted it, still dropping")
        events = await event_of(stream, "conversation.assigned", first)

    assert back["assigned_agent_id"] == alice.id
    assert back["state"] == "assigned"
    assert await load_of(live, alice) == 2  # above P = 1, within M = 2
    assigned = events[-1]
    assert assigned["conversation_id"] == first
    assert assigned["payload"]["cause"] == "reactivated"
    assert assigned["payload"]["load"] == 2
    assert "conversation.reactivated" in [e["type"] for e in events]


async def test_an_owner_at_maximum_load_gets_the_reactivation_ahead_of_new_work(
    live: Live,
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=1, max_load=1)
    async with live.stream(alice) as stream:
        first = await goes_inactive(live, stream, alice, inbox, "c1")
        busy = await live.customer_says(inbox, "c2", "New question")  # Alice at M
        waiting = await live.customer_says(inbox, "c3", "Also new")  # queued, earlier
        live.clock.advance(10)
        back = await live.customer_says(inbox, "c1", "It still drops")
        assert back["state"] == "queued"
        detail = await live.conversation(alice, first)
        assert detail["conversation"]["reactivated"] is True

        r = await live.http.post(
            f"/api/v1/conversations/{busy['conversation_id']}/close", headers=alice.headers
        )
        assert r.status_code == 200, r.text
        await event_of(stream, "conversation.closed", busy["conversation_id"])
        events = await stream.events_until("conversation.assigned")

    # The slot goes to the returning customer, though c3 has waited longer.
    assert events[-1]["conversation_id"] == first
    still = await live.conversation(alice, waiting["conversation_id"])
    assert still["conversation"]["state"] == "queued"


async def test_thanks_does_not_reactivate_an_inactive_conversation(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=1, max_load=2)
    async with live.stream(alice) as stream:
        first = await goes_inactive(live, stream, alice, inbox, "c1")
        said = await live.customer_says(inbox, "c1", "ok thanks!")
        await stream.events_until("message.received")

    assert said["state"] == "inactive"
    detail = await live.conversation(alice, first)
    assert detail["conversation"]["state"] == "inactive"
    assert detail["conversation"]["waiting_on"] == "customer"
    assert detail["messages"][-1]["kind"] == "ineffectual"
    assert await load_of(live, alice) == 0


async def test_an_offline_owner_s_inactive_conversation_goes_through_the_queue(
    live: Live,
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=1, max_load=2)
    bob = await live.agent("bob", preferred=1, max_load=2, online=False)
    async with live.stream(alice) as stream:
        first = await goes_inactive(live, stream, alice, inbox, "c1")
    await live.set_status(alice, "offline")
    await live.set_status(bob, "online")

    back = await live.customer_says(inbox, "c1", "Still broken, please help")

    assert back["assigned_agent_id"] == bob.id
    detail = await live.conversation(bob, first)
    assert detail["conversation"]["owner_agent_id"] == bob.id
    causes = [
        (e["type"], e["payload"].get("cause"))
        for e in detail["events"]
        if e["type"] in ("conversation.unassigned", "conversation.assigned")
    ]
    assert ("conversation.unassigned", "owner_offline") in causes
    assert causes[-1] == ("conversation.assigned", "routed")


async def test_an_inactive_conversation_closes_after_a_day_and_a_new_session_prefers_the_owner(
    live: Live,
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=2, max_load=3)
    async with live.stream(alice) as stream:
        first = await goes_inactive(live, stream, alice, inbox, "c1")
        await live.customer_says(inbox, "c2", "Another customer")  # Alice: 1 of P = 2
        bob = await live.agent("bob", preferred=5, max_load=5)  # 0 of 5: the spread's pick
        live.clock.advance(24 * 3600)
        closed = await event_of(stream, "conversation.closed", first)

    assert closed[-1]["payload"]["reason"] == "inactivity"
    alice = await live.login("alice")  # a day later: her desk signs in again
    detail = await live.conversation(alice, first)
    assert detail["conversation"]["state"] == "closed"
    assert detail["sessions"][0]["close_reason"] == "inactivity"

    again = await live.customer_says(inbox, "c1", "Hi again, a new problem")

    assert again["assigned_agent_id"] == alice.id  # the owner, not the emptier Bob
    assert again["assigned_agent_id"] != bob.id
    detail = await live.conversation(alice, first)
    assert detail["conversation"]["session_seq"] == 2
    assert detail["events"][-1]["payload"]["cause"] == "reopened"


async def test_a_missed_respond_by_is_an_sla_event_on_the_desk_once(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    async with live.stream(alice) as stream:
        said = await live.customer_says(inbox, "c1", "Is anyone there?")
        detail = await live.conversation(alice, said["conversation_id"])
        live.clock.advance(3600)
        events = await stream.events_until("conversation.respond_by_breached")
        assert events[-1]["conversation_id"] == said["conversation_id"]
        promised = detail["conversation"]["respond_by"]
        breached = events[-1]["payload"]["respond_by"]
        assert datetime.fromisoformat(breached) == datetime.fromisoformat(promised)
        live.clock.advance(3600)
        assert await stream.nothing_within(0.5)


async def test_an_agent_can_set_aside_a_conversation_only_once_answered(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=1, max_load=2)
    said = await live.customer_says(inbox, "c1", "Hello?")
    url = f"/api/v1/conversations/{said['conversation_id']}/inactive"

    refused = await live.http.post(url, headers=alice.headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "invalid_transition"
    assert await load_of(live, alice) == 1

    await live.reply(alice, said["conversation_id"], "I will check and come back to you.")
    r = await live.http.post(url, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "inactive"
    assert r.json()["owner_agent_id"] == alice.id
    assert await load_of(live, alice) == 0
    mine = await conversations_of(live, alice)
    assert [c["state"] for c in mine] == ["inactive"]  # still in her inactive list


async def test_the_owner_closes_their_inactive_conversation_as_its_agent(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=1, max_load=2)
    async with live.stream(alice) as stream:
        first = await goes_inactive(live, stream, alice, inbox, "c1")
        r = await live.http.post(f"/api/v1/conversations/{first}/close", headers=alice.headers)
        assert r.status_code == 200, r.text
        closed = await event_of(stream, "conversation.closed", first)
    assert closed[-1]["payload"]["reason"] == "agent"
    assert closed[-1]["agent_id"] == alice.id  # her desk hears of it, not just the queue
