"""Policies compared as a planner reads the table: every row on the very same customers,
FIFO beside adaptive, "no inactive" meaning no conversation ever goes inactive, and the
P/M grid the one asked for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.simulation.test_outputs import TINY
from threadline.core.errors import InvalidInput
from threadline.simulation import engine, traffic
from threadline.simulation.compare import DEFAULT_GRID, compare, parse_grid, write_comparison
from threadline.simulation.scenario import Scenario, load_scenario
from threadline.simulation.traffic import Traffic, draw


def test_every_policy_runs_on_the_same_customers(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = load_scenario(TINY)
    draws: list[Traffic] = []

    def drawn_once(s: Scenario) -> Traffic:
        draws.append(draw(s))
        return draws[-1]

    def not_again(s: Scenario) -> Traffic:
        raise AssertionError("a variant drew its own customers")

    # The comparison draws the day once; no variant's Day may draw another.
    monkeypatch.setattr(traffic, "draw", drawn_once)
    monkeypatch.setattr(engine, "draw", not_again)
    seen: list[float] = []
    result = compare(scenario, grid=[(1, 1), (2, 3)], progress=lambda done, _: seen.append(done))
    names = [r["policy"] for r in result.rows]
    assert names == [
        "adaptive",
        "adaptive, no inactive",
        "fifo",
        "fifo, no inactive",
        "adaptive P1/M1",
        "adaptive P2/M3",
    ]
    assert len(draws) == 1
    customers = draws[0].customers
    assert result.customers == customers
    assert {r["customers"] for r in result.rows} == {customers}
    assert seen[-1] == len(names)
    assert seen == sorted(seen)


def test_no_inactive_means_no_conversation_goes_inactive() -> None:
    rows = {r["policy"]: r for r in compare(load_scenario(TINY), grid=[]).rows}
    assert rows["adaptive, no inactive"]["inactive_rate"] == 0
    assert rows["fifo, no inactive"]["inactive_rate"] == 0
    assert rows["adaptive"]["inactive_rate"] > 0
    assert (rows["fifo"]["routing"], rows["fifo"]["inactive"]) == ("fifo", True)


def test_the_grid_sets_p_and_m_on_every_agent_group() -> None:
    text = TINY.replace(
        "agents:\n",
        "agents:\n  - {name: late, count: 2, skills: [support], shift: '00:20-01:00'}\n",
    )
    rows = compare(load_scenario(text), grid=[(1, 1), (3, 4)]).rows
    one, three = rows[-2], rows[-1]
    assert (one["preferred"], one["max"], three["preferred"], three["max"]) == (1, 1, 3, 4)
    assert one["concurrency"] == pytest.approx(1.0)
    # The scenario's own groups differ (P 2/M 3 and P 1/M 1): no single value to show.
    assert (rows[0]["preferred"], rows[0]["max"]) == (None, None)


def test_the_default_grid_is_p_one_to_four_with_and_without_headroom() -> None:
    assert DEFAULT_GRID == ((1, 1), (1, 2), (2, 2), (2, 3), (3, 3), (3, 4), (4, 4), (4, 5))


def test_a_grid_is_read_from_p_m_pairs() -> None:
    assert parse_grid("2/3, 3/4,2/3") == [(2, 3), (3, 4)]
    for bad in ("3/2", "2", "a/b", "0/1", "2/3,", "2/99"):
        with pytest.raises(InvalidInput, match="P/M pairs"):
            parse_grid(bad)


def test_the_comparison_is_written_as_csv_json_and_a_plot(tmp_path: Path) -> None:
    result = compare(load_scenario(TINY), grid=[(2, 2)])
    written = write_comparison(result, tmp_path)
    assert [p.name for p in written] == ["comparison.csv", "comparison.json", "comparison.png"]
    data = json.loads((tmp_path / "comparison.json").read_text(encoding="utf-8"))
    assert [r["policy"] for r in data["rows"]] == [r["policy"] for r in result.rows]
    lines = (tmp_path / "comparison.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("policy,routing,inactive,preferred,max,customers")
    assert len(lines) == 1 + len(result.rows)
    assert "adaptive P2/M2" in result.text()
