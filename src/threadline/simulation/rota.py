"""When each simulated agent works: the scenario's shifts, or a head count per interval."""

from __future__ import annotations

from collections.abc import Sequence

from threadline.simulation.scenario import Agents, Scenario

Span = tuple[float, float]


def by_shift(
    scenario: Scenario, until: float, counts: Sequence[int] | None = None
) -> list[tuple[Agents, list[Span]]]:
    """One entry per agent: their group and when they work. `counts`: a head count per
    group instead of the scenario's."""
    heads = counts if counts is not None else [g.count for g in scenario.agents]
    rota: list[tuple[Agents, list[Span]]] = []
    for group, count in zip(scenario.agents, heads, strict=True):
        spans = group.spans(scenario.clock, until)
        rota.extend((group, spans) for _ in range(count))
    return rota


def by_interval(
    scenario: Scenario, until: float, staffing: Sequence[int]
) -> list[tuple[Agents, list[Span]]]:
    """`staffing[i]` agents like the first group online in interval i: agent k works every
    interval staffed with more than k, in runs."""
    s = scenario
    if len(staffing) != s.intervals or any(n < 0 for n in staffing):
        raise ValueError(f"staffing needs {s.intervals} head counts, none negative")
    rota: list[tuple[Agents, list[Span]]] = []
    for k in range(max(staffing, default=0)):
        spans: list[Span] = []
        for i, n in enumerate(staffing):
            if n <= k:
                continue
            start, end = i * s.interval, (i + 1) * s.interval
            if spans and spans[-1][1] == start:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        if spans and spans[-1][1] >= s.horizon:
            # Staffed at the close: they stay through the drain and finish the day.
            spans[-1] = (spans[-1][0], until)
        rota.append((s.agents[0], spans))
    return rota
