"""The routing policy (DESIGN.md §3): order, spread, concurrency.

The key property: the heap-based `plan_assignments` decides exactly what a naive
scan-every-agent implementation decides, on any input.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadline.core import pacing
from threadline.core.routing import (
    AgentSlot,
    Assignment,
    RoutingIndex,
    WaitingConversation,
    order_waiting,
    plan_assignments,
    priority_key,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SKILLS = ("billing", "tech", "sales", "vip")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def uid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def agent(
    n: int,
    *,
    skills: Iterable[str] = ("billing",),
    preferred: int = 3,
    active: int = 0,
    idle_since: datetime = T0,
    max_load: int | None = None,
) -> AgentSlot:
    return AgentSlot(
        agent_id=uid(1000 + n),
        skills=frozenset(skills),
        preferred=preferred,
        max_load=preferred if max_load is None else max_load,
        active=active,
        idle_since=idle_since,
    )


def waiting(
    n: int,
    *,
    skill: str = "billing",
    respond_by: datetime | None = None,
    enqueued_at: datetime = T0,
) -> WaitingConversation:
    return WaitingConversation(uid(n), skill, respond_by, enqueued_at)


# -- a naive reference ------------------------------------------------------------------------


def naive_plan(waiting: list[WaitingConversation], agents: list[AgentSlot]) -> list[Assignment]:
    """What §3 says, in the plainest code: serve conversations in priority order; for
    each, scan every agent and take the eligible one with the lowest active/P ratio,
    then the longest idle, then the smallest id."""
    active = {a.agent_id: a.active for a in agents}
    ordered = sorted(
        waiting,
        key=lambda w: (priority_key(w.respond_by, w.enqueued_at), str(w.conversation_id)),
    )
    plan: list[Assignment] = []
    for conv in ordered:
        best = naive_best(conv.skill, agents, active)
        if best is None:
            continue
        active[best.agent_id] += 1
        plan.append(Assignment(conv.conversation_id, best.agent_id))
    return plan


def naive_best(
    skill: str, agents: Iterable[AgentSlot], active: dict[uuid.UUID, int]
) -> AgentSlot | None:
    """Scan every agent: the eligible one with the lowest active/P, longest idle, id."""
    eligible = [a for a in agents if skill in a.skills and active[a.agent_id] < a.preferred]
    return min(
        eligible,
        key=lambda a: (Fraction(active[a.agent_id], a.preferred), a.idle_since, str(a.agent_id)),
        default=None,
    )


# -- strategies -----------------------------------------------------------------------------


def spread_id(n: int, salt: int) -> uuid.UUID:
    """Distinct ids whose string order is unrelated to `n` (cheaper than drawing them)."""
    return uuid.UUID(int=((n + 1) * 0x9E3779B97F4A7C15F39CC0605CEDC834 + salt) % 2**128)


# A few coarse instants make ties (equal idle_since, equal respond_by) common, so the
# tie-breaks are exercised; the fine-grained ones (microseconds over two days) cover
# the general case.
instants = st.one_of(
    st.integers(min_value=0, max_value=4).map(lambda m: at(60 * m)),
    st.integers(min_value=-86400 * 10**6, max_value=86400 * 10**6).map(
        lambda us: T0 + timedelta(microseconds=us)
    ),
)


def _build_agents(rows: list[tuple[frozenset[str], int, int, int, datetime]]) -> list[AgentSlot]:
    agents = []
    for n, (skills, preferred, active_raw, extra, idle_since) in enumerate(rows):
        agents.append(
            AgentSlot(
                agent_id=spread_id(n, salt=7),
                skills=skills,
                preferred=preferred,
                max_load=preferred + extra,
                active=active_raw % (preferred + 2),  # 0 .. P+1
                idle_since=idle_since,
            )
        )
    return agents


def _build_waiting(
    rows: list[tuple[str, datetime | None, datetime]],
) -> list[WaitingConversation]:
    return [
        WaitingConversation(spread_id(n, salt=11), skill, respond_by, enqueued_at)
        for n, (skill, respond_by, enqueued_at) in enumerate(rows)
    ]


agent_lists = st.lists(
    st.tuples(
        st.frozensets(st.sampled_from(SKILLS), max_size=len(SKILLS)),
        st.integers(min_value=1, max_value=5),  # P
        st.integers(min_value=0, max_value=6),
        st.integers(min_value=0, max_value=3),  # M - P
        instants,
    ),
    max_size=7,
).map(_build_agents)

# "other" is a skill nobody has: such conversations must simply keep waiting.
waiting_lists = st.lists(
    st.tuples(st.sampled_from((*SKILLS, "other")), st.none() | instants, instants),
    max_size=14,
).map(_build_waiting)


# The equivalence with the reference is the key property and gets the most examples.
KEY_PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)
PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)


def loads_after(agents: list[AgentSlot], plan: list[Assignment]) -> dict[uuid.UUID, int]:
    counts = Counter(a.agent_id for a in plan)
    return {a.agent_id: a.active + counts[a.agent_id] for a in agents}


# -- properties -----------------------------------------------------------------------------


@KEY_PROPERTY_SETTINGS
@given(waiting_lists, agent_lists)
def test_plan_equals_the_naive_reference(
    waiting: list[WaitingConversation], agents: list[AgentSlot]
) -> None:
    assert plan_assignments(waiting, agents) == naive_plan(waiting, agents)


@PROPERTY_SETTINGS
@given(waiting_lists, agent_lists)
def test_no_agent_ends_above_preferred_concurrency(
    waiting: list[WaitingConversation], agents: list[AgentSlot]
) -> None:
    plan = plan_assignments(waiting, agents)
    given_to = Counter(a.agent_id for a in plan)
    loads = loads_after(agents, plan)
    for slot in agents:
        if slot.active >= slot.preferred:
            assert given_to[slot.agent_id] == 0, "an agent at or above P got new work"
        else:
            assert loads[slot.agent_id] <= slot.preferred
    assert set(given_to) <= {a.agent_id for a in agents}


@PROPERTY_SETTINGS
@given(waiting_lists, agent_lists)
def test_every_assignment_matches_the_skill(
    waiting: list[WaitingConversation], agents: list[AgentSlot]
) -> None:
    skill_of = {w.conversation_id: w.skill for w in waiting}
    skills_of = {a.agent_id: a.skills for a in agents}
    for assignment in plan_assignments(waiting, agents):
        assert skill_of[assignment.conversation_id] in skills_of[assignment.agent_id]


@PROPERTY_SETTINGS
@given(waiting_lists, agent_lists)
def test_no_conversation_is_assigned_twice_or_invented(
    waiting: list[WaitingConversation], agents: list[AgentSlot]
) -> None:
    assigned = [a.conversation_id for a in plan_assignments(waiting, agents)]
    assert len(assigned) == len(set(assigned))
    assert set(assigned) <= {w.conversation_id for w in waiting}


@PROPERTY_SETTINGS
@given(waiting_lists, agent_lists)
def test_plan_is_maximal_no_waiting_conversation_has_an_agent_with_room(
    waiting: list[WaitingConversation], agents: list[AgentSlot]
) -> None:
    plan = plan_assignments(waiting, agents)
    loads = loads_after(agents, plan)
    assigned = {a.conversation_id for a in plan}
    for conv in waiting:
        if conv.conversation_id in assigned:
            continue
        room = [
            a.agent_id for a in agents if conv.skill in a.skills and loads[a.agent_id] < a.preferred
        ]
        assert room == [], f"{conv} left waiting while {room} have room"


@PROPERTY_SETTINGS
@given(waiting_lists, agent_lists)
def test_assignments_come_out_in_priority_order(
    waiting: list[WaitingConversation], agents: list[AgentSlot]
) -> None:
    by_id = {w.conversation_id: w for w in waiting}
    keys = [
        (priority_key(by_id[a.conversation_id].respond_by, by_id[a.conversation_id].enqueued_at))
        for a in plan_assignments(waiting, agents)
    ]
    assert keys == sorted(keys)


@PROPERTY_SETTINGS
@given(waiting_lists, agent_lists)
def test_within_a_skill_the_most_urgent_are_served_first(
    waiting: list[WaitingConversation], agents: list[AgentSlot]
) -> None:
    """Per skill, the served conversations are a prefix of the queue in priority order:
    nothing with a respond-by is left waiting while something without one (or with a
    later one) of the same skill gets an agent."""
    assigned = {a.conversation_id for a in plan_assignments(waiting, agents)}
    for skill in {w.skill for w in waiting}:
        queue = order_waiting(w for w in waiting if w.skill == skill)
        served = [w.conversation_id in assigned for w in queue]
        n = sum(served)
        assert served == [True] * n + [False] * (len(queue) - n)
        if n:
            last_served = queue[n - 1]
            for left in queue[n:]:
                if last_served.respond_by is None:
                    assert left.respond_by is None
                elif left.respond_by is not None:
                    assert left.respond_by >= last_served.respond_by


@PROPERTY_SETTINGS
@given(waiting_lists, agent_lists)
def test_plan_does_not_depend_on_input_order(
    waiting: list[WaitingConversation], agents: list[AgentSlot]
) -> None:
    forward = plan_assignments(waiting, agents)
    backward = plan_assignments(list(reversed(waiting)), list(reversed(agents)))
    assert forward == backward


@PROPERTY_SETTINGS
@given(waiting_lists)
def test_order_waiting_puts_respond_by_first_earliest_first(
    waiting: list[WaitingConversation],
) -> None:
    ordered = order_waiting(waiting)
    assert sorted(map(id, ordered)) == sorted(map(id, waiting))
    with_deadline = [w for w in ordered if w.respond_by is not None]
    without = [w for w in ordered if w.respond_by is None]
    assert ordered == with_deadline + without
    deadlines = [w.respond_by for w in with_deadline]
    assert deadlines == sorted(deadlines)  # type: ignore[type-var]
    # Waiting on the customer: longest queued first.
    enqueued = [w.enqueued_at for w in without]
    assert enqueued == sorted(enqueued)


# -- examples: order -------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "api"])
def test_engaged_customer_is_served_before_a_slow_one_who_waited_longer(channel: str) -> None:
    """DESIGN.md §4: Marcus answers in seconds and wrote 2 minutes ago; Sophie answers
    every half hour and wrote 10 minutes ago. Marcus goes first."""
    timing = pacing.timing_for(channel)
    now = at(3600)
    marcus_wrote, sophie_wrote = now - timedelta(minutes=2), now - timedelta(minutes=10)
    marcus = waiting(
        1,
        respond_by=pacing.respond_by(marcus_wrote, 5.0, timing),
        enqueued_at=marcus_wrote,
    )
    sophie = waiting(
        2,
        respond_by=pacing.respond_by(sophie_wrote, 30 * 60.0, timing),
        enqueued_at=sophie_wrote,
    )

    assert [w.conversation_id for w in order_waiting([sophie, marcus])] == [uid(1), uid(2)]
    # Sophie's wait is bounded by the channel's window however slow she is.
    assert sophie.respond_by is not None
    assert sophie.respond_by <= sophie_wrote + timedelta(seconds=timing.ceiling)
    # With one free slot, Marcus gets it.
    plan = plan_assignments([sophie, marcus], [agent(1, preferred=1)])
    assert plan == [Assignment(uid(1), uid(1001))]


def test_slow_customer_past_the_channel_window_goes_first() -> None:
    """On web chat the window is 2 minutes: Sophie, 10 minutes in, is overdue and
    outranks Marcus however engaged he is — the ceiling is a promise."""
    timing = pacing.timing_for("web")
    now = at(3600)
    marcus_wrote, sophie_wrote = now - timedelta(minutes=2), now - timedelta(minutes=10)
    marcus = waiting(1, respond_by=pacing.respond_by(marcus_wrote, 5.0, timing))
    sophie = waiting(2, respond_by=pacing.respond_by(sophie_wrote, 30 * 60.0, timing))
    assert sophie.respond_by == sophie_wrote + timedelta(seconds=timing.ceiling)
    assert [w.conversation_id for w in order_waiting([marcus, sophie])] == [uid(2), uid(1)]


def test_waiting_on_agent_outranks_waiting_on_customer_however_late() -> None:
    on_customer = waiting(1, respond_by=None, enqueued_at=at(-86400))
    on_agent = waiting(2, respond_by=at(86400), enqueued_at=at(0))
    assert order_waiting([on_customer, on_agent]) == [on_agent, on_customer]
    assert priority_key(on_agent.respond_by, on_agent.enqueued_at) < priority_key(
        None, on_customer.enqueued_at
    )


def test_equal_respond_by_is_broken_by_enqueue_time_then_id() -> None:
    early = waiting(9, respond_by=at(100), enqueued_at=at(0))
    late_a = waiting(3, respond_by=at(100), enqueued_at=at(10))
    late_b = waiting(4, respond_by=at(100), enqueued_at=at(10))
    assert order_waiting([late_b, late_a, early]) == [early, late_a, late_b]


def test_waiting_on_customer_is_longest_queued_first() -> None:
    newer = waiting(1, enqueued_at=at(50))
    older = waiting(2, enqueued_at=at(5))
    assert order_waiting([newer, older]) == [older, newer]


# -- examples: spread and concurrency --------------------------------------------------------


def test_spread_goes_to_the_lowest_active_to_preferred_ratio() -> None:
    # 1/4 < 1/3 < 1/2, whatever the idle times.
    half = agent(1, preferred=2, active=1, idle_since=at(-9000))
    third = agent(2, preferred=3, active=1, idle_since=at(-5000))
    quarter = agent(3, preferred=4, active=1, idle_since=at(0))
    plan = plan_assignments([waiting(1)], [half, third, quarter])
    assert plan == [Assignment(uid(1), quarter.agent_id)]


def test_equal_ratio_goes_to_the_agent_idle_longest() -> None:
    # 1/3 == 2/6 exactly (no float rounding): idle time decides.
    recent = agent(1, preferred=3, active=1, idle_since=at(-10))
    longest = agent(2, preferred=6, active=2, idle_since=at(-600))
    plan = plan_assignments([waiting(1)], [recent, longest])
    assert plan == [Assignment(uid(1), longest.agent_id)]


def test_equal_ratio_and_idle_time_goes_to_the_smaller_id() -> None:
    a, b = agent(2), agent(1)
    assert plan_assignments([waiting(1)], [a, b]) == [Assignment(uid(1), b.agent_id)]


def test_work_is_spread_round_robin_by_ratio() -> None:
    a = agent(1, preferred=2, idle_since=at(-100))
    b = agent(2, preferred=2, idle_since=at(-50))
    queue = [waiting(n, respond_by=at(n)) for n in range(1, 5)]
    plan = plan_assignments(queue, [b, a])
    assert [p.agent_id for p in plan] == [a.agent_id, b.agent_id, a.agent_id, b.agent_id]


def test_routes_as_many_as_the_workforce_has_room_for_at_once() -> None:
    agents = [agent(n, preferred=2) for n in range(3)]
    queue = [waiting(n, respond_by=at(n)) for n in range(10)]
    plan = plan_assignments(queue, agents)
    assert len(plan) == 6
    # The six most urgent are the ones routed.
    assert [p.conversation_id for p in plan] == [uid(n) for n in range(6)]
    assert Counter(p.agent_id for p in plan) == {a.agent_id: 2 for a in agents}


def test_agents_at_or_above_preferred_get_nothing() -> None:
    full = agent(1, preferred=2, active=2)
    over = agent(2, preferred=2, active=3, max_load=4)  # a reactivation took them above P
    assert plan_assignments([waiting(1), waiting(2)], [full, over]) == []


def test_agent_without_the_skill_gets_nothing() -> None:
    tech = agent(1, skills={"tech"})
    assert plan_assignments([waiting(1, skill="billing")], [tech]) == []


def test_multi_skilled_agent_fills_up_across_skills() -> None:
    both = agent(1, skills={"billing", "tech"}, preferred=2)
    queue = [
        waiting(1, skill="tech", respond_by=at(1)),
        waiting(2, skill="billing", respond_by=at(2)),
        waiting(3, skill="tech", respond_by=at(3)),
    ]
    plan = plan_assignments(queue, [both])
    assert plan == [Assignment(uid(1), both.agent_id), Assignment(uid(2), both.agent_id)]


def test_empty_inputs_plan_nothing() -> None:
    assert plan_assignments([], [agent(1)]) == []
    assert plan_assignments([waiting(1)], []) == []


def test_accepts_one_shot_iterables() -> None:
    queue = [waiting(1), waiting(2)]
    agents = [agent(1), agent(2)]
    assert plan_assignments(iter(queue), iter(agents)) == plan_assignments(queue, agents)
    assert len(plan_assignments(iter(queue), iter(agents))) == 2


def test_naive_reference_agrees_on_the_worked_examples() -> None:
    # Guard for the reference itself: it must reproduce the hand-checked cases.
    half = agent(1, preferred=2, active=1)
    quarter = agent(3, preferred=4, active=1)
    assert naive_plan([waiting(1)], [half, quarter]) == [Assignment(uid(1), quarter.agent_id)]
    full = agent(4, preferred=1, active=1)
    assert naive_plan([waiting(1)], [full]) == []


# -- the persistent index ---------------------------------------------------------------------

index_operations = st.lists(
    st.one_of(
        st.tuples(st.just("route"), st.sampled_from(SKILLS)),
        st.tuples(st.just("release"), st.integers(min_value=0, max_value=30)),
        st.tuples(st.just("remove"), st.integers(min_value=0, max_value=30)),
        st.tuples(st.just("update"), st.integers(min_value=0, max_value=30), instants),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(agents=agent_lists, operations=index_operations)
def test_a_kept_index_decides_each_event_as_a_scan_of_the_workforce_would(
    agents: list[AgentSlot], operations: list[tuple[object, ...]]
) -> None:
    """Kept across arrivals, releases and agents changing or leaving, the index picks
    for every arriving conversation the agent a naive scan of the current state picks."""
    index = RoutingIndex(agents)
    present = {a.agent_id: a for a in agents}
    active = {a.agent_id: a.active for a in agents}
    for n, operation in enumerate(operations):
        if operation[0] == "route":
            skill = str(operation[1])
            expected = naive_best(skill, present.values(), active)
            got = index.route(WaitingConversation(uid(n), skill, None, T0))
            assert (got.agent_id if got else None) == (expected.agent_id if expected else None)
            if expected is not None:
                active[expected.agent_id] += 1
            continue
        if not agents:
            continue
        target = agents[int(str(operation[1])) % len(agents)]
        if operation[0] == "release" and target.agent_id in present:
            index.release(target.agent_id)
            active[target.agent_id] = max(0, active[target.agent_id] - 1)
        elif operation[0] == "remove":
            index.remove(target.agent_id)
            present.pop(target.agent_id, None)
        elif operation[0] == "update":
            changed = AgentSlot(
                target.agent_id,
                target.skills,
                target.preferred,
                target.max_load,
                active.get(target.agent_id, 0),
                operation[2],  # type: ignore[arg-type]
            )
            index.update(changed)
            present[target.agent_id] = changed
            active[target.agent_id] = changed.active
