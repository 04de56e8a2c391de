"""Erlang A (core.wfm.erlang_a): M/M/n+M, callers with exponential patience.

One published worked example was found (pyworkforce's Erlang A guide, figures printed to
three decimals) and is reproduced. Everything else is checked against computations that
share no code or formula with the module: the birth-death chain solved in exact
rationals with flow balance and Little's law, first-step analysis of a tagged caller, the
service level from the matrix exponential of the tagged caller's chain, and the Erlang C
limit as patience grows without bound.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import expm  # type: ignore[import-untyped,unused-ignore]

from threadline.core.errors import InvalidInput
from threadline.core.wfm.erlang import erlang_c_metrics
from threadline.core.wfm.erlang_a import (
    ErlangA,
    erlang_a_metrics,
    erlang_a_staffing,
)

AHT = 180
INTERVAL = 1800


def _volume(erlangs: float) -> float:
    return erlangs * INTERVAL / AHT


# -- published worked example -----------------------------------------------------------------


def test_staffing_reproduces_the_pyworkforce_erlang_a_guide() -> None:
    # pyworkforce Erlang A guide (https://pyworkforce.rodrigo-arenas.com/stable/guide/
    # erlanga): ErlangA(transactions=100, aht=3, asa=20/60, interval=30, patience=5,
    # shrinkage=0.3).required_positions(service_level=0.8, max_occupancy=0.85,
    # max_abandonment=0.05) -> raw_positions 13, positions 19, service_level 0.858...,
    # occupancy 0.750..., abandonment_probability 0.025..., waiting_probability 0.226...,
    # average_speed_of_answer 0.125... (minutes). The printed digits are rounded (0.02496
    # shows as 0.025), and its "average speed of answer" is the mean wait of all callers,
    # abandoners included, which is our mean_wait_seconds.
    s = erlang_a_staffing(volume=100, aht_seconds=180, patience_seconds=300, target_level=0.8,
                          target_seconds=20, max_occupancy=0.85, max_abandon=0.05,
                          shrinkage=0.3)  # fmt: skip
    assert (s.agents, s.scheduled) == (13, 19)
    m = s.metrics
    assert round(m.service_level, 3) == 0.858
    assert round(m.occupancy, 3) == 0.750
    assert round(m.probability_abandon, 3) == 0.025
    assert round(m.probability_wait, 3) == 0.226
    assert round(m.mean_wait_seconds / 60, 3) == 0.125


# -- independent exact computation ------------------------------------------------------------


def _exact_chain(
    agents: int, erlangs: Fraction, theta: Fraction, queue: int = 80
) -> tuple[list[Fraction], list[Fraction]]:
    """Stationary shares of states 0..n-1 and of n + j, j = 0..queue (μ = 1), exactly,
    from the balance equations of the birth-death chain (tail beyond `queue` dropped:
    the ratios a / (n + jθ) make it far below 1e-30 for the cases below)."""
    low = [Fraction(1)]
    for k in range(1, agents + 1):
        low.append(low[-1] * erlangs / k)
    high = [low.pop()]
    for j in range(1, queue + 1):
        high.append(high[-1] * erlangs / (agents + j * theta))
    total = sum(low) + sum(high)
    return [p / total for p in low], [p / total for p in high]


def _first_step(agents: int, theta: Fraction, ahead: int) -> tuple[Fraction, Fraction]:
    """(P(served), E[wait; served]) for a caller with `ahead` callers before it, by
    first-step analysis: each stage ends in a move up (rate n + iθ) or hanging up (θ)."""
    served, wait = Fraction(1), Fraction(0)  # after the last stage: in service, no more wait
    for i in range(ahead + 1):
        rate_up = agents + i * theta
        leave = rate_up + theta
        served, wait = (
            rate_up / leave * served,
            served * rate_up / leave / leave + (rate_up / leave) * wait,
        )
    return served, wait


def _served_within(agents: int, theta: float, states: int, t: float) -> np.ndarray[Any, Any]:
    """P(answered within t | j waiting on arrival), j = 0..states-1, from expm of the
    tagged caller's chain: stages 0..states-1 (callers ahead), then answered, abandoned."""
    size = states + 2
    answered, gone = states, states + 1
    q = np.zeros((size, size))
    for i in range(states):
        q[i, i - 1 if i else answered] = agents + i * theta
        q[i, gone] = theta
        q[i, i] = -(agents + (i + 1) * theta)
    return np.asarray(expm(q * t)[:states, answered])


CHAINS = [
    # (agents, erlangs, theta = AHT / patience): under-, critically and over-loaded.
    (3, Fraction(5, 2), Fraction(1, 2)),
    (2, Fraction(3), Fraction(1)),
    (5, Fraction(5), Fraction(1, 4)),
    (1, Fraction(3, 4), Fraction(2)),
]


@pytest.mark.parametrize(("agents", "erlangs", "theta"), CHAINS)
def test_metrics_match_the_exact_birth_death_chain(
    agents: int, erlangs: Fraction, theta: Fraction
) -> None:
    target = 30.0
    low, high = _exact_chain(agents, erlangs, theta)
    queue_mean = sum(j * p for j, p in enumerate(high))
    m = erlang_a_metrics(volume=float(erlangs) * 10, aht_seconds=AHT,
                         patience_seconds=AHT / float(theta), agents=agents,
                         target_seconds=target)  # fmt: skip
    assert m.probability_wait == pytest.approx(float(sum(high)), rel=1e-12)
    # Flow balance: callers leave the queue unanswered at rate θ·E[Q], of λ = a arriving.
    assert m.probability_abandon == pytest.approx(float(theta * queue_mean / erlangs), rel=1e-12)
    # Little's law on the queue: mean wait of all callers = E[Q] / λ.
    assert m.mean_wait_seconds == pytest.approx(float(queue_mean / erlangs) * AHT, rel=1e-12)
    # Occupancy: busy agents on average, over n.
    busy = sum(k * p for k, p in enumerate(low)) + agents * sum(high)
    assert m.occupancy == pytest.approx(float(busy / agents), rel=1e-12)
    # ASA of answered callers: first-step analysis, mixed over what arrivals find (PASTA).
    steps = [_first_step(agents, theta, j) for j in range(len(high))]
    answered = sum(low) + sum(p * s for p, (s, _) in zip(high, steps, strict=True))
    asa = sum(p * w for p, (_, w) in zip(high, steps, strict=True)) / answered
    assert m.asa_seconds == pytest.approx(float(asa) * AHT, rel=1e-12)
    # Service level: the matrix exponential of the tagged caller's chain.
    within = _served_within(agents, float(theta), 60, target / AHT)
    level = float(sum(low)) + float(np.dot([float(p) for p in high[:60]], within))
    assert m.service_level == pytest.approx(level, abs=1e-12)


@pytest.mark.parametrize(
    ("erlangs", "agents", "target"),
    [(10.0, 11, 20.0), (10.0, 14, 20.0), (48.0, 55, 15.0), (2.5, 4, 60.0), (400.0, 420, 10.0)],
)
def test_infinite_patience_is_erlang_c(erlangs: float, agents: int, target: float) -> None:
    a = erlang_a_metrics(volume=_volume(erlangs), aht_seconds=AHT, patience_seconds=1e13,
                         agents=agents, target_seconds=target)  # fmt: skip
    c = erlang_c_metrics(volume=_volume(erlangs), aht_seconds=AHT, agents=agents,
                         target_seconds=target)  # fmt: skip
    assert a.probability_wait == pytest.approx(c.probability_wait, abs=1e-9)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-9)
    assert a.asa_seconds == pytest.approx(c.asa_seconds, rel=1e-8)
    assert a.mean_wait_seconds == pytest.approx(c.asa_seconds, rel=1e-8)
    assert a.occupancy == pytest.approx(c.occupancy, abs=1e-9)
    assert a.probability_abandon < 1e-9


def test_patience_approaching_infinity_converges_to_erlang_c() -> None:
    c = erlang_c_metrics(volume=100, aht_seconds=AHT, agents=12, target_seconds=20)

    def gap(patience: float) -> float:
        a = erlang_a_metrics(volume=100, aht_seconds=AHT, patience_seconds=patience,
                             agents=12, target_seconds=20)  # fmt: skip
        return abs(a.service_level - c.service_level)

    gaps = [gap(p) for p in (1e4, 1e6, 1e8)]
    # Once patience dwarfs the waits, the gap shrinks in proportion to 1 / patience.
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[1] / gaps[2] == pytest.approx(100, rel=0.02)
    assert gaps[2] < 1e-5


def test_impatience_keeps_an_understaffed_queue_finite() -> None:
    # Erlang C has no answer for 8 agents under 10 Erlangs; Erlang A does.
    m = erlang_a_metrics(volume=100, aht_seconds=AHT, patience_seconds=120, agents=8,
                         target_seconds=20)  # fmt: skip
    assert 0.2 < m.probability_abandon < 1.0
    assert m.occupancy < 1.0
    assert math.isfinite(m.asa_seconds)
    # Answered calls carry at most 8 Erlangs of the 10 offered.
    assert m.probability_abandon >= 0.2 - 1e-12


def test_zero_target_time_counts_only_callers_answered_at_once() -> None:
    m = erlang_a_metrics(volume=100, aht_seconds=AHT, patience_seconds=300, agents=12,
                         target_seconds=0)  # fmt: skip
    assert m.service_level == pytest.approx(1 - m.probability_wait, abs=1e-15)


def test_abandoners_count_as_misses_so_the_level_is_below_the_answered_share() -> None:
    m = erlang_a_metrics(volume=100, aht_seconds=AHT, patience_seconds=60, agents=10,
                         target_seconds=3600)  # fmt: skip
    assert m.service_level == pytest.approx(1 - m.probability_abandon, abs=1e-9)
    assert m.service_level < 1 - m.probability_abandon + 1e-15


# -- large loads ------------------------------------------------------------------------------


@pytest.mark.parametrize("erlangs", [5_000.0, 20_000.0])
def test_large_loads_compute_and_improve_with_every_agent(erlangs: float) -> None:
    previous: ErlangA | None = None
    for agents in range(int(erlangs) - 150, int(erlangs) + 300, 50):
        m = erlang_a_metrics(volume=_volume(erlangs), aht_seconds=AHT, patience_seconds=180,
                             agents=agents, target_seconds=20)  # fmt: skip
        assert 0.0 <= m.probability_abandon <= m.probability_wait <= 1.0
        assert 0.0 <= m.service_level <= 1.0
        if previous is not None:
            assert m.service_level > previous.service_level
            assert m.probability_abandon < previous.probability_abandon
            assert m.asa_seconds < previous.asa_seconds
        previous = m


def test_a_queue_too_long_to_sum_is_refused_naming_patience() -> None:
    with pytest.raises(InvalidInput) as caught:
        erlang_a_metrics(volume=_volume(200), aht_seconds=AHT, patience_seconds=1e9,
                         agents=100, target_seconds=20)  # fmt: skip
    assert caught.value.details["field"] == "patience_seconds"


# -- staffing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("erlangs", "patience", "level", "target", "abandon", "cap", "shrink"),
    [
        (10.0, 300.0, 0.8, 20.0, None, 1.0, 0.0),
        (10.0, 300.0, 0.8, 20.0, 0.05, 0.85, 0.3),
        (10.0, 60.0, 0.5, 20.0, 0.01, 1.0, 0.0),
        (48.0, 120.0, 0.8, 15.0, None, 1.0, 0.35),
        (0.4, 600.0, 0.9, 30.0, None, 1.0, 0.0),
        (2_000.0, 180.0, 0.9, 10.0, 0.02, 0.95, 0.25),
        (20_000.0, 180.0, 0.8, 20.0, None, 1.0, 0.0),
    ],
)
def test_staffing_meets_the_targets_and_one_agent_fewer_does_not(
    erlangs: float,
    patience: float,
    level: float,
    target: float,
    abandon: float | None,
    cap: float,
    shrink: float,
) -> None:
    common = {"volume": _volume(erlangs), "aht_seconds": AHT, "patience_seconds": patience,
              "target_seconds": target}  # fmt: skip
    s = erlang_a_staffing(**common, target_level=level, max_abandon=abandon,
                          max_occupancy=cap, shrinkage=shrink)  # fmt: skip

    def meets(m: ErlangA) -> bool:
        return (m.service_level >= level and m.occupancy <= cap
                and (abandon is None or m.probability_abandon <= abandon))  # fmt: skip

    assert meets(s.metrics)
    if s.agents > 1:
        assert not meets(erlang_a_metrics(**common, agents=s.agents - 1))
    assert s.scheduled == math.ceil(round(s.agents / (1 - shrink), 9))


def test_an_abandonment_cap_can_be_what_decides_the_staffing() -> None:
    common: dict[str, Any] = {"volume": 100, "aht_seconds": AHT, "patience_seconds": 60,
                              "target_level": 0.5, "target_seconds": 20}  # fmt: skip
    loose = erlang_a_staffing(**common)
    tight = erlang_a_staffing(**common, max_abandon=0.005)
    assert tight.agents > loose.agents
    assert tight.metrics.probability_abandon <= 0.005


def test_erlang_a_needs_no_more_agents_than_erlang_c() -> None:
    from threadline.core.wfm.erlang import erlang_c_staffing

    for erlangs in (2.0, 10.0, 100.0, 1_000.0):
        a = erlang_a_staffing(volume=_volume(erlangs), aht_seconds=AHT, patience_seconds=240,
                              target_level=0.8, target_seconds=20)  # fmt: skip
        c = erlang_c_staffing(volume=_volume(erlangs), aht_seconds=AHT, target_level=0.8,
                              target_seconds=20)  # fmt: skip
        assert a.agents <= c.agents


def test_no_traffic_needs_no_agents() -> None:
    s = erlang_a_staffing(volume=0, aht_seconds=AHT, patience_seconds=60, target_level=0.8,
                          target_seconds=20)  # fmt: skip
    assert (s.agents, s.scheduled, s.metrics.service_level) == (0, 0, 1.0)


def test_results_are_plain_data_for_dataframes() -> None:
    s = erlang_a_staffing(volume=100, aht_seconds=AHT, patience_seconds=300, target_level=0.8,
                          target_seconds=20, shrinkage=0.3)  # fmt: skip
    row = s.as_dict()
    assert list(row) == ["agents", "scheduled", "erlangs", "probability_wait",
                         "probability_abandon", "service_level", "asa_seconds",
                         "mean_wait_seconds", "occupancy"]  # fmt: skip
    assert all(type(v) in (int, float) for v in row.values())
    assert isinstance(s.metrics, ErlangA)


# -- refused inputs ---------------------------------------------------------------------------

GOOD: dict[str, Any] = {"volume": 100, "aht_seconds": AHT, "patience_seconds": 300,
                        "target_level": 0.8, "target_seconds": 20}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"patience_seconds": 0}, "patience_seconds"),
        ({"patience_seconds": -60}, "patience_seconds"),
        ({"patience_seconds": math.inf}, "patience_seconds"),
        ({"max_abandon": 0}, "max_abandon"),
        ({"max_abandon": 1.5}, "max_abandon"),
        ({"max_abandon": -0.1}, "max_abandon"),
        ({"volume": -3}, "volume"),
        ({"aht_seconds": 0}, "aht_seconds"),
        ({"target_level": 1}, "target_level"),
        ({"target_seconds": math.nan}, "target_seconds"),
        ({"max_occupancy": 0}, "max_occupancy"),
        ({"shrinkage": 1}, "shrinkage"),
        ({"interval_seconds": -1}, "interval_seconds"),
    ],
)
def test_staffing_refuses_nonsense_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        erlang_a_staffing(**{**GOOD, **change})
    assert caught.value.details["field"] == field


@pytest.mark.parametrize("agents", [0, -1, 1.5, False])
def test_metrics_refuse_a_headcount_that_cannot_answer(agents: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        erlang_a_metrics(volume=100, aht_seconds=AHT, patience_seconds=300, agents=agents,
                         target_seconds=20)  # fmt: skip
    assert caught.value.details["field"] == "agents"


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    erlangs=st.floats(min_value=0.05, max_value=300.0),
    agents=st.integers(min_value=1, max_value=320),
    patience=st.floats(min_value=5.0, max_value=7_200.0),
    target=st.floats(min_value=0.0, max_value=300.0),
)
def test_more_agents_never_hurt_and_probabilities_stay_in_bounds(
    erlangs: float, agents: int, patience: float, target: float
) -> None:
    def at(n: int) -> ErlangA:
        return erlang_a_metrics(volume=_volume(erlangs), aht_seconds=AHT,
                                patience_seconds=patience, agents=n,
                                target_seconds=target)  # fmt: skip

    fewer, more = at(agents), at(agents + 1)
    for m in (fewer, more):
        assert 0.0 <= m.probability_abandon <= m.probability_wait <= 1.0
        assert 0.0 <= m.service_level <= 1.0 - m.probability_abandon + 1e-12
        assert 0.0 <= m.occupancy <= 1.0
        assert m.asa_seconds >= 0.0
    tolerance = 1e-12
    assert more.service_level >= fewer.service_level - tolerance
    assert more.probability_abandon <= fewer.probability_abandon + tolerance
    assert more.probability_wait <= fewer.probability_wait + tolerance
