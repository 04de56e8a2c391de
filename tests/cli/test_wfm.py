"""`threadline wfm` as a planner runs it: in a real process, figures as text or JSON,
and bad input named without a traceback."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_cli import run


def test_erlang_c_staffing_prints_the_published_example_as_json() -> None:
    # The worked example the library's tests take from the R ErlangC package and
    # pyworkforce: 100 contacts in 30 min, AHT 180 s, 80 % in 20 s, cap 85 %, 30 % shrinkage.
    done = run(
        "wfm", "erlang-c", "--volume", "100", "--aht", "180", "--target", "0.8",
        "--within", "20", "--max-occupancy", "0.85", "--shrinkage", "0.3", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert (figures["agents"], figures["scheduled"]) == (14, 20)
    assert figures["service_level"] == pytest.approx(0.88835, abs=1e-5)


def test_each_command_prints_its_figures_as_text() -> None:
    done = run("wfm", "chat", "--volume", "100", "--aht", "300,360,450", "--within", "60")
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert int(lines["agents"]) > 0
    assert 1 <= float(lines["achieved_concurrency"]) <= 3


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("erlang-c", "--volume", "100", "--aht", "-3"), "aht_seconds"),
        (("chat", "--volume", "100", "--aht", "300,fast"), "--aht"),
        (("async", "--aht", "300"), "--volume with --window"),
        (("erlang-a", "--volume", "10", "--aht", "180", "--patience", "0"), "patience"),
    ],
)
def test_bad_input_is_named_without_a_traceback(args: tuple[str, ...], named: str) -> None:
    done = run("wfm", *args)
    assert done.returncode == 2
    assert named in done.stderr
    assert "Traceback" not in done.stderr
