"""Concurrency-aware staffing for live chat and messaging.

An agent may hold up to `c_max` conversations at once, and each one takes longer the more
the agent holds: the planner gives `aht_by_concurrency`, where item i is the handle time
(seconds, per conversation) while the agent holds i + 1 conversations.

The model is a birth-death chain on k, the number of conversations in the system (in
service plus waiting), with N agents and S = N·c_max slots:

- arrivals are Poisson at rate λ = volume / interval_seconds;
- the k ≤ S conversations in service are spread evenly (each agent holds ⌊k/N⌋ or
  ⌈k/N⌉), which is what least-loaded routing aims for; the model assumes the spread is
  restored at once after each completion;
- an agent holding c conversations finishes one at rate c / AHT(c) (exponential handle
  times), so the total completion rate r(k) is the sum over agents, and r(S) once every
  slot is busy: the rest wait in one FIFO queue.

"Waiting" means finding every slot busy: a conversation that gets a slot is answered at
once. With a single concurrency level the chain is M/M/N and every figure equals Erlang C.
Two consequences a planner should know: a curve that adds no capacity (AHT doubling with
each extra conversation) can still save an agent at very small loads, because parking a
conversation on a busy agent counts as answering it; and occupancy (holding at least one
conversation) nears 1 as soon as agents run concurrent chats, so an occupancy cap meant
for one-at-a-time work binds much harder here (achieved_concurrency / c_max is the share
of slots in use).

The chain is solved exactly: log-space products up to S, and beyond S the distribution is
geometric with ratio λ / r(S), so its tail is summed in closed form instead of truncated.
For the same reason the waiting time of a customer who finds j conversations queued,
Erlang(j + 1, r(S)), mixed over the geometric queue length, is exactly exponential with
rate r(S) - λ (the Erlang C service-level formula).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.special import logsumexp  # type: ignore[import-untyped,unused-ignore]

from threadline.core.errors import InvalidInput
from threadline.core.wfm.erlang import (
    DEFAULT_INTERVAL_SECONDS,
    Staffing,
    check_agents,
    check_non_negative,
    check_occupancy_cap,
    check_positive,
    check_shrinkage,
    check_target_level,
    scheduled_agents,
    within_occupancy_cap,
)


@dataclass(frozen=True)
class ChatMetrics:
    """Steady-state figures of a chat queue staffed with `agents`.

    probability_wait: share of conversations that find every slot busy.
    service_level: share of conversations given a slot within `target_seconds`.
    asa_seconds: mean wait for a slot, over all conversations (inf when unstable).
    occupancy: share of time an agent holds at least one conversation.
    achieved_concurrency: mean conversations in service per agent (all agents).
    effective_aht_seconds: mean handle time actually experienced (Little's law), which
        grows with the concurrency the load pushes agents to.
    completions_per_interval: throughput; equals the volume whenever the queue is stable.
    """

    agents: int
    max_concurrency: int
    probability_wait: float
    service_level: float
    asa_seconds: float
    occupancy: float
    achieved_concurrency: float
    effective_aht_seconds: float
    completions_per_interval: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# The smallest staffing meeting the targets under this model (core.wfm.erlang.Staffing).
ChatStaffing = Staffing[ChatMetrics]


def chat_metrics(
    *,
    volume: float,
    aht_by_concurrency: Sequence[float],
    agents: int,
    target_seconds: float,
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
) -> ChatMetrics:
    """Service level, waits, occupancy and achieved concurrency for `agents` agents."""
    contacts = check_non_negative(volume, "volume")
    aht = _check_aht_curve(aht_by_concurrency)
    n = check_agents(agents)
    target = check_non_negative(target_seconds, "target_seconds")
    interval = check_positive(interval_seconds, "interval_seconds")
    return _solve(contacts / interval, aht, n, target, interval)


def chat_staffing(
    *,
    volume: float,
    aht_by_concurrency: Sequence[float],
    target_level: float,
    target_seconds: float,
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
    shrinkage: float = 0.0,
    max_occupancy: float = 1.0,
) -> ChatStaffing:
    """The smallest N whose service level within `target_seconds` reaches `target_level`
    and whose occupancy stays at or under `max_occupancy`.

    Found by doubling from the smallest stable N and then bisecting, which takes meeting
    the targets to be monotonic in N. That is not a theorem for every handle-time curve
    (spreading the same conversations over one more agent can, in principle, slow a
    convex curve down), but it held for every curve tried and the tests check it; a
    linear walk would take minutes when the occupancy cap sets thousands of agents.
    """
    contacts = check_non_negative(volume, "volume")
    aht = _check_aht_curve(aht_by_concurrency)
    level = check_target_level(target_level)
    target = check_non_negative(target_seconds, "target_seconds")
    interval = check_positive(interval_seconds, "interval_seconds")
    share = check_shrinkage(shrinkage)
    cap = check_occupancy_cap(max_occupancy)
    rate = contacts / interval
    if rate == 0:
        return ChatStaffing(0, 0, _solve(0.0, aht, 0, target, interval))

    def meets(m: ChatMetrics) -> bool:
        return m.service_level >= level and within_occupancy_cap(
            m.occupancy * m.agents, m.agents, cap
        )

    # Stability needs λ < N·c_max / AHT(c_max): no smaller N can meet any target.
    failing = math.floor(rate * aht[-1] / len(aht))
    best = _solve(rate, aht, failing + 1, target, interval)
    while not meets(best):
        failing = best.agents
        best = _solve(rate, aht, 2 * failing, target, interval)
    while best.agents - failing > 1:
        middle = _solve(rate, aht, (failing + best.agents) // 2, target, interval)
        if meets(middle):
            best = middle
        else:
            failing = middle.agents
    return ChatStaffing(best.agents, scheduled_agents(best.agents, share), best)


def _solve(
    rate: float, aht: tuple[float, ...], agents: int, target_seconds: float, interval: float
) -> ChatMetrics:
    c_max = len(aht)
    slots = agents * c_max
    if rate == 0:
        return ChatMetrics(agents, c_max, 0.0, 1.0, 0.0, 0.0, 0.0, aht[0], 0.0)
    if agents == 0:
        return ChatMetrics(0, c_max, 1.0, 0.0, math.inf, 1.0, float(c_max), aht[-1], 0.0)
    # Completion rate of one agent holding c conversations, c = 0..c_max; the extra zero
    # at c_max + 1 is only ever multiplied by zero agents (k = S).
    per_agent = np.zeros(c_max + 2)
    per_agent[1 : c_max + 1] = np.arange(1, c_max + 1) / np.asarray(aht)
    full_rate = agents * float(per_agent[c_max])
    if rate >= full_rate:
        return ChatMetrics(
            agents, c_max, 1.0, 0.0, math.inf, 1.0, float(c_max), aht[-1], full_rate * interval
        )
    k = np.arange(1, slots + 1)
    level, extra = np.divmod(k, agents)
    completion = extra * per_agent[level + 1] + (agents - extra) * per_agent[level]
    # log p(k) - log p(0) for k = 0..S: products of λ / r(i) in logs, so thousands of
    # agents neither overflow nor underflow.
    log_p = np.concatenate(([0.0], np.cumsum(math.log(rate) - np.log(completion))))
    ratio = rate / full_rate
    log_queue_mass = float(log_p[slots]) - math.log1p(-ratio)
    log_norm = float(logsumexp(np.append(log_p[:slots], log_queue_mass)))
    p = np.exp(log_p[:slots] - log_norm)
    p_wait = math.exp(log_queue_mass - log_norm)

    held = np.arange(slots)
    in_service = float(p @ held) + slots * p_wait
    busy_agents = float(p @ np.minimum(held, agents)) + agents * p_wait
    completions = float(p[1:] @ completion[: slots - 1]) + full_rate * p_wait
    drain = full_rate - rate
    return ChatMetrics(
        agents=agents,
        max_concurrency=c_max,
        probability_wait=p_wait,
        service_level=1.0 - p_wait * math.exp(-drain * target_seconds),
        asa_seconds=p_wait / drain,
        occupancy=busy_agents / agents,
        achieved_concurrency=in_service / agents,
        effective_aht_seconds=in_service / rate,
        completions_per_interval=completions * interval,
    )


def _check_aht_curve(values: Sequence[float]) -> tuple[float, ...]:
    field = "aht_by_concurrency"
    if isinstance(values, str | bytes) or len(values) == 0:
        raise InvalidInput("give at least one handle time (concurrency 1)", field=field)
    aht = tuple(check_positive(value, field) for value in values)
    if any(later < earlier for earlier, later in itertools.pairwise(aht)):
        # A conversation never gets faster because its agent holds more of them; a
        # decreasing curve is almost always a typo or columns in the wrong order.
        raise InvalidInput("handle times must not decrease with concurrency", field=field)
    return aht
