"""Messages drive the workflow (DESIGN.md §5), through the public API and the live
stream: thanks does not wake the agent, a "no" to "anything else?" closes the session
and frees the agent's slot, an "ok" to a question is an answer."""

from __future__ import annotations

from tests.support.live import AgentHandle, InboxHandle, Live


async def _answered(live: Live, asked: str, answer: str) -> tuple[InboxHandle, AgentHandle, str]:
    """Customer c1 asks, agent alice is given the conversation and answers."""
    inbox = await live.inbox()
    alice = await live.agent("alice")
    conv = await live.customer_says(inbox, "c1", asked)
    await live.reply(alice, conv["conversation_id"], answer)
    return inbox, alice, conv["conversation_id"]


async def test_thanks_after_an_answer_is_shown_but_does_not_wait_on_the_agent(
    live: Live,
) -> None:
    inbox, alice, cid = await _answered(
        live, "Where is my refund?", "It was issued today and arrives within 5 days."
    )
    async with live.stream(alice) as stream:
        thanks = await live.customer_says(inbox, "c1", "great, thanks! 👍")
        received = await stream.events_until("message.received")
    detail = await live.conversation(alice, cid)

    assert thanks["state"] == "assigned"
    assert received[-1]["payload"]["kind"] == "ineffectual"
    assert detail["conversation"]["waiting_on"] == "customer"
    assert detail["conversation"]["respond_by"] is None
    assert [(m["text"], m["kind"]) for m in detail["messages"]] == [
        ("Where is my refund?", "substantive"),
        ("It was issued today and arrives within 5 days.", None),
        ("great, thanks! 👍", "ineffectual"),
    ]


async def test_ok_to_a_question_is_an_answer_the_agent_must_act_on(live: Live) -> None:
    inbox, alice, cid = await _answered(
        live, "I want to cancel my order", "Shall I go ahead and cancel it?"
    )
    asked = await live.conversation(alice, cid)
    assert asked["conversation"]["last_outbound"] == "awaits_answer"

    await live.customer_says(inbox, "c1", "ok")
    detail = await live.conversation(alice, cid)

    assert detail["messages"][-1]["kind"] == "substantive"
    assert detail["conversation"]["waiting_on"] == "agent"
    assert detail["conversation"]["respond_by"] is not None


async def test_no_after_anything_else_closes_the_session_and_frees_the_slot(
    live: Live,
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=1, max_load=1)
    first = await live.customer_says(inbox, "c1", "My card is blocked")
    waiting = await live.customer_says(inbox, "c2", "Hello, I need help with a bill")
    assert first["assigned_agent_id"] == alice.id
    assert waiting["state"] == "queued"  # alice is at her limit of one
    cid = first["conversation_id"]
    await live.reply(alice, cid, "Unblocked. Is there anything else I can help you with?")

    async with live.stream(alice) as stream:
        closing = await live.customer_says(inbox, "c1", "no thanks, that's all")
        events = await stream.events_until("conversation.assigned")
    detail = await live.conversation(alice, cid)

    assert closing["state"] == "closed"
    closed = next(e for e in events if e["type"] == "conversation.closed")
    assert closed["payload"]["reason"] == "customer_declined_more_help"
    assert events[-1]["conversation_id"] == waiting["conversation_id"]  # the freed slot
    assert detail["conversation"]["state"] == "closed"
    assert detail["sessions"][-1]["close_reason"] == "customer_declined_more_help"
    assert detail["messages"][-1]["kind"] == "closing"


async def test_thanks_after_close_does_not_reopen_but_a_new_request_does(live: Live) -> None:
    inbox, alice, cid = await _answered(
        live, "How do I reset my password?", "Use the 'forgot password' link on the login page."
    )
    closed = await live.http.post(f"/api/v1/conversations/{cid}/close", headers=alice.headers)
    assert closed.status_code == 200, closed.text

    thanks = await live.customer_says(inbox, "c1", "thank you!")
    still = await live.conversation(alice, cid)
    assert thanks["state"] == "closed"
    assert len(still["sessions"]) == 1

    again = await live.customer_says(inbox, "c1", "the link does not work")
    reopened = await live.conversation(alice, cid)
    assert again["state"] == "assigned"
    assert len(reopened["sessions"]) == 2


async def test_a_follow_up_after_raising_a_new_request_is_not_read_as_closing(
    live: Live,
) -> None:
    inbox, alice, cid = await _answered(
        live, "My card is blocked", "Unblocked. Anything else I can help with?"
    )
    await live.customer_says(inbox, "c1", "yes, please update my address to the new one")
    follow_up = await live.customer_says(inbox, "c1", "that is all, thanks")
    detail = await live.conversation(alice, cid)

    assert follow_up["state"] == "assigned"
    assert detail["conversation"]["waiting_on"] == "agent"
    assert detail["messages"][-1]["kind"] == "substantive"


async def test_after_a_close_an_old_closing_question_no_longer_reads_a_no_as_closing(
    live: Live,
) -> None:
    inbox, alice, cid = await _answered(
        live, "Is my order shipped?", "Yes, it ships today. Anything else I can help with?"
    )
    closed = await live.http.post(f"/api/v1/conversations/{cid}/close", headers=alice.headers)
    assert closed.status_code == 200, closed.text

    live.clock.advance(2 * 24 * 3600)
    alice = await live.login("alice")
    again = await live.customer_says(inbox, "c1", "no")  # it never came
    detail = await live.conversation(alice, cid)

    assert again["state"] == "assigned"
    assert len(detail["sessions"]) == 2
    assert detail["messages"][-1]["kind"] == "substantive"
