"""The generic API channel: customer messages in, agents' replies out."""

from __future__ import annotations

from tests.support.live import Live


async def test_first_message_opens_a_queued_conversation_for_a_new_customer(live: Live) -> None:
    inbox = await live.inbox()
    supervisor = await live.agent("sue", role="supervisor", online=False)  # type: ignore[arg-type]

    result = await live.customer_says(inbox, "cust-1", "Where is my order?")

    assert result["state"] == "queued"
    assert result["assigned_agent_id"] is None
    detail = await live.conversation(supervisor, result["conversation_id"])
    assert detail["customer"]["identities"] == [{"channel": "api", "address": "cust-1"}]
    assert [m["text"] for m in detail["messages"]] == ["Where is my order?"]
    assert detail["conversation"]["waiting_on"] == "agent"
    assert detail["conversation"]["respond_by"] is not None
    types = [e["type"] for e in detail["events"]]
    assert types == ["conversation.opened", "conversation.queued", "message.received"]


async def test_new_conversation_is_routed_to_an_online_agent_with_the_skill(live: Live) -> None:
    inbox = await live.inbox(queue="billing")
    await live.agent("gina", skills=("general",))
    bill = await live.agent("bill", skills=("billing",))

    result = await live.customer_says(inbox, "cust-1", "I was charged twice")

    assert result["state"] == "assigned"
    assert result["assigned_agent_id"] == bill.id


async def test_later_messages_of_a_customer_join_the_same_conversation(live: Live) -> None:
    inbox = await live.inbox()
    agent = await live.agent("alice")
    first = await live.customer_says(inbox, "cust-1", "Hello")
    second = await live.customer_says(inbox, "cust-1", "Are you there?")

    assert second["conversation_id"] == first["conversation_id"]
    assert second["customer_id"] == first["customer_id"]
    detail = await live.conversation(agent, first["conversation_id"])
    assert [m["text"] for m in detail["messages"]] == ["Hello", "Are you there?"]


async def test_a_retried_external_id_is_refused_and_changes_nothing(live: Live) -> None:
    inbox = await live.inbox()
    sup = await live.agent("sue", role="supervisor", online=False)  # type: ignore[arg-type]
    first = await live.customer_says(inbox, "cust-1", "Hello", external_id="SM123")
    head = await live.event_head()

    r = await live.http.post(
        "/api/v1/channel/messages",
        json={"external_id": "SM123", "customer": {"address": "cust-1"}, "text": "Hello"},
        headers=inbox.headers,
    )

    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "duplicate_external_id"
    assert error["details"] == {
        "message_id": first["message_id"],
        "conversation_id": first["conversation_id"],
    }
    assert await live.event_head() == head
    detail = await live.conversation(sup, first["conversation_id"])
    assert len(detail["messages"]) == 1


async def test_the_same_external_id_in_another_inbox_is_a_different_message(live: Live) -> None:
    web = await live.inbox("Web")
    shop = await live.inbox("Shop")
    a = await live.customer_says(web, "cust-1", "Hello", external_id="X1")
    b = await live.customer_says(shop, "cust-1", "Hello", external_id="X1")
    assert a["message_id"] != b["message_id"]


async def test_an_unknown_inbox_token_is_rejected(live: Live) -> None:
    r = await live.http.post(
        "/api/v1/channel/messages",
        json={"customer": {"address": "c"}, "text": "hi"},
        headers={"Authorization": "Bearer tl_inbox_nope"},
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"
    assert r.headers["www-authenticate"] == "Bearer"


async def test_an_agent_token_cannot_post_as_an_inbox(live: Live) -> None:
    agent = await live.agent("alice")
    r = await live.http.post(
        "/api/v1/channel/messages",
        json={"customer": {"address": "c"}, "text": "hi"},
        headers=agent.headers,
    )
    assert r.status_code == 401


async def test_agent_reply_waits_in_the_outbox_until_the_business_reports_delivery(
    live: Live,
) -> None:
    inbox = await live.inbox()
    agent = await live.agent("alice")
    conv = await live.customer_says(inbox, "+15551230000", "Hi")
    sent = await live.reply(agent, conv["conversation_id"], "Hello! How can I help?")
    assert sent["delivery_status"] == "queued"

    pending = (await live.http.get("/api/v1/channel/outbound", headers=inbox.headers)).json()
    again = (await live.http.get("/api/v1/channel/outbound", headers=inbox.headers)).json()
    assert [(p["to"], p["text"]) for p in pending] == [("+15551230000", "Hello! How can I help?")]
    assert again == pending  # at least once: still there until reported

    for status in ("delivered", "sent"):  # a late "sent" must not move it back
        r = await live.http.post(
            f"/api/v1/channel/outbound/{pending[0]['message_id']}/status",
            json={"status": status},
            headers=inbox.headers,
        )
        assert r.status_code == 204
    assert (await live.http.get("/api/v1/channel/outbound", headers=inbox.headers)).json() == []
    detail = await live.conversation(agent, conv["conversation_id"])
    assert detail["messages"][-1]["delivery_status"] == "delivered"


async def test_another_inbox_cannot_report_on_a_message_it_does_not_own(live: Live) -> None:
    web = await live.inbox("Web")
    other = await live.inbox("Other")
    agent = await live.agent("alice")
    conv = await live.customer_says(web, "c1", "Hi")
    sent = await live.reply(agent, conv["conversation_id"], "Hello")
    r = await live.http.post(
        f"/api/v1/channel/outbound/{sent['id']}/status",
        json={"status": "read"},
        headers=other.headers,
    )
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
