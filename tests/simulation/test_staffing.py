"""The staffing search as a planner relies on it: an interval it calls met is met when
the same days are run again at its head counts, it never asks for more than a clearly
generous staffing, it says so when a target is out of reach, and the analytic answer
stands beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.simulation.test_outputs import TINY
from threadline.core.errors import InvalidInput
from threadline.core.wfm.erlang import erlang_c_staffing
from threadline.simulation.engine import Day
from threadline.simulation.scenario import Scenario, load_scenario
from threadline.simulation.staffing import StaffingSearch, search, write_staffing


def replayed_levels(scenario: Scenario, found: StaffingSearch) -> list[float | None]:
    """Each interval's service level over the search's replications, run afresh."""
    judged = [0] * scenario.intervals
    in_window = [0] * scenario.intervals
    for seed in found.seeds:
        report = Day(scenario.varied(seed=seed), staffing=found.counts).run().report()
        for i, f in enumerate(report.intervals):
            judged[i] += f.waits_judged
            in_window[i] += f.answered_in_window
    return [w / j if j else None for w, j in zip(in_window, judged, strict=True)]


def test_each_interval_reported_met_meets_the_target_when_replayed() -> None:
    scenario = load_scenario(TINY)
    found = search(scenario, replications=2)
    assert found.all_met
    assert found.seeds == [5, 6]
    levels = replayed_levels(scenario, found)
    assert [r["service_level"] for r in found.rows] == levels
    for row, level in zip(found.rows, levels, strict=True):
        assert row["met"]
        assert level is None or level >= scenario.target.level


def test_the_search_never_asks_for_more_than_a_generous_staffing() -> None:
    scenario = load_scenario(TINY)
    generous = [12, 12, 12]
    from_analytic = search(scenario, replications=2)
    from_generous = search(scenario, replications=2, start=generous)
    assert from_generous.all_met
    assert all(n <= g for n, g in zip(from_generous.counts, generous, strict=True))
    assert sum(from_generous.counts) < sum(generous)
    assert all(n <= g for n, g in zip(from_analytic.counts, generous, strict=True))


def test_the_analytic_answer_stands_beside_the_simulated_one(tmp_path: Path) -> None:
    found = search(load_scenario(TINY), replications=1)
    assert [r["volume"] for r in found.rows] == [25, 45, 25]
    assert all(r["analytic_agents"] > 0 for r in found.rows)
    curve = found.handle.aht_by_concurrency
    assert found.handle.model == "chat"
    assert len(curve) == 2
    assert curve[0] <= curve[1]
    written = write_staffing(found, tmp_path)
    assert [p.name for p in written] == ["staffing.csv", "staffing.json", "staffing.png"]
    data = json.loads((tmp_path / "staffing.json").read_text(encoding="utf-8"))
    assert data["handle_time"]["aht_by_concurrency"] == curve
    header = (tmp_path / "staffing.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "analytic_agents,simulated_agents,service_level" in header


def test_one_conversation_at_a_time_is_staffed_by_erlang_c() -> None:
    scenario = load_scenario(TINY.replace("preferred: 2, max: 3", "preferred: 1"))
    found = search(scenario, replications=1, max_iterations=1)
    assert found.handle.model == "erlang_c"
    expected = erlang_c_staffing(
        volume=45,
        aht_seconds=found.handle.aht_by_concurrency[0],
        target_level=0.8,
        target_seconds=120,
        interval_seconds=1200,
    )
    assert found.rows[1]["analytic_agents"] == expected.agents


def test_a_target_out_of_reach_is_reported_as_missed() -> None:
    # No reply takes less than a second to write: a one-second window cannot be met.
    scenario = load_scenario(TINY.replace("window_seconds: 120", "window_seconds: 1"))
    found = search(scenario, replications=1)
    assert not found.all_met
    assert not found.converged
    assert not any(r["met"] for r in found.rows)
    assert "the target is missed" in found.text()


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"replications": 0}, "replications"),
        ({"start": [3, 3]}, "3 head counts"),
        ({"start": [3, -1, 3]}, "none negative"),
    ],
)
def test_bad_settings_are_named(changes: dict[str, object], named: str) -> None:
    with pytest.raises(InvalidInput, match=named):
        search(load_scenario(TINY), **changes)  # type: ignore[arg-type]


def test_the_first_group_must_cover_every_queue() -> None:
    text = TINY.replace(
        "queues:\n", "queues:\n  - {skill: cards, channel: app, volumes: [5, 5, 5]}\n"
    ).replace("agents:\n", "agents:\n  - {count: 1, skills: [cards]}\n")
    with pytest.raises(InvalidInput, match=r"lack the skills \['support'\]"):
        search(load_scenario(text))
