"""`threadline wfm simulate|compare|staff` as a planner runs them, in real processes: the
folder of results is written and named, and a bad file, scenario or grid is named
without a traceback."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_cli import THREADLINE, run
from tests.simulation.test_outputs import TINY, tiny_file


def test_simulate_writes_its_folder_beside_the_scenario_by_default(tmp_path: Path) -> None:
    scenario = tiny_file(tmp_path)
    done = subprocess.run(
        [THREADLINE, "wfm", "simulate", scenario.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert lines["scenario"] == "tiny (seed 5)"
    assert 0 <= float(lines["service_level"]) <= 1
    assert lines["folder"] == "simulation-tiny"
    written = {p.name for p in (tmp_path / "simulation-tiny").iterdir()}
    assert {"summary.json", "intervals.csv", "service_level.png"} <= written
    assert done.stderr == ""  # not a terminal: no progress bar


def test_simulate_prints_the_summary_as_json_with_another_seed(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = run(
        "wfm", "simulate", str(tiny_file(tmp_path)), "--out", str(out), "--seed", "9", "--json"
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["seed"], summary["folder"]) == (9, str(out))
    saved = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert saved == {k: v for k, v in summary.items() if k != "folder"}


def test_compare_writes_the_table_for_the_grid_asked(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    args = ["wfm", "compare", str(tiny_file(tmp_path)), "--out", str(out), "--grid", "1/1,2/3"]
    done = run(*args, "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert [r["policy"] for r in rows][-2:] == ["adaptive P1/M1", "adaptive P2/M3"]
    assert {"fifo", "adaptive"} <= {r["policy"] for r in rows}
    assert {p.name for p in out.iterdir()} == {
        "comparison.csv",
        "comparison.json",
        "comparison.png",
    }


def test_staff_prints_the_analytic_and_simulated_agents(tmp_path: Path) -> None:
    out = tmp_path / "staff"
    args = ["wfm", "staff", str(tiny_file(tmp_path)), "--out", str(out), "--replications", "1"]
    done = run(*args)
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0].split()
    assert header[:4] == ["interval", "volume", "analytic", "simulated"]
    assert "every interval meets the target" in done.stdout
    assert (out / "staffing.json").exists()


@pytest.mark.parametrize(
    ("command", "text", "extra", "named"),
    [
        ("simulate", None, (), "missing.yaml: no such file"),
        ("simulate", "queues: [", (), "bad.yaml: line 1: not valid YAML"),
        ("compare", TINY.replace("count: 5", "count: many"), (), "line 11: agents.0.count"),
        ("staff", TINY.replace("skills: [support]", "skills: [sales]"), (), "no queue has sales"),
        ("compare", TINY, ("--grid", "3/2"), "--grid: grid entries are P/M pairs"),
        ("staff", TINY, ("--replications", "0"), "replications must be between 1 and 50"),
    ],
)
def test_bad_input_is_named_without_a_traceback(
    tmp_path: Path, command: str, text: str | None, extra: tuple[str, ...], named: str
) -> None:
    path = tmp_path / "missing.yaml"
    if text is not None:
        path = tmp_path / "bad.yaml"
        path.write_text(text, encoding="utf-8")
    done = run("wfm", command, str(path), "--out", str(tmp_path / "out"), *extra)
    assert done.returncode == 2, done.stdout
    assert named in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_an_unwritable_folder_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    done = run("wfm", "simulate", str(tiny_file(tmp_path)), "--out", str(blocker))
    assert done.returncode == 2
    assert f"cannot write to {blocker}" in done.stderr
    assert "Traceback" not in done.stderr
