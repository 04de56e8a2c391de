"""The day's customers, drawn all at once from the scenario's seed.

Everything random about a customer (when they arrive, how many questions they have,
how fast they answer, how patient they are, how much work each answer is) is drawn
here, before the day runs, from its own stream. Two runs of one scenario under
different routing settings therefore see the very same customers (common random
numbers): a difference in the results is the policy's, not the dice's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from threadline.simulation.scenario import Ending, Handling, Scenario, Spread

ENDING_DECLINES, ENDING_THANKS, ENDING_SILENT = 0, 1, 2


@dataclass(frozen=True)
class Traffic:
    """Customer i arrives at `arrive[i]` in queue `queue[i]` and has turns
    `first_turn[i]` to `first_turn[i + 1] - 1`; the last of them is a return after going
    quiet when `returns[i]`. Turn j: `burst[j]` messages, `latency[j]` seconds after the
    agent's previous answer (unused for a first turn), `work[j]` seconds of the agent's
    work at concurrency 1, `walks[j]`: they walk away instead of taking this turn."""

    arrive: NDArray[np.float64]
    queue: NDArray[np.int64]
    kind: NDArray[np.int64]
    first_turn: NDArray[np.int64]
    returns: NDArray[np.bool_]
    patience: NDArray[np.float64]
    ending: NDArray[np.int64]
    end_latency: NDArray[np.float64]
    burst: NDArray[np.int64]
    latency: NDArray[np.float64]
    work: NDArray[np.float64]
    walks: NDArray[np.bool_]

    @property
    def customers(self) -> int:
        return int(self.arrive.size)


def streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent streams for arrivals and for customers' behaviour."""
    arrivals, behaviour = np.random.SeedSequence(seed).spawn(2)
    return np.random.Generator(np.random.PCG64(arrivals)), np.random.Generator(
        np.random.PCG64(behaviour)
    )


def _spread(rng: np.random.Generator, spread: Spread, size: int) -> NDArray[np.float64]:
    if spread.spread == 0:
        return np.full(size, spread.median)
    return spread.median * np.exp(rng.normal(0.0, spread.spread, size))


def _work(rng: np.random.Generator, handling: Handling, size: int) -> NDArray[np.float64]:
    mean = handling.reply_seconds
    if handling.distribution == "exponential":
        return rng.exponential(mean, size)
    # A log-normal with this mean: the median sits below it by exp(sigma² / 2).
    sigma = handling.spread
    return mean * np.exp(rng.normal(-(sigma**2) / 2, sigma, size))


def draw(scenario: Scenario) -> Traffic:
    arrivals_rng, rng = streams(scenario.seed)
    interval = scenario.interval
    times: list[NDArray[np.float64]] = []
    queues: list[NDArray[np.int64]] = []
    for q, settings in enumerate(scenario.queues):
        volumes = np.asarray(settings.calendar(), dtype=np.float64)
        counts = arrivals_rng.poisson(volumes)
        starts = np.repeat(np.arange(volumes.size) * interval, counts)
        times.append(starts + arrivals_rng.uniform(0.0, interval, starts.size))
        queues.append(np.full(starts.size, q, dtype=np.int64))
    arrive = np.concatenate(times)
    queue = np.concatenate(queues)
    order = np.argsort(arrive, kind="stable")
    arrive, queue = arrive[order], queue[order]
    n = arrive.size

    types = scenario.customers
    shares = np.asarray([t.share for t in types], dtype=np.float64)
    kind = rng.choice(len(types), size=n, p=shares / shares.sum()).astype(np.int64)
    exchanges = np.empty(n, dtype=np.int64)
    patience = np.full(n, np.inf)
    ending = np.empty(n, dtype=np.int64)
    end_latency = np.empty(n)
    returns = np.zeros(n, dtype=np.bool_)
    return_after = np.zeros(n)
    for k, t in enumerate(types):
        mask = kind == k
        size = int(mask.sum())
        exchanges[mask] = 1 + rng.poisson(t.exchanges - 1, size)
        if t.patience_seconds is not None:
            patience[mask] = rng.exponential(t.patience_seconds, size)
        ending[mask] = rng.choice(
            3, size=size, p=[t.ending.declines, t.ending.thanks, _rest(t.ending)]
        )
        end_latency[mask] = _spread(rng, t.reply, size)
        returns[mask] = rng.random(size) < t.returns.probability
        return_after[mask] = _spread(rng, t.returns.after, size)

    turns = exchanges + returns
    first_turn = np.concatenate(([0], np.cumsum(turns))).astype(np.int64)
    total = int(first_turn[-1])
    turn_kind = np.repeat(kind, turns)
    burst = np.ones(total, dtype=np.int64)
    latency = np.empty(total)
    walks = np.zeros(total, dtype=np.bool_)
    for k, t in enumerate(types):
        mask = turn_kind == k
        size = int(mask.sum())
        burst[mask] = 1 + rng.poisson(t.burst.mean - 1, size)
        latency[mask] = _spread(rng, t.reply, size)
        walks[mask] = rng.random(size) < t.walk_away
    # A return comes after its own delay, and is always taken (it is why they came back).
    last = first_turn[1:] - 1
    latency[last[returns]] = return_after[returns]
    walks[last[returns]] = False
    walks[first_turn[:-1]] = False  # nobody walks away before their first message
    work = _work(rng, scenario.handling, total)
    return Traffic(
        arrive=arrive,
        queue=queue,
        kind=kind,
        first_turn=first_turn,
        returns=returns,
        patience=patience,
        ending=ending,
        end_latency=end_latency,
        burst=burst,
        latency=latency,
        work=work,
        walks=walks,
    )


def _rest(ending: Ending) -> float:
    return max(0.0, 1.0 - ending.declines - ending.thanks)
