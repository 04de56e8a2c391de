"""Conversations through the API: the thread across sessions, replies, close, transfer,
and agent status, as agents and supervisors use them."""

from __future__ import annotations

from tests.support.live import Live


async def test_a_customer_returning_after_close_continues_the_same_thread_in_a_new_session(
    live: Live,
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    conv = await live.customer_says(inbox, "c1", "My parcel is late")
    await live.reply(alice, conv["conversation_id"], "It arrives tomorrow")
    closed = await live.http.post(
        f"/api/v1/conversations/{conv['conversation_id']}/close", headers=alice.headers
    )
    assert closed.json()["state"] == "closed"

    live.clock.advance(3 * 24 * 3600)
    alice = await live.login("alice")  # her 12-hour token has expired meanwhile
    again = await live.customer_says(inbox, "c1", "It did not arrive")

    assert again["conversation_id"] == conv["conversation_id"]
    assert again["assigned_agent_id"] == alice.id
    detail = await live.conversation(alice, conv["conversation_id"])
    assert [m["text"] for m in detail["messages"]] == [
        "My parcel is late",
        "It arrives tomorrow",
        "It did not arrive",
    ]
    assert [m["seq"] for m in detail["messages"]] == [1, 2, 3]
    sessions = detail["sessions"]
    assert [(s["seq"], s["close_reason"]) for s in sessions] == [(1, "agent"), (2, None)]
    assert detail["messages"][0]["session_id"] == sessions[0]["id"]
    assert detail["messages"][2]["session_id"] == sessions[1]["id"]
    assert detail["conversation"]["session_seq"] == 2


async def test_an_agent_reply_makes_the_conversation_wait_on_the_customer(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    conv = await live.customer_says(inbox, "c1", "Hi")
    sent = await live.reply(alice, conv["conversation_id"])
    detail = await live.conversation(alice, conv["conversation_id"])
    assert (sent["direction"], sent["sender_agent_id"]) == ("outbound", alice.id)
    assert detail["conversation"]["waiting_on"] == "customer"
    assert detail["conversation"]["respond_by"] is None


async def test_conversations_are_listed_in_routing_order(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=3, max_load=3)
    first = await live.customer_says(inbox, "c1", "one")
    live.clock.advance(10)
    second = await live.customer_says(inbox, "c2", "two")
    live.clock.advance(10)
    third = await live.customer_says(inbox, "c3", "three")
    await live.reply(alice, first["conversation_id"])  # now waiting on the customer

    r = await live.http.get("/api/v1/conversations", headers=alice.headers)

    assert [c["id"] for c in r.json()] == [
        second["conversation_id"],
        third["conversation_id"],
        first["conversation_id"],
    ]


async def test_an_agent_sees_only_their_conversations_and_their_queues(live: Live) -> None:
    general = await live.inbox("General")
    billing = await live.inbox("Billing", queue="billing")
    alice = await live.agent("alice", preferred=1, max_load=1)
    live.clock.advance(1)  # alice has been idle longer, so she is served first
    bob = await live.agent("bob", preferred=1, max_load=1)
    mine = await live.customer_says(general, "c1", "for alice")
    bobs = await live.customer_says(general, "c2", "for bob")
    queued = await live.customer_says(general, "c3", "waiting in general")
    elsewhere = await live.customer_says(billing, "c4", "waiting in billing")
    assert (mine["assigned_agent_id"], bobs["assigned_agent_id"]) == (alice.id, bob.id)

    listed = {
        c["id"]
        for c in (await live.http.get("/api/v1/conversations", headers=alice.headers)).json()
    }
    assert listed == {mine["conversation_id"], queued["conversation_id"]}
    for hidden in (bobs, elsewhere):
        r = await live.http.get(
            f"/api/v1/conversations/{hidden['conversation_id']}", headers=alice.headers
        )
        assert r.status_code == 404
        r = await live.http.post(
            f"/api/v1/conversations/{hidden['conversation_id']}/messages",
            json={"text": "x"},
            headers=alice.headers,
        )
        assert r.status_code == 404

    sup = await live.agent("sue", role="supervisor", online=False)  # type: ignore[arg-type]
    everything = (await live.http.get("/api/v1/conversations", headers=sup.headers)).json()
    assert len(everything) == 4
    filtered = (
        await live.http.get("/api/v1/conversations?state=queued&queue=billing", headers=sup.headers)
    ).json()
    assert [c["id"] for c in filtered] == [elsewhere["conversation_id"]]
    by_agent = (
        await live.http.get(f"/api/v1/conversations?agent_id={bob.id}", headers=sup.headers)
    ).json()
    assert [c["id"] for c in by_agent] == [bobs["conversation_id"]]


async def test_only_the_assigned_agent_can_reply(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    sup = await live.agent("sue", role="supervisor", online=False)  # type: ignore[arg-type]
    conv = await live.customer_says(inbox, "c1", "Hi")
    head = await live.event_head()
    r = await live.http.post(
        f"/api/v1/conversations/{conv['conversation_id']}/messages",
        json={"text": "I'm the boss"},
        headers=sup.headers,
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    assert await live.event_head() == head
    assert alice  # the assignee exists and holds the conversation


async def test_closing_frees_the_slot_for_the_next_waiting_conversation(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=1, max_load=2)
    first = await live.customer_says(inbox, "c1", "one")
    second = await live.customer_says(inbox, "c2", "two")
    assert second["state"] == "queued"  # alice is at P

    await live.http.post(
        f"/api/v1/conversations/{first['conversation_id']}/close", headers=alice.headers
    )

    detail = await live.conversation(alice, second["conversation_id"])
    assert detail["conversation"]["assigned_agent_id"] == alice.id
    me = (await live.http.get("/api/v1/me", headers=alice.headers)).json()
    assert me["active_count"] == 1


async def test_transfer_to_an_agent_keeps_history_and_respond_by(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    conv = await live.customer_says(inbox, "c1", "Hi")
    bob = await live.agent("bob")
    before = (await live.conversation(alice, conv["conversation_id"]))["conversation"]

    r = await live.http.post(
        f"/api/v1/conversations/{conv['conversation_id']}/transfer",
        json={"to_agent_id": bob.id},
        headers=alice.headers,
    )

    assert r.status_code == 200, r.text
    after = r.json()
    assert after["assigned_agent_id"] == bob.id
    assert after["respond_by"] == before["respond_by"]
    detail = await live.conversation(bob, conv["conversation_id"])
    assert [m["text"] for m in detail["messages"]] == ["Hi"]
    assert "conversation.transferred" in [e["type"] for e in detail["events"]]
    assert (
        await live.http.get(
            f"/api/v1/conversations/{conv['conversation_id']}", headers=alice.headers
        )
    ).status_code == 404
    loads = {
        a: (await live.http.get("/api/v1/me", headers=h.headers)).json()["active_count"]
        for a, h in (("alice", alice), ("bob", bob))
    }
    assert loads == {"alice": 0, "bob": 1}


async def test_transfer_to_a_queue_requeues_with_the_same_respond_by(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    carol = await live.agent("carol", skills=("billing",), online=False)  # billing's agent
    conv = await live.customer_says(inbox, "c1", "Actually it's about my bill")
    before = (await live.conversation(alice, conv["conversation_id"]))["conversation"]
    r = await live.http.post(
        f"/api/v1/conversations/{conv['conversation_id']}/transfer",
        json={"to_queue": "billing"},
        headers=alice.headers,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["queue"], r.json()["respond_by"]) == (
        "queued",
        "billing",
        before["respond_by"],
    )
    await live.set_status(carol, "online")
    detail = await live.conversation(carol, conv["conversation_id"])
    assert detail["conversation"]["assigned_agent_id"] == carol.id


async def test_transfer_refuses_an_offline_or_full_agent_and_changes_nothing(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    conv = await live.customer_says(inbox, "c1", "Hi")
    offline = await live.agent("olga", online=False)
    full = await live.agent("fred", preferred=1, max_load=1)
    await live.customer_says(
        inbox, "c2", "fills fred"
    )  # alice has room for 2, so route c2 to fred…
    head = await live.event_head()
    for target, code in ((offline, "agent_unavailable"), (full, "agent_at_capacity")):
        r = await live.http.post(
            f"/api/v1/conversations/{conv['conversation_id']}/transfer",
            json={"to_agent_id": target.id},
            headers=alice.headers,
        )
        if target is full and r.status_code == 200:
            raise AssertionError("fred was not full")
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == code
    assert await live.event_head() == head


async def test_going_offline_returns_active_conversations_to_the_queue_keeping_respond_by(
    live: Live,
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    conv = await live.customer_says(inbox, "c1", "Hi")
    before = (await live.conversation(alice, conv["conversation_id"]))["conversation"]

    me = await live.set_status(alice, "offline")

    sup = await live.agent("sue", role="supervisor", online=False)  # type: ignore[arg-type]
    after = (await live.conversation(sup, conv["conversation_id"]))["conversation"]
    assert (after["state"], after["assigned_agent_id"], after["respond_by"]) == (
        "queued",
        None,
        before["respond_by"],
    )
    assert me["active_count"] == 0
    bob = await live.agent("bob")
    assert (await live.conversation(bob, conv["conversation_id"]))["conversation"][
        "assigned_agent_id"
    ] == bob.id


async def test_an_away_agent_keeps_current_work_but_gets_no_new_work(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=3, max_load=3)
    kept = await live.customer_says(inbox, "c1", "Hi")
    await live.set_status(alice, "away")
    new = await live.customer_says(inbox, "c2", "Hello?")
    assert new["state"] == "queued"
    assert (await live.conversation(alice, kept["conversation_id"]))["conversation"][
        "assigned_agent_id"
    ] == alice.id


async def test_an_agent_cannot_change_another_agents_status_but_a_supervisor_can(
    live: Live,
) -> None:
    alice = await live.agent("alice")
    bob = await live.agent("bob")
    r = await live.http.put(
        f"/api/v1/agents/{bob.id}/status", json={"status": "offline"}, headers=alice.headers
    )
    assert r.status_code == 403
    sup = await live.agent("sue", role="supervisor", online=False)  # type: ignore[arg-type]
    r = await live.http.put(
        f"/api/v1/agents/{bob.id}/status", json={"status": "offline"}, headers=sup.headers
    )
    assert r.status_code == 200
    assert r.json()["status"] == "offline"


async def test_a_long_thread_pages_back_to_its_first_message(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    conv = await live.customer_says(inbox, "c1", "message 1")
    for n in range(2, 8):
        await live.customer_says(inbox, "c1", f"message {n}")
    url = f"/api/v1/conversations/{conv['conversation_id']}/messages"

    page = (
        await live.http.get(url, params={"before_seq": 8, "limit": 3}, headers=alice.headers)
    ).json()
    older = (
        await live.http.get(
            url, params={"before_seq": page[0]["seq"], "limit": 10}, headers=alice.headers
        )
    ).json()

    assert [m["text"] for m in page] == ["message 5", "message 6", "message 7"]
    assert [m["seq"] for m in older] == [1, 2, 3, 4]


async def test_an_agent_keeps_access_to_the_conversations_they_closed(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    conv = await live.customer_says(inbox, "c1", "Thanks for the help earlier")
    await live.http.post(
        f"/api/v1/conversations/{conv['conversation_id']}/close", headers=alice.headers
    )

    mine = await live.http.get("/api/v1/conversations?state=closed", headers=alice.headers)
    detail = await live.conversation(alice, conv["conversation_id"])

    assert [c["id"] for c in mine.json()] == [conv["conversation_id"]]
    assert detail["conversation"]["owner_agent_id"] == alice.id


async def test_a_transfer_to_a_queue_nobody_serves_is_refused_and_changes_nothing(
    live: Live,
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    conv = await live.customer_says(inbox, "c1", "Hello")
    cid = conv["conversation_id"]
    r = await live.http.post(
        f"/api/v1/conversations/{cid}/transfer", json={"to_queue": "nope"}, headers=alice.headers
    )
    detail = await live.conversation(alice, cid)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "unknown_queue"
    assert detail["conversation"]["state"] == "assigned"
    assert detail["conversation"]["queue"] == "general"


async def test_the_list_shows_each_customer_and_the_start_of_their_last_message(
    live: Live,
) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    said = await live.customer_says(inbox, "c1", "x" * 300)
    await live.reply(alice, said["conversation_id"], "Thanks, looking into it")
    r = await live.http.get(
        "/api/v1/conversations", params={"agent_id": alice.id}, headers=alice.headers
    )
    [row] = r.json()
    assert row["customer_name"] == "C1"
    assert row["last_message"]["direction"] == "outbound"
    assert row["last_message"]["preview"] == "Thanks, looking into it"
    await live.customer_says(inbox, "c1", "y" * 300)
    r = await live.http.get(
        "/api/v1/conversations", params={"agent_id": alice.id}, headers=alice.headers
    )
    assert r.json()[0]["last_message"]["preview"] == "y" * 140
