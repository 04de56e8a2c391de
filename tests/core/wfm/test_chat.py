"""Concurrency-aware chat staffing (core.wfm.chat).

No published worked example exists for this exact model (a birth-death chain with a
handle-time-by-concurrency curve), so it is checked three independent ways: against
Erlang C with a single concurrency level, against the stationary distribution summed in
exact rationals, and against the service level computed as the mixture of Erlang waiting
times it stands for.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pytest
from scipy.special import gammaincc  # type: ignore[import-untyped,unused-ignore]

from threadline.core.errors import InvalidInput
from threadline.core.wfm import erlang
from threadline.core.wfm.chat import ChatMetrics, chat_metrics, chat_staffing

MILD = [300.0, 360.0, 450.0]
# Every extra conversation doubles the handle time: two at once finish no faster than one.
STEEP = [300.0, 600.0, 1200.0]


def _exact_distribution(
    volume: int, aht: list[int], agents: int, interval: int
) -> tuple[list[Fraction], Fraction, Fraction, Fraction]:
    """p(0..S-1), P(wait), r(S) and λ of the chain, in exact rationals."""
    rate = Fraction(volume, interval)
    c_max = len(aht)

    def per_agent(c: int) -> Fraction:
        return Fraction(c, aht[c - 1]) if c else Fraction(0)

    def completion(k: int) -> Fraction:
        level, extra = divmod(min(k, agents * c_max), agents)
        high = per_agent(level + 1) if extra else Fraction(0)
        return extra * high + (agents - extra) * per_agent(level)

    slots = agents * c_max
    weights = [Fraction(1)]
    for k in range(1, slots + 1):
        weights.append(weights[-1] * rate / completion(k))
    full = completion(slots)
    queue_mass = weights[slots] / (1 - rate / full)
    total = sum(weights[:slots], Fraction(0)) + queue_mass
    return [w / total for w in weights[:slots]], queue_mass / total, full, rate


# -- agreement with Erlang C ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("volume", "aht", "agents", "target"),
    [
        (100.0, 300.0, 20, 20.0),
        (360.0, 240.0, 55, 15.0),
        (12.0, 180.0, 3, 30.0),
        (2000.0, 420.0, 500, 20.0),
        (30000.0, 300.0, 5100, 10.0),
    ],
)
def test_one_concurrency_level_is_erlang_c(
    volume: float, aht: float, agents: int, target: float
) -> None:
    chat = chat_metrics(
        volume=volume, aht_by_concurrency=[aht], agents=agents, target_seconds=target
    )
    reference = erlang.erlang_c_metrics(
        volume=volume, aht_seconds=aht, agents=agents, target_seconds=target
    )
    assert chat.probability_wait == pytest.approx(reference.probability_wait, abs=1e-12)
    assert chat.service_level == pytest.approx(reference.service_level, abs=1e-12)
    assert chat.asa_seconds == pytest.approx(reference.asa_seconds, rel=1e-12, abs=1e-12)
    assert chat.occupancy == pytest.approx(reference.occupancy, abs=1e-12)
    assert chat.achieved_concurrency == pytest.approx(reference.occupancy, abs=1e-12)
    assert chat.effective_aht_seconds == pytest.approx(aht, rel=1e-12)


@pytest.mark.parametrize(
    ("volume", "aht", "level", "target"),
    [(100.0, 300.0, 0.8, 20.0), (360.0, 240.0, 0.9, 15.0), (2000.0, 420.0, 0.8, 30.0)],
)
def test_one_concurrency_level_staffs_like_erlang_c(
    volume: float, aht: float, level: float, target: float
) -> None:
    chat = chat_staffing(
        volume=volume,
        aht_by_concurrency=[aht],
        target_level=level,
        target_seconds=target,
        shrinkage=0.3,
        max_occupancy=0.85,
    )
    reference = erlang.erlang_c_staffing(
        volume=volume,
        aht_seconds=aht,
        target_level=level,
        target_seconds=target,
        shrinkage=0.3,
        max_occupancy=0.85,
    )
    assert chat.agents == reference.agents
    assert chat.scheduled == reference.scheduled


# -- the chain itself -------------------------------------------------------------------------


def test_distribution_matches_an_exact_rational_solution() -> None:
    volume, aht, agents, interval = 30, [300, 360, 450], 3, 1800
    probabilities, p_wait, full, rate = _exact_distribution(volume, aht, agents, interval)
    m = chat_metrics(volume=volume, aht_by_concurrency=aht, agents=agents, target_seconds=30.0)
    slots = agents * len(aht)
    in_service = sum(k * p for k, p in enumerate(probabilities)) + slots * p_wait
    busy = sum(min(k, agents) * p for k, p in enumerate(probabilities)) + agents * p_wait
    assert m.probability_wait == pytest.approx(float(p_wait), rel=1e-12)
    assert m.asa_seconds == pytest.approx(float(p_wait / (full - rate)), rel=1e-12)
    assert m.achieved_concurrency == pytest.approx(float(in_service / agents), rel=1e-12)
    assert m.occupancy == pytest.approx(float(busy / agents), rel=1e-12)


def test_service_level_is_the_mixture_of_erlang_waits() -> None:
    # A customer who finds j conversations queued waits for j + 1 completions at the
    # all-slots-busy rate: P(wait > t) = Σ_j p(S + j)·Q(j + 1, r·t), summed until the
    # geometric tail is below 1e-15.
    volume, aht, agents, interval, target = 30, [300, 360, 450], 3, 1800, 45.0
    _, p_wait, full, rate = _exact_distribution(volume, aht, agents, interval)
    ratio, r = float(rate / full), float(full)
    late, j, mass = 0.0, 0, float(p_wait) * (1 - ratio)
    while mass > 1e-15:
        late += mass * float(gammaincc(j + 1, r * target))
        j, mass = j + 1, mass * ratio
    m = chat_metrics(volume=volume, aht_by_concurrency=aht, agents=agents, target_seconds=target)
    assert m.service_level == pytest.approx(1.0 - late, abs=1e-12)


@pytest.mark.parametrize("aht", [MILD, STEEP, [300.0]])
def test_completions_balance_arrivals(aht: list[float]) -> None:
    m = chat_metrics(volume=150.0, aht_by_concurrency=aht, agents=40, target_seconds=20.0)
    assert m.completions_per_interval == pytest.approx(150.0, rel=1e-12)


def test_achieved_concurrency_never_exceeds_the_maximum() -> None:
    for agents in range(8, 40, 3):
        m = chat_metrics(volume=200.0, aht_by_concurrency=MILD, agents=agents, target_seconds=20)
        assert 0 < m.achieved_concurrency <= 3
        assert 0 < m.occupancy <= 1


@pytest.mark.parametrize("aht", [MILD, STEEP, [100.0, 1000.0], [60.0, 600.0, 6000.0]])
def test_more_agents_never_serve_worse(aht: list[float]) -> None:
    # The staffing search bisects, which relies on this.
    previous: ChatMetrics | None = None
    for agents in range(1, 120):
        m = chat_metrics(volume=400.0, aht_by_concurrency=aht, agents=agents, target_seconds=20)
        if previous is not None:
            assert m.probability_wait <= previous.probability_wait
            assert m.service_level >= previous.service_level
            assert m.asa_seconds <= previous.asa_seconds
            assert m.occupancy <= previous.occupancy
        previous = m


def test_an_overloaded_queue_reports_no_service() -> None:
    # 3 agents x 3 slots / 450 s = 72 completions per 1800 s at most.
    m = chat_metrics(volume=72.0, aht_by_concurrency=MILD, agents=3, target_seconds=20)
    assert (m.probability_wait, m.service_level, m.asa_seconds) == (1.0, 0.0, math.inf)


# -- staffing -------------------------------------------------------------------------------


@pytest.mark.parametrize("volume", [20.0, 100.0, 400.0, 2000.0])
def test_concurrency_with_a_mild_slowdown_needs_fewer_agents(volume: float) -> None:
    def agents(aht: list[float]) -> int:
        return chat_staffing(
            volume=volume, aht_by_concurrency=aht, target_level=0.8, target_seconds=60
        ).agents

    assert agents(MILD) < agents([300.0])


@pytest.mark.parametrize("volume", [100.0, 400.0, 2000.0])
def test_concurrency_with_a_steep_slowdown_gains_nothing(volume: float) -> None:
    # Three at once finish slower (3/1200 s) than one (1/300 s), so the queue's capacity
    # falls; at very small loads the extra slots can still save an agent, because a
    # conversation parked on a busy agent counts as answered.
    def agents(aht: list[float]) -> int:
        return chat_staffing(
            volume=volume, aht_by_concurrency=aht, target_level=0.8, target_seconds=60
        ).agents

    assert agents(STEEP) >= agents([300.0])


@pytest.mark.parametrize("aht", [MILD, STEEP, [300.0]])
@pytest.mark.parametrize("cap", [1.0, 0.9])
def test_staffing_is_the_smallest_number_that_meets_the_targets(
    aht: list[float], cap: float
) -> None:
    def meets(m: ChatMetrics) -> bool:
        return m.service_level >= 0.9 and m.occupancy <= cap

    s = chat_staffing(
        volume=400.0, aht_by_concurrency=aht, target_level=0.9, target_seconds=30, max_occupancy=cap
    )
    assert meets(s.metrics)
    below = chat_metrics(
        volume=400.0, aht_by_concurrency=aht, agents=s.agents - 1, target_seconds=30
    )
    assert not meets(below)


def test_occupancy_cap_adds_agents() -> None:
    free = chat_staffing(volume=400.0, aht_by_concurrency=MILD, target_level=0.8, target_seconds=60)
    capped = chat_staffing(
        volume=400.0,
        aht_by_concurrency=MILD,
        target_level=0.8,
        target_seconds=60,
        max_occupancy=0.9,
    )
    assert free.metrics.occupancy > 0.9
    assert capped.agents > free.agents
    assert capped.metrics.occupancy <= 0.9


def test_shrinkage_schedules_more_than_are_seated() -> None:
    s = chat_staffing(
        volume=400.0, aht_by_concurrency=MILD, target_level=0.8, target_seconds=60, shrinkage=0.3
    )
    assert s.scheduled == erlang.scheduled_agents(s.agents, 0.3)
    assert s.scheduled > s.agents


def test_no_volume_needs_no_agents() -> None:
    s = chat_staffing(volume=0.0, aht_by_concurrency=MILD, target_level=0.8, target_seconds=60)
    assert (s.agents, s.scheduled, s.metrics.service_level) == (0, 0, 1.0)


def test_thousands_of_agents_stay_finite() -> None:
    s = chat_staffing(
        volume=60000.0,
        aht_by_concurrency=[300.0, 330.0, 380.0, 450.0],
        target_level=0.8,
        target_seconds=30,
        max_occupancy=0.85,
    )
    # 10 000 Erlangs at one conversation each; the occupancy cap binds.
    assert 10000 / 0.85 < s.agents < 10000 / 0.8
    assert all(math.isfinite(v) for v in s.as_dict().values())


def test_results_are_plain_data() -> None:
    row = chat_metrics(volume=100.0, aht_by_concurrency=MILD, agents=10, target_seconds=20)
    staffing = chat_staffing(
        volume=100.0, aht_by_concurrency=MILD, target_level=0.8, target_seconds=20
    )
    for values in (row.as_dict(), staffing.as_dict()):
        assert all(type(v) in (int, float) for v in values.values())


# -- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"volume": -1.0}, "volume"),
        ({"volume": math.nan}, "volume"),
        ({"aht_by_concurrency": []}, "aht_by_concurrency"),
        ({"aht_by_concurrency": [300.0, 0.0]}, "aht_by_concurrency"),
        ({"aht_by_concurrency": [300.0, 250.0]}, "aht_by_concurrency"),
        ({"target_level": -0.1}, "target_level"),
        ({"target_level": 1.0}, "target_level"),
        ({"target_seconds": -5.0}, "target_seconds"),
        ({"interval_seconds": 0.0}, "interval_seconds"),
        ({"shrinkage": 1.0}, "shrinkage"),
        ({"shrinkage": -0.1}, "shrinkage"),
        ({"max_occupancy": 0.0}, "max_occupancy"),
        ({"max_occupancy": 1.2}, "max_occupancy"),
    ],
)
def test_staffing_refuses_nonsense_naming_the_field(changes: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {
        "volume": 100.0,
        "aht_by_concurrency": MILD,
        "target_level": 0.8,
        "target_seconds": 20.0,
    }
    with pytest.raises(InvalidInput) as caught:
        chat_staffing(**{**arguments, **changes})
    assert caught.value.details["field"] == field


@pytest.mark.parametrize("agents", [-3, 2.5, True])
def test_metrics_refuse_agents_that_are_not_a_whole_number(agents: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        chat_metrics(volume=100.0, aht_by_concurrency=MILD, agents=agents, target_seconds=20)
    assert caught.value.details["field"] == "agents"


def test_no_agents_and_some_volume_is_an_overloaded_queue() -> None:
    m = chat_metrics(volume=10.0, aht_by_concurrency=MILD, agents=0, target_seconds=20)
    assert (m.probability_wait, m.service_level, m.completions_per_interval) == (1.0, 0.0, 0.0)
