"""A simulated day behaves as the service would: the routing limits hold, reactivated
conversations return to their owners, abandonment is what customers do, settings change
what they should, and a seed replays the day exactly."""

from __future__ import annotations

from typing import Any

from threadline.simulation.engine import Day
from threadline.simulation.record import Recorder
from threadline.simulation.scenario import Scenario
from threadline.simulation.traffic import draw


def scenario(**changes: Any) -> Scenario:
    """Two hours of web chat for six agents at P=2, M=3, with engaged customers."""
    data: dict[str, Any] = {
        "seed": 11,
        "interval_minutes": 30,
        "drain_minutes": 120,
        "queues": [{"skill": "support", "channel": "web", "volumes": [30, 40, 40, 30]}],
        "customers": [
            {
                "name": "engaged",
                "exchanges": 3,
                "reply": {"median": 20, "spread": 0.5},
                "burst": {"mean": 1.5, "gap_seconds": 5},
            }
        ],
        "agents": [
            {"count": 6, "skills": ["support"], "preferred": 2, "max": 3, "shift": "00:00-04:00"}
        ],
        "handling": {"reply_seconds": 30, "slowdown": [1.0, 1.2, 1.5]},
    }
    data.update(changes)
    return Scenario.model_validate(data)


def run(s: Scenario) -> Recorder:
    return Day(s).run()


def most_held(record: Recorder) -> int:
    return max(h.held for h in record.holdings)


def test_a_seeded_day_replays_bit_for_bit_and_another_seed_does_not() -> None:
    first, again = run(scenario()).report().as_dict(), run(scenario()).report().as_dict()
    assert first == again
    assert run(scenario(seed=12)).report().as_dict() != first


def test_no_agent_holds_more_than_max_and_new_work_stops_at_preferred() -> None:
    # Overloaded on purpose: the queue is never empty, so every limit is tested.
    record = run(scenario(queues=[{"skill": "support", "volumes": [120, 120, 120, 120]}]))
    assert most_held(record) <= 3
    # Above P only by a reactivation returning to its owner: with no inactivity, never.
    no_inactive = run(
        scenario(
            queues=[{"skill": "support", "volumes": [120, 120, 120, 120]}],
            routing={"inactive": False},
        )
    )
    assert most_held(no_inactive) == 2
    assert record.report().total.concurrency is not None


def test_reactivated_conversation_returns_to_its_owner_above_preferred_load() -> None:
    # Customers who answer after ten minutes: their conversations go inactive (web:
    # 4 paces of 30 s = 2 min) and come back while the owner is still on shift.
    slow = [
        {
            "name": "intermittent",
            "exchanges": 3,
            "reply": {"median": 600, "spread": 0.2},
        }
    ]
    queues = [{"skill": "support", "channel": "web", "volumes": [10, 10, 10, 10]}]
    record = run(scenario(customers=slow, queues=queues))
    total = record.report().total
    assert total.inactive_rate is not None
    assert total.inactive_rate > 0.5
    assert total.reactivation_rate is not None
    assert total.reactivation_rate > 0.5
    # All but an owner already at M (one, late in the drain, in this seeded day).
    assert total.to_owner_rate is not None
    assert total.to_owner_rate > 0.95
    # Only a returning conversation takes an agent above P=2 (see the test above).
    assert most_held(record) == 3


def test_without_inactive_conversations_nothing_goes_inactive() -> None:
    slow = [{"name": "intermittent", "exchanges": 2, "reply": {"median": 600}}]
    total = run(scenario(customers=slow, routing={"inactive": False})).report().total
    assert total.inactive_rate == 0.0
    assert total.reactivation_rate is None


def test_without_inactivity_agents_close_quiet_chats_and_customers_return_as_new_sessions() -> None:
    slow = [{"name": "intermittent", "exchanges": 3, "reply": {"median": 900, "spread": 0.2}}]
    record = run(
        scenario(
            customers=slow,
            routing={"inactive": False},
            handling={"reply_seconds": 30, "close_silent_after_seconds": 600},
        )
    )
    # Answers 15 minutes later find the chat closed after 10 quiet minutes: each one
    # opens a new session, routed like new work.
    assert record.reopened > 0
    assert record.report().total.inactive_rate == 0.0
    assert most_held(record) == 2


def test_silent_abandoners_are_still_answered_and_explicit_ones_close_unanswered() -> None:
    queues = [{"skill": "support", "volumes": [150, 150, 150, 150]}]
    impatient: dict[str, Any] = {"name": "impatient", "exchanges": 1, "patience_seconds": 60}
    silent = run(scenario(queues=queues, customers=[impatient]))
    explicit = run(scenario(queues=queues, customers=[{**impatient, "abandon": "explicit"}]))
    assert silent.gave_up > 0
    # The event log cannot see a customer who silently stopped reading.
    assert silent.report().total.abandoned == 0
    assert explicit.gave_up > 0
    # One who closes the chat before an agent takes it is an abandoned session.
    assert explicit.report().total.abandoned == explicit.gave_up
    # Same customers, same patience: the same people give up while the queue is the same.
    assert explicit.customers == silent.customers


def test_every_session_ends_closed_when_customers_say_goodbye() -> None:
    polite = [
        {"name": "polite", "exchanges": 2, "ending": {"declines": 0.5, "thanks": 0.5}},
    ]
    record = run(scenario(customers=polite))
    assert record.sessions
    assert all(s.closed is not None for s in record.sessions)


def test_each_answer_ends_exactly_one_wait() -> None:
    s = scenario()
    record = run(s)
    # The report counts the waits that began in the day, not in the drain after it.
    answered = [w for w in record.waits if w.answered is not None and w.asked < s.horizon]
    firsts = [w for w in record.waits if w.first]
    assert len(firsts) == len(record.sessions)
    assert all(w.answered >= w.asked for w in answered if w.answered is not None)
    total = record.report().total
    assert total.first_response.count + total.next_response.count == len(answered)


def test_replies_slow_down_as_an_agent_holds_more_conversations() -> None:
    busy = [{"skill": "support", "channel": "web", "volumes": [60, 60, 60, 60]}]
    even = run(scenario(queues=busy, handling={"reply_seconds": 30, "slowdown": [1.0]}))
    slowed = run(scenario(queues=busy, handling={"reply_seconds": 30, "slowdown": [1.0, 2.0]}))
    assert slowed.typing > even.typing * 1.2
    p50 = slowed.report().total.next_response.p50
    assert p50 is not None
    assert p50 > (even.report().total.next_response.p50 or 0)


def test_the_adaptive_timer_answers_fast_customers_sooner_than_fifo() -> None:
    mixed = [
        {"name": "engaged", "share": 0.5, "exchanges": 3, "reply": {"median": 15}},
        {"name": "slow", "share": 0.5, "exchanges": 3, "reply": {"median": 400}},
    ]
    busy = [{"skill": "support", "channel": "web", "volumes": [50, 50, 50, 50]}]
    three = [{"count": 6, "skills": ["support"], "preferred": 3, "max": 4}]
    adaptive = run(scenario(queues=busy, customers=mixed, agents=three)).report().total
    fifo = (
        run(scenario(queues=busy, customers=mixed, agents=three, routing={"policy": "fifo"}))
        .report()
        .total
    )
    assert adaptive.sessions == fifo.sessions  # the same customers came
    # An agent holding three conversations answers the earliest respond-by first; the
    # adaptive respond-by is sooner for a customer who answers fast, so their next
    # answers come sooner. (docs/workforce.md: on a well-staffed day the effect is small.)
    assert adaptive.extra["engaged_next_response_p90"] < fifo.extra["engaged_next_response_p90"]


def test_agents_work_only_their_shifts() -> None:
    shifts = [
        {"name": "early", "count": 3, "skills": ["support"], "shift": "00:00-01:00"},
        {"name": "late", "count": 5, "skills": ["support"], "shift": "01:00-02:00"},
    ]
    report = run(scenario(agents=shifts, drain_minutes=0)).report()
    online = [round(f.online_agents, 6) for f in report.intervals]
    # Agents finishing what they hold after their shift are away, not online (as the
    # live figures count them).
    assert online == [3.0, 3.0, 5.0, 5.0]


def test_a_customer_takes_each_drawn_turn_once_however_their_bursts_are_answered() -> None:
    # Bursts of several messages draw several replies to one turn; the customer still
    # answers once, says goodbye once and comes back at most once: no extra turns, and
    # no session reopened by a second goodbye reaching a closed chat.
    bursty = [
        {
            "name": "bursty",
            "exchanges": 2,
            "reply": {"median": 30, "spread": 0.5},
            "burst": {"mean": 3, "gap_seconds": 20},
            "ending": {"declines": 0.7, "thanks": 0.3},
            "returns": {"probability": 0.3, "after": {"median": 600, "spread": 0.3}},
        }
    ]
    for seed in range(1, 16):
        s = scenario(seed=seed, customers=bursty)
        traffic = draw(s)
        record = Day(s, traffic).run()
        assert record.reopened <= int(traffic.returns.sum())
        assert len(record.sessions) == record.customers + record.reopened


def test_customers_nobody_answers_count_as_unanswered_not_in_the_response_times() -> None:
    # Agents for the first hour only: the second hour's customers are never answered.
    early = [{"count": 6, "skills": ["support"], "preferred": 2, "max": 3, "shift": "00:00-01:00"}]
    report = run(scenario(agents=early, drain_minutes=30)).report()
    total = report.total
    answered = total.first_response.count + total.next_response.count
    assert total.unanswered > 0
    assert total.unanswered == total.waits_judged - answered
    assert report.intervals[3].first_response.count == 0
    assert report.intervals[3].unanswered > 0
