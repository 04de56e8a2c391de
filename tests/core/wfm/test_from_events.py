"""The live event log reduced to the planner's records (core.wfm.from_events).

The events are made by the real conversation aggregate (core.conversations), driven as
the service drives it, so the reduction reads what the service really writes. Agents'
status changes, which the service records itself, are written by hand as it writes them.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from threadline.core.classify import MessageKind, OutboundContext
from threadline.core.conversations import CloseReason, Conversation
from threadline.core.events import ACTOR_ROUTER, ACTOR_SYSTEM, actor_bot
from threadline.core.handoff import Handoff
from threadline.core.pacing import timing_for
from threadline.core.wfm.figures import Holding, Presence, Session, Wait
from threadline.core.wfm.from_events import LogEvent, Reduced, figures_of, reduce

SINCE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TIMING = timing_for("api")
ALICE, BOB = uuid.UUID(int=1), uuid.UUID(int=2)
A, B = str(ALICE), str(BOB)
HOUR = 3600.0


def t(seconds: float) -> datetime:
    return SINCE + timedelta(seconds=seconds)


class Log:
    """The event log: what the aggregate recorded, numbered in order."""

    def __init__(self) -> None:
        self.events: list[LogEvent] = []

    def take(self, conv: Conversation) -> None:
        for e in conv.events:
            self.events.append(
                LogEvent(
                    len(self.events) + 1,
                    str(e.type),
                    (e.occurred_at - SINCE).total_seconds(),
                    e.actor,
                    str(e.conversation_id),
                    str(e.agent_id) if e.agent_id else None,
                    e.queue,
                    e.payload,
                )
            )
        conv.events.clear()

    def status(self, at: float, agent: str, was: str, now: str) -> None:
        payload = {"from": was, "to": now}
        self.events.append(
            LogEvent(
                len(self.events) + 1,
                "agent.status_changed",
                at,
                f"agent:{agent}",
                None,
                agent,
                None,
                payload,
            )
        )

    def since(self, at: float) -> list[LogEvent]:
        """The log as a replay starting at `at` reads it."""
        return [e for e in self.events if e.at >= at]


class Chat:
    """One customer's conversation, driven through the core as the service drives it."""

    def __init__(
        self, log: Log, at: float, *, skill: str = "general", bot: str | None = None
    ) -> None:
        self.log = log
        self.bot = bot
        self.conv = Conversation.open(
            id=uuid.uuid4(),
            customer_id=uuid.uuid4(),
            inbox_id=uuid.uuid4(),
            channel="api",
            skill=skill,
            session_id=uuid.uuid4(),
            now=t(at),
            timing=TIMING,
            bot=bot,
        )
        self.writes(at)

    @property
    def id(self) -> str:
        return str(self.conv.id)

    def _done(self) -> Chat:
        self.log.take(self.conv)
        return self

    def writes(self, at: float, kind: MessageKind = MessageKind.SUBSTANTIVE) -> Chat:
        self.conv.receive_customer_message(
            message_id=uuid.uuid4(),
            now=t(at),
            new_session_id=uuid.uuid4(),
            timing=TIMING,
            kind=kind,
            bot=self.bot,
        )
        return self._done()

    def assigned(self, at: float, agent: uuid.UUID, cause: str = "routed") -> Chat:
        self.conv.assign(agent, t(at), actor=ACTOR_ROUTER, cause=cause)
        return self._done()

    def answered(self, at: float) -> Chat:
        agent = self.conv.assigned_agent_id
        assert agent is not None
        self.conv.record_agent_message(
            agent_id=agent,
            message_id=uuid.uuid4(),
            now=t(at),
            context=OutboundContext.STATEMENT,
            timing=TIMING,
        )
        return self._done()

    def inactive(self, at: float) -> Chat:
        self.conv.go_inactive(t(at), TIMING, actor=ACTOR_SYSTEM, cause="customer_silent")
        return self._done()

    def closed(self, at: float, reason: CloseReason = CloseReason.AGENT) -> Chat:
        self.conv.close(t(at), actor=ACTOR_SYSTEM, reason=reason)
        return self._done()

    def transferred(self, at: float, agent: uuid.UUID) -> Chat:
        self.conv.transfer_to_agent(agent, t(at), actor=ACTOR_SYSTEM)
        return self._done()

    def moved_to(self, at: float, skill: str) -> Chat:
        self.conv.transfer_to_skill(skill, t(at), actor=ACTOR_SYSTEM)
        return self._done()

    def bot_says(self, at: float) -> Chat:
        assert self.bot is not None
        self.conv.record_bot_message(
            uuid.uuid4(), t(at), bot=self.bot, context=OutboundContext.STATEMENT
        )
        return self._done()

    def handed_off(self, at: float) -> Chat:
        self.conv.hand_off(Handoff(bot=self.bot), t(at), actor=ACTOR_SYSTEM, timing=TIMING)
        return self._done()

    def lent_to_bot(self, at: float) -> Chat:
        self.conv.lend_to_bot("payment", "assistant", t(at), actor=ACTOR_SYSTEM)
        return self._done()

    def returned_from_bot(self, at: float) -> Chat:
        self.conv.return_from_bot(
            Handoff(bot="assistant"),
            t(at),
            actor=actor_bot("assistant"),
            timing=TIMING,
            reason="done",
        )
        return self._done()


def replay(
    log: Log | list[LogEvent],
    *,
    end: float = HOUR,
    now: float = 10 * HOUR,
    online: tuple[str, ...] = (),
    queue: str | None = None,
) -> Reduced:
    events = log.events if isinstance(log, Log) else log
    return reduce(events, end=end, now=now, online_at_start=online, queue=queue)


# -- waits ---------------------------------------------------------------------------


def test_a_reply_within_the_window_counts_toward_the_service_level() -> None:
    log = Log()
    Chat(log, 0).assigned(0, ALICE).answered(50)
    Chat(log, 100).assigned(100, ALICE).answered(400)

    reduced = replay(log)
    report = figures_of(reduced, end=HOUR, now=HOUR, interval=HOUR, window=60)

    assert reduced.waits == [Wait(0, 50, True), Wait(100, 400, True)]
    assert (report.total.waits_judged, report.total.answered_in_window) == (2, 1)
    assert report.total.service_level == 0.5
    assert report.total.first_response.mean == 175.0


def test_more_messages_before_the_answer_start_no_new_wait() -> None:
    log = Log()
    Chat(log, 0).assigned(5, ALICE).writes(20).writes(40).answered(60)

    assert replay(log).waits == [Wait(0, 60, True)]


def test_a_customer_writing_again_after_the_answer_waits_for_a_next_response() -> None:
    log = Log()
    Chat(log, 0).assigned(0, ALICE).answered(30).writes(100).writes(110).answered(130)

    assert replay(log).waits == [Wait(0, 30, True), Wait(100, 130, False)]


def test_thanks_ask_for_no_answer() -> None:
    log = Log()
    Chat(log, 0).assigned(0, ALICE).answered(30).writes(100, MessageKind.INEFFECTUAL)

    assert replay(log).waits == [Wait(0, 30, True)]


def test_a_session_closed_with_the_customer_waiting_ends_the_wait_unanswered() -> None:
    log = Log()
    Chat(log, 0).assigned(0, ALICE).answered(30).writes(100).closed(200)

    reduced = replay(log)

    assert reduced.waits == [Wait(0, 30, True), Wait(100, None, False)]
    late = figures_of(reduced, end=HOUR, now=HOUR, interval=HOUR, window=60)
    assert (late.total.waits_judged, late.total.answered_in_window) == (2, 1)


def test_an_unanswered_wait_is_judged_only_once_its_window_has_run_out() -> None:
    log = Log()
    Chat(log, 1000).assigned(1000, ALICE)

    reduced = replay(log, now=1500)
    early = figures_of(reduced, end=HOUR, now=1500, interval=HOUR, window=600)
    later = figures_of(reduced, end=HOUR, now=1600, interval=HOUR, window=600)

    assert reduced.waits == [Wait(1000, None, True)]
    assert early.total.waits_judged == 0
    assert (later.total.waits_judged, later.total.service_level) == (1, 0.0)


def test_messages_to_the_bot_are_no_wait_and_its_handoff_starts_the_first() -> None:
    log = Log()
    chat = Chat(log, 0, bot="assistant").bot_says(1).writes(30).bot_says(31)
    chat.handed_off(60).assigned(70, ALICE).answered(100)

    reduced = replay(log)

    assert reduced.waits == [Wait(60, 100, True)]
    # The session reached the humans at the handoff: its queue wait is from there.
    assert reduced.sessions == [Session(opened=60, assigned=70)]


def test_a_session_the_bot_contained_is_no_session_of_the_humans() -> None:
    log = Log()
    Chat(log, 0, bot="assistant").bot_says(1).writes(30).closed(40, CloseReason.BOT)

    reduced = replay(log)

    assert (reduced.waits, reduced.sessions) == ([], [])


def test_a_thread_opened_to_record_a_keyword_is_no_session() -> None:
    log = Log()
    chat = Chat.__new__(Chat)
    chat.log, chat.bot = log, None
    chat.conv = Conversation.open(
        id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        inbox_id=uuid.uuid4(),
        channel="sms",
        skill="general",
        session_id=uuid.uuid4(),
        now=t(0),
        timing=TIMING,
    )
    chat.closed(0, CloseReason.COMPLIANCE_KEYWORD).writes(0, MessageKind.INEFFECTUAL)

    reduced = replay(log)

    assert (reduced.waits, reduced.sessions) == ([], [])


def test_a_routine_lent_to_the_bot_answers_the_wait_and_its_return_starts_a_next_one() -> None:
    log = Log()
    chat = Chat(log, 0).assigned(0, ALICE).lent_to_bot(20)
    chat.returned_from_bot(300).assigned(300, ALICE, "returned").answered(340)

    reduced = replay(log)

    assert reduced.waits == [Wait(0, 20, True), Wait(300, 340, False)]
    assert reduced.holdings == [Holding(A, 0, 1), Holding(A, 20, 0), Holding(A, 300, 1)]


# -- sessions --------------------------------------------------------------------------


def test_a_reactivation_assigned_straight_back_to_its_owner_counts_to_owner() -> None:
    log = Log()
    chat = Chat(log, 0).assigned(0, ALICE).answered(30).inactive(600)
    chat.writes(900).assigned(900, ALICE, "reactivated").answered(950).closed(1000)

    reduced = replay(log)
    report = figures_of(reduced, end=HOUR, now=HOUR, interval=HOUR, window=60)

    assert reduced.sessions == [Session(0, 0, 1000, 1, 1, 1)]
    assert reduced.waits == [Wait(0, 30, True), Wait(900, 950, False)]
    assert (report.total.inactive_rate, report.total.reactivation_rate) == (1.0, 1.0)
    assert report.total.to_owner_rate == 1.0


def test_a_reactivation_another_agent_takes_is_not_to_owner() -> None:
    log = Log()
    chat = Chat(log, 0).assigned(0, ALICE).answered(30).inactive(600)
    chat.writes(900).assigned(960, BOB).answered(990)

    reduced = replay(log)

    assert reduced.sessions == [Session(0, 0, None, 1, 1, 0)]


def test_a_session_closed_before_anyone_took_it_is_abandoned() -> None:
    log = Log()
    Chat(log, 0).closed(120, CloseReason.CUSTOMER_DECLINED_MORE_HELP)
    Chat(log, 60).assigned(90, ALICE)

    report = figures_of(replay(log), end=HOUR, now=HOUR, interval=HOUR, window=60)

    assert (report.total.sessions, report.total.abandoned) == (2, 1)
    assert report.total.queue_wait.mean == 30.0


# -- agents' time ----------------------------------------------------------------------


def test_an_agent_holds_a_conversation_from_its_assignment_until_inactive_or_closed() -> None:
    log = Log()
    first = Chat(log, 0).assigned(0, ALICE).answered(30)
    second = Chat(log, 600).assigned(600, ALICE)
    first.inactive(900)
    second.answered(1000).closed(1200)
    log.status(1800, A, "online", "away")

    reduced = replay(log, online=(A,))
    report = figures_of(reduced, end=HOUR, now=HOUR, interval=1800, window=60)

    assert reduced.holdings == [
        Holding(A, 0, 1),
        Holding(A, 600, 2),
        Holding(A, 900, 1),
        Holding(A, 1200, 0),
    ]
    assert reduced.presence == [Presence(A, 0, 1800)]
    first_half = report.intervals[0]
    # Holding any for 1200 of 1800 s; 600 s with one, 300 with two, 300 with one.
    assert first_half.occupancy == pytest.approx(1200 / 1800)
    assert first_half.concurrency == pytest.approx(1500 / 1200)
    assert report.intervals[1].occupancy is None  # nobody online


def test_a_transfer_moves_the_holding_from_one_agent_to_the_other() -> None:
    log = Log()
    Chat(log, 0).assigned(0, ALICE).transferred(300, BOB)

    assert replay(log).holdings == [Holding(A, 0, 1), Holding(A, 300, 0), Holding(B, 300, 1)]


def test_agents_online_at_the_start_count_from_it_until_they_step_away() -> None:
    log = Log()
    log.status(300, B, "offline", "online")
    log.status(600, A, "online", "away")
    log.status(900, B, "online", "offline")
    log.status(1000, A, "away", "online")

    reduced = replay(log, online=(A,), now=1200)

    assert sorted(reduced.presence, key=lambda p: (p.agent, p.start)) == [
        Presence(A, 0, 600),
        Presence(A, 1000, 1200),  # to now: the period is not over
        Presence(B, 300, 900),
    ]


# -- a replay that starts in the middle of history -------------------------------------


def test_a_conversation_assigned_before_the_period_is_held_from_its_start() -> None:
    log = Log()
    Chat(log, -600).assigned(-600, ALICE).answered(-550)

    reduced = replay(log, online=(A,))
    report = figures_of(reduced, end=HOUR, now=HOUR, interval=HOUR, window=60)

    assert report.total.occupancy == 1.0
    assert (report.total.sessions, report.total.waits_judged) == (0, 0)  # not this period's


def test_an_agent_message_proves_who_held_a_conversation_whose_assignment_was_not_read() -> None:
    log = Log()
    Chat(log, -7200).assigned(-7200, ALICE).answered(-7100).writes(-7000).answered(600)

    reduced = replay(log.since(-60), online=(A,))
    report = figures_of(reduced, end=HOUR, now=HOUR, interval=HOUR, window=60)

    assert reduced.holdings == [Holding(A, -math.inf, 1)]
    assert report.total.occupancy == 1.0
    assert reduced.waits == []  # its wait began before the period
    assert reduced.unresolved == frozenset()


def test_a_customer_writing_when_nothing_tells_whether_an_answer_is_owed_asks_for_history() -> None:
    log = Log()
    chat = Chat(log, -7200).assigned(-7200, ALICE).answered(-7100).writes(-7000)
    chat.writes(300).answered(400)
    later = log.since(-60)

    partial = replay(later, online=(A,))
    whole = replay(log, online=(A,))

    assert partial.unresolved == {chat.id}
    # With its history: the customer had been waiting since before the period.
    assert whole.waits == [Wait(-7200, -7100, True), Wait(-7000, 400, False)]
    assert whole.unresolved == frozenset()


def test_a_close_that_does_not_say_whether_its_agent_held_it_asks_for_history() -> None:
    log = Log()
    chat = Chat(log, -7200).assigned(-7200, ALICE).answered(-7100)
    chat.conv.events.clear()
    chat.closed(600)

    assert replay(log.since(-60)).unresolved == {chat.id}


def test_a_conversation_seen_without_anything_telling_its_holder_asks_for_history() -> None:
    log = Log()
    chat = Chat(log, -7200).assigned(-7200, ALICE).answered(-7100)
    chat.writes(-30, MessageKind.INEFFECTUAL)

    assert replay(log.since(-60)).unresolved == {chat.id}


def test_a_wait_open_at_the_end_is_listed_and_settled_by_later_events_only() -> None:
    log = Log()
    chat = Chat(log, 3500).assigned(3500, ALICE)
    before_end = list(log.events)
    chat.answered(3550).inactive(4000)
    Chat(log, 3700).assigned(3700, BOB)

    open_then = replay(before_end)
    settled = replay(log.events)

    assert open_then.waits == [Wait(3500, None, True)]
    assert open_then.open_at_end == {chat.id}
    assert settled.waits == [Wait(3500, 3550, True)]
    # Nothing else after the end counts: neither its holding nor another's session.
    assert settled.holdings == [Holding(A, 3500, 1)]
    assert settled.sessions == [Session(3500, 3500)]


# -- one queue -------------------------------------------------------------------------


def test_a_queue_counts_the_waits_and_sessions_that_ended_in_it() -> None:
    log = Log()
    Chat(log, 0).assigned(0, ALICE).answered(10)
    Chat(log, 100, skill="billing").assigned(100, BOB).answered(130)
    Chat(log, 200).moved_to(250, "billing").assigned(260, BOB).answered(300)

    billing = replay(log, queue="billing")

    assert billing.waits == [Wait(100, 130, True), Wait(200, 300, True)]
    assert billing.sessions == [Session(100, 100), Session(200, 260)]
