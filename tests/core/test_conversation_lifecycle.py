"""The conversation aggregate and its lifecycle (DESIGN.md §2, §4).

Pure tests: no database, no clock. Every call gets its `now`, and the tests check that
the aggregate stamps exactly that time on what it records.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from threadline.core import pacing
from threadline.core.classify import MessageKind, OutboundContext
from threadline.core.conversations import (
    ALLOWED_TRANSITIONS,
    CloseReason,
    Conversation,
    ConversationState,
    WaitingOn,
)
from threadline.core.errors import Forbidden, InvalidInput, InvalidTransition
from threadline.core.events import ACTOR_CUSTOMER, ACTOR_ROUTER, Event, EventType
from threadline.core.handoff import Handoff

S = ConversationState
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT_A = uuid.UUID("00000000-0000-4000-8000-00000000000a")
AGENT_B = uuid.UUID("00000000-0000-4000-8000-00000000000b")
AGENT_C = uuid.UUID("00000000-0000-4000-8000-00000000000c")
CONV_ID = uuid.UUID("00000000-0000-4000-8000-0000000000c0")
CUSTOMER_ID = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
INBOX_ID = uuid.UUID("00000000-0000-4000-8000-0000000000c2")
SESSION_1 = uuid.UUID("00000000-0000-4000-8000-000000000051")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def open_conv(*, channel: str = "web", skill: str = "billing", now: datetime = T0) -> Conversation:
    return Conversation.open(
        id=CONV_ID,
        customer_id=CUSTOMER_ID,
        inbox_id=INBOX_ID,
        channel=channel,
        skill=skill,
        session_id=SESSION_1,
        now=now,
        timing=pacing.timing_for(channel),
    )


def customer_writes(conv: Conversation, now: datetime, bot: str | None = None) -> int:
    return conv.receive_customer_message(
        timing=pacing.timing_for(conv.channel),
        message_id=new_id(),
        now=now,
        new_session_id=new_id(),
        bot=bot,
    )


def agent_writes(conv: Conversation, agent: uuid.UUID, now: datetime) -> int:
    return conv.record_agent_message(
        timing=pacing.timing_for(conv.channel),
        agent_id=agent,
        message_id=new_id(),
        now=now,
        context=OutboundContext.STATEMENT,
    )


def assigned_conv(*, agent: uuid.UUID = AGENT_A, channel: str = "web") -> Conversation:
    conv = open_conv(channel=channel)
    conv.assign(agent, at(1), actor=ACTOR_ROUTER, cause="routed")
    return conv


def loaded_conv(state: ConversationState) -> Conversation:
    """A conversation as the repository would hand it back in `state`.

    `bot` and `inactive` have no public entry point on the aggregate yet (the bot and
    the inactivity timer live in the shell), so those are built as stored snapshots.
    """
    conv = Conversation(
        id=CONV_ID,
        customer_id=CUSTOMER_ID,
        inbox_id=INBOX_ID,
        channel="web",
        skill="billing",
        state=state,
        session_id=SESSION_1,
        session_seq=1,
        pace=30.0,
        opened_at=T0,
        updated_at=T0,
    )
    if state is S.ASSIGNED:
        conv.assigned_agent_id = AGENT_A
        conv.owner_agent_id = AGENT_A
        conv.waiting_on = WaitingOn.AGENT
        conv.respond_by = at(60)
    elif state is S.INACTIVE:
        conv.owner_agent_id = AGENT_A
        conv.waiting_on = WaitingOn.CUSTOMER
        conv.last_outbound_at = T0
    elif state is S.QUEUED:
        conv.enqueued_at = T0
    return conv


def new_events(conv: Conversation, before: int) -> list[Event]:
    return conv.events[before:]


def types(events: list[Event]) -> list[EventType]:
    return [e.type for e in events]


# -- the transition matrix --------------------------------------------------------------

# Written out from DESIGN.md §2, independently of ALLOWED_TRANSITIONS:
# bot -> queued (handoff); queued -> assigned (routing); assigned -> assigned (transfer),
# -> queued (transfer to skill, agent offline), -> inactive (waited on customer too long);
# inactive -> assigned (reactivation), -> queued (reactivation through the queue);
# any open state -> closed; closed -> a new session, in the bot or in the queue.
EXPECTED_ALLOWED: dict[ConversationState, set[ConversationState]] = {
    S.BOT: {S.QUEUED, S.CLOSED},
    S.QUEUED: {S.ASSIGNED, S.INACTIVE, S.CLOSED},
    S.ASSIGNED: {S.ASSIGNED, S.QUEUED, S.INACTIVE, S.CLOSED, S.BOT},
    S.INACTIVE: {S.QUEUED, S.CLOSED},
    S.CLOSED: {S.BOT, S.QUEUED},
}
MATRIX = list(itertools.product(list(S), list(S)))


def test_allowed_transitions_table_matches_the_design() -> None:
    assert {s: set(t) for s, t in ALLOWED_TRANSITIONS.items()} == EXPECTED_ALLOWED


def test_only_closed_is_not_open() -> None:
    assert [s for s in S if not s.is_open] == [S.CLOSED]


def drive(conv: Conversation, target: ConversationState, now: datetime) -> str:
    """Ask the aggregate to move to `target` through its public API where it has one.

    Returns the name of the entry point used, for the assertion messages."""
    if target is S.ASSIGNED:
        conv.assign(AGENT_B, now, actor=ACTOR_ROUTER, cause="routed")
        return "assign"
    if target is S.CLOSED:
        conv.close(now, actor="agent:x", reason=CloseReason.AGENT)
        return "close"
    if target is S.INACTIVE:
        if conv.waiting_on is WaitingOn.AGENT and conv.state.is_open:
            conv.waiting_on = WaitingOn.CUSTOMER  # only a silent customer's can go inactive
        conv.go_inactive(now, pacing.timing_for(conv.channel), actor="agent:x", cause="agent")
        return "go_inactive"
    if target is S.QUEUED:
        if conv.state in (S.CLOSED, S.INACTIVE):
            customer_writes(conv, now)
            return "receive_customer_message"
        if conv.state is S.BOT:
            timing = pacing.timing_for(conv.channel)
            conv.hand_off(Handoff(summary="over to you"), now, actor="bot:x", timing=timing)
            return "hand_off"
        conv.requeue(now, actor=ACTOR_ROUTER, cause="agent_offline")
        return "requeue"
    if target is S.BOT:
        if conv.state is S.CLOSED:
            customer_writes(conv, now, bot="Acme assistant")
            return "receive_customer_message"
        conv.lend_to_bot("collect_payment", "Acme assistant", now, actor="agent:x")
        return "lend_to_bot"
    # Any other move has no entry point: `_move` must refuse it.
    conv._move(target, now)
    return "_move"


@pytest.mark.parametrize(
    ("source", "target"),
    [pair for pair in MATRIX if pair[1] in EXPECTED_ALLOWED[pair[0]]],
    ids=lambda s: str(s),
)
def test_every_allowed_transition_moves_the_conversation(
    source: ConversationState, target: ConversationState
) -> None:
    conv = loaded_conv(source)
    now = at(500)
    via = drive(conv, target, now)
    assert conv.state is target, via
    assert conv.updated_at == now
    if via != "_move":
        assert conv.events, f"{via} recorded no event"
        assert all(e.occurred_at == now for e in conv.events)
        assert all(e.conversation_id == CONV_ID for e in conv.events)


@pytest.mark.parametrize(
    ("source", "target"),
    [pair for pair in MATRIX if pair[1] not in EXPECTED_ALLOWED[pair[0]]],
    ids=lambda s: str(s),
)
def test_every_disallowed_transition_raises_and_changes_nothing(
    source: ConversationState, target: ConversationState
) -> None:
    conv = loaded_conv(source)
    snapshot = (conv.state, conv.updated_at, conv.assigned_agent_id, conv.owner_agent_id)
    snapshot += (conv.respond_by, conv.waiting_on, conv.enqueued_at, conv.session_seq)
    with pytest.raises(InvalidTransition) as info:
        drive(conv, target, at(500))
    assert info.value.code == "invalid_transition"
    assert conv.events == []
    after = (conv.state, conv.updated_at, conv.assigned_agent_id, conv.owner_agent_id)
    after += (conv.respond_by, conv.waiting_on, conv.enqueued_at, conv.session_seq)
    assert after == snapshot


def test_disallowed_move_names_both_states() -> None:
    conv = loaded_conv(S.BOT)
    with pytest.raises(InvalidTransition) as info:
        conv._move(S.INACTIVE, at(1))
    assert info.value.details == {"state": "bot", "target": "inactive"}


@pytest.mark.parametrize("state", [S.BOT, S.INACTIVE, S.CLOSED], ids=str)
@pytest.mark.parametrize(
    "transfer",
    [
        lambda c: c.transfer_to_agent(AGENT_B, at(9), actor="agent:x"),
        lambda c: c.transfer_to_skill("tech", at(9), actor="agent:x"),
    ],
    ids=["to_agent", "to_skill"],
)
def test_only_queued_or_assigned_conversations_can_be_transferred(
    state: ConversationState, transfer: Callable[[Conversation], None]
) -> None:
    conv = loaded_conv(state)
    with pytest.raises(InvalidTransition):
        transfer(conv)
    assert conv.state is state
    assert conv.skill == "billing"
    assert conv.events == []


# -- opening --------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["web", "sms", "whatsapp", "app", "api", "carrier-pigeon"])
def test_open_starts_queued_with_opened_and_queued_events(channel: str) -> None:
    now = at(42)
    conv = open_conv(channel=channel, skill="tech", now=now)

    assert conv.state is S.QUEUED
    assert conv.session_id == SESSION_1
    assert conv.session_seq == 1
    assert conv.pace == pacing.timing_for(channel).default_pace
    assert conv.waiting_on is WaitingOn.NOBODY
    assert conv.respond_by is None
    assert conv.assigned_agent_id is None
    assert conv.owner_agent_id is None
    assert conv.enqueued_at == now
    assert conv.opened_at == conv.updated_at == now
    assert conv.message_count == 0

    opened, queued = conv.events
    assert opened.type is EventType.CONVERSATION_OPENED
    assert queued.type is EventType.QUEUED
    for event in conv.events:
        assert event.occurred_at == now
        assert event.conversation_id == CONV_ID
        assert event.actor == ACTOR_CUSTOMER
        # Nobody is assigned yet: the audience is the skill's queue.
        assert event.agent_id is None
        assert event.queue == "tech"
    assert opened.payload["session_id"] == str(SESSION_1)
    assert opened.payload["session_seq"] == 1
    assert opened.payload["channel"] == channel
    assert opened.payload["customer_id"] == str(CUSTOMER_ID)
    assert queued.payload["cause"] == "new_conversation"


def test_unknown_channel_uses_the_fallback_pace() -> None:
    conv = open_conv(channel="carrier-pigeon")
    assert conv.pace == pacing.FALLBACK_TIMING.default_pace


def test_web_chat_starts_faster_than_sms() -> None:
    assert open_conv(channel="web").pace < open_conv(channel="sms").pace


# -- customer messages and respond-by -----------------------------------------------------


@pytest.mark.parametrize("channel", ["web", "sms", "whatsapp", "api"])
def test_first_customer_message_sets_respond_by_from_pace(channel: str) -> None:
    conv = open_conv(channel=channel)
    customer_writes(conv, at(5))
    timing = pacing.timing_for(channel)
    assert conv.waiting_on is WaitingOn.AGENT
    assert conv.respond_by == pacing.respond_by(at(5), timing.default_pace, timing)
    assert conv.last_customer_message_at == at(5)
    event = conv.events[-1]
    assert event.type is EventType.MESSAGE_RECEIVED
    assert event.payload["respond_by"] == conv.respond_by.isoformat()


def test_more_customer_messages_do_not_push_respond_by_later() -> None:
    conv = assigned_conv(channel="sms")
    customer_writes(conv, at(10))
    promised = conv.respond_by
    assert promised is not None
    for seconds in (20, 300, 5000):
        customer_writes(conv, at(seconds))
        assert conv.respond_by == promised
        assert conv.events[-1].payload["respond_by"] == promised.isoformat()
    # ...though the latest message time still moves on.
    assert conv.last_customer_message_at == at(5000)


def test_more_customer_messages_do_not_change_pace() -> None:
    conv = assigned_conv(channel="sms")
    customer_writes(conv, at(10))
    agent_writes(conv, AGENT_A, at(20))
    customer_writes(conv, at(80))
    pace = conv.pace
    customer_writes(conv, at(4000))
    assert conv.pace == pace


def test_agent_reply_waits_on_customer_and_clears_respond_by() -> None:
    conv = assigned_conv()
    customer_writes(conv, at(10))
    agent_writes(conv, AGENT_A, at(25))
    assert conv.waiting_on is WaitingOn.CUSTOMER
    assert conv.respond_by is None
    assert conv.last_outbound_at == at(25)
    assert conv.updated_at == at(25)
    sent = conv.events[-1]
    assert sent.type is EventType.MESSAGE_SENT
    assert sent.agent_id == AGENT_A
    assert sent.actor == f"agent:{AGENT_A}"
    assert sent.occurred_at == at(25)


def test_customer_answer_after_agent_reply_starts_a_new_respond_by() -> None:
    conv = assigned_conv(channel="whatsapp")
    customer_writes(conv, at(10))
    first = conv.respond_by
    agent_writes(conv, AGENT_A, at(20))
    customer_writes(conv, at(50))
    timing = pacing.timing_for("whatsapp")
    assert conv.respond_by == pacing.respond_by(at(50), conv.pace, timing)
    assert first is not None
    assert conv.respond_by is not None
    assert conv.respond_by != first


@pytest.mark.parametrize(
    ("channel", "latency"),
    [("sms", 60.0), ("sms", 7200.0), ("web", 4.0), ("whatsapp", 0.0), ("api", 123.5)],
)
def test_pace_follows_the_customers_reply_latency_with_the_channel_alpha(
    channel: str, latency: float
) -> None:
    timing = pacing.timing_for(channel)
    conv = assigned_conv(channel=channel)
    customer_writes(conv, at(10))
    assert conv.pace == timing.default_pace  # no agent message yet: nothing to measure
    agent_writes(conv, AGENT_A, at(100))
    customer_writes(conv, at(100 + latency))
    expected = timing.alpha * latency + (1 - timing.alpha) * timing.default_pace
    assert conv.pace == pytest.approx(expected)
    # The new promise is made from the updated pace.
    assert conv.respond_by == pacing.respond_by(at(100 + latency), conv.pace, timing)


def test_sms_pace_worked_example() -> None:
    # sms: default pace 600 s, alpha 0.3 -> 0.3 * 60 + 0.7 * 600 = 438 s; k=2 -> 876 s.
    conv = assigned_conv(channel="sms")
    customer_writes(conv, at(0))
    agent_writes(conv, AGENT_A, at(100))
    customer_writes(conv, at(160))
    assert conv.pace == pytest.approx(438.0)
    assert conv.respond_by == at(160 + 876)


def test_pace_converges_on_a_steady_customer() -> None:
    conv = assigned_conv(channel="sms")
    t = 0.0
    for _ in range(40):
        customer_writes(conv, at(t))
        agent_writes(conv, AGENT_A, at(t + 1))
        t += 1 + 5
    customer_writes(conv, at(t))
    assert conv.pace == pytest.approx(5.0, abs=0.01)


def test_reopening_after_days_does_not_count_the_silence_as_pace() -> None:
    conv = assigned_conv(channel="web")
    customer_writes(conv, at(10))
    agent_writes(conv, AGENT_A, at(20))
    conv.close(at(30), actor=f"agent:{AGENT_A}", reason=CloseReason.AGENT)
    pace = conv.pace
    customer_writes(conv, at(3 * 86400))
    assert conv.pace == pace


# -- reopening --------------------------------------------------------------------------


def test_closed_conversation_reopens_as_a_new_session_on_a_customer_message() -> None:
    conv = assigned_conv(channel="web")
    customer_writes(conv, at(10))
    agent_writes(conv, AGENT_A, at(20))
    conv.close(at(30), actor=f"agent:{AGENT_A}", reason=CloseReason.AGENT)
    before = len(conv.events)

    session_2 = new_id()
    reopen_at = at(86400)
    number = conv.receive_customer_message(
        timing=pacing.timing_for(conv.channel),
        message_id=new_id(),
        now=reopen_at,
        new_session_id=session_2,
    )

    assert conv.state is S.QUEUED
    assert conv.session_id == session_2
    assert conv.session_seq == 2
    assert conv.enqueued_at == reopen_at
    assert conv.owner_agent_id == AGENT_A  # remembered, so reopening can prefer them
    assert conv.assigned_agent_id is None
    assert conv.waiting_on is WaitingOn.AGENT
    timing = pacing.timing_for("web")
    assert conv.respond_by == pacing.respond_by(reopen_at, conv.pace, timing)
    assert number == 3  # the thread goes on: messages 1 and 2 were in session 1

    events = new_events(conv, before)
    assert types(events) == [EventType.SESSION_OPENED, EventType.QUEUED, EventType.MESSAGE_RECEIVED]
    session_opened, queued, received = events
    assert session_opened.payload == {"session_id": str(session_2), "session_seq": 2}
    assert queued.payload["cause"] == "reopened"
    for event in events:
        assert event.occurred_at == reopen_at
        assert event.queue == "billing"
        assert event.agent_id is None
    assert received.payload["respond_by"] == conv.respond_by.isoformat()


def test_each_reopening_is_a_further_session() -> None:
    conv = open_conv()
    seen = {conv.session_id}
    for n in range(2, 6):
        conv.close(at(n * 100), actor="bot", reason=CloseReason.BOT)
        sid = new_id()
        conv.receive_customer_message(
            timing=pacing.timing_for(conv.channel),
            message_id=new_id(),
            now=at(n * 100 + 1),
            new_session_id=sid,
        )
        assert conv.session_seq == n
        assert conv.session_id == sid
        seen.add(sid)
    assert len(seen) == 5


def test_customer_message_in_an_open_conversation_keeps_the_session() -> None:
    conv = assigned_conv()
    customer_writes(conv, at(5))
    assert conv.session_id == SESSION_1
    assert conv.session_seq == 1
    assert EventType.SESSION_OPENED not in types(conv.events)


# -- who may reply ------------------------------------------------------------------------


def test_only_the_assigned_agent_can_reply() -> None:
    conv = assigned_conv(agent=AGENT_A)
    customer_writes(conv, at(5))
    before = (len(conv.events), conv.message_count, conv.respond_by, conv.waiting_on)
    with pytest.raises(Forbidden):
        agent_writes(conv, AGENT_B, at(6))
    assert (len(conv.events), conv.message_count, conv.respond_by, conv.waiting_on) == before
    assert agent_writes(conv, AGENT_A, at(7)) == 2


def test_nobody_can_reply_in_a_queued_conversation_not_even_its_former_agent() -> None:
    conv = assigned_conv(agent=AGENT_A)
    customer_writes(conv, at(5))
    conv.requeue(at(6), actor=ACTOR_ROUTER, cause="agent_offline")
    for agent in (AGENT_A, AGENT_B):
        with pytest.raises(InvalidTransition):
            agent_writes(conv, agent, at(7))
    assert conv.waiting_on is WaitingOn.AGENT
    assert conv.message_count == 1


def test_no_reply_in_a_closed_conversation() -> None:
    conv = assigned_conv(agent=AGENT_A)
    conv.close(at(5), actor=f"agent:{AGENT_A}", reason=CloseReason.AGENT)
    with pytest.raises(InvalidTransition):
        agent_writes(conv, AGENT_A, at(6))


# -- routing moves ------------------------------------------------------------------------


def test_assign_sets_agent_and_owner_and_leaves_the_queue() -> None:
    conv = open_conv()
    customer_writes(conv, at(5))
    promised = conv.respond_by
    conv.assign(AGENT_A, at(9), actor=ACTOR_ROUTER, cause="routed")
    assert conv.state is S.ASSIGNED
    assert conv.assigned_agent_id == conv.owner_agent_id == AGENT_A
    assert conv.enqueued_at is None
    assert conv.respond_by == promised
    event = conv.events[-1]
    assert event.type is EventType.ASSIGNED
    assert (event.agent_id, event.queue, event.actor) == (AGENT_A, "billing", ACTOR_ROUTER)
    assert event.payload["cause"] == "routed"
    assert promised is not None
    assert event.payload["respond_by"] == promised.isoformat()


def test_requeue_keeps_respond_by_and_tells_the_agent_and_the_queue() -> None:
    conv = assigned_conv(agent=AGENT_A)
    customer_writes(conv, at(5))
    promised = conv.respond_by
    before = len(conv.events)
    conv.requeue(at(50), actor=ACTOR_ROUTER, cause="agent_offline")
    assert conv.state is S.QUEUED
    assert conv.respond_by == promised
    assert conv.waiting_on is WaitingOn.AGENT
    assert conv.assigned_agent_id is None
    assert conv.owner_agent_id == AGENT_A
    assert conv.enqueued_at == at(50)
    unassigned, queued = new_events(conv, before)
    assert unassigned.type is EventType.UNASSIGNED
    assert (unassigned.agent_id, unassigned.queue) == (AGENT_A, None)
    assert queued.type is EventType.QUEUED
    assert (queued.agent_id, queued.queue) == (None, "billing")
    assert unassigned.payload["cause"] == queued.payload["cause"] == "agent_offline"


def test_transfer_to_agent_keeps_respond_by_and_tells_both_agents() -> None:
    conv = assigned_conv(agent=AGENT_A, channel="sms")
    customer_writes(conv, at(5))
    promised = conv.respond_by
    before = len(conv.events)

    conv.transfer_to_agent(AGENT_B, at(60), actor=f"agent:{AGENT_A}")

    assert conv.state is S.ASSIGNED
    assert conv.assigned_agent_id == AGENT_B
    assert conv.owner_agent_id == AGENT_B
    assert conv.respond_by == promised
    assert conv.waiting_on is WaitingOn.AGENT
    transferred, unassigned, assigned = new_events(conv, before)
    assert transferred.type is EventType.TRANSFERRED
    assert transferred.agent_id == AGENT_A  # the agent who gives it away hears of it
    assert transferred.payload["to_agent_id"] == str(AGENT_B)
    assert (unassigned.type, unassigned.agent_id) == (EventType.UNASSIGNED, AGENT_A)
    assert unassigned.payload["cause"] == "transfer"
    assert assigned.type is EventType.ASSIGNED
    assert (assigned.agent_id, assigned.queue) == (AGENT_B, "billing")
    assert assigned.payload["cause"] == "transfer"
    assert promised is not None
    assert assigned.payload["respond_by"] == promised.isoformat()
    for event in (transferred, unassigned, assigned):
        assert event.occurred_at == at(60)
        assert event.actor == f"agent:{AGENT_A}"
    # ...and the new agent may now reply, the old one may not.
    with pytest.raises(Forbidden):
        agent_writes(conv, AGENT_A, at(61))
    agent_writes(conv, AGENT_B, at(62))


def test_transfer_from_the_queue_to_an_agent_is_a_plain_assignment() -> None:
    conv = open_conv()
    customer_writes(conv, at(5))
    promised = conv.respond_by
    before = len(conv.events)
    conv.transfer_to_agent(AGENT_B, at(7), actor="agent:supervisor")
    assert conv.state is S.ASSIGNED
    assert conv.assigned_agent_id == AGENT_B
    assert conv.respond_by == promised
    (assigned,) = new_events(conv, before)
    assert assigned.type is EventType.ASSIGNED
    assert assigned.agent_id == AGENT_B


def test_transfer_to_the_same_agent_is_refused_and_changes_nothing() -> None:
    conv = assigned_conv(agent=AGENT_A)
    before = len(conv.events)
    with pytest.raises(InvalidInput):
        conv.transfer_to_agent(AGENT_A, at(9), actor=f"agent:{AGENT_A}")
    assert conv.assigned_agent_id == AGENT_A
    assert len(conv.events) == before


def test_transfer_to_skill_keeps_respond_by_and_tells_agent_and_both_queues() -> None:
    conv = assigned_conv(agent=AGENT_A, channel="whatsapp")
    customer_writes(conv, at(5))
    promised = conv.respond_by
    before = len(conv.events)

    conv.transfer_to_skill("tech", at(70), actor=f"agent:{AGENT_A}")

    assert conv.state is S.QUEUED
    assert conv.skill == "tech"
    assert conv.assigned_agent_id is None
    assert conv.respond_by == promised
    assert conv.waiting_on is WaitingOn.AGENT
    assert conv.enqueued_at == at(70)
    transferred, unassigned, queued = new_events(conv, before)
    assert transferred.type is EventType.TRANSFERRED
    assert (transferred.agent_id, transferred.queue) == (AGENT_A, "billing")
    assert transferred.payload["to_queue"] == "tech"
    assert unassigned.type is EventType.UNASSIGNED
    assert unassigned.agent_id == AGENT_A
    assert unassigned.payload["cause"] == "transfer"
    assert queued.type is EventType.QUEUED
    assert (queued.agent_id, queued.queue) == (None, "tech")
    assert queued.payload["cause"] == "transfer"
    assert all(e.occurred_at == at(70) for e in (transferred, unassigned, queued))


def test_transfer_between_queues_moves_the_waiting_conversation() -> None:
    conv = open_conv(skill="billing")
    customer_writes(conv, at(5))
    promised = conv.respond_by
    before = len(conv.events)
    conv.transfer_to_skill("tech", at(8), actor="agent:supervisor")
    assert conv.state is S.QUEUED
    assert conv.skill == "tech"
    assert conv.respond_by == promised
    assert conv.enqueued_at == at(8)
    transferred, queued = new_events(conv, before)
    assert transferred.type is EventType.TRANSFERRED
    assert (transferred.agent_id, transferred.queue) == (None, "billing")
    assert queued.type is EventType.QUEUED
    assert queued.queue == "tech"


def test_transfer_to_the_skill_it_already_waits_in_is_refused() -> None:
    conv = open_conv(skill="billing")
    before = len(conv.events)
    with pytest.raises(InvalidInput):
        conv.transfer_to_skill("billing", at(8), actor="agent:supervisor")
    assert len(conv.events) == before
    assert conv.enqueued_at == T0


def test_assigned_agent_can_hand_back_to_their_own_skill_queue() -> None:
    conv = assigned_conv(agent=AGENT_A)
    conv.transfer_to_skill("billing", at(8), actor=f"agent:{AGENT_A}")
    assert conv.state is S.QUEUED
    assert conv.skill == "billing"
    assert conv.assigned_agent_id is None


# -- closing --------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", list(CloseReason), ids=str)
def test_close_records_reason_and_clears_assignment_but_keeps_owner(reason: CloseReason) -> None:
    conv = assigned_conv(agent=AGENT_A)
    customer_writes(conv, at(5))
    before = len(conv.events)
    conv.close(at(90), actor="agent:someone", reason=reason)

    assert conv.state is S.CLOSED
    assert conv.assigned_agent_id is None
    assert conv.owner_agent_id == AGENT_A
    assert conv.waiting_on is WaitingOn.NOBODY
    assert conv.respond_by is None
    assert conv.enqueued_at is None
    assert conv.updated_at == at(90)
    (closed,) = new_events(conv, before)
    assert closed.type is EventType.CLOSED
    assert closed.occurred_at == at(90)
    assert closed.actor == "agent:someone"
    assert closed.payload["reason"] == str(reason)
    assert closed.payload["session_id"] == str(SESSION_1)
    assert closed.payload["session_seq"] == 1
    # The agent loses the conversation and the queue's watchers hear it ended.
    assert (closed.agent_id, closed.queue) == (AGENT_A, "billing")


def test_closing_a_queued_conversation_tells_the_queue() -> None:
    conv = open_conv(skill="tech")
    customer_writes(conv, at(5))
    conv.close(at(6), actor="bot", reason=CloseReason.CUSTOMER_DECLINED_MORE_HELP)
    closed = conv.events[-1]
    assert (closed.agent_id, closed.queue) == (None, "tech")
    assert conv.respond_by is None


def test_a_closed_conversation_cannot_be_closed_again() -> None:
    conv = open_conv()
    conv.close(at(5), actor="bot", reason=CloseReason.BOT)
    with pytest.raises(InvalidTransition):
        conv.close(at(6), actor="bot", reason=CloseReason.BOT)
    assert conv.updated_at == at(5)


# -- numbering and time ---------------------------------------------------------------------


def test_messages_are_numbered_one_two_three_across_customer_and_agent() -> None:
    conv = assigned_conv(agent=AGENT_A)
    numbers = [
        customer_writes(conv, at(1)),
        customer_writes(conv, at(1)),  # same timestamp: the number still orders them
        agent_writes(conv, AGENT_A, at(2)),
        customer_writes(conv, at(3)),
        agent_writes(conv, AGENT_A, at(4)),
    ]
    assert numbers == [1, 2, 3, 4, 5]
    assert conv.message_count == 5


def test_message_numbers_continue_across_sessions() -> None:
    conv = assigned_conv(agent=AGENT_A)
    customer_writes(conv, at(1))
    agent_writes(conv, AGENT_A, at(2))
    conv.close(at(3), actor=f"agent:{AGENT_A}", reason=CloseReason.AGENT)
    assert customer_writes(conv, at(100)) == 3
    conv.assign(AGENT_C, at(101), actor=ACTOR_ROUTER, cause="routed")
    assert agent_writes(conv, AGENT_C, at(102)) == 4


def test_refused_reply_does_not_use_up_a_number() -> None:
    conv = assigned_conv(agent=AGENT_A)
    customer_writes(conv, at(1))
    with pytest.raises(Forbidden):
        agent_writes(conv, AGENT_B, at(2))
    assert agent_writes(conv, AGENT_A, at(3)) == 2


def test_every_event_carries_the_now_it_was_given() -> None:
    # Times deliberately far apart and out of wall-clock reach: the aggregate must use
    # them, not the clock.
    steps: list[tuple[datetime, Callable[[Conversation, datetime], object]]] = [
        (datetime(2031, 1, 1, tzinfo=UTC), lambda c, t: customer_writes(c, t)),
        (
            datetime(2031, 1, 2, tzinfo=UTC),
            lambda c, t: c.assign(AGENT_A, t, actor=ACTOR_ROUTER, cause="routed"),
        ),
        (datetime(2031, 1, 3, tzinfo=UTC), lambda c, t: agent_writes(c, AGENT_A, t)),
        (datetime(2031, 1, 4, tzinfo=UTC), lambda c, t: customer_writes(c, t)),
        (
            datetime(2031, 1, 5, tzinfo=UTC),
            lambda c, t: c.transfer_to_agent(AGENT_B, t, actor="agent:x"),
        ),
        (
            datetime(2031, 1, 6, tzinfo=UTC),
            lambda c, t: c.transfer_to_skill("tech", t, actor="agent:x"),
        ),
        (
            datetime(2031, 1, 7, tzinfo=UTC),
            lambda c, t: c.assign(AGENT_C, t, actor=ACTOR_ROUTER, cause="routed"),
        ),
        (
            datetime(2031, 1, 8, tzinfo=UTC),
            lambda c, t: c.requeue(t, actor=ACTOR_ROUTER, cause="agent_offline"),
        ),
        (
            datetime(2031, 1, 9, tzinfo=UTC),
            lambda c, t: c.close(t, actor="agent:x", reason=CloseReason.SUPERVISOR),
        ),
        (datetime(2031, 1, 10, tzinfo=UTC), lambda c, t: customer_writes(c, t)),
    ]
    opened_at = datetime(2030, 12, 31, tzinfo=UTC)
    conv = open_conv(now=opened_at)
    assert {e.occurred_at for e in conv.events} == {opened_at}
    for now, step in steps:
        before = len(conv.events)
        step(conv, now)
        fresh = new_events(conv, before)
        assert fresh, "every step records at least one event"
        assert {e.occurred_at for e in fresh} == {now}
        assert conv.updated_at == now
    assert conv.opened_at == opened_at


# -- a random walk over the public API ------------------------------------------------------


class ConversationMachine(RuleBasedStateMachine):
    """Random sequences of customer, agent, router and supervisor actions.

    Checks the invariants that tie the aggregate's fields together and that every
    observed state change is one the lifecycle allows."""

    agents = st.sampled_from([AGENT_A, AGENT_B, AGENT_C])
    skills = st.sampled_from(["billing", "tech", "sales"])
    gaps = st.floats(min_value=0, max_value=86400 * 3, allow_nan=False)

    @initialize(channel=st.sampled_from(["web", "sms", "whatsapp", "app", "api", "rcs"]))
    def start(self, channel: str) -> None:
        self.now = T0
        self.conv = open_conv(channel=channel)
        self.count = 0
        self.seq = 1

    def _step(self, gap: float, action: Callable[[datetime], object]) -> None:
        self.now = self.now + timedelta(seconds=gap)
        state_before = self.conv.state
        events_before = len(self.conv.events)
        try:
            action(self.now)
        except (InvalidTransition, InvalidInput, Forbidden):
            assert len(self.conv.events) == events_before
            assert self.conv.state is state_before
            return
        if self.conv.state is not state_before:
            assert self.conv.state in EXPECTED_ALLOWED[state_before]
        for event in self.conv.events[events_before:]:
            assert event.occurred_at == self.now
            assert event.conversation_id == CONV_ID

    @rule(gap=gaps)
    def customer_message(self, gap: float) -> None:
        def act(now: datetime) -> None:
            was_closed = self.conv.state is S.CLOSED
            waiting_before = self.conv.waiting_on
            promised = self.conv.respond_by
            self.count += 1
            assert customer_writes(self.conv, now) == self.count
            if was_closed:
                self.seq += 1
            assert self.conv.respond_by is not None
            if waiting_before is WaitingOn.AGENT:
                # The clock started at the first unanswered message; it stays put.
                assert self.conv.respond_by == promised
            else:
                timing = pacing.timing_for(self.conv.channel)
                assert now + timedelta(seconds=timing.floor) <= self.conv.respond_by
                assert self.conv.respond_by <= now + timedelta(seconds=timing.ceiling)

        self._step(gap, act)

    @rule(gap=gaps, kind=st.sampled_from([MessageKind.INEFFECTUAL, MessageKind.CLOSING]))
    def customer_message_asking_nothing(self, gap: float, kind: MessageKind) -> None:
        def act(now: datetime) -> None:
            before = (self.conv.waiting_on, self.conv.respond_by, self.conv.pace)
            state, session = self.conv.state, self.conv.session_id
            self.count += 1
            number = self.conv.receive_customer_message(
                timing=pacing.timing_for(self.conv.channel),
                message_id=new_id(),
                now=now,
                new_session_id=new_id(),
                kind=kind,
            )
            assert number == self.count
            assert self.conv.session_id == session  # never reopens
            if kind is MessageKind.CLOSING and state is not S.CLOSED:
                assert self.conv.state is S.CLOSED
            else:
                assert self.conv.state is state
                assert (self.conv.waiting_on, self.conv.respond_by, self.conv.pace) == before

        self._step(gap, act)

    @rule(gap=gaps, agent=agents)
    def agent_message(self, gap: float, agent: uuid.UUID) -> None:
        def act(now: datetime) -> None:
            number = agent_writes(self.conv, agent, now)
            self.count += 1
            assert number == self.count
            assert self.conv.assigned_agent_id == agent

        self._step(gap, act)

    # The router only picks from the queue; a closed conversation must refuse it.
    @precondition(lambda self: self.conv.state in (S.QUEUED, S.CLOSED))
    @rule(gap=gaps, agent=agents)
    def route(self, gap: float, agent: uuid.UUID) -> None:
        self._step(gap, lambda now: self.conv.assign(agent, now, actor=ACTOR_ROUTER, cause="r"))

    @rule(gap=gaps)
    def requeue(self, gap: float) -> None:
        # Only an assigned conversation is handed back to the queue by the service.
        if self.conv.state is S.ASSIGNED:
            self._step(gap, lambda now: self.conv.requeue(now, actor=ACTOR_ROUTER, cause="off"))

    @rule(gap=gaps, agent=agents)
    def transfer_to_agent(self, gap: float, agent: uuid.UUID) -> None:
        promised = self.conv.respond_by
        self._step(gap, lambda now: self.conv.transfer_to_agent(agent, now, actor="agent:x"))
        assert self.conv.respond_by == promised

    @rule(gap=gaps, skill=skills)
    def transfer_to_skill(self, gap: float, skill: str) -> None:
        promised = self.conv.respond_by
        self._step(gap, lambda now: self.conv.transfer_to_skill(skill, now, actor="agent:x"))
        assert self.conv.respond_by == promised

    @rule(gap=gaps, reason=st.sampled_from(list(CloseReason)))
    def close(self, gap: float, reason: CloseReason) -> None:
        self._step(gap, lambda now: self.conv.close(now, actor="agent:x", reason=reason))

    @invariant()
    def respond_by_exactly_when_waiting_on_agent(self) -> None:
        assert (self.conv.respond_by is not None) == (self.conv.waiting_on is WaitingOn.AGENT)

    @invariant()
    def assigned_agent_exactly_when_assigned(self) -> None:
        assert (self.conv.assigned_agent_id is not None) == (self.conv.state is S.ASSIGNED)
        if self.conv.state is S.ASSIGNED:
            assert self.conv.owner_agent_id == self.conv.assigned_agent_id

    @invariant()
    def enqueued_exactly_when_queued(self) -> None:
        assert (self.conv.enqueued_at is not None) == (self.conv.state is S.QUEUED)

    @invariant()
    def closed_waits_on_nobody(self) -> None:
        if self.conv.state is S.CLOSED:
            assert self.conv.waiting_on is WaitingOn.NOBODY

    @invariant()
    def counters_match(self) -> None:
        assert self.conv.message_count == self.count
        assert self.conv.session_seq == self.seq
        received = [e for e in self.conv.events if e.type is EventType.MESSAGE_RECEIVED]
        sent = [e for e in self.conv.events if e.type is EventType.MESSAGE_SENT]
        assert len(received) + len(sent) == self.count
        sessions = [e for e in self.conv.events if e.type is EventType.SESSION_OPENED]
        assert len(sessions) == self.seq - 1

    @invariant()
    def pace_stays_positive(self) -> None:
        assert self.conv.pace > 0


ConversationMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
TestConversationMachine = ConversationMachine.TestCase


@pytest.mark.parametrize("state", [S.BOT, S.QUEUED, S.CLOSED], ids=str)
def test_only_assigned_or_inactive_work_can_be_requeued(state: ConversationState) -> None:
    conv = loaded_conv(state)
    with pytest.raises(InvalidTransition):
        conv.requeue(at(500), actor=ACTOR_ROUTER, cause="agent_offline")
    assert conv.state is state


def _assigned_waiting_on_customer() -> Conversation:
    conv = open_conv()
    customer_writes(conv, T0)
    conv.assign(AGENT_A, at(1), actor=ACTOR_ROUTER, cause="routed")
    agent_writes(conv, AGENT_A, at(30))
    return conv


def test_an_ineffectual_message_changes_nothing_but_the_thread() -> None:
    conv = _assigned_waiting_on_customer()
    pace, count = conv.pace, conv.message_count
    conv.events.clear()
    conv.receive_customer_message(
        timing=pacing.timing_for(conv.channel),
        message_id=new_id(),
        now=at(40),
        new_session_id=new_id(),
        kind=MessageKind.INEFFECTUAL,
    )
    assert conv.waiting_on is WaitingOn.CUSTOMER
    assert conv.respond_by is None
    assert conv.pace == pace
    assert conv.state is ConversationState.ASSIGNED
    assert conv.message_count == count + 1
    assert [(e.type, e.payload["kind"]) for e in conv.events] == [
        (EventType.MESSAGE_RECEIVED, "ineffectual")
    ]


def test_a_closing_message_closes_the_session_once() -> None:
    conv = _assigned_waiting_on_customer()
    session = conv.session_id
    for n in range(2):  # a second "no" to a closed conversation closes nothing more
        conv.events.clear()
        conv.receive_customer_message(
            timing=pacing.timing_for(conv.channel),
            message_id=new_id(),
            now=at(40 + n),
            new_session_id=new_id(),
            kind=MessageKind.CLOSING,
        )
        assert conv.state is ConversationState.CLOSED
        assert conv.session_id == session
        closes = [e for e in conv.events if e.type is EventType.CLOSED]
        assert [e.payload["reason"] for e in closes] == (
            ["customer_declined_more_help"] if n == 0 else []
        )
    assert conv.assigned_agent_id is None
