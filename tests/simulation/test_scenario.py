"""Scenario files as a planner writes them: every mistake named with its line, at once,
before anything runs; what is accepted means what the docs say."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from threadline.simulation.scenario import ScenarioError, load_scenario
from threadline.simulation.traffic import draw

GOOD = """\
queues:
  - skill: support
    volumes: [10, 20]
agents:
  - count: 2
    skills: [support]
"""

BENCHMARK_DAY = Path(__file__).parents[2] / "benchmarks" / "scenarios" / "day300.yaml"


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as raised:
        load_scenario(textwrap.dedent(text))
    return [str(p) for p in raised.value.problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("skills: [support]", 'skills: [support]\n    shfit: "08:00-16:00"'),
            'line 7: agents.0.shfit: unknown key "shfit" (did you mean "shift"?)',
        ),
        (
            GOOD + '    shift: "8-16"\n',
            'line 5: agents.0: shift is "HH:MM-HH:MM", e.g. "08:00-16:30"',
        ),
        (
            GOOD.replace("skills: [support]", "skills: [sales]"),
            "line 6: agents.0.skills: no queue has sales (the queues are support)",
        ),
        (
            GOOD.replace("agents:", "  - skill: sales\n    volumes: [1]\nagents:"),
            "line 4: queues.1: has 1 intervals where queues.0 has 2; every queue needs the same"
            " number",
        ),
        (
            "start: 2026-01-05T08:00:00\n" + GOOD,
            "line 1: start: start needs a time and a time zone (2026-01-05T08:00:00+01:00)",
        ),
        (
            GOOD + "routing:\n  timings:\n    web: {floor: 300, ceiling: 100}\n",
            "line 9: routing.timings.web.ceiling: ceiling must be at least floor",
        ),
        (
            GOOD + "customers:\n  - name: a\n    ending: {declines: 0.8, thanks: 0.5}\n",
            "line 9: customers.0.ending: declines + thanks must be at most 1",
        ),
        ("- 1\n", "line 1: a scenario is a mapping of settings"),
        (
            "start: 2026-03-03T08:00:00+01:00\n" + GOOD + '    shift: "13:00-14:00"\n',
            "line 8: agents.0.shift: 13:00-14:00 never overlaps the day (08:00 for 1 h); shifts"
            " are clock times in the zone of start",
        ),
        (
            GOOD + "routing:\n  timings:\n    web: {ceilng: 100}\n",
            'line 9: routing.timings.web.ceilng: unknown key "ceilng" (did you mean "ceiling"?)',
        ),
        (
            GOOD + "routing:\n  timings:\n    sms: {ceiling: 100}\n",
            "line 9: routing.timings.sms: no queue is on that channel (the queues' channels are"
            " web)",
        ),
        (
            GOOD + "handling: {slowdown: [1, 0.5]}\n",
            "line 7: handling.slowdown: slowdown must not decrease with concurrency",
        ),
        (
            GOOD.replace("[10, 20]", "[10, 1e19]"),
            "line 3: queues.0.volumes.1: Input should be less than or equal to 1000000",
        ),
        (
            "start: 9999-12-31T23:00:00Z\n" + GOOD,
            "line 1: start: the day would end after the year 9999",
        ),
        (
            GOOD + "customers:\n  - name: a\n  - name: a\n",
            "line 9: customers.1.name: a is already a customer model's name",
        ),
        (
            GOOD + "customers:\n  - name: '=HYPERLINK(1)'\n",
            "line 8: customers.0.name: String should match pattern '^[A-Za-z][A-Za-z0-9_-]*$'",
        ),
        ("a: &x 1\nb: *x\n", "line 1: YAML anchors and aliases (&, *) are not allowed"),
        (
            GOOD.replace("volumes: [10, 20]", "volumes: [10, 20]\n    daily: 100"),
            "line 2: queues.0: give either volumes (per interval) or daily with a profile",
        ),
    ],
)
def test_a_broken_scenario_points_at_the_line(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_every_mistake_is_reported_in_one_go() -> None:
    text = GOOD.replace("[10, 20]", "[10, -2]").replace("count: 2", "count: -1")
    text += "handling:\n  reply_seconds: .nan\n"
    assert problems(text) == [
        "line 3: queues.0.volumes.1: Input should be greater than or equal to 0",
        "line 5: agents.0.count: Input should be greater than or equal to 0",
        "line 8: handling.reply_seconds: Input should be a finite number",
    ]


def test_fifo_and_no_inactivity_are_settings_of_the_real_pacing() -> None:
    adaptive = load_scenario(GOOD)
    fifo = load_scenario(GOOD + "routing: {policy: fifo, inactive: false}\n")
    web, fixed = adaptive.timing("web"), fifo.timing("web")
    # One respond-by for everyone (the channel's ceiling) is first come, first served.
    assert (fixed.floor, fixed.ceiling) == (web.ceiling, web.ceiling)
    assert fixed.inactive_min == fixed.inactive_max == 7 * 24 * 3600
    assert (web.floor, web.inactive_min) == (30, 120)


def test_a_variation_changes_one_setting_and_is_checked_again() -> None:
    base = load_scenario(GOOD)
    assert base.varied(**{"agents.0.preferred": 2, "agents.0.max": 3}).agents[0].max_load == 3
    with pytest.raises(ValidationError):
        base.varied(**{"agents.0.max": 0})


def test_a_daily_volume_is_spread_over_the_profile() -> None:
    day = load_scenario(GOOD.replace("volumes: [10, 20]", "daily: 300\n    profile: [1, 2]"))
    assert day.queues[0].calendar() == [100.0, 200.0]


def test_a_seed_draws_the_same_customers_and_another_seed_others() -> None:
    scenario = load_scenario(GOOD)
    first, again = draw(scenario), draw(scenario)
    assert first.arrive.tolist() == again.arrive.tolist()
    assert first.work.tolist() == again.work.tolist()
    other = draw(scenario.varied(seed=2))
    assert first.arrive.tolist() != other.arrive.tolist()


def test_the_benchmark_day_is_a_valid_scenario_of_sixty_thousand_conversations() -> None:
    day = load_scenario(BENCHMARK_DAY.read_text())
    assert sum(g.count for g in day.agents) == 300
    assert sum(sum(q.calendar()) for q in day.queues) >= 60_000


def test_shifts_are_clock_times_in_the_zone_of_start() -> None:
    day = load_scenario(
        "start: 2026-03-03T08:00:00+01:00\n"
        + GOOD.replace("[10, 20]", "[1, 1, 1, 1, 1, 1, 1, 1]")
        + '    shift: "22:00-09:00"\n'
        + '  - {count: 1, skills: [support], shift: "10:00-12:00"}\n'
    )
    night, late = day.agents
    # The night shift that began yesterday works the first hour; 10:00 is two hours in.
    assert night.spans(day.clock, day.horizon) == [(0.0, 3600.0)]
    assert late.spans(day.clock, day.horizon) == [(7200.0, 14400.0)]
    assert day.at(0).isoformat() == "2026-03-03T08:00:00+01:00"
