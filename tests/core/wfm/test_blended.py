"""Dedicated against blended staffing (core.wfm.blended).

No published worked example of this comparison was found; the figures below are checked
by hand from Erlang C staffing (itself tested against published tables in test_erlang).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from threadline.core.errors import InvalidInput
from threadline.core.wfm.blended import compare_dedicated_and_blended
from threadline.core.wfm.erlang import erlang_c_staffing


def compare(**changes: Any) -> Any:
    arguments: dict[str, Any] = {
        "live_volume": 24,
        "live_aht_seconds": 300,
        "live_target_level": 0.8,
        "live_target_seconds": 20,
        "deferred_items": 60,
        "deferred_aht_seconds": 600,
    }
    return compare_dedicated_and_blended(**{**arguments, **changes})


def test_a_quiet_live_queue_lends_its_idle_time_to_deferred_work() -> None:
    # Live: 24 chats per 30 min x 5 min = 4 Erlangs; 80 % in 20 s takes 7 agents, busy
    # only 57 % of the time. Deferred: 60 items x 10 min = 20 Erlangs → ⌈20 / 0.85⌉ = 24.
    # Blended: ⌈24 / 0.85⌉ = 29 agents instead of 7 + 24 = 31.
    c = compare()
    assert (c.live_erlangs, c.deferred_erlangs) == (4.0, 20.0)
    assert (c.dedicated_live_agents, c.dedicated_deferred_agents) == (7, 24)
    assert (c.dedicated_agents, c.blended_agents, c.saving_agents) == (31, 29, 2)
    assert c.blended_limited_by == "occupancy"
    assert c.dedicated_live_occupancy == pytest.approx(4 / 7)
    assert c.dedicated_occupancy == pytest.approx(24 / 31)
    assert c.blended_occupancy == pytest.approx(24 / 29)
    assert c.blended_occupancy <= 0.85


def test_the_saving_vanishes_when_the_live_team_already_works_at_the_cap() -> None:
    # Live: 1 200 calls x 5 min = 200 Erlangs; the 85 % cap, not the 20 s target, sets the
    # live team at ⌈235.3⌉ = 236. Deferred: 10 Erlangs → 12. Blended: ⌈210 / 0.85⌉ = 248.
    c = compare(live_volume=1200, deferred_items=30)
    assert c.dedicated_live_occupancy > 0.84
    assert (c.dedicated_live_agents, c.dedicated_deferred_agents) == (236, 12)
    assert (c.dedicated_agents, c.blended_agents, c.saving_agents) == (248, 248, 0)


@pytest.mark.parametrize("live_volume", [5, 24, 60, 150, 400, 1200, 4000])
@pytest.mark.parametrize("deferred_items", [0, 10, 60, 300])
def test_the_saving_is_at_most_the_live_teams_spare_capacity(
    live_volume: int, deferred_items: int
) -> None:
    # saving < (live agents · cap - a_live) / cap + 1: the idle time the live team has
    # under the cap, plus one agent for rounding two teams up instead of one.
    c = compare(live_volume=live_volume, deferred_items=deferred_items)
    spare = (c.dedicated_live_agents * 0.85 - c.live_erlangs) / 0.85
    assert 0 <= c.saving_agents < spare + 1
    assert c.blended_occupancy <= 0.85 + 1e-12


def test_live_priority_keeps_the_live_target_in_the_blended_team() -> None:
    c = compare(live_target_level=0.9, live_target_seconds=10)
    assert c.live_service_level_dedicated >= 0.9
    assert c.live_service_level_blended >= c.live_service_level_dedicated


def test_a_strict_live_target_can_set_the_blended_team() -> None:
    # 4 Erlangs of live work with 99 % in 5 s needs more agents than the 0.6 Erlangs of
    # deferred work and the live work together need under the cap.
    c = compare(live_target_level=0.99, live_target_seconds=5, deferred_items=2)
    live = erlang_c_staffing(
        volume=24, aht_seconds=300, target_level=0.99, target_seconds=5, max_occupancy=0.85
    )
    assert c.blended_limited_by == "live_service_level"
    assert c.blended_agents == live.agents
    assert c.saving_agents == c.dedicated_deferred_agents == 1


def test_shrinkage_rounds_each_dedicated_team_up_separately() -> None:
    # 7 / 0.7 = 10 and 24 / 0.7 = 34.3 → 35 for the two teams; 29 / 0.7 = 41.4 → 42.
    c = compare(shrinkage=0.3)
    assert (c.dedicated_scheduled, c.blended_scheduled, c.saving_scheduled) == (45, 42, 3)


def test_no_work_needs_nobody() -> None:
    c = compare(live_volume=0, deferred_items=0)
    assert (c.dedicated_agents, c.blended_agents, c.saving_agents) == (0, 0, 0)
    assert (c.blended_occupancy, c.live_service_level_blended) == (0.0, 1.0)


def test_results_are_plain_data() -> None:
    assert all(type(v) in (int, float, str) for v in compare().as_dict().values())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"live_volume": -1}, "live_volume"),
        ({"live_aht_seconds": 0}, "live_aht_seconds"),
        ({"live_target_level": 1.0}, "live_target_level"),
        ({"live_target_seconds": -1}, "live_target_seconds"),
        ({"deferred_items": -5}, "deferred_items"),
        ({"deferred_aht_seconds": math.nan}, "deferred_aht_seconds"),
        ({"interval_seconds": 0}, "interval_seconds"),
        ({"max_occupancy": 1.5}, "max_occupancy"),
        ({"shrinkage": 1.0}, "shrinkage"),
    ],
)
def test_refuses_nonsense_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        compare(**changes)
    assert caught.value.details["field"] == field
