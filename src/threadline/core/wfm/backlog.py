"""Staffing asynchronous work: response windows and backlogs with a due time.

Two targets that planners of messaging and back-office work use instead of
"answer within 20 seconds":

- A response window ("90 % of messages answered within 1 h"). Messages still arrive at
  random (Poisson, within an interval of steady traffic) and are answered in order, so
  Erlang C with t = the window gives the service level. When the window is many handle
  times long, exp(-(n - a)·t / AHT) vanishes for any n > a and queueing stops being the
  constraint: the workload and the occupancy cap decide, ⌈a / cap⌉. Taking the larger
  of the two covers short windows (where Erlang C binds) and long ones alike. The model
  assumes the interval is in steady state; a window longer than the interval leans on
  the next interval being staffed alike.
- A backlog with a due time ("these 600 cases by Friday"): no arrival randomness, only
  work to get through. Agents = ⌈items · AHT / (due · cap)⌉; the occupancy cap stands for
  the time an agent at their desk still cannot spend on the items.
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
    erlang_c_metrics,
    erlang_c_staffing,
    scheduled_agents,
    traffic_intensity,
)

# Floating point turns exact quotients into near misses (600 · 1500 / 99 000 / 1.0 is
# fine, but 0.85 is not exact in binary): a slack far below one agent keeps an exact
# whole number of agents from rounding up to the next one.
_RELATIVE_SLACK = 1e-12

LIMITED_BY_SERVICE_LEVEL = "service_level"
LIMITED_BY_OCCUPANCY = "occupancy"


@dataclass(frozen=True)
class ResponseWindowStaffing:
    """Agents for a response-window target.

    erlangs: the workload a = volume · AHT / interval.
    service_level: share answered within the window at `agents` (Erlang C).
    occupancy: a / agents.
    limited_by: "service_level" when the window (queueing) sets the staffing,
        "occupancy" when the workload and the occupancy cap do.
    """

    agents: int
    scheduled: int
    erlangs: float
    service_level: float
    asa_seconds: float
    occupancy: float
    limited_by: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BacklogStaffing:
    """Agents to clear a backlog by its due time.

    work_hours: hours of handling the backlog holds (items · AHT / 3600).
    occupancy: share of the agents' time until the due time the items take.
    """

    agents: int
    scheduled: int
    work_hours: float
    occupancy: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def response_window_staffing(
    *,
    volume: float,
    aht_seconds: float,
    target_level: float,
    window_seconds: float,
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
    max_occupancy: float = 0.85,
    shrinkage: float = 0.0,
) -> ResponseWindowStaffing:
    """The fewest agents answering `target_level` of `volume` messages per interval
    within `window_seconds`, with occupancy at or under `max_occupancy`."""
    erlangs = traffic_intensity(volume, aht_seconds, interval_seconds)
    window = check_positive(window_seconds, "window_seconds")
    cap = check_occupancy_cap(max_occupancy)
    share = check_shrinkage(shrinkage)
    # Validates target_level; the cap is applied below so that we know which one binds.
    queueing = erlang_c_staffing(
        volume=volume,
        aht_seconds=aht_seconds,
        target_level=target_level,
        target_seconds=window,
        interval_seconds=interval_seconds,
    ).agents
    workload = _ceil(erlangs / cap)
    agents = max(queueing, workload)
    if agents == 0:
        return ResponseWindowStaffing(0, 0, 0.0, 1.0, 0.0, 0.0, LIMITED_BY_SERVICE_LEVEL)
    m = erlang_c_metrics(
        volume=volume,
        aht_seconds=aht_seconds,
        agents=agents,
        target_seconds=window,
        interval_seconds=interval_seconds,
    )
    return ResponseWindowStaffing(
        agents=agents,
        scheduled=scheduled_agents(agents, share),
        erlangs=erlangs,
        service_level=m.service_level,
        asa_seconds=m.asa_seconds,
        occupancy=m.occupancy,
        limited_by=LIMITED_BY_SERVICE_LEVEL if queueing > workload else LIMITED_BY_OCCUPANCY,
    )


def backlog_staffing(
    *,
    items: float,
    aht_seconds: float,
    due_seconds: float,
    max_occupancy: float = 0.85,
    shrinkage: float = 0.0,
) -> BacklogStaffing:
    """The fewest agents getting through `items` of work, `aht_seconds` each, within
    `due_seconds`, at an occupancy of at most `max_occupancy`.

    `items` may be fractional: it is often a forecast. `due_seconds` is working time
    (the hours agents are scheduled), not calendar time.
    """
    count = check_non_negative(items, "items")
    aht = check_positive(aht_seconds, "aht_seconds")
    due = check_positive(due_seconds, "due_seconds")
    cap = check_occupancy_cap(max_occupancy)
    share = check_shrinkage(shrinkage)
    work = count * aht
    agents = _ceil(work / (due * cap))
    return BacklogStaffing(
        agents=agents,
        scheduled=scheduled_agents(agents, share),
        work_hours=work / 3600.0,
        occupancy=work / (agents * due) if agents else 0.0,
    )


def _ceil(agents: float) -> int:
    return math.ceil(agents * (1 - _RELATIVE_SLACK))
