"""Routing policies compared on one day's traffic: the same customers, several settings.

The traffic is drawn once from the scenario's seed and every variant runs on it
(common random numbers, traffic.py): a difference between two rows is the policy's,
not the dice's. The variants:

- the routing policy, adaptive (respond-by follows each customer's pace) against FIFO
  (one fixed respond-by), each with and without inactive conversations (a quiet
  customer's slot freed, or kept);
- a grid of concurrency settings P/M (preferred and maximum load), applied to every
  agent group, under the scenario's own routing. By default P in 1-4 and M in {P, P+1}:
  the settings a messaging center actually chooses between (one conversation at a
  time, up to four), each with and without one slot of headroom for reactivations.

Head counts and shifts stay the scenario's: the question is what a setting does to the
same team, not how many agents each would need (that is staffing.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threadline.core.agents import MAX_CONCURRENCY
from threadline.core.errors import InvalidInput
from threadline.simulation.outputs import Progress, table, write_table
from threadline.simulation.scenario import Scenario

DEFAULT_GRID: tuple[tuple[int, int], ...] = tuple((p, m) for p in range(1, 5) for m in (p, p + 1))
FILES: tuple[str, str, str] = ("comparison.csv", "comparison.json", "comparison.png")
# The total figures a row carries, in the order a planner reads them.
FIGURES = (
    "customers",
    "sessions",
    "service_level",
    "first_response_p50",
    "first_response_p90",
    "next_response_p50",
    "next_response_p90",
    "abandonment",
    "unanswered",
    "gave_up_rate",
    "occupancy",
    "concurrency",
    "online_agents",
    "inactive_rate",
    "reactivation_rate",
    "to_owner_rate",
    "respond_by_breaches",
)
COLUMNS = (
    ("policy", "policy"),
    ("service_level", "SL"),
    ("first_response_p50", "first p50 s"),
    ("first_response_p90", "first p90 s"),
    ("next_response_p90", "next p90 s"),
    ("abandonment", "abandonment"),
    ("unanswered", "unanswered"),
    ("gave_up_rate", "gave up"),
    ("occupancy", "occupancy"),
    ("concurrency", "concurrency"),
    ("inactive_rate", "inactive"),
    ("to_owner_rate", "to owner"),
)


def parse_grid(text: str) -> list[tuple[int, int]]:
    """ "1/1,2/3,3/4" → [(1, 1), (2, 3), (3, 4)], duplicates dropped; InvalidInput names
    the first entry that is not a P/M pair with 1 ≤ P ≤ M ≤ the core's maximum."""
    grid: list[tuple[int, int]] = []
    for part in (p.strip() for p in text.split(",")):
        p, slash, m = part.partition("/")
        try:
            pair = (int(p), int(m))
        except ValueError:
            pair = (0, 0)
        if not slash or not 1 <= pair[0] <= pair[1] <= MAX_CONCURRENCY:
            raise InvalidInput(
                f"grid entries are P/M pairs with 1 <= P <= M <= {MAX_CONCURRENCY}, "
                f"e.g. 2/3,3/4 (got {part!r})",
                field="grid",
            )
        if pair not in grid:
            grid.append(pair)
    return grid


def routing_name(policy: str, inactive: bool) -> str:
    return policy if inactive else f"{policy}, no inactive"


def variants(
    scenario: Scenario, grid: Sequence[tuple[int, int]] = DEFAULT_GRID
) -> list[tuple[str, Scenario]]:
    """Each variant's name and scenario: the four routing settings, then the grid."""
    found: list[tuple[str, Scenario]] = []
    for policy in ("adaptive", "fifo"):
        for inactive in (True, False):
            changed = scenario.varied(**{"routing.policy": policy, "routing.inactive": inactive})
            found.append((routing_name(policy, inactive), changed))
    base = routing_name(scenario.routing.policy, scenario.routing.inactive)
    for p, m in grid:
        groups = [{**g.model_dump(), "preferred": p, "max": m} for g in scenario.agents]
        found.append((f"{base} P{p}/M{m}", scenario.varied(agents=groups)))
    return found


BY_CUSTOMER = ("service_level", "next_response_p50", "next_response_p90")


def _uniform(values: Sequence[int]) -> int | None:
    return values[0] if len(set(values)) == 1 else None


@dataclass(frozen=True)
class Comparison:
    scenario: Scenario
    customers: int
    rows: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        s = self.scenario
        return {
            "scenario": s.name,
            "seed": s.seed,
            "window_seconds": s.target.window_seconds,
            "target_level": s.target.level,
            "customers": self.customers,
            "rows": self.rows,
        }

    def text(self) -> str:
        return table(self.rows, COLUMNS)

    def write(self, folder: Path) -> list[Path]:
        return write_comparison(self, folder)


def compare(
    scenario: Scenario,
    grid: Sequence[tuple[int, int]] | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """Run every variant on the same traffic; one row of total figures per variant.

    progress(done, total) counts variants (fractions while one runs)."""
    from threadline.simulation.engine import Day
    from threadline.simulation.traffic import draw

    traffic = draw(scenario)
    runs = variants(scenario, DEFAULT_GRID if grid is None else grid)
    rows: list[dict[str, Any]] = []
    for k, (name, variant) in enumerate(runs):

        def step(done: float, total: float, k: int = k) -> None:
            if progress is not None:
                progress(k + (done / total if total else 1.0), len(runs))

        figures = Day(variant, traffic).run(step).report().total.as_dict()
        groups = variant.agents
        rows.append(
            {
                "policy": name,
                "routing": variant.routing.policy,
                "inactive": variant.routing.inactive,
                "preferred": _uniform([g.preferred for g in groups]),
                "max": _uniform([g.max_load for g in groups]),
                **{key: figures.get(key) for key in FIGURES},
                # Each customer model's own figures (Recorder.by_customer_model): where a
                # policy moves waiting between fast and slow customers.
                **{
                    f"{c.name}_{figure}": figures.get(f"{c.name}_{figure}")
                    for c in variant.customers
                    for figure in BY_CUSTOMER
                },
            }
        )
    return Comparison(scenario, traffic.customers, rows)


def write_comparison(comparison: Comparison, folder: Path, *, plot: bool = True) -> list[Path]:
    """comparison.csv, comparison.json and comparison.png in `folder`."""

    def draw(path: Path) -> None:
        from threadline.simulation import plots

        plots.comparison(comparison.scenario, comparison.rows, path)

    return write_table(folder, FILES, comparison.rows, comparison.as_dict(), draw if plot else None)
