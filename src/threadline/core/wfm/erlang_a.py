"""Erlang A (M/M/n+M, the Palm queue): Erlang C with callers who give up.

Each waiting caller abandons after an exponential patience with mean `patience_seconds`;
the queue is stable at any staffing because the impatient leave.

Method: an exact birth-death computation, in units of the handle time (μ = 1, offered
load a, abandonment rate θ = AHT / patience).

- States k <= n (k busy agents) need no sum: relative to π(n) their mass is 1/B - 1,
  with B the Erlang B value from the stable recursion (erlang.py). In the loss-system
  scale where Σ_{k<=n} π(k) = 1, π(n) = B and the non-waiting states hold 1 - B.
- State n + j (j callers waiting) has π(n + j) = B·w(j), w(j) = Π_{i=1..j} a / (n + i·θ),
  summed in log space over j = 0..J and cut where the rest is below 1e-16 of the total
  (the ratios fall, so the tail is bounded by a geometric series).
- A caller who arrives to find j waiting (PASTA) moves up a place at rate n + i·θ with i
  callers ahead and abandons at rate θ. Its offered wait V (the wait if it never gave up)
  is a sum of exponentials with rates n + i·θ, i = 0..j, and θ·V is distributed as
  -log of a Beta(n/θ, j + 1) variable. Hence, exactly, with κ = n/θ:
    P(served)               = n / (n + (j + 1)·θ)                (a telescoping product)
    P(served, V <= t)       = P(served) · I(1 - e^{-θt}; j + 1, κ + 1)
    E[V; served]            = P(served) · Σ_{i=0..j} 1 / (n + (i + 1)·θ)
  I is the regularised incomplete beta function (scipy.special.betainc); the served
  caller's wait is V, and an abandoner never counts as answered.

References: A. Mandelbaum and S. Zeltyn, "The Palm/Erlang-A Queue, with Applications to
Call Centers" (Technion, 2005), §3-4; O. Garnett, A. Mandelbaum and M. Reiman,
"Designing a Call Center with Impatient Customers", MSOM 4(3), 2002.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.special import betainc, logsumexp  # type: ignore[import-untyped,unused-ignore]

from threadline.core.errors import InvalidInput
from threadline.core.wfm.erlang import (
    DEFAULT_INTERVAL_SECONDS,
    Staffing,
    _erlang_b,
    check_agents,
    check_non_negative,
    check_occupancy_cap,
    check_positive,
    check_shrinkage,
    check_target_level,
    scheduled_agents,
    traffic_intensity,
    within_occupancy_cap,
)

# The tail of the queue distribution is dropped once it is below this share of the total:
# under double precision's 1.1e-16, so dropping it changes no printed digit.
_TAIL = 1e-16
# A cap on waiting states summed. Only a queue with far too few agents and a patience of
# many handle times comes near it (about (a - n)·patience / AHT states are needed); that
# question is better asked of Erlang C, and summing millions of states would be slow.
MAX_QUEUE_STATES = 4_000_000
# Queue states summed at first; doubled until the tail bound holds.
_FIRST_QUEUE_STATES = 256
# Patience beyond 1e30 handle times is infinite patience to every printed digit (the
# figures already equal Erlang C's at 1e20), while n / θ must stay a finite double for the
# incomplete beta function; smaller abandonment rates are raised to this one.
_SLOWEST_ABANDONMENT = 1e-30


@dataclass(frozen=True)
class ErlangA:
    """Steady-state figures of an M/M/n+M queue staffed with `agents`.

    probability_wait: share of callers who find every agent busy.
    probability_abandon: share who hang up before an agent answers.
    service_level: share of all callers answered within the target time; abandoners are
        misses, even those who hung up before it.
    asa_seconds: mean wait of the callers who are answered.
    mean_wait_seconds: mean time in queue over all callers, abandoners included (what
        some tools print as "ASA"); with exponential patience it is P(abandon)·patience.
    occupancy: share of agents' time spent handling calls (carried load / agents).
    """

    agents: int
    erlangs: float
    probability_wait: float
    probability_abandon: float
    service_level: float
    asa_seconds: float
    mean_wait_seconds: float
    occupancy: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _queue_log_weights(agents: int, erlangs: float, theta: float) -> np.ndarray[Any, Any]:
    """log w(j) for j = 0..J, long enough that the rest is below _TAIL of the sum."""
    # The weights rise while a > n + j·θ and fall after, so start past the peak.
    peak = max(0.0, (erlangs - agents) / theta)
    if peak > MAX_QUEUE_STATES:
        raise _queue_too_long()
    states = int(peak) + _FIRST_QUEUE_STATES
    while True:
        i = np.arange(1, states + 1, dtype=float)
        log_w = np.concatenate(([0.0], np.cumsum(math.log(erlangs) - np.log(agents + i * theta))))
        ratio = erlangs / (agents + (states + 1) * theta)
        if ratio < 1:
            tail = log_w[-1] + math.log(ratio / (1 - ratio)) - float(logsumexp(log_w))
            if tail < math.log(_TAIL):
                return log_w
        if states >= MAX_QUEUE_STATES:
            raise _queue_too_long()
        states = min(2 * states, MAX_QUEUE_STATES)


def _queue_too_long() -> InvalidInput:
    return InvalidInput(
        f"with this patience and so few agents the queue would hold over {MAX_QUEUE_STATES}"
        " callers; use Erlang C, or more agents",
        field="patience_seconds",
    )


def _metrics(
    agents: int, erlangs: float, theta: float, aht: float, target_seconds: float
) -> ErlangA:
    """Figures in handle-time units (μ = 1); theta = AHT / patience."""
    theta = max(theta, _SLOWEST_ABANDONMENT)
    if erlangs == 0:
        return ErlangA(agents, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
    blocking = _erlang_b(agents, erlangs)
    if blocking == 0:
        # So many agents that a busy moment is below the smallest double: nobody waits.
        return ErlangA(agents, erlangs, 0.0, 0.0, 1.0, 0.0, 0.0, erlangs / agents)
    log_w = _queue_log_weights(agents, erlangs, theta)
    log_no_wait = math.log1p(-blocking)
    log_total = float(np.logaddexp(log_no_wait, math.log(blocking) + logsumexp(log_w)))
    # Share of all callers who find j waiting, j = 0..J (PASTA).
    finds = np.exp(math.log(blocking) + log_w - log_total)
    no_wait = math.exp(log_no_wait - log_total)

    ahead = np.arange(1, len(log_w) + 1, dtype=float)  # j + 1: the caller and those before
    served = agents / (agents + ahead * theta)
    # θ·t in handle times; expm1 keeps 1 - e^{-θt} accurate when patience dwarfs t.
    reach = -math.expm1(-theta * target_seconds / aht)
    served_in_time = served * betainc(ahead, agents / theta + 1.0, reach)
    wait_if_served = np.cumsum(1.0 / (agents + ahead * theta))

    probability_wait = float(finds.sum())
    # Summed directly rather than as 1 - answered, which would lose a small share to
    # cancellation.
    abandon = float(finds @ (ahead * theta / (agents + ahead * theta)))
    answered = 1.0 - abandon
    service_level = no_wait + float(finds @ served_in_time)
    asa = float(finds @ (served * wait_if_served)) / answered * aht
    return ErlangA(
        agents=agents,
        erlangs=erlangs,
        probability_wait=min(probability_wait, 1.0),
        probability_abandon=abandon,
        service_level=min(service_level, 1.0),
        asa_seconds=asa,
        # Abandonment runs at rate θ for as long as a caller waits: P(ab) = θ·E[wait].
        mean_wait_seconds=abandon / theta * aht,
        occupancy=min(erlangs * answered / agents, 1.0),
    )


def _check_agents_for(agents: int, erlangs: float) -> int:
    n = check_agents(agents)
    if n == 0 and erlangs > 0:
        raise InvalidInput("agents must be at least 1 when there is traffic", field="agents")
    return n


def erlang_a_metrics(
    *,
    volume: float,
    aht_seconds: float,
    patience_seconds: float,
    agents: int,
    target_seconds: float,
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
) -> ErlangA:
    """Erlang A figures for `volume` calls per interval, `agents` agents and callers whose
    patience is exponential with mean `patience_seconds`."""
    a = traffic_intensity(volume, aht_seconds, interval_seconds)
    patience = check_positive(patience_seconds, "patience_seconds")
    n = _check_agents_for(agents, a)
    target = check_non_negative(target_seconds, "target_seconds")
    aht = float(aht_seconds)
    return _metrics(n, a, aht / patience, aht, target)


# The smallest staffing meeting the targets under this model (core.wfm.erlang.Staffing).
ErlangAStaffing = Staffing[ErlangA]


def erlang_a_staffing(
    *,
    volume: float,
    aht_seconds: float,
    patience_seconds: float,
    target_level: float,
    target_seconds: float,
    max_abandon: float | None = None,
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
    max_occupancy: float = 1.0,
    shrinkage: float = 0.0,
) -> ErlangAStaffing:
    """The fewest agents whose service level within `target_seconds` (abandoners are
    misses) reaches `target_level`, whose abandonment is at most `max_abandon` (when
    given) and whose occupancy stays at or under `max_occupancy`.

    Every figure improves as agents are added, so the answer is found by doubling up from
    a lower bound and then bisecting. No traffic needs no agents.
    """
    a = traffic_intensity(volume, aht_seconds, interval_seconds)
    patience = check_positive(patience_seconds, "patience_seconds")
    level = check_target_level(target_level)
    target = check_non_negative(target_seconds, "target_seconds")
    cap = check_occupancy_cap(max_occupancy)
    share = check_shrinkage(shrinkage)
    if max_abandon is not None:
        max_abandon = check_non_negative(max_abandon, "max_abandon")
        if not 0 < max_abandon <= 1:
            # Somebody always hangs up when there is traffic: 0 would need infinite agents.
            raise InvalidInput("max_abandon must be above 0 and at most 1", field="max_abandon")
    aht = float(aht_seconds)
    theta = aht / patience
    if a == 0:
        return ErlangAStaffing(0, 0, _metrics(0, 0.0, theta, aht, target))

    def meets(metrics: ErlangA) -> bool:
        return (
            metrics.service_level >= level
            and (max_abandon is None or metrics.probability_abandon <= max_abandon)
            and within_occupancy_cap(metrics.occupancy * metrics.agents, metrics.agents, cap)
        )

    # Answered calls carry at most n Erlangs, so SL <= answered share <= n / a; the same
    # bound holds for 1 - max_abandon. Nothing below this can qualify.
    floor_share = max(level, 0.0 if max_abandon is None else 1.0 - max_abandon)
    failing = max(0, math.floor(a * floor_share) - 1)
    step = max(1, math.ceil(math.sqrt(a)))
    candidate = max(failing + 1, math.ceil(a))
    found = _metrics(candidate, a, theta, aht, target)
    while not meets(found):
        failing = candidate
        candidate += step
        step *= 2
        found = _metrics(candidate, a, theta, aht, target)
    while candidate - failing > 1:
        middle = (failing + candidate) // 2
        trial = _metrics(middle, a, theta, aht, target)
        if meets(trial):
            candidate, found = middle, trial
        else:
            failing = middle
    return ErlangAStaffing(candidate, scheduled_agents(candidate, share), found)
