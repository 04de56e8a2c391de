"""A simulated day written down for a planner: a folder of JSON, CSV and PNG files.

- `summary.json`: the scenario's name and seed, the run's facts (customers, messages,
  events), the day's figures in total and per interval (core.wfm.figures' keys).
- `intervals.csv`: the same figures, one row per interval and a `total` row last.
- `service_level.png`, `occupancy.png`, `response_times.png`: the plots (plots.py).

Nothing in the files depends on the clock or the machine, so a seeded run writes the
same bytes every time (a planner can diff two runs, and a test can check it).
Also here, for the command line and a notebook alike: `read_scenario` (a file, with
its problems named) and `progress_bar`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threadline.core.errors import InvalidInput
from threadline.core.wfm.figures import Report, Wait
from threadline.simulation.record import Recorder
from threadline.simulation.scenario import Scenario, load_scenario

SUMMARY, INTERVALS = "summary.json", "intervals.csv"
PLOTS = ("service_level.png", "occupancy.png", "response_times.png")
# What `threadline wfm simulate` prints of the day's total figures.
SUMMARY_FIGURES = (
    "customers",
    "messages",
    "service_level",
    "first_response_p50",
    "first_response_p90",
    "next_response_p90",
    "abandonment",
    "unanswered",
    "gave_up_rate",
    "occupancy",
    "concurrency",
    "inactive_rate",
    "reactivation_rate",
    "to_owner_rate",
)
# progress(done, total): how far a long computation is, in whatever unit it counts.
Progress = Callable[[float, float], None]


def read_scenario(path: Path, seed: int | None = None) -> Scenario:
    """The scenario in a YAML file (with `seed` instead of its own); InvalidInput names
    the file and every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file", field="scenario") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path}: is a folder, not a scenario file", field="scenario") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text", field="scenario") from None
    except OSError as error:
        raise InvalidInput(f"{path}: {error.strerror or error}", field="scenario") from None
    try:
        scenario = load_scenario(text)
    except InvalidInput as error:
        raise InvalidInput(f"{path}: {error.message}", field="scenario") from None
    return scenario if seed is None else scenario.varied(seed=seed)


@contextmanager
def progress_bar(label: str, *, hidden: bool = False) -> Iterator[Progress]:
    """A progress bar on stderr for a person at a terminal; nothing otherwise (a pipe,
    a log, `hidden`), so that output meant for a program stays clean."""
    from rich.console import Console
    from rich.progress import BarColumn, TaskProgressColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    console = Console(stderr=True)
    columns = (BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    hide = hidden or not console.is_terminal
    with Bar(label, *columns, console=console, transient=True, disable=hide) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@dataclass(frozen=True)
class Run:
    """One simulated day: its scenario, what the recorder saw, and the figures."""

    scenario: Scenario
    recorder: Recorder
    report: Report

    @property
    def waits(self) -> list[Wait]:
        return self.recorder.waits

    def as_dict(self) -> dict[str, Any]:
        return self.summary()

    def text(self) -> str:
        total = self.report.total.as_dict()
        lines = [f"scenario: {self.scenario.name} (seed {self.scenario.seed})"]
        lines += [f"{key}: {format_value(total.get(key))}" for key in SUMMARY_FIGURES]
        return "\n".join(lines)

    def write(self, folder: Path) -> list[Path]:
        return write_run(self, folder)

    def summary(self) -> dict[str, Any]:
        s, r = self.scenario, self.recorder
        summary: dict[str, Any] = plain(
            {
                "scenario": s.name,
                "seed": s.seed,
                "start": s.start.isoformat(),
                "interval_seconds": s.interval,
                "window_seconds": s.target.window_seconds,
                "target_level": s.target.level,
                "policy": s.routing.policy,
                "inactive": s.routing.inactive,
                "run": {
                    "customers": r.customers,
                    "sessions_reopened": r.reopened,
                    "messages": r.messages,
                    "gave_up": r.gave_up,
                    "respond_by_breaches": r.breaches,
                    "agents": len({p.agent for p in r.presences}),
                    "simulated_seconds": r.ended,
                    "calendar_events": r.calendar_events,
                    "core_events": r.core_events,
                },
                "total": self.report.total.as_dict(),
                "intervals": interval_rows(s, self.report),
            }
        )
        return summary


def interval_rows(scenario: Scenario, report: Report) -> list[dict[str, Any]]:
    """Each interval's flat figures, led by its number and its start as a time of day."""
    return [
        {"interval": i, "start_time": scenario.at(f.start).isoformat(), **f.as_dict()}
        for i, f in enumerate(report.intervals)
    ]


def plain(value: Any) -> Any:
    """JSON has no NaN or infinity: a figure that cannot be computed is null."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(data: Any) -> str:
    return json.dumps(plain(data), indent=2, allow_nan=False) + "\n"


def to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """Rows as CSV, columns in order of first appearance; a missing value is empty."""
    rows = list(rows)
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return value


def write_text(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def simulate(scenario: Scenario, progress: Progress | None = None) -> Run:
    """Run the scenario's day (progress(done_seconds, total_seconds) as it goes)."""
    from threadline.simulation.engine import Day

    recorder = Day(scenario).run(progress)
    return Run(scenario, recorder, recorder.report())


def write_run(run: Run, folder: Path, *, plots: bool = True) -> list[Path]:
    """Write the run's files into `folder` (created if missing); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    summary = run.summary()
    total = {"interval": "total", "start_time": "", **summary["total"]}
    written = [
        write_text(folder, SUMMARY, to_json(summary)),
        write_text(folder, INTERVALS, to_csv([*summary["intervals"], total])),
    ]
    if plots:
        from threadline.simulation import plots as draw

        names = dict(zip(("service", "occupancy", "responses"), PLOTS, strict=True))
        draw.service_level(run.scenario, run.report, folder / names["service"])
        draw.occupancy(run.scenario, run.report, folder / names["occupancy"])
        draw.response_times(
            run.scenario, run.waits, run.recorder.ended, folder / names["responses"]
        )
        written += [folder / name for name in PLOTS]
    return written


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """Rows as aligned text columns (header from `columns`: key, title)."""
    cells = [[title for _, title in columns]]
    cells += [[format_value(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = []
    for line in cells:
        first, *rest = (
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        lines.append("  ".join([first, *rest]).rstrip())
    return "\n".join(lines)


def format_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "unbounded"
        return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:.0f}"
    return str(value)


def write_table(
    folder: Path,
    files: tuple[str, str, str],
    rows: list[dict[str, Any]],
    document: dict[str, Any],
    draw: Callable[[Path], None] | None,
) -> list[Path]:
    """A table's three files in `folder`: its rows as CSV, the document as JSON, and the
    plot `draw` writes (none without it)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [
        write_text(folder, files[0], to_csv(plain(rows))),
        write_text(folder, files[1], to_json(document)),
    ]
    if draw is not None:
        draw(folder / files[2])
        written.append(folder / files[2])
    return written
