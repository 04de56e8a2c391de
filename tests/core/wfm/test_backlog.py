"""Response-window and backlog staffing (core.wfm.backlog)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from threadline.core.errors import InvalidInput
from threadline.core.wfm.backlog import backlog_staffing, response_window_staffing
from threadline.core.wfm.erlang import erlang_c_metrics, erlang_c_staffing

HOUR = 3600.0

# -- backlog with a due time ------------------------------------------------------------------


def test_reproduces_the_call_centre_helper_back_office_example() -> None:
    # Call Centre Helper forum, "Backoffice FTE Caculation", Method 1
    # (https://www.callcentrehelper.com/forum/backoffice-fte-caculation-115205.htm):
    # 2 500 requests a day, 15 min each, an 8-hour day: "78.125 Agents needed";
    # "Add in shrinkage of 35% gives 122 agents" (79 / 0.65 = 121.5, rounded up).
    s = backlog_staffing(
        items=2500, aht_seconds=900, due_seconds=8 * HOUR, max_occupancy=1.0, shrinkage=0.35
    )
    assert s.work_hours == 625.0
    assert s.work_hours / 8 == 78.125
    assert (s.agents, s.scheduled) == (79, 122)


def test_reproduces_the_turnella_complaints_team_example() -> None:
    # Turnella, "Back-office staffing", worked example "complaints team"
    # (https://turnella.com/back-office-staffing): a 200-case backlog cleared in 5 days
    # on top of 80 new cases a day, 25 min a case, 5.5 productive hours a day:
    # "Agents needed = 120 ÷ 13.2 = 9.1 → 10 agents".
    s = backlog_staffing(
        items=200 + 5 * 80, aht_seconds=25 * 60, due_seconds=5 * 5.5 * HOUR, max_occupancy=1.0
    )
    assert s.agents == 10
    assert s.occupancy == pytest.approx(600 * 1500 / (10 * 99000))


def test_occupancy_cap_stretches_the_backlog_over_more_agents() -> None:
    # 480 items x 300 s = 40 h of work in an 8 h day: 5 agents flat out, 40 / (8 · 0.8)
    # = 6.25 → 7 at an 80 % cap; 7 / (1 - 0.3) = 10 scheduled, exactly.
    s = backlog_staffing(
        items=480, aht_seconds=300, due_seconds=8 * HOUR, max_occupancy=0.8, shrinkage=0.3
    )
    assert (s.work_hours, s.agents, s.scheduled) == (40.0, 7, 10)
    assert s.occupancy == pytest.approx(40 / 56)


def test_an_exact_whole_number_of_agents_is_not_rounded_up() -> None:
    # 34 h of work over 8 h at 85 %: 34 / 6.8 = 5 agents, though 6.8 is inexact in binary.
    s = backlog_staffing(items=408, aht_seconds=300, due_seconds=8 * HOUR, max_occupancy=0.85)
    assert s.agents == 5


def test_no_backlog_needs_nobody() -> None:
    s = backlog_staffing(items=0, aht_seconds=300, due_seconds=HOUR)
    assert s.as_dict() == {"agents": 0, "scheduled": 0, "work_hours": 0.0, "occupancy": 0.0}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"items": -1}, "items"),
        ({"items": math.inf}, "items"),
        ({"aht_seconds": 0}, "aht_seconds"),
        ({"due_seconds": 0}, "due_seconds"),
        ({"due_seconds": -HOUR}, "due_seconds"),
        ({"max_occupancy": 0}, "max_occupancy"),
        ({"max_occupancy": 1.01}, "max_occupancy"),
        ({"shrinkage": 1.0}, "shrinkage"),
    ],
)
def test_backlog_refuses_nonsense_naming_the_field(changes: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"items": 100, "aht_seconds": 300, "due_seconds": HOUR}
    with pytest.raises(InvalidInput) as caught:
        backlog_staffing(**{**arguments, **changes})
    assert caught.value.details["field"] == field


# -- response window --------------------------------------------------------------------------


def test_a_long_window_is_set_by_workload_and_the_occupancy_cap() -> None:
    # 400 messages an hour at 10 min each is 66.67 Erlangs; within a 1 h window the queue
    # needs only 68, but 66.67 / 0.85 = 78.4 → 79 agents.
    s = response_window_staffing(
        volume=400,
        aht_seconds=600,
        target_level=0.9,
        window_seconds=HOUR,
        interval_seconds=HOUR,
        max_occupancy=0.85,
        shrinkage=0.25,
    )
    assert s.erlangs == pytest.approx(400 * 600 / 3600)
    assert (s.agents, s.scheduled, s.limited_by) == (79, 106, "occupancy")
    assert s.occupancy == pytest.approx((400 * 600 / 3600) / 79)
    assert s.service_level > 0.999999


def test_a_short_window_is_set_by_queueing() -> None:
    # A 20 s window is an ordinary Erlang C target: 16.67 Erlangs at 85 % would take 20,
    # but 80 % within 20 s needs more.
    s = response_window_staffing(
        volume=100, aht_seconds=300, target_level=0.8, window_seconds=20, max_occupancy=0.85
    )
    reference = erlang_c_staffing(volume=100, aht_seconds=300, target_level=0.8, target_seconds=20)
    assert s.limited_by == "service_level"
    assert s.agents == reference.agents > 20
    assert s.service_level == reference.metrics.service_level


@pytest.mark.parametrize("window", [10.0, 60.0, 300.0, 1800.0, 4 * HOUR])
@pytest.mark.parametrize("cap", [0.7, 0.85, 1.0])
def test_staffing_is_erlang_c_at_the_window_under_the_cap(window: float, cap: float) -> None:
    s = response_window_staffing(
        volume=250, aht_seconds=420, target_level=0.9, window_seconds=window, max_occupancy=cap
    )
    reference = erlang_c_staffing(
        volume=250, aht_seconds=420, target_level=0.9, target_seconds=window, max_occupancy=cap
    )
    assert s.agents == reference.agents
    below = erlang_c_metrics(
        volume=250, aht_seconds=420, agents=s.agents - 1, target_seconds=window
    )
    assert below.service_level < 0.9 or below.occupancy > cap


def test_a_longer_window_never_needs_more_agents() -> None:
    needed = [
        response_window_staffing(
            volume=250, aht_seconds=420, target_level=0.9, window_seconds=w
        ).agents
        for w in (5.0, 30.0, 120.0, 600.0, HOUR, 8 * HOUR)
    ]
    assert needed == sorted(needed, reverse=True)


def test_no_messages_need_nobody() -> None:
    s = response_window_staffing(volume=0, aht_seconds=600, target_level=0.9, window_seconds=HOUR)
    assert (s.agents, s.scheduled, s.service_level, s.occupancy) == (0, 0, 1.0, 0.0)


def test_response_window_results_are_plain_data() -> None:
    s = response_window_staffing(volume=50, aht_seconds=600, target_level=0.9, window_seconds=HOUR)
    assert all(type(v) in (int, float, str) for v in s.as_dict().values())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"volume": -1}, "volume"),
        ({"aht_seconds": 0}, "aht_seconds"),
        ({"target_level": 1.0}, "target_level"),
        ({"target_level": -0.5}, "target_level"),
        ({"window_seconds": 0}, "window_seconds"),
        ({"window_seconds": math.nan}, "window_seconds"),
        ({"interval_seconds": 0}, "interval_seconds"),
        ({"max_occupancy": 0}, "max_occupancy"),
        ({"shrinkage": -0.1}, "shrinkage"),
    ],
)
def test_response_window_refuses_nonsense_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    arguments: dict[str, Any] = {
        "volume": 100,
        "aht_seconds": 600,
        "target_level": 0.9,
        "window_seconds": HOUR,
    }
    with pytest.raises(InvalidInput) as caught:
        response_window_staffing(**{**arguments, **changes})
    assert caught.value.details["field"] == field
