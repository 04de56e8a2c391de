"""Inactivity, reactivation, auto-close and respond-by breaches (DESIGN.md §2, §4).

Pure tests of the aggregate and the timer policy: every call gets its `now`, and the
timers a transition sets are read from `timer_changes`, what the service persists.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from threadline.core import timers
from threadline.core.classify import MessageKind, OutboundContext
from threadline.core.conversations import (
    CloseReason,
    Conversation,
    ConversationState,
    TimerKind,
    WaitingOn,
)
from threadline.core.errors import InvalidInput, InvalidTransition
from threadline.core.events import ACTOR_ROUTER, EventType
from threadline.core.pacing import (
    ChannelTiming,
    inactive_at,
    respond_by,
    timing_for,
    update_pace,
)
from threadline.core.routing import WaitingConversation, order_waiting

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALICE = uuid.UUID("00000000-0000-4000-8000-00000000000a")
# Web chat: pace 30 s to start, inactive after 4 paces but at least 2 and at most 30 min.
WEB = ChannelTiming(
    default_pace=30, k=2, floor=30, ceiling=120, m=4, inactive_min=120, inactive_max=1800
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def assigned_waiting_on_customer(reply_at: float = 60) -> Conversation:
    conv = Conversation.open(
        id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        inbox_id=uuid.uuid4(),
        channel="web",
        skill="billing",
        session_id=uuid.uuid4(),
        now=T0,
        timing=WEB,
    )
    conv.receive_customer_message(
        message_id=uuid.uuid4(), now=T0, new_session_id=uuid.uuid4(), timing=WEB
    )
    conv.assign(ALICE, at(1), actor=ACTOR_ROUTER, cause="routed", load=1)
    conv.record_agent_message(
        agent_id=ALICE,
        message_id=uuid.uuid4(),
        now=at(reply_at),
        context=OutboundContext.STATEMENT,
        timing=WEB,
    )
    return conv


def customer_says(conv: Conversation, now: datetime, kind: MessageKind) -> None:
    conv.receive_customer_message(
        message_id=uuid.uuid4(), now=now, new_session_id=uuid.uuid4(), timing=WEB, kind=kind
    )


def inactive_conversation() -> Conversation:
    conv = assigned_waiting_on_customer()
    due = conv.timer_changes[TimerKind.INACTIVITY]
    assert due is not None
    timers.fire(conv, TimerKind.INACTIVITY, due, WEB)
    conv.events.clear()
    conv.timer_changes.clear()
    return conv


# -- timers set by messages ------------------------------------------------------------------


def test_a_customer_message_sets_the_respond_by_timer() -> None:
    conv = assigned_waiting_on_customer()
    conv.timer_changes.clear()
    customer_says(conv, at(100), MessageKind.SUBSTANTIVE)
    assert conv.timer_changes == {
        TimerKind.INACTIVITY: None,  # the customer is back: no inactivity
        TimerKind.RESPOND_BY: conv.respond_by,
    }


def test_an_agent_reply_cancels_respond_by_and_starts_the_inactivity_timer() -> None:
    conv = assigned_waiting_on_customer(reply_at=60)
    # pace 30 s x m 4 = 120 s, the web minimum: inactive two minutes after the reply.
    assert conv.timer_changes[TimerKind.RESPOND_BY] is None
    assert conv.timer_changes[TimerKind.INACTIVITY] == at(60 + 120)


@pytest.mark.parametrize(("pace", "wait"), [(10, 120), (100, 400), (3600, 1800)])
def test_inactivity_is_m_paces_between_the_bounds(pace: float, wait: float) -> None:
    assert inactive_at(T0, pace, WEB) == at(wait)


def test_thanks_while_waiting_on_the_customer_keeps_the_inactivity_timer() -> None:
    conv = assigned_waiting_on_customer()
    conv.timer_changes.clear()
    customer_says(conv, at(70), MessageKind.INEFFECTUAL)
    assert conv.timer_changes == {}
    assert conv.waiting_on is WaitingOn.CUSTOMER


# -- going inactive --------------------------------------------------------------------------


def test_a_silent_customer_goes_inactive_and_the_agent_stays_owner() -> None:
    conv = assigned_waiting_on_customer(reply_at=60)
    conv.events.clear()

    freed = timers.fire(conv, TimerKind.INACTIVITY, at(180), WEB)

    assert freed == ALICE  # the caller gives Alice her slot back
    assert conv.state is ConversationState.INACTIVE
    assert conv.assigned_agent_id is None
    assert conv.owner_agent_id == ALICE
    assert conv.inactive_since == at(180)
    assert conv.timer_changes[TimerKind.AUTO_CLOSE] == at(180 + 24 * 3600)
    [event] = conv.events
    assert event.type is EventType.INACTIVE
    assert event.agent_id == ALICE
    assert event.payload["cause"] == "customer_inactive"


def test_an_inactivity_timer_the_customer_overtook_does_nothing() -> None:
    conv = assigned_waiting_on_customer(reply_at=60)
    customer_says(conv, at(100), MessageKind.SUBSTANTIVE)
    conv.events.clear()
    conv.timer_changes.clear()

    assert timers.fire(conv, TimerKind.INACTIVITY, at(180), WEB) is None

    assert conv.state is ConversationState.ASSIGNED
    assert conv.events == []
    assert conv.timer_changes == {TimerKind.INACTIVITY: None}


def test_a_timer_due_later_under_new_settings_waits_for_them() -> None:
    conv = assigned_waiting_on_customer(reply_at=60)
    patient = ChannelTiming(
        default_pace=30, k=2, floor=30, ceiling=120, m=4, inactive_min=600, inactive_max=1800
    )
    assert timers.fire(conv, TimerKind.INACTIVITY, at(180), patient) is None
    assert conv.state is ConversationState.ASSIGNED
    assert conv.timer_changes[TimerKind.INACTIVITY] == at(60 + 600)


def test_a_conversation_waiting_on_the_agent_cannot_be_set_inactive() -> None:
    conv = assigned_waiting_on_customer()
    customer_says(conv, at(100), MessageKind.SUBSTANTIVE)
    with pytest.raises(InvalidTransition, match="waiting for an answer"):
        conv.go_inactive(at(110), WEB, actor="agent:x", cause="agent")
    assert conv.state is ConversationState.ASSIGNED


# -- reactivation ----------------------------------------------------------------------------


def test_a_substantive_message_reactivates_into_the_queue_as_returning_work() -> None:
    conv = inactive_conversation()

    customer_says(conv, at(4000), MessageKind.SUBSTANTIVE)

    assert conv.state is ConversationState.QUEUED
    assert conv.reactivated
    assert conv.owner_agent_id == ALICE  # the service offers it to her first
    assert conv.waiting_on is WaitingOn.AGENT
    assert conv.inactive_since is None
    assert conv.timer_changes[TimerKind.AUTO_CLOSE] is None
    assert conv.timer_changes[TimerKind.RESPOND_BY] == conv.respond_by
    assert [e.type for e in conv.events] == [
        EventType.REACTIVATED,
        EventType.QUEUED,
        EventType.MESSAGE_RECEIVED,
    ]
    assert conv.events[0].agent_id == ALICE


@pytest.mark.parametrize("kind", [MessageKind.INEFFECTUAL, MessageKind.CLOSING])
def test_thanks_or_a_closing_answer_does_not_reactivate(kind: MessageKind) -> None:
    conv = inactive_conversation()
    customer_says(conv, at(4000), kind)
    assert conv.state in (ConversationState.INACTIVE, ConversationState.CLOSED)
    assert conv.state is not ConversationState.QUEUED
    assert conv.waiting_on is WaitingOn.CUSTOMER or conv.state is ConversationState.CLOSED


def test_returning_work_is_routed_ahead_of_new_work_whatever_the_respond_by() -> None:
    new = WaitingConversation(uuid.uuid4(), "billing", at(10), at(0))
    returning = WaitingConversation(uuid.uuid4(), "billing", at(500), at(400), reactivated=True)
    on_customer = WaitingConversation(uuid.uuid4(), "billing", None, at(-100))
    assert order_waiting([on_customer, new, returning]) == [returning, new, on_customer]


def test_assignment_clears_returning() -> None:
    conv = inactive_conversation()
    customer_says(conv, at(4000), MessageKind.SUBSTANTIVE)
    conv.assign(ALICE, at(4000), actor=ACTOR_ROUTER, cause="reactivated", load=4)
    assert not conv.reactivated
    assert conv.events[-1].payload["load"] == 4


# -- auto-close and owners -------------------------------------------------------------------


def test_an_inactive_conversation_closes_after_the_close_timeout() -> None:
    conv = inactive_conversation()
    since = conv.inactive_since
    assert since is not None
    assert timers.fire(conv, TimerKind.AUTO_CLOSE, since + timedelta(hours=24), WEB) is None
    assert conv.state is ConversationState.CLOSED
    closed = conv.events[-1]
    assert closed.type is EventType.CLOSED
    assert closed.payload["reason"] == str(CloseReason.INACTIVITY)
    assert conv.owner_agent_id == ALICE  # a later session prefers her


def test_an_auto_close_timer_of_a_reactivated_conversation_does_nothing() -> None:
    conv = inactive_conversation()
    customer_says(conv, at(4000), MessageKind.SUBSTANTIVE)
    conv.events.clear()
    timers.fire(conv, TimerKind.AUTO_CLOSE, at(100000), WEB)
    assert conv.state is ConversationState.QUEUED
    assert conv.events == []


def test_an_owner_going_offline_gives_up_the_inactive_conversation() -> None:
    conv = inactive_conversation()
    conv.release_owner(at(5000), actor="agent:x", cause="owner_offline")
    assert conv.owner_agent_id is None
    assert conv.events[-1].type is EventType.UNASSIGNED
    with pytest.raises(InvalidTransition):
        conv.release_owner(at(5001), actor="agent:x", cause="owner_offline")


# -- respond-by breach -----------------------------------------------------------------------


def test_a_passed_respond_by_is_recorded_as_a_breach_once() -> None:
    conv = assigned_waiting_on_customer()
    customer_says(conv, at(100), MessageKind.SUBSTANTIVE)
    assert conv.respond_by is not None
    conv.events.clear()
    conv.timer_changes.clear()

    timers.fire(conv, TimerKind.RESPOND_BY, conv.respond_by, WEB)

    [breach] = conv.events
    assert breach.type is EventType.RESPOND_BY_BREACHED
    assert breach.agent_id == ALICE
    assert conv.timer_changes == {TimerKind.RESPOND_BY: None}  # fired: the row goes


def test_an_answered_conversation_records_no_breach() -> None:
    conv = assigned_waiting_on_customer()
    customer_says(conv, at(100), MessageKind.SUBSTANTIVE)
    conv.record_agent_message(
        agent_id=ALICE,
        message_id=uuid.uuid4(),
        now=at(110),
        context=OutboundContext.STATEMENT,
        timing=WEB,
    )
    conv.events.clear()
    timers.fire(conv, TimerKind.RESPOND_BY, at(1000), WEB)
    assert conv.events == []


# -- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"inactive_min": 600, "inactive_max": 300}, "inactive_max"),
        ({"m": 0}, "m"),
        ({"close_after": -1}, "close_after"),
        ({"inactive_max": float("nan")}, "inactive_max"),
        ({"inactive_max": 8 * 24 * 3600.0}, "inactive_max"),
        ({"close_after": 31 * 24 * 3600.0}, "close_after"),
        ({"k": 1000}, "k"),
    ],
)
def test_channel_timing_names_the_bad_setting(bad: dict[str, float], field: str) -> None:
    values: dict[str, float] = {"default_pace": 30, "k": 2, "floor": 30, "ceiling": 120}
    with pytest.raises(InvalidInput) as info:
        ChannelTiming(**(values | bad))
    assert info.value.details["field"] == field


# -- docs/routing.md's worked example --------------------------------------------------------


def test_the_worked_example_in_the_routing_docs_has_the_right_numbers() -> None:
    """The arithmetic of "A morning on the billing queue" (docs/routing.md), SMS defaults."""
    sms = timing_for("sms")
    nine = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    # 09:00: a new customer's respond-by is 20 minutes out.
    assert respond_by(nine, sms.default_pace, sms) == nine + timedelta(minutes=20)
    # 09:03: Alice asks; Sophie goes inactive after 40 minutes of silence.
    asked = nine + timedelta(minutes=3)
    assert inactive_at(asked, sms.default_pace, sms) == nine + timedelta(minutes=43)
    # Marcus answers three times within 15 s: pace about 3.6 min, promise about 7 min.
    pace = sms.default_pace
    for _ in range(3):
        pace = update_pace(pace, 15, sms)
    assert round(pace / 60, 1) == 3.6
    assert round(2 * pace / 60, 1) == 7.2
    # 10:15: Sophie answers 72 min after the question: pace about 29 min, respond-by 11:12.
    sophie = update_pace(sms.default_pace, 72 * 60, sms)
    assert round(sophie / 60) == 29
    at_1015 = nine + timedelta(hours=1, minutes=15)
    promised = respond_by(at_1015, sophie, sms)
    assert (promised.hour, promised.minute) == (11, 12)
