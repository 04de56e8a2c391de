"""Erlang B and Erlang C (M/M/n): the probability of waiting, the service level, the
average speed of answer and the smallest staffing that meets a service-level target.

Units: times in seconds; volume is contacts per interval of `interval_seconds`; traffic
is in Erlangs, a = volume · AHT / interval (the number of agents the work would keep busy
if it arrived evenly).

Numerics: Erlang B comes from its recursion B(0) = 1, B(k) = a·B(k-1) / (k + a·B(k-1)),
whose every step stays in [0, 1], and Erlang C from B. No factorial or power a**n is
formed, so tens of thousands of agents are fine. The staffing search steps that
recursion one agent at a time, so it costs O(agents) in all.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from numbers import Integral
from typing import Any, Generic, Protocol, TypeVar

from threadline.core.errors import InvalidInput

DEFAULT_INTERVAL_SECONDS = 1800.0

# Binary floating point turns exact decimal answers into near misses: 14 agents at 30 %
# shrinkage is 14 / 0.7 = 20.000000000000004, and 8.5 Erlangs over 10 agents may land a
# hair above an 85 % cap. A relative slack far below one agent keeps those exact cases
# exact without ever changing an answer that is genuinely over.
_RELATIVE_SLACK = 1e-12


# -- input checks (shared with erlang_a) ------------------------------------------------------


def check_finite(value: float, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be a number", field=field) from None
    if not math.isfinite(number):
        # NaN compares false with everything and would slip through every bound below.
        raise InvalidInput(f"{field} must be a finite number", field=field)
    return number


def check_positive(value: float, field: str) -> float:
    number = check_finite(value, field)
    if number <= 0:
        raise InvalidInput(f"{field} must be positive", field=field)
    return number


def check_non_negative(value: float, field: str) -> float:
    number = check_finite(value, field)
    if number < 0:
        raise InvalidInput(f"{field} must not be negative", field=field)
    return number


def check_agents(value: int, field: str = "agents") -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InvalidInput(f"{field} must be a whole number", field=field)
    if value < 0:
        raise InvalidInput(f"{field} must not be negative", field=field)
    return int(value)


def check_target_level(value: float, field: str = "target_level") -> float:
    number = check_finite(value, field)
    if not 0 <= number < 1:
        # 100 % within t would need infinitely many agents: some caller always waits.
        raise InvalidInput(f"{field} must be at least 0 and below 1", field=field)
    return number


def check_occupancy_cap(value: float, field: str = "max_occupancy") -> float:
    number = check_finite(value, field)
    if not 0 < number <= 1:
        raise InvalidInput(f"{field} must be above 0 and at most 1", field=field)
    return number


def check_shrinkage(value: float, field: str = "shrinkage") -> float:
    number = check_finite(value, field)
    if not 0 <= number < 1:
        raise InvalidInput(f"{field} must be at least 0 and below 1", field=field)
    return number


def traffic_intensity(
    volume: float, aht_seconds: float, interval_seconds: float = DEFAULT_INTERVAL_SECONDS
) -> float:
    """Offered load in Erlangs: volume per interval times AHT, over the interval."""
    contacts = check_non_negative(volume, "volume")
    aht = check_positive(aht_seconds, "aht_seconds")
    interval = check_positive(interval_seconds, "interval_seconds")
    return contacts * aht / interval


def within_occupancy_cap(erlangs_carried: float, agents: int, cap: float) -> bool:
    return erlangs_carried <= cap * agents * (1 + _RELATIVE_SLACK)


def scheduled_agents(agents: int, shrinkage: float) -> int:
    """Agents to schedule so that `agents` remain on the phones after shrinkage."""
    check_agents(agents)
    share = check_shrinkage(shrinkage)
    return math.ceil(agents / (1.0 - share) * (1 - _RELATIVE_SLACK))


# -- Erlang B and C ---------------------------------------------------------------------------


def _erlang_b(agents: int, erlangs: float) -> float:
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = erlangs * blocking / (k + erlangs * blocking)
    return blocking


def _erlang_b_step(blocking: float, agents: int, erlangs: float) -> float:
    """B(agents) from B(agents - 1)."""
    return erlangs * blocking / (agents + erlangs * blocking)


def _erlang_c_from_b(agents: int, erlangs: float, blocking: float) -> float:
    # C = n·B / (n - a·(1 - B)): the denominator is n - a + a·B > 0 whenever n > a.
    return agents * blocking / (agents - erlangs * (1.0 - blocking))


def erlang_b(agents: int, erlangs: float) -> float:
    """Blocking probability of a loss system (M/M/n/n) with `agents` servers."""
    return _erlang_b(check_agents(agents), check_non_negative(erlangs, "erlangs"))


def erlang_c(agents: int, erlangs: float) -> float:
    """Probability that a contact waits (M/M/n); 1.0 when the agents cannot keep up.

    With no traffic nobody waits, so that is 0.0 whatever the staffing.
    """
    n = check_agents(agents)
    a = check_non_negative(erlangs, "erlangs")
    if a == 0:
        return 0.0
    if n <= a:
        return 1.0
    return _erlang_c_from_b(n, a, _erlang_b(n, a))


# -- metrics at a given staffing --------------------------------------------------------------


@dataclass(frozen=True)
class ErlangC:
    """Steady-state figures of an M/M/n queue staffed with `agents`.

    erlangs: the offered traffic a.
    probability_wait: share of contacts that find every agent busy (Erlang C).
    service_level: share answered within the target time.
    asa_seconds: average speed of answer over all contacts (inf when agents <= erlangs).
    occupancy: share of agents' time spent handling contacts (a / n, capped at 1).
    """

    agents: int
    erlangs: float
    probability_wait: float
    service_level: float
    asa_seconds: float
    occupancy: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _metrics(
    agents: int, erlangs: float, blocking: float, aht: float, target_seconds: float
) -> ErlangC:
    if erlangs == 0:
        return ErlangC(agents, 0.0, 0.0, 1.0, 0.0, 0.0)
    if agents <= erlangs:
        # The queue grows without bound: everyone waits and the wait has no mean.
        return ErlangC(agents, erlangs, 1.0, 0.0, math.inf, 1.0)
    wait = _erlang_c_from_b(agents, erlangs, blocking)
    spare = agents - erlangs
    return ErlangC(
        agents=agents,
        erlangs=erlangs,
        probability_wait=wait,
        service_level=1.0 - wait * math.exp(-spare * target_seconds / aht),
        asa_seconds=wait * aht / spare,
        occupancy=erlangs / agents,
    )


def erlang_c_metrics(
    *,
    volume: float,
    aht_seconds: float,
    agents: int,
    target_seconds: float,
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
) -> ErlangC:
    """Erlang C figures for `volume` contacts per interval handled by `agents`.

    Service level within t: 1 - C·exp(-(n - a)·t / AHT); ASA: C·AHT / (n - a).
    """
    a = traffic_intensity(volume, aht_seconds, interval_seconds)
    n = check_agents(agents)
    target = check_non_negative(target_seconds, "target_seconds")
    return _metrics(n, a, _erlang_b(n, a), float(aht_seconds), target)


# -- staffing ---------------------------------------------------------------------------------


class Figures(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


M = TypeVar("M", bound=Figures)


@dataclass(frozen=True)
class Staffing(Generic[M]):
    """The smallest staffing meeting the targets, whichever model found it.

    agents: needed on contacts; scheduled: to schedule so that `agents` remain after
    shrinkage, ceil(agents / (1 - shrinkage)); metrics: the model's figures at `agents`.
    """

    agents: int
    scheduled: int
    metrics: M

    def as_dict(self) -> dict[str, Any]:
        """One flat row: the staffing, then the figures at that staffing."""
        figures = self.metrics.as_dict()
        del figures["agents"]
        return {"agents": self.agents, "scheduled": self.scheduled, **figures}


def erlang_c_staffing(
    *,
    volume: float,
    aht_seconds: float,
    target_level: float,
    target_seconds: float,
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
    max_occupancy: float = 1.0,
    shrinkage: float = 0.0,
) -> Staffing[ErlangC]:
    """The fewest agents n > a whose service level within `target_seconds` reaches
    `target_level` and whose occupancy a / n stays at or under `max_occupancy`.

    No traffic needs no agents.
    """
    a = traffic_intensity(volume, aht_seconds, interval_seconds)
    level = check_target_level(target_level)
    target = check_non_negative(target_seconds, "target_seconds")
    cap = check_occupancy_cap(max_occupancy)
    share = check_shrinkage(shrinkage)
    aht = float(aht_seconds)
    if a == 0:
        return Staffing(0, 0, _metrics(0, 0.0, 1.0, aht, target))
    # Both bounds are necessary, so nothing below them can qualify: stability needs n > a
    # and the cap needs n >= a / cap. The service level then rises with every agent.
    agents = max(math.floor(a) + 1, math.floor(a / cap))
    while not within_occupancy_cap(a, agents, cap):
        agents += 1
    blocking = _erlang_b(agents, a)
    metrics = _metrics(agents, a, blocking, aht, target)
    while metrics.service_level < level:
        agents += 1
        blocking = _erlang_b_step(blocking, agents, a)
        metrics = _metrics(agents, a, blocking, aht, target)
    return Staffing(agents, scheduled_agents(agents, share), metrics)
