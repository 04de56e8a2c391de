"""The workforce simulator on a day of a 300-agent center. Prints one JSON document.

    .venv/bin/python benchmarks/simulate.py [--scenario benchmarks/scenarios/day300.yaml]
        [--replay]

- **day**: the scenario's day run through the real core (conversations, classifier,
  routing index, pacing, timers), from drawing the customers to the figures; the rate
  is calendar events (arrivals, messages, agents finishing replies, timers, shifts)
  simulated per second of wall time.
- **reference, same run**: the calendar alone, the same number of events pushed onto
  and popped off a heap with no work, which is what any discrete-event simulator in
  Python pays before it does anything.
- `--replay` runs the day a second time and reports whether every figure is identical
  (the seed replays bit for bit).

The issue's yardstick: at least 60,000 conversations and 600,000 messages in a day,
simulated in under 60 s.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from threadline.simulation.engine import Day
from threadline.simulation.scenario import load_scenario
from threadline.simulation.traffic import draw

DEFAULT = Path(__file__).parent / "scenarios" / "day300.yaml"


def bare_calendar(events: int) -> float:
    """Seconds to push and pop `events` entries shaped like the simulator's."""
    calendar: list[tuple[float, int, int, object, object]] = []
    started = time.perf_counter()
    for i in range(events):
        heapq.heappush(calendar, ((i * 7919) % 100_003 * 0.5, i, 1, None, None))
        if len(calendar) > 2_000:  # the day's calendar holds a few thousand at a time
            heapq.heappop(calendar)
    while calendar:
        heapq.heappop(calendar)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=DEFAULT)
    parser.add_argument("--replay", action="store_true")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario.read_text())

    started = time.perf_counter()
    traffic = draw(scenario)
    drawn = time.perf_counter() - started
    record = Day(scenario, traffic).run()
    simulated = time.perf_counter() - started
    report = record.report()
    total = time.perf_counter() - started
    figures = report.total
    result: dict[str, Any] = {
        "scenario": scenario.name,
        "agents": sum(g.count for g in scenario.agents),
        "conversations": record.customers,
        "sessions": figures.sessions,
        "messages": record.messages,
        "calendar_events": record.calendar_events,
        "core_events": record.core_events,
        "seconds": {"draw": round(drawn, 2), "run": round(simulated, 2), "total": round(total, 2)},
        "events_per_second": round(record.calendar_events / simulated),
        "messages_per_second": round(record.messages / simulated),
        "day": {
            "service_level": figures.service_level,
            "first_response_p90": figures.first_response.p90,
            "occupancy": figures.occupancy,
            "concurrency": figures.concurrency,
            "inactive_rate": figures.inactive_rate,
            "to_owner_rate": figures.to_owner_rate,
        },
        "reference_bare_calendar_seconds": round(bare_calendar(record.calendar_events), 2),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
    }
    if args.replay:
        again = Day(scenario, draw(scenario)).run().report()
        result["replay_identical"] = again.as_dict() == report.as_dict()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
