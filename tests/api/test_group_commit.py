"""Inbound messages posted at the same time share transactions (group commit) and
still each get their own, correct answer."""

from __future__ import annotations

import asyncio

from tests.support.live import Live


async def _post(live: Live, headers: dict[str, str], address: str, text: str, ext: str):  # type: ignore[no-untyped-def]
    body = {"external_id": ext, "customer": {"address": address}, "text": text}
    return await live.http.post("/api/v1/channel/messages", json=body, headers=headers)


async def test_a_burst_of_messages_is_stored_once_each_in_the_right_threads(live: Live) -> None:
    inbox = await live.inbox()
    sup = await live.agent("sue", role="supervisor", online=False)  # type: ignore[arg-type]
    replies = await asyncio.gather(
        *(_post(live, inbox.headers, f"c{n % 5}", f"message {n}", f"burst-{n}") for n in range(60))
    )

    assert [r.status_code for r in replies] == [201] * 60
    threads = {r.json()["conversation_id"] for r in replies}
    assert len(threads) == 5
    total = 0
    for conv_id in threads:
        detail = await live.conversation(sup, conv_id)
        seqs = [m["seq"] for m in detail["messages"]]
        assert seqs == list(range(1, len(seqs) + 1))
        total += len(seqs)
    assert total == 60
    received = [
        e
        for e in (await live.tx.read(lambda uow: uow.events.after(0, limit=1000)))
        if e.type == "message.received"
    ]
    assert len(received) == 60


async def test_duplicates_and_bad_tokens_in_a_burst_are_refused_alone(live: Live) -> None:
    inbox = await live.inbox()
    bad = {"Authorization": "Bearer tl_inbox_not-a-real-token"}
    replies = await asyncio.gather(
        _post(live, inbox.headers, "c1", "first", "same-id"),
        _post(live, inbox.headers, "c2", "hello", "other-id"),
        _post(live, inbox.headers, "c1", "first again", "same-id"),
        _post(live, bad, "c3", "intruder", "x"),
        _post(live, inbox.headers, "c4", "hi", "fourth-id"),
    )
    statuses = [r.status_code for r in replies]
    assert statuses[3] == 401
    assert sorted([statuses[0], statuses[2]]) == [201, 409]
    assert (statuses[1], statuses[4]) == (201, 201)
    winner = replies[0] if statuses[0] == 201 else replies[2]
    loser = replies[2] if statuses[0] == 201 else replies[0]
    assert loser.json()["error"]["details"]["message_id"] == winner.json()["message_id"]
