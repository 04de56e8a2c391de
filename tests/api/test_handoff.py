"""A bot's handoff context travels with the conversation to the human who takes it."""

from __future__ import annotations

from typing import Any

from tests.support.live import Live

HANDOFF = {
    "bot": "Acme assistant",
    "intent": "order_status",
    "confidence": 0.92,
    "fields": {"order_number": "AC-10422", "email": "dana@example.com"},
    "summary": "Dana asked where order AC-10422 is; tracking shows no movement for 6 days.",
}


async def handed_over(live: Live, inbox: Any, handoff: dict[str, Any]) -> Any:
    return await live.http.post(
        "/api/v1/channel/messages",
        json={
            "customer": {"address": "dana", "name": "Dana"},
            "text": "I'd like to talk to a person please",
            "handoff": handoff,
        },
        headers=inbox.headers,
    )


async def test_the_agent_gets_what_the_bot_learned_for_the_rest_of_the_session(
    live: Live,
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    r = await handed_over(live, inbox, HANDOFF)
    assert r.status_code == 201, r.text
    conversation_id = r.json()["conversation_id"]

    detail = await live.conversation(alice, conversation_id)
    assert detail["conversation"]["handoff"] == HANDOFF
    [event] = [e for e in detail["events"] if e["type"] == "conversation.handed_off"]
    assert event["payload"]["intent"] == "order_status"
    # Later messages of the session keep it in view.
    await live.customer_says(inbox, "dana", "It was a birthday present")
    assert (await live.conversation(alice, conversation_id))["conversation"]["handoff"] == HANDOFF

    # A new session starts without it: that context was about the last visit.
    closed = await live.http.post(
        f"/api/v1/conversations/{conversation_id}/close", headers=alice.headers
    )
    assert closed.status_code == 200
    await live.customer_says(inbox, "dana", "Hello again, a new question")
    assert (await live.conversation(alice, conversation_id))["conversation"]["handoff"] is None


async def test_a_bad_handoff_is_refused_and_stores_nothing(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    bad = [
        {**HANDOFF, "confidence": 1.5},
        {**HANDOFF, "fields": {"": "x"}},
        {**HANDOFF, "fields": {f"f{i}": "x" for i in range(31)}},
        {**HANDOFF, "summary": "x" * 2001},
        {},  # says nothing
    ]
    for handoff in bad:
        r = await handed_over(live, inbox, handoff)
        assert r.status_code == 422, (handoff, r.text)
    listed = await live.http.get("/api/v1/conversations", headers=alice.headers)
    assert listed.json() == []
