"""Erlang B and Erlang C (core.wfm.erlang).

Published worked examples are reproduced to the precision they were published with, the
source named beside each. Where no published figure was found (Erlang B at a single
point, large loads) the value is checked against the M/M/n stationary distribution summed
in exact rationals instead.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadline.core.errors import InvalidInput
from threadline.core.wfm.erlang import (
    ErlangC,
    Staffing,
    erlang_b,
    erlang_c,
    erlang_c_metrics,
    erlang_c_staffing,
    scheduled_agents,
)

# The example used by the Call Centre Helper article "Erlang C Formula - Made Simple With
# an Easy Worked Example", and by the two libraries below that publish its figures:
# 100 calls per 30 minutes, AHT 180 s, 80 % answered within 20 s, occupancy cap 85 %,
# shrinkage 30 %.
CCH = {"volume": 100, "aht_seconds": 180, "target_seconds": 20}


def _exact_b(agents: int, erlangs: Fraction) -> Fraction:
    terms = [Fraction(1)]
    for k in range(1, agents + 1):
        terms.append(terms[-1] * erlangs / k)
    return terms[-1] / sum(terms)


def _exact_c(agents: int, erlangs: Fraction) -> Fraction:
    """P(all busy) from the M/M/n distribution: a^k/k! below n, a geometric tail above."""
    terms = [Fraction(1)]
    for k in range(1, agents + 1):
        terms.append(terms[-1] * erlangs / k)
    waiting = terms[-1] * agents / (agents - erlangs)
    return waiting / (sum(terms[:-1]) + waiting)


# -- published worked examples ----------------------------------------------------------------


def test_fourteen_agents_reproduce_the_r_erlangc_readme() -> None:
    # R package ErlangC 0.1.0, README (https://rdocumentation.org/packages/ErlangC/versions/
    # 0.1.0): erlang_c(100, 30 min, 180 s, 20 s, 14) prints traffic_intensity 10,
    # wait_probability 0.1741319, service_level 0.88835, average_speed_of_answer
    # 7.83593701177724 s, immediate_answer_probability 0.8258681, occupancy 0.7142857.
    m = erlang_c_metrics(**CCH, agents=14)
    assert m.erlangs == 10.0
    assert round(m.probability_wait, 7) == 0.1741319
    assert round(m.service_level, 5) == 0.88835
    assert round(m.asa_seconds, 14) == 7.83593701177724
    assert round(1 - m.probability_wait, 7) == 0.8258681
    assert round(m.occupancy, 7) == 0.7142857


def test_eleven_agents_reproduce_the_first_step_of_the_r_erlangc_search() -> None:
    # Same README, calculate_agents()$process, first row (N = A + 1 = 11):
    # wait_probability 0.6821182, service_level 0.3896138.
    m = erlang_c_metrics(**CCH, agents=11)
    assert round(m.probability_wait, 7) == 0.6821182
    assert round(m.service_level, 7) == 0.3896138


def test_staffing_reproduces_the_pyworkforce_readme_to_every_printed_digit() -> None:
    # pyworkforce 0.1.0 README (https://pypi.org/project/pyworkforce/0.1.0/):
    # ErlangC(transactions=100, asa=20/60, aht=3, interval=30, max_occupancy=0.85,
    # shrinkage=0.3).required_positions(service_level=0.8) -> raw_positions 14,
    # positions 20, service_level 0.8883500191794669, occupancy 0.7142857142857143,
    # waiting_probability 0.1741319335950498.
    s = erlang_c_staffing(**CCH, target_level=0.8, max_occupancy=0.85, shrinkage=0.3)
    assert (s.agents, s.scheduled) == (14, 20)
    assert s.metrics.service_level == pytest.approx(0.8883500191794669, rel=1e-15)
    assert s.metrics.occupancy == pytest.approx(0.7142857142857143, rel=1e-15)
    assert s.metrics.probability_wait == pytest.approx(0.1741319335950498, rel=1e-15)


def test_erlang_c_calculator_example_of_the_telefonica_erlang_pages() -> None:
    # Erlang C calculator help (http://personal.telefonica.terra.es/web/vr/erlang/eng/
    # mcerlc.htm): 600 calls an hour of 120 s are 20 Erlangs; a 15 % delay target needs 26
    # circuits, with an average delay of 3 seconds per call; 30 circuits cut the delay
    # probability to 2.5 %, and 30 circuits at 15 % carry 23.6 Erlangs.
    agents = next(n for n in range(21, 60) if erlang_c(n, 20.0) <= 0.15)
    assert agents == 26
    m = erlang_c_metrics(volume=600, aht_seconds=120, agents=26, target_seconds=0,
                         interval_seconds=3600)  # fmt: skip
    assert round(m.asa_seconds) == 3
    assert round(erlang_c(30, 20.0) * 100, 1) == 2.5
    assert erlang_c(30, 23.6) <= 0.15 < erlang_c(30, 23.7)


def test_erlang_b_reproduces_the_westbay_calculator_manual() -> None:
    # Westbay Erlang calculator manual, "How much traffic?"
    # (https://erlang.com/calculatormanual/howmuchtrafficcanatrunkgrouphandle.htm):
    # 15 lines at 1 % blocking carry at most 8.108 Erlangs (to the printed 3 decimals).
    assert erlang_b(15, 8.108) <= 0.01 < erlang_b(15, 8.109)


# -- independent exact computation ------------------------------------------------------------


def test_erlang_b_of_ten_lines_and_five_erlangs_matches_the_exact_sum() -> None:
    # No published table figure was found in the search; the exact rational is used.
    exact = _exact_b(10, Fraction(5))
    assert erlang_b(10, 5.0) == pytest.approx(float(exact), rel=1e-14)
    assert round(erlang_b(10, 5.0), 6) == 0.018385


@pytest.mark.parametrize(
    ("agents", "erlangs"),
    [(1, Fraction(1, 2)), (2, Fraction(3, 2)), (5, Fraction(4)), (11, Fraction(10)),
     (30, Fraction(45, 2)), (40, Fraction(799, 20))],
)  # fmt: skip
def test_erlang_b_and_c_match_the_exact_stationary_distribution(
    agents: int, erlangs: Fraction
) -> None:
    assert erlang_b(agents, float(erlangs)) == pytest.approx(
        float(_exact_b(agents, erlangs)), rel=1e-13
    )
    assert erlang_c(agents, float(erlangs)) == pytest.approx(
        float(_exact_c(agents, erlangs)), rel=1e-13
    )


def test_erlang_c_is_certain_waiting_when_agents_cannot_keep_up() -> None:
    assert erlang_c(10, 10.0) == 1.0
    assert erlang_c(3, 7.5) == 1.0
    m = erlang_c_metrics(volume=100, aht_seconds=180, agents=10, target_seconds=20)
    assert (m.probability_wait, m.service_level, m.asa_seconds, m.occupancy) == (
        1.0, 0.0, math.inf, 1.0,
    )  # fmt: skip


def test_no_traffic_means_no_wait_and_no_agents() -> None:
    assert erlang_b(0, 3.0) == 1.0
    assert erlang_b(4, 0.0) == 0.0
    assert erlang_c(4, 0.0) == 0.0
    s = erlang_c_staffing(volume=0, aht_seconds=180, target_level=0.8, target_seconds=20)
    assert (s.agents, s.scheduled, s.metrics.service_level) == (0, 0, 1.0)


def test_zero_target_time_leaves_only_the_callers_who_never_wait() -> None:
    m = erlang_c_metrics(**{**CCH, "target_seconds": 0}, agents=12)
    assert m.service_level == pytest.approx(1 - m.probability_wait, abs=1e-15)


# -- large loads ------------------------------------------------------------------------------


@pytest.mark.parametrize("erlangs", [5_000.0, 20_000.0])
def test_large_loads_compute_without_overflow_and_improve_with_every_agent(
    erlangs: float,
) -> None:
    previous = erlang_c(int(erlangs), erlangs)
    assert previous == 1.0
    for agents in range(int(erlangs) + 1, int(erlangs) + 400, 7):
        wait = erlang_c(agents, erlangs)
        assert 0.0 < wait < previous
        previous = wait
    # Far beyond the load the recursion fades into the subnormals, and then to exactly 0.
    assert 0.0 <= erlang_c(int(erlangs * 1.5), erlangs) < 1e-200
    assert erlang_b(int(erlangs * 3), erlangs) == 0.0


def test_staffing_ten_thousand_erlangs_is_found_just_above_the_load() -> None:
    # Speed is a benchmark's business, not a test's; this checks the search copes.
    s = erlang_c_staffing(volume=100_000, aht_seconds=180, target_level=0.8,
                          target_seconds=20)  # fmt: skip
    assert s.metrics.erlangs == 10_000.0
    assert 10_000 < s.agents < 10_100


# -- staffing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("volume", "aht", "level", "target", "cap", "shrink"),
    [
        (100, 180, 0.8, 20, 1.0, 0.0),
        (100, 180, 0.8, 20, 0.85, 0.3),
        (360, 240, 0.8, 15, 1.0, 0.35),
        (12, 300, 0.9, 30, 1.0, 0.0),
        (1, 60, 0.5, 10, 1.0, 0.0),
        (4_000, 300, 0.95, 10, 0.9, 0.25),
        (30_000, 420, 0.7, 60, 1.0, 0.1),
    ],
)
def test_staffing_meets_the_targets_and_one_agent_fewer_does_not(
    volume: float, aht: float, level: float, target: float, cap: float, shrink: float
) -> None:
    s = erlang_c_staffing(volume=volume, aht_seconds=aht, target_level=level,
                          target_seconds=target, max_occupancy=cap, shrinkage=shrink)  # fmt: skip
    assert s.metrics.service_level >= level
    assert s.metrics.occupancy <= cap
    fewer = erlang_c_metrics(volume=volume, aht_seconds=aht, agents=s.agents - 1,
                             target_seconds=target)  # fmt: skip
    assert fewer.service_level < level or fewer.occupancy > cap
    assert s.scheduled == math.ceil(round(s.agents / (1 - shrink), 9))


def test_occupancy_cap_can_be_what_decides_the_staffing() -> None:
    # 10 Erlangs meet 80/20 with 14 agents (71 % busy); a 60 % cap needs 17.
    s = erlang_c_staffing(**CCH, target_level=0.8, max_occupancy=0.6)
    assert s.agents == 17
    assert s.metrics.occupancy == pytest.approx(10 / 17)


def test_a_cap_met_exactly_counts_as_met() -> None:
    # 8.5 Erlangs on 10 agents is exactly 85 %; binary rounding must not add an 11th.
    s = erlang_c_staffing(volume=85, aht_seconds=180, target_level=0.0, target_seconds=0,
                          max_occupancy=0.85)  # fmt: skip
    assert s.agents == 10


@pytest.mark.parametrize(
    ("agents", "shrinkage", "scheduled"),
    [(14, 0.3, 20), (14, 0.0, 14), (10, 0.5, 20), (7, 0.35, 11), (0, 0.4, 0), (100, 0.31, 145)],
)
def test_shrinkage_schedules_enough_people_to_leave_the_agents_on_the_phones(
    agents: int, shrinkage: float, scheduled: int
) -> None:
    assert scheduled_agents(agents, shrinkage) == scheduled


def test_results_are_plain_data_for_dataframes() -> None:
    s = erlang_c_staffing(**CCH, target_level=0.8, shrinkage=0.3)
    row = s.as_dict()
    assert list(row) == ["agents", "scheduled", "erlangs", "probability_wait",
                         "service_level", "asa_seconds", "occupancy"]  # fmt: skip
    assert all(type(v) in (int, float) for v in row.values())
    assert type(row["agents"]) is int
    assert isinstance(s, Staffing)
    assert isinstance(s.metrics, ErlangC)
    assert s.metrics.as_dict()["agents"] == 14


# -- refused inputs ---------------------------------------------------------------------------

GOOD_STAFFING: dict[str, Any] = {"volume": 100, "aht_seconds": 180, "target_level": 0.8,
                                 "target_seconds": 20}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"volume": -1}, "volume"),
        ({"volume": math.nan}, "volume"),
        ({"aht_seconds": 0}, "aht_seconds"),
        ({"aht_seconds": -5}, "aht_seconds"),
        ({"aht_seconds": math.inf}, "aht_seconds"),
        ({"target_level": 1.0}, "target_level"),
        ({"target_level": -0.1}, "target_level"),
        ({"target_level": 80}, "target_level"),
        ({"target_seconds": -1}, "target_seconds"),
        ({"interval_seconds": 0}, "interval_seconds"),
        ({"max_occupancy": 0}, "max_occupancy"),
        ({"max_occupancy": 1.2}, "max_occupancy"),
        ({"shrinkage": 1.0}, "shrinkage"),
        ({"shrinkage": -0.1}, "shrinkage"),
        ({"volume": "many"}, "volume"),
    ],
)
def test_staffing_refuses_nonsense_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        erlang_c_staffing(**{**GOOD_STAFFING, **change})
    assert caught.value.details["field"] == field


@pytest.mark.parametrize(("agents", "field"), [(-1, "agents"), (2.5, "agents"), (True, "agents")])
def test_metrics_refuse_agents_that_are_not_a_headcount(agents: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        erlang_c_metrics(**CCH, agents=agents)
    assert caught.value.details["field"] == field


def test_erlang_b_refuses_negative_traffic() -> None:
    with pytest.raises(InvalidInput) as caught:
        erlang_b(3, -1.0)
    assert caught.value.details["field"] == "erlangs"


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    erlangs=st.floats(min_value=0.01, max_value=2_000.0),
    extra=st.integers(min_value=0, max_value=60),
    target=st.floats(min_value=0.0, max_value=600.0),
    aht=st.floats(min_value=5.0, max_value=3_600.0),
)
def test_service_level_rises_with_every_agent_and_probabilities_stay_in_bounds(
    erlangs: float, extra: int, target: float, aht: float
) -> None:
    volume = erlangs * 1800 / aht
    agents = math.floor(erlangs) + 1 + extra
    fewer = erlang_c_metrics(volume=volume, aht_seconds=aht, agents=agents,
                             target_seconds=target)  # fmt: skip
    more = erlang_c_metrics(volume=volume, aht_seconds=aht, agents=agents + 1,
                            target_seconds=target)  # fmt: skip
    for m in (fewer, more):
        assert 0.0 <= m.probability_wait <= 1.0
        assert 0.0 <= m.service_level <= 1.0
        assert 0.0 <= m.occupancy <= 1.0
        assert m.asa_seconds >= 0.0
        assert 0.0 <= erlang_b(m.agents, erlangs) <= m.probability_wait + 1e-15
    assert more.service_level >= fewer.service_level
    assert more.probability_wait <= fewer.probability_wait
    assert more.asa_seconds <= fewer.asa_seconds
