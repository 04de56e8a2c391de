"""The agents' WebSocket: the events that concern them, in order, resumable."""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.clock import FakeClock
from tests.support.live import AgentHandle, Live, Stream, serve


async def test_an_agent_sees_assignment_and_messages_in_sequence_order(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice")
    async with live.stream(alice) as stream:
        conv = await live.customer_says(inbox, "c1", "Hello")
        await live.customer_says(inbox, "c1", "Anyone there?")

        seen = await stream.events_until("conversation.assigned")
        seen += await stream.events_until("message.received")

    assert conv["assigned_agent_id"] == alice.id
    assert all(e["conversation_id"] == conv["conversation_id"] for e in seen)
    seqs = [e["seq"] for e in seen]
    assert seqs == sorted(set(seqs))
    assert seqs[0] > stream.ready_seq
    assert seen[-1]["payload"][
        "message_id"
    ]  # the second message, now on the assigned agent's stream


async def test_a_reconnecting_agent_gets_exactly_what_it_missed(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=5, max_load=5)
    async with live.stream(alice) as stream:
        await live.customer_says(inbox, "c1", "first")
        before_drop = await stream.events_until("conversation.assigned")
    last_seen = before_drop[-1]["seq"]

    # While disconnected: more messages, a new conversation.
    await live.customer_says(inbox, "c1", "second")
    await live.customer_says(inbox, "c2", "another customer")
    await live.customer_says(inbox, "c1", "third")

    async with live.stream(alice, after=last_seen) as stream:
        replayed = []
        while len([e for e in replayed if e["type"] == "message.received"]) < 3:
            replayed.append(await stream.next_event())
        # Live events continue seamlessly after the replay.
        await live.customer_says(inbox, "c2", "live again")
        live_event = await stream.events_until("message.received")

    seqs = [e["seq"] for e in replayed + live_event]
    assert seqs == sorted(set(seqs))
    assert seqs[0] > last_seen
    assert "conversation.assigned" in [e["type"] for e in replayed]  # c2 assigned while away


async def test_an_agent_does_not_see_another_agents_conversations(live: Live) -> None:
    inbox = await live.inbox(queue="billing")
    alice = await live.agent("alice", skills=("general",))
    bob = await live.agent("bob", skills=("billing",))
    async with live.stream(alice) as alice_stream, live.stream(bob) as bob_stream:
        await live.customer_says(inbox, "c1", "billing question")
        await bob_stream.events_until("conversation.assigned")
        assert await alice_stream.nothing_within(0.5)


async def test_queue_watchers_see_a_conversation_arrive_and_leave_their_queue(live: Live) -> None:
    inbox = await live.inbox()
    watcher = await live.agent("watcher", preferred=1, max_load=1, online=False)
    async with live.stream(watcher) as stream:
        conv = await live.customer_says(inbox, "c1", "hello")
        queued = await stream.events_until("conversation.queued")
        await live.agent("alice")  # comes online, takes the conversation
        assigned = await stream.events_until("conversation.assigned")
    assert queued[-1]["conversation_id"] == conv["conversation_id"]
    assert assigned[-1]["conversation_id"] == conv["conversation_id"]


async def test_a_supervisor_sees_every_event(live: Live) -> None:
    inbox = await live.inbox(queue="billing")
    sup = await live.agent("sue", role="supervisor", skills=("general",), online=False)  # type: ignore[arg-type]
    bob = await live.agent("bob", skills=("billing",))
    async with live.stream(sup) as stream:
        await live.customer_says(inbox, "c1", "billing question")
        seen = await stream.events_until("conversation.assigned")
    assert seen[-1]["agent_id"] == bob.id


async def test_events_from_another_process_arrive_by_polling(live: Live) -> None:
    """A write through a separate database connection (as another app process would
    make) reaches the stream without any in-process notification."""
    alice = await live.agent("alice", online=False)
    async with live.stream(alice) as stream:
        import uuid

        from threadline.core.access import Principal
        from threadline.core.agents import AgentStatus, Role
        from threadline.service import agents as agent_service

        me = Principal(uuid.UUID(alice.id), Role.AGENT, frozenset({"general"}))
        await live.tx.write(
            lambda uow: agent_service.set_status(
                uow, me, me.agent_id, AgentStatus.AWAY, live.clock()
            )
        )
        event = await stream.next_event(timeout=3)
    assert event["type"] == "agent.status_changed"
    assert event["payload"] == {"from": "offline", "to": "away"}


async def test_a_logged_out_token_stops_receiving_on_an_open_socket(
    database_url: str, clock: FakeClock
) -> None:
    async with serve(database_url, clock, stream_recheck_seconds=0.2) as live:
        alice = await live.agent("alice", online=False)
        async with live.stream(alice) as stream:
            logout = await live.http.post("/api/v1/auth/logout", headers=alice.headers)
            assert logout.status_code == 204
            with pytest.raises(ConnectionClosed) as closed:
                await drain(stream)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def drain(stream: Stream) -> None:
    """Read frames until the server closes the socket (or 3 s pass without one)."""
    while True:
        await asyncio.wait_for(stream.ws.recv(), 3)


async def test_an_agent_whose_desk_is_gone_is_set_away_and_keeps_their_work(
    database_url: str, clock: FakeClock
) -> None:
    async with serve(
        database_url, clock, stream_recheck_seconds=0.05, desk_away_after_seconds=120
    ) as live:
        inbox = await live.inbox()
        alice = await live.agent("alice")
        bob = await live.agent("bob", online=False)
        said = await live.customer_says(inbox, "c1", "Hello?")
        assert said["assigned_agent_id"] == alice.id
        await live.set_status(bob, "online")  # bob works through the API: no desk
        async with live.stream(alice):
            # Time moves on in steps under the grace, as real time does between
            # re-checks; each re-check sees the open desk at the new time.
            for _ in range(5):
                clock.advance(100)
                await asyncio.sleep(0.3)
            assert await status_of(live, alice) == "online"
        clock.advance(119)
        await asyncio.sleep(0.3)
        assert await status_of(live, alice) == "online"  # a reload's worth of grace
        clock.advance(2)
        for _ in range(100):
            if await status_of(live, alice) == "away":
                break
            await asyncio.sleep(0.05)
        assert await status_of(live, alice) == "away"
        assert await status_of(live, bob) == "online"
        held = await live.conversation(alice, said["conversation_id"])
        assert held["conversation"]["assigned_agent_id"] == alice.id  # she keeps her work
        events = await live.tx.read(lambda uow: uow.events.after(0, limit=1000))
        [away] = [e for e in events if e.type == "agent.status_changed" and e.actor == "system"]
        assert away.payload == {"from": "online", "to": "away", "cause": "desk_disconnected"}


async def status_of(live: Live, agent: AgentHandle) -> str:
    return str((await live.http.get("/api/v1/me", headers=agent.headers)).json()["status"])
