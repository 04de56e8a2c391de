"""The simulator against queueing theory: with one conversation per agent, exponential
handle times and Poisson arrivals, a contact center is M/M/n (Erlang C), and with
exponential patience M/M/n+M (Erlang A). The simulator runs the real routing, pacing
and conversation code; if any of it held an agent too long, routed out of order or lost
a customer, these figures would drift away from the formulas.

Method: independent replications (one seed each, fixed, so the test is deterministic),
the first hour of each dropped as warm-up; the formula's value must lie inside the
replications' 99 % confidence interval (Student t). Each check also requires that
interval to be narrow enough to tell n agents from n + 1, so a pass means something.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import stats  # type: ignore[import-untyped,unused-ignore]

from threadline.core.wfm.erlang import erlang_c_metrics
from threadline.core.wfm.erlang_a import erlang_a_metrics
from threadline.core.wfm.figures import Session
from threadline.simulation.engine import Day
from threadline.simulation.scenario import Scenario

VOLUME, AHT, AGENTS, WITHIN = 100.0, 180.0, 12, 20.0  # 10 Erlangs on 12 agents
PATIENCE = 300.0
HOURS, WARM_UP = 24, 3600.0
REPLICATIONS = 10


def _scenario(seed: int, patience: float | None) -> Scenario:
    return Scenario.model_validate(
        {
            "seed": seed,
            "interval_minutes": 30,
            "drain_minutes": 240,
            "queues": [{"skill": "s", "channel": "web", "volumes": [VOLUME] * (2 * HOURS)}],
            "customers": [
                {
                    "name": "callers",
                    "exchanges": 1,
                    "patience_seconds": patience,
                    "abandon": "explicit",
                    "ending": {"declines": 0, "thanks": 0},
                }
            ],
            # On until the drain ends, so every customer of the day is served or leaves.
            "agents": [{"count": AGENTS, "skills": ["s"], "shift": "00:00-24:00"}],
            "handling": {
                "reply_seconds": AHT,
                "distribution": "exponential",
                "close_on_last_answer": True,
            },
            "target": {"window_seconds": WITHIN},
        }
    )


Statistic = Callable[[list[Session]], float]


def _waits(sessions: list[Session]) -> np.ndarray:  # type: ignore[type-arg]
    return np.array([s.assigned - s.opened for s in sessions if s.assigned is not None])


STATISTICS: dict[str, Statistic] = {
    "probability_wait": lambda s: float(np.mean(_waits(s) > 0)),
    "asa_seconds": lambda s: float(np.mean(_waits(s))),
    "service_level": lambda s: float(np.sum(_waits(s) <= WITHIN)) / len(s),
    "probability_abandon": lambda s: 1.0 - _served(s),
}


def _served(sessions: list[Session]) -> float:
    return sum(s.assigned is not None for s in sessions) / len(sessions)


def _replicate(patience: float | None) -> dict[str, tuple[float, float]]:
    """Each statistic's mean over the replications and its 99 % half-width."""
    samples: dict[str, list[float]] = {name: [] for name in STATISTICS}
    occupancy: list[float] = []
    for seed in range(1, REPLICATIONS + 1):
        scenario = _scenario(seed, patience)
        record = Day(scenario).run()
        day = [s for s in record.sessions if WARM_UP <= s.opened < scenario.horizon]
        for name, statistic in STATISTICS.items():
            samples[name].append(statistic(day))
        occupancy.append(record.report().total.occupancy or 0.0)
    samples["occupancy"] = occupancy
    t = float(stats.t.ppf(0.995, REPLICATIONS - 1))
    return {
        name: (float(np.mean(v)), t * float(np.std(v, ddof=1)) / math.sqrt(len(v)))
        for name, v in samples.items()
    }


def _assert_inside(
    found: dict[str, tuple[float, float]], figures: Callable[[int], object], names: list[str]
) -> None:
    """Inside the interval at the simulated staffing; outside it one agent either side."""
    for name in names:
        mean, half = found[name]
        value = getattr(figures(AGENTS), name)
        assert abs(mean - value) <= half, f"{name}: simulated {mean:.4f} ± {half:.4f}, {value:.4f}"
        for neighbour in (AGENTS - 1, AGENTS + 1):
            other = getattr(figures(neighbour), name)
            assert abs(mean - other) > half, f"{name}: ± {half:.4f} cannot tell {neighbour} agents"


def test_one_conversation_per_agent_reproduces_erlang_c() -> None:
    found = _replicate(patience=None)

    def erlang_c(agents: int) -> object:
        return erlang_c_metrics(
            volume=VOLUME, aht_seconds=AHT, agents=agents, target_seconds=WITHIN
        )

    _assert_inside(found, erlang_c, ["probability_wait", "asa_seconds", "service_level"])
    mean, half = found["occupancy"]
    assert abs(mean - erlang_c(AGENTS).occupancy) <= half
    assert found["probability_abandon"][0] == 0


def test_patient_customers_reproduce_erlang_a() -> None:
    found = _replicate(patience=PATIENCE)

    def erlang_a(agents: int) -> object:
        return erlang_a_metrics(
            volume=VOLUME,
            aht_seconds=AHT,
            agents=agents,
            target_seconds=WITHIN,
            patience_seconds=PATIENCE,
        )

    # Erlang A's ASA is the mean wait of those answered, as measured here.
    _assert_inside(found, erlang_a, ["probability_abandon", "service_level", "asa_seconds"])
