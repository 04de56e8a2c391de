"""A subscriber that falls behind is cut off without losing any event it was given or
any event after it: it resumes from the last one it saw."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from threadline.adapters.repositories.events import StoredEvent
from threadline.adapters.stream import QUEUE_LIMIT, Subscription, for_principal
from threadline.core.access import Principal
from threadline.core.agents import Role

SUPERVISOR = Principal(uuid.uuid4(), Role.SUPERVISOR, frozenset())


def event(seq: int) -> StoredEvent:
    return StoredEvent(
        seq, "message.received", datetime(2026, 1, 1, tzinfo=UTC), "customer", None, None, "q", {}
    )


def drain(sub: Subscription) -> list[int | None]:
    out: list[int | None] = []
    while not sub.queue.empty():
        item = sub.queue.get_nowait()
        out.append(None if item is None else item.seq)
    return out


def test_an_overflowing_subscriber_keeps_a_gapless_prefix_and_then_the_end_marker() -> None:
    sub = Subscription(for_principal(SUPERVISOR), 0)
    sub.go_live()
    for seq in range(1, QUEUE_LIMIT + 5):
        sub.offer(event(seq))

    received = drain(sub)

    assert received[-1] is None
    seqs = received[:-1]
    assert seqs == list(range(1, len(seqs) + 1))  # nothing dropped from the middle
    assert sub.overflowed
    # The client reconnects after its last.
    resumed = Subscription(for_principal(SUPERVISOR), seqs[-1])
    resumed.go_live()
    resumed.offer(event(seqs[-1] + 1))
    assert drain(resumed) == [seqs[-1] + 1]


def test_a_whole_replay_fits_without_overflowing() -> None:
    from threadline.adapters.stream import MAX_REPLAY

    sub = Subscription(for_principal(SUPERVISOR), 0)
    for seq in range(1, MAX_REPLAY + 1):
        sub.replay(event(seq))
    assert not sub.overflowed
    assert sub.queue.qsize() == MAX_REPLAY
