"""Dedicated or blended: one team for live work and deferrable work, or two.

The live stream (messaging or voice) has a service-level target; the deferred stream
(back-office items, or asynchronous messages with a window of hours) only has to be done
within the interval. A planner can staff two teams, or one team that takes deferred work
whenever the live queue leaves it idle.

Assumptions of the blended figure (they make it an upper bound on the saving):

- Pre-emptive priority for live work: a live contact never waits behind deferred work,
  so the live stream sees every blended agent and its Erlang C figures at the blended
  staffing hold unchanged. An agent interrupted mid-item resumes it later.
- Deferred work only fills live idle time, and there is always some waiting: the
  deferred items of an interval are all available to be picked up during it.
- No cost to switching between the two kinds of work, and every agent has both skills.

Under them the blended team needs only enough agents for the live target and for the
total workload under the occupancy cap: max(live staffing, ⌈(a_live + a_deferred) / cap⌉).
The dedicated teams need the live staffing plus ⌈a_deferred / cap⌉. The saving is the
live team's idle time that the deferred work can soak up, so it is large when the live
occupancy is low (small queues, strict targets) and vanishes when the live team already
works at the cap.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from threadline.core.wfm.erlang import (
    DEFAULT_INTERVAL_SECONDS,
    check_non_negative,
    check_occupancy_cap,
    check_positive,
    check_shrinkage,
    check_target_level,
    erlang_c_metrics,
    erlang_c_staffing,
    scheduled_agents,
    traffic_intensity,
)

# Floating point turns exact quotients into near misses (8.5 / 0.85 is 10.000000000000002):
# a slack far below one agent keeps an exact whole number of agents from rounding up.
_RELATIVE_SLACK = 1e-12

LIMITED_BY_LIVE_SERVICE_LEVEL = "live_service_level"
LIMITED_BY_OCCUPANCY = "occupancy"


@dataclass(frozen=True)
class BlendedComparison:
    """Dedicated teams against one blended team, for the same forecast.

    *_erlangs: the workload of each stream (volume · AHT / interval).
    dedicated_live_agents: Erlang C staffing of the live stream under the occupancy cap.
    dedicated_deferred_agents: ⌈a_deferred / cap⌉.
    dedicated_scheduled: each team's agents after shrinkage, rounded up per team.
    blended_limited_by: "live_service_level" when the live target sets the blended team,
        "occupancy" when the total workload under the cap does.
    saving_agents / saving_scheduled: dedicated minus blended (never negative).
    *_occupancy: workload over agents; dedicated_occupancy is over both teams.
    live_service_level_*: the live stream's service level under each option (blended:
        with every blended agent available to it, by pre-emptive priority).
    """

    live_erlangs: float
    deferred_erlangs: float
    dedicated_live_agents: int
    dedicated_deferred_agents: int
    dedicated_agents: int
    dedicated_scheduled: int
    blended_agents: int
    blended_scheduled: int
    blended_limited_by: str
    saving_agents: int
    saving_scheduled: int
    dedicated_live_occupancy: float
    dedicated_deferred_occupancy: float
    dedicated_occupancy: float
    blended_occupancy: float
    live_service_level_dedicated: float
    live_service_level_blended: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_dedicated_and_blended(
    *,
    live_volume: float,
    live_aht_seconds: float,
    live_target_level: float,
    live_target_seconds: float,
    deferred_items: float,
    deferred_aht_seconds: float,
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
    max_occupancy: float = 0.85,
    shrinkage: float = 0.0,
) -> BlendedComparison:
    """Staff `live_volume` live contacts and `deferred_items` deferrable items per interval
    with two dedicated teams and with one blended team, and compare."""
    interval = check_positive(interval_seconds, "interval_seconds")
    live = _traffic(live_volume, live_aht_seconds, "live_volume", "live_aht_seconds", interval)
    deferred = _traffic(
        deferred_items, deferred_aht_seconds, "deferred_items", "deferred_aht_seconds", interval
    )
    # Checked here so that a refusal names this function's fields, not Erlang C's.
    level = check_target_level(live_target_level, "live_target_level")
    target = check_non_negative(live_target_seconds, "live_target_seconds")
    cap = check_occupancy_cap(max_occupancy)
    share = check_shrinkage(shrinkage)
    live_agents = erlang_c_staffing(
        volume=live_volume,
        aht_seconds=live_aht_seconds,
        target_level=level,
        target_seconds=target,
        interval_seconds=interval,
        max_occupancy=cap,
    ).agents
    deferred_agents = _ceil(deferred / cap)
    workload_agents = _ceil((live + deferred) / cap)
    blended_agents = max(live_agents, workload_agents)
    dedicated_agents = live_agents + deferred_agents
    dedicated_scheduled = scheduled_agents(live_agents, share) + scheduled_agents(
        deferred_agents, share
    )
    blended_scheduled = scheduled_agents(blended_agents, share)
    return BlendedComparison(
        live_erlangs=live,
        deferred_erlangs=deferred,
        dedicated_live_agents=live_agents,
        dedicated_deferred_agents=deferred_agents,
        dedicated_agents=dedicated_agents,
        dedicated_scheduled=dedicated_scheduled,
        blended_agents=blended_agents,
        blended_scheduled=blended_scheduled,
        blended_limited_by=(
            LIMITED_BY_LIVE_SERVICE_LEVEL
            if live_agents >= workload_agents
            else LIMITED_BY_OCCUPANCY
        ),
        saving_agents=dedicated_agents - blended_agents,
        saving_scheduled=dedicated_scheduled - blended_scheduled,
        dedicated_live_occupancy=_share(live, live_agents),
        dedicated_deferred_occupancy=_share(deferred, deferred_agents),
        dedicated_occupancy=_share(live + deferred, dedicated_agents),
        blended_occupancy=_share(live + deferred, blended_agents),
        live_service_level_dedicated=_live_service_level(
            live_volume, live_aht_seconds, live_agents, target, interval
        ),
        live_service_level_blended=_live_service_level(
            live_volume, live_aht_seconds, blended_agents, target, interval
        ),
    )


def _traffic(
    volume: float, aht_seconds: float, volume_field: str, aht_field: str, interval: float
) -> float:
    check_non_negative(volume, volume_field)
    check_positive(aht_seconds, aht_field)
    return traffic_intensity(volume, aht_seconds, interval)


def _live_service_level(
    volume: float, aht_seconds: float, agents: int, target_seconds: float, interval: float
) -> float:
    return erlang_c_metrics(
        volume=volume,
        aht_seconds=aht_seconds,
        agents=agents,
        target_seconds=target_seconds,
        interval_seconds=interval,
    ).service_level


def _share(work: float, agents: int) -> float:
    return work / agents if agents else 0.0


def _ceil(agents: float) -> int:
    return math.ceil(agents * (1 - _RELATIVE_SLACK))
