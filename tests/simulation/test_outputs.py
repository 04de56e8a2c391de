"""A simulated day written to a folder as a planner receives it: the same bytes for the
same seed, JSON a strict parser reads, a CSV row per interval and a total, and plots."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from threadline.core.errors import InvalidInput
from threadline.simulation.outputs import PLOTS, read_scenario, simulate, write_run

# An hour of web chat in three 20-minute intervals: about 100 customers, five agents.
TINY = """\
name: tiny
seed: 5
interval_minutes: 20
drain_minutes: 60
target: {window_seconds: 120, level: 0.8}
queues:
  - {skill: support, channel: web, volumes: [25, 45, 25]}
customers:
  - {name: engaged, exchanges: 2, reply: {median: 20, spread: 0.5}}
agents:
  - {count: 5, skills: [support], preferred: 2, max: 3, shift: "00:00-01:00"}
handling: {reply_seconds: 30, slowdown: [1.0, 1.2, 1.5]}
"""


def tiny_file(folder: Path, text: str = TINY) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def strict_json(text: str) -> object:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_a_seeded_run_writes_the_same_bytes_twice(tmp_path: Path) -> None:
    scenario = read_scenario(tiny_file(tmp_path))
    first = write_run(simulate(scenario), tmp_path / "first")
    second = write_run(simulate(scenario), tmp_path / "second")
    names = sorted(p.name for p in first)
    assert names == sorted(["summary.json", "intervals.csv", *PLOTS])
    assert names == sorted(p.name for p in second)
    for name in names:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()


def test_the_summary_is_strict_json_with_null_for_what_cannot_be_computed(
    tmp_path: Path,
) -> None:
    # Nobody arrives in the middle interval: it has no first responses to measure.
    text = TINY.replace("volumes: [25, 45, 25]", "volumes: [25, 0, 25]")
    scenario = read_scenario(tiny_file(tmp_path, text))
    write_run(simulate(scenario), tmp_path / "out", plots=False)
    summary = strict_json((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert isinstance(summary, dict)
    assert (summary["scenario"], summary["seed"]) == ("tiny", 5)
    assert summary["run"]["customers"] == summary["total"]["customers"] > 0
    assert [i["start_time"][11:16] for i in summary["intervals"]] == ["00:00", "00:20", "00:40"]
    assert summary["intervals"][1]["sessions"] == 0
    assert summary["intervals"][1]["first_response_p50"] is None
    assert 0 <= summary["total"]["service_level"] <= 1


def test_the_csv_has_a_row_per_interval_and_a_total(tmp_path: Path) -> None:
    scenario = read_scenario(tiny_file(tmp_path))
    run = simulate(scenario)
    write_run(run, tmp_path, plots=False)
    with (tmp_path / "intervals.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["interval"] for r in rows] == ["0", "1", "2", "total"]
    assert sum(int(r["sessions"]) for r in rows[:-1]) == int(rows[-1]["sessions"])
    assert float(rows[-1]["service_level"]) == pytest.approx(run.report.total.service_level)
    # Customers and those who gave up count in the interval they arrived in; the run's
    # other extras are on the total row only.
    assert rows[-1]["customers"] == str(run.recorder.customers)
    assert sum(int(r["customers"]) for r in rows[:-1]) == run.recorder.customers
    assert rows[0]["messages"] == ""


def test_plots_are_png_files_without_a_software_stamp(tmp_path: Path) -> None:
    write_run(simulate(read_scenario(tiny_file(tmp_path))), tmp_path)
    for name in PLOTS:
        data = (tmp_path / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert b"matplotlib" not in data.lower()


def test_a_scenario_file_is_read_with_its_problems_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        read_scenario(tmp_path / "missing.yaml")
    broken = tiny_file(tmp_path, TINY.replace("count: 5", "count: -5"))
    with pytest.raises(InvalidInput, match=r"tiny\.yaml: line 11: agents\.0\.count"):
        read_scenario(broken)
    assert read_scenario(tiny_file(tmp_path), seed=9).seed == 9
