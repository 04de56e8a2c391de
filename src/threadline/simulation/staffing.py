"""Staffing by simulation: the fewest agents per interval that meet the response window.

The analytic answer comes first, for each interval on its own: the concurrency-aware
chat model (core.wfm.chat; Erlang C when agents hold one conversation at a time) from
the interval's expected volume and a handle time per conversation. That handle time is
*measured* from a baseline run of the scenario as written, because in messaging it is
mostly the customer's pace, not the agent's typing: a conversation holds an agent's
slot from assignment until it closes or goes inactive. Per customer,

    AHT(c) = (held - typing) + work_1 * slowdown[c - 1]    for c = 1 … P

held: slot-seconds held, typing: the agent's writing time, work_1: the replies counted
times the scenario's reply time at concurrency 1. It is an approximation, and a planner
should read it as one: the chat model takes the pace and inactivity of the baseline's
customers as a fixed duration, ignores bursts, reactivations and the time a reply waits
while its agent writes another, and judges "a slot within the window", not every answer.

Then the search, after the iterative staffing algorithm of Feldman, Mandelbaum, Massey
& Whitt (2008), "Staffing of time-varying queues to achieve time-stable performance"
(Management Science 54(2)): simulate the whole day at a staffing per interval
(`Day(..., staffing=counts)`), judge each interval, change the counts, again. As there,
the day is simulated whole because intervals are not independent: a backlog left at
11:00 is served by the 11:30 agents, and a customer who arrives at 11:29 is answered by
them. Unlike there, the step is a search rather than an offered-load formula: raise the
intervals that miss in proportion to the shortfall; once every interval meets the
target, lower each in proportion to its margin, and undo a step where it made an
interval miss (`_iterate`). Each trial staffing is run over the same few replications
(seeds scenario.seed, +1, +2 …, the traffic drawn once per seed), so that two trials
differ by their counts, not by their customers. It ends when no count can be lowered,
or after `max_iterations`; the answer is the last staffing that met the target
everywhere. It is the fewest agents the search found, not a proven minimum: an
interval near the edge passes or fails with the routing of the whole day.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threadline.core.errors import InvalidInput
from threadline.core.wfm.figures import Report
from threadline.simulation.outputs import Progress, table, write_table
from threadline.simulation.record import Recorder
from threadline.simulation.scenario import Scenario

FILES: tuple[str, str, str] = ("staffing.csv", "staffing.json", "staffing.png")
MAX_REPLICATIONS = 50
COLUMNS = (
    ("start_time", "interval"),
    ("volume", "volume"),
    ("analytic_agents", "analytic"),
    ("simulated_agents", "simulated"),
    ("service_level", "SL"),
    ("met", "met"),
)


@dataclass(frozen=True)
class HandleTime:
    """The per-customer handle time the analytic model is given (module docstring)."""

    held_seconds: float
    typing_seconds: float
    work_seconds_at_1: float
    aht_by_concurrency: list[float]
    model: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "measured_from": "a baseline run of the scenario as written",
            "held_seconds": self.held_seconds,
            "typing_seconds": self.typing_seconds,
            "work_seconds_at_1": self.work_seconds_at_1,
            "aht_by_concurrency": self.aht_by_concurrency,
            "model": self.model,
        }


def handle_time(scenario: Scenario, baseline: Recorder) -> HandleTime:
    customers = baseline.customers
    if customers == 0:
        raise InvalidInput("no customer arrives in this scenario: nothing to staff", field="queues")
    held = _held_seconds(baseline) / customers
    if held <= 0:
        raise InvalidInput(
            "the scenario's own agents took no conversation, so there is no baseline to "
            "measure handle time from: give the agents a head count",
            field="agents",
        )
    typing = baseline.typing / customers
    replies = sum(w.answered is not None for w in baseline.waits)
    work = replies * scenario.handling.reply_seconds / customers
    slowdown = scenario.handling.slowdown
    preferred = scenario.agents[0].preferred
    curve: list[float] = []
    for c in range(1, preferred + 1):
        factor = slowdown[min(c, len(slowdown)) - 1]
        # A curve that falls is refused by the model (and not how concurrency works).
        curve.append(max([max(held - typing, 0.0) + work * factor, *curve[-1:]]))
    return HandleTime(held, typing, work, curve, "erlang_c" if preferred == 1 else "chat")


def _held_seconds(recorder: Recorder) -> float:
    """Slot-seconds: the integral of every agent's number of held conversations."""
    last: dict[str, tuple[float, int]] = {}
    total = 0.0
    for h in recorder.holdings:
        at, held = last.get(h.agent, (h.at, 0))
        total += held * (h.at - at)
        last[h.agent] = (h.at, h.held)
    return total + sum(held * (recorder.ended - at) for at, held in last.values())


def volumes(scenario: Scenario) -> list[float]:
    """Expected conversations per interval, over every queue."""
    return [sum(v) for v in zip(*(q.calendar() for q in scenario.queues), strict=True)]


def analytic(scenario: Scenario, aht: HandleTime) -> list[int]:
    from threadline.core.wfm.chat import chat_staffing
    from threadline.core.wfm.erlang import erlang_c_staffing

    target = scenario.target
    counts = []
    for volume in volumes(scenario):
        if aht.model == "erlang_c":
            found = erlang_c_staffing(
                volume=volume,
                aht_seconds=aht.aht_by_concurrency[0],
                target_level=target.level,
                target_seconds=target.window_seconds,
                interval_seconds=scenario.interval,
            ).agents
        else:
            found = chat_staffing(
                volume=volume,
                aht_by_concurrency=aht.aht_by_concurrency,
                target_level=target.level,
                target_seconds=target.window_seconds,
                interval_seconds=scenario.interval,
            ).agents
        counts.append(found)
    return counts


@dataclass
class _Pooled:
    """One interval's waits over every replication."""

    judged: int = 0
    in_window: int = 0

    @property
    def level(self) -> float | None:
        return self.in_window / self.judged if self.judged else None

    def met(self, target: float) -> bool:
        level = self.level
        return level is None or level >= target


@dataclass(frozen=True)
class StaffingSearch:
    scenario: Scenario
    rows: list[dict[str, Any]]
    handle: HandleTime
    seeds: list[int]
    iterations: int
    converged: bool
    all_met: bool
    runs: int = 0

    def as_dict(self) -> dict[str, Any]:
        s = self.scenario
        return {
            "scenario": s.name,
            "window_seconds": s.target.window_seconds,
            "target_level": s.target.level,
            "preferred": s.agents[0].preferred,
            "max": s.agents[0].max_load,
            "replication_seeds": self.seeds,
            "iterations": self.iterations,
            "simulated_days": self.runs,
            "converged": self.converged,
            "all_met": self.all_met,
            "analytic_agent_intervals": sum(r["analytic_agents"] for r in self.rows),
            "simulated_agent_intervals": sum(r["simulated_agents"] for r in self.rows),
            "handle_time": self.handle.as_dict(),
            "intervals": self.rows,
        }

    @property
    def counts(self) -> list[int]:
        return [int(r["simulated_agents"]) for r in self.rows]

    def text(self) -> str:
        rows = [{**r, "start_time": r["start_time"][11:16]} for r in self.rows]
        met = "every interval meets the target" if self.all_met else "the target is missed"
        done = "" if self.converged else f", stopped after {self.iterations} iterations"
        return f"{table(rows, COLUMNS)}\n{met}{done}"

    def write(self, folder: Path) -> list[Path]:
        return write_staffing(self, folder)


def _check(
    scenario: Scenario, replications: int, start: Sequence[int] | None, max_iterations: int
) -> None:
    if not 1 <= replications <= MAX_REPLICATIONS:
        raise InvalidInput(
            f"replications must be between 1 and {MAX_REPLICATIONS}", field="replications"
        )
    if max_iterations < 1:
        raise InvalidInput("max_iterations must be at least 1", field="max_iterations")
    uncovered = sorted({q.skill for q in scenario.queues} - set(scenario.agents[0].skills))
    if uncovered:
        # The search staffs every interval with agents like the first group.
        raise InvalidInput(
            f"the staffing search staffs with agents like the first group "
            f"({scenario.agents[0].name}), who lack the skills {uncovered}",
            field="agents",
        )
    if start is not None and (len(start) != scenario.intervals or min(start) < 0):
        raise InvalidInput(
            f"a starting staffing needs {scenario.intervals} head counts, none negative",
            field="start",
        )


def search(
    scenario: Scenario,
    *,
    replications: int = 3,
    start: Sequence[int] | None = None,
    max_iterations: int = 30,
    progress: Progress | None = None,
) -> StaffingSearch:
    """The staffing per interval found by simulation, beside the analytic one.

    `start`: head counts to begin from instead of the analytic ones. progress(done,
    total) counts simulated days against the most the search may run."""
    from threadline.simulation.engine import Day
    from threadline.simulation.traffic import draw

    _check(scenario, replications, start, max_iterations)
    budget = 1 + max_iterations * replications
    done = 0

    def ran() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, budget)

    baseline = Day(scenario).run()
    ran()
    aht = handle_time(scenario, baseline)
    by_model = analytic(scenario, aht)
    counts = list(start) if start is not None else list(by_model)
    seeds = [(scenario.seed + r) % 2**63 for r in range(replications)]
    days = [(v, draw(v)) for v in (scenario.varied(seed=seed) for seed in seeds)]
    n, level = scenario.intervals, scenario.target.level
    # How far raising may go, for a target no head count meets (a reply that takes
    # longer than the window): four times the start, or an agent per customer arriving
    # in the busiest interval.
    limit = max(1, 4 * max(counts), math.ceil(max(volumes(scenario))))

    def evaluate(staffing: list[int]) -> list[_Pooled]:
        pooled = [_Pooled() for _ in range(n)]
        for variant, traffic in days:
            report: Report = Day(variant, traffic, staffing=staffing).run().report()
            for p, f in zip(pooled, report.intervals, strict=True):
                p.judged += f.waits_judged
                p.in_window += f.answered_in_window
            ran()
        return pooled

    found, pooled, iterations, converged, all_met = _iterate(
        evaluate, counts, level, limit, max_iterations
    )
    rows = []
    for i, volume in enumerate(volumes(scenario)):
        p = pooled[i] if pooled else _Pooled()
        rows.append(
            {
                "interval": i,
                "start_time": scenario.at(i * scenario.interval).isoformat(),
                "volume": volume,
                "analytic_agents": by_model[i],
                "simulated_agents": found[i],
                "service_level": p.level,
                "waits_judged": p.judged,
                "met": p.met(level),
            }
        )
    if progress is not None:
        progress(budget, budget)
    return StaffingSearch(
        scenario=scenario,
        rows=rows,
        handle=aht,
        seeds=seeds,
        iterations=iterations,
        converged=converged,
        all_met=all_met,
        runs=done,
    )


Evaluate = Callable[[list[int]], list[_Pooled]]


def _lower(count: int, lo: int, achieved: float | None, target: float) -> int:
    """The next count to try for an interval that meets the target with `count`.

    Within a bracket (a count known to miss), bisect it. Without one, step down in
    proportion to the room above the target: a wide margin moves fast, a thin one by an
    agent; half the margin's share of the team, because the service level falls faster
    and faster as a queue nears saturation and a step past the edge costs a day."""
    if count - lo <= 1:
        return count
    if lo >= 0 or achieved is None:
        return (lo + count) // 2
    return max(lo + 1, count - max(1, math.floor(count * (achieved - target) / 2)))


def _iterate(
    evaluate: Evaluate, counts: list[int], level: float, limit: int, max_iterations: int
) -> tuple[list[int], list[_Pooled], int, bool, bool]:
    """The search proper: (counts, their pooled figures, iterations, converged, all met).

    Each interval keeps a bracket: `hi`, the fewest agents it had in a day where every
    interval met the target, and `lo`, the most it had when a miss was blamed on it.
    Until some day meets the target everywhere, missing intervals are raised; from then
    on each passing day is `best`, and every interval is lowered at once (`_lower`). A miss
    is blamed on the intervals lowered from `best` that missed, else on their lowered
    neighbours (a late wait is answered by the next interval's agents); the blamed go
    back to `best`'s count with `lo` raised. A miss nothing lowered nearby explains is
    the interval's own: it sits so close to the target that any change in the day (the
    same customers routed differently) tips it, and it gets one more agent. Every step
    raises a `lo` or lowers a count below `best`, so the search ends."""
    n = len(counts)
    lo = [-1] * n
    best: tuple[list[int], list[_Pooled]] | None = None
    last: tuple[list[int], list[_Pooled]] = (counts[:], [])
    for iteration in range(1, max_iterations + 1):
        pooled = evaluate(counts)
        last = (counts[:], pooled)
        missed = [i for i, p in enumerate(pooled) if not p.met(level)]
        if not missed:
            best = last
            trial = [_lower(c, lo[i], pooled[i].level, level) for i, c in enumerate(counts)]
            if trial == counts:
                return *best, iteration, True, True
            counts = trial
        elif best is not None:
            lowered = {i for i in range(n) if counts[i] < best[0][i]}
            blamed = lowered.intersection(missed) or {
                j for i in missed for j in (i - 1, i + 1) if j in lowered
            }
            for i in blamed:
                lo[i] = counts[i]
                counts[i] = best[0][i]
            if not blamed:
                # Nothing lowered nearby: the interval sits on the edge, where any change
                # elsewhere in the day tips it over. One more agent there.
                for i in missed:
                    lo[i] = max(lo[i], counts[i])
                    counts[i] += 1
        else:
            raisable = [i for i in missed if counts[i] < limit]
            if not raisable:
                break  # the target is out of reach there, whatever the head count
            for i in raisable:
                lo[i] = max(lo[i], counts[i])
                shortfall = level - (pooled[i].level or 0.0)
                counts[i] = min(limit, counts[i] + max(1, math.ceil(counts[i] * shortfall)))
    if best is not None:
        return *best, max_iterations, False, True
    return *last, max_iterations, False, False


def write_staffing(found: StaffingSearch, folder: Path, *, plot: bool = True) -> list[Path]:
    """staffing.csv, staffing.json and staffing.png in `folder`."""

    def draw(path: Path) -> None:
        from threadline.simulation import plots

        plots.staffing(found.scenario, found.rows, path)

    return write_table(folder, FILES, found.rows, found.as_dict(), draw if plot else None)
