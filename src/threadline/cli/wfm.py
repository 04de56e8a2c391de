"""`threadline wfm`: capacity math for planners (core.wfm), from the command line.

Each command prints the figures as `name: value` lines, or one JSON object with
`--json` (the same keys as the library's `as_dict()`, for a notebook or a script).
The library (and SciPy under it) is imported by the command that needs it, so the
other `threadline` commands do not pay for it at start.
Without `--agents` a command finds the staffing that meets the target; with it, it
gives the figures at that staffing. `simulate`, `compare` and `staff` run a scenario
file through the simulator (threadline.simulation) and write their results to a folder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from threadline.cli.failure import fail
from threadline.core.errors import InvalidInput

wfm_app = typer.Typer(
    help="Workforce planning: Erlang C and A, chat concurrency, async work, simulation.",
    no_args_is_help=True,
)

Volume = Annotated[float, typer.Option(help="Contacts arriving per interval.")]
Aht = Annotated[float, typer.Option("--aht", help="Average handle time, seconds.")]
Interval = Annotated[float, typer.Option(help="The interval's length, seconds.")]
Target = Annotated[float, typer.Option(help="Service-level target, 0-1 (0.8 = 80 %).")]
Within = Annotated[float, typer.Option(help="...answered within this many seconds.")]
Agents = Annotated[
    int | None, typer.Option(help="Figures at this staffing instead of finding one.")
]
MaxOccupancy = Annotated[float, typer.Option(help="Occupancy cap, 0-1.")]
Shrinkage = Annotated[float, typer.Option(help="Share of paid time not on contacts, 0-1.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _show(compute: Callable[[], Any], as_json: bool) -> None:
    try:
        result = compute()
    except InvalidInput as exc:
        raise fail(exc.message) from None
    row = result.as_dict()
    if as_json:
        typer.echo(json.dumps(_plain(row), indent=2, allow_nan=False))
        return
    for name, value in row.items():
        typer.echo(f"{name}: {_format(value)}")


def _figures_or_staffing(
    agents: int | None,
    metrics: Callable[..., Any],
    staffing: Callable[..., Any],
    as_json: bool,
    *,
    same: dict[str, Any],
    search: dict[str, Any],
) -> None:
    """The figures at `agents`, or without it the staffing that meets the targets in
    `search`; `same` are the arguments both take."""
    if agents is not None:
        _show(lambda: metrics(**same, agents=agents), as_json)
    else:
        _show(lambda: staffing(**same, **search), as_json)


def _plain(value: Any) -> Any:
    """JSON has no infinity: an unbounded wait is null."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _format(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_format(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if math.isfinite(value) else "unbounded"
    return str(value)


@wfm_app.command("erlang-c")
def erlang_c(
    volume: Volume,
    aht: Aht,
    target: Target = 0.8,
    within: Within = 20.0,
    interval: Interval = 1800.0,
    agents: Agents = None,
    max_occupancy: MaxOccupancy = 1.0,
    shrinkage: Shrinkage = 0.0,
    as_json: AsJson = False,
) -> None:
    """Queue with no abandonment (M/M/n): agents for a service level, or its figures."""
    from threadline.core.wfm.erlang import erlang_c_metrics, erlang_c_staffing

    _figures_or_staffing(
        agents,
        erlang_c_metrics,
        erlang_c_staffing,
        as_json,
        same={
            "volume": volume,
            "aht_seconds": aht,
            "target_seconds": within,
            "interval_seconds": interval,
        },
        search={"target_level": target, "max_occupancy": max_occupancy, "shrinkage": shrinkage},
    )


@wfm_app.command("erlang-a")
def erlang_a(
    volume: Volume,
    aht: Aht,
    patience: Annotated[float, typer.Option(help="Customers' mean patience, seconds.")],
    target: Target = 0.8,
    within: Within = 20.0,
    max_abandon: Annotated[
        float | None, typer.Option(help="Abandonment cap, 0-1 (none by default).")
    ] = None,
    interval: Interval = 1800.0,
    agents: Agents = None,
    max_occupancy: MaxOccupancy = 1.0,
    shrinkage: Shrinkage = 0.0,
    as_json: AsJson = False,
) -> None:
    """Queue with impatient customers (M/M/n+M): abandonment counted as a miss."""
    from threadline.core.wfm.erlang_a import erlang_a_metrics, erlang_a_staffing

    _figures_or_staffing(
        agents,
        erlang_a_metrics,
        erlang_a_staffing,
        as_json,
        same={
            "volume": volume,
            "aht_seconds": aht,
            "patience_seconds": patience,
            "target_seconds": within,
            "interval_seconds": interval,
        },
        search={
            "target_level": target,
            "max_abandon": max_abandon,
            "max_occupancy": max_occupancy,
            "shrinkage": shrinkage,
        },
    )


def _curve(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise fail(
            f"--aht takes seconds per concurrency level, e.g. 300,360,450 (got {text!r})"
        ) from None


@wfm_app.command("chat")
def chat(
    volume: Volume,
    aht: Annotated[
        str,
        typer.Option(
            "--aht",
            help="Handle time (s) when an agent holds 1, 2, 3… conversations: 300,360,450",
        ),
    ],
    target: Target = 0.8,
    within: Within = 60.0,
    interval: Interval = 1800.0,
    agents: Agents = None,
    max_occupancy: MaxOccupancy = 1.0,
    shrinkage: Shrinkage = 0.0,
    as_json: AsJson = False,
) -> None:
    """Live chat and messaging with concurrency: agents, achieved concurrency, SL."""
    from threadline.core.wfm.chat import chat_metrics, chat_staffing

    _figures_or_staffing(
        agents,
        chat_metrics,
        chat_staffing,
        as_json,
        same={
            "volume": volume,
            "aht_by_concurrency": _curve(aht),
            "target_seconds": within,
            "interval_seconds": interval,
        },
        search={"target_level": target, "max_occupancy": max_occupancy, "shrinkage": shrinkage},
    )


@wfm_app.command("async")
def async_work(
    aht: Aht,
    volume: Annotated[
        float | None, typer.Option(help="Messages arriving per interval (a response window).")
    ] = None,
    target: Target = 0.9,
    window: Annotated[
        float | None, typer.Option(help="...answered within this many seconds (3600 = 1 h).")
    ] = None,
    backlog: Annotated[
        float | None, typer.Option(help="Items already waiting (a backlog with a due time).")
    ] = None,
    due: Annotated[float | None, typer.Option(help="Working seconds to clear the backlog.")] = None,
    interval: Interval = 1800.0,
    max_occupancy: MaxOccupancy = 0.85,
    shrinkage: Shrinkage = 0.0,
    as_json: AsJson = False,
) -> None:
    """Asynchronous work: a response window (--volume --window) or a backlog (--backlog --due)."""
    from threadline.core.wfm.backlog import backlog_staffing, response_window_staffing

    if (volume is None) == (backlog is None):
        raise fail("give --volume with --window, or --backlog with --due")
    if volume is not None:
        if window is None:
            raise fail("--volume needs --window (seconds within which messages are answered)")
        _show(
            lambda: response_window_staffing(
                volume=volume,
                aht_seconds=aht,
                target_level=target,
                window_seconds=window,
                interval_seconds=interval,
                max_occupancy=max_occupancy,
                shrinkage=shrinkage,
            ),
            as_json,
        )
        return
    if due is None:
        raise fail("--backlog needs --due (working seconds to clear it)")
    assert backlog is not None
    _show(
        lambda: backlog_staffing(
            items=backlog,
            aht_seconds=aht,
            due_seconds=due,
            max_occupancy=max_occupancy,
            shrinkage=shrinkage,
        ),
        as_json,
    )


@wfm_app.command("blend")
def blend(
    volume: Volume,
    aht: Aht,
    deferred: Annotated[float, typer.Option(help="Deferrable items per interval.")],
    deferred_aht: Annotated[float, typer.Option(help="Their handle time, seconds.")],
    target: Target = 0.8,
    within: Within = 20.0,
    interval: Interval = 1800.0,
    max_occupancy: MaxOccupancy = 0.85,
    shrinkage: Shrinkage = 0.0,
    as_json: AsJson = False,
) -> None:
    """Dedicated teams against one blended team for live contacts plus deferrable work."""
    from threadline.core.wfm.blended import compare_dedicated_and_blended

    _show(
        lambda: compare_dedicated_and_blended(
            live_volume=volume,
            live_aht_seconds=aht,
            live_target_level=target,
            live_target_seconds=within,
            deferred_items=deferred,
            deferred_aht_seconds=deferred_aht,
            interval_seconds=interval,
            max_occupancy=max_occupancy,
            shrinkage=shrinkage,
        ),
        as_json,
    )


ScenarioFile = Annotated[
    Path, typer.Argument(help="The scenario, a YAML file (docs/workforce.md).", show_default=False)
]
Out = Annotated[
    Path | None,
    typer.Option("--out", help="Folder for the results (default: ./simulation-<file name>)."),
]
Seed = Annotated[
    int | None, typer.Option(min=0, max=2**63 - 1, help="A seed instead of the scenario's.")
]


def _simulated(
    label: str,
    compute: Callable[..., Any],
    scenario_file: Path,
    seed: int | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """Read the scenario, compute with a progress bar, write the folder, print the
    result (a Run, Comparison or StaffingSearch: as_dict, text, write) as text or JSON."""
    from threadline.simulation.outputs import progress_bar, read_scenario

    try:
        scenario = read_scenario(scenario_file, seed)
        with progress_bar(label, hidden=as_json) as progress:
            result = compute(scenario, progress=progress)
    except InvalidInput as exc:
        raise fail(exc.message) from None
    folder = out or Path(f"simulation-{scenario_file.stem}")
    try:
        result.write(folder)
    except OSError as exc:
        raise fail(f"cannot write to {folder}: {exc.strerror or exc}") from None
    if as_json:
        data = {**result.as_dict(), "folder": str(folder)}
        typer.echo(json.dumps(_plain(data), indent=2, allow_nan=False))
        return
    typer.echo(result.text())
    typer.echo(f"folder: {folder}")


@wfm_app.command("simulate")
def simulate(
    scenario_file: ScenarioFile, out: Out = None, seed: Seed = None, as_json: AsJson = False
) -> None:
    """Run a scenario's day through the real router; write figures and plots to a folder."""
    from threadline.simulation.outputs import simulate as run_day

    _simulated("Simulating the day", run_day, scenario_file, seed, out, as_json)


@wfm_app.command("compare")
def compare(
    scenario_file: ScenarioFile,
    out: Out = None,
    grid: Annotated[
        str | None,
        typer.Option(help="P/M settings to try, e.g. 1/1,2/3,3/4 (default: P 1-4, M = P or P+1)."),
    ] = None,
    seed: Seed = None,
    as_json: AsJson = False,
) -> None:
    """Policies on the same traffic: FIFO, adaptive, with and without inactivity, P/M grid."""
    from threadline.simulation.compare import compare as run_compare
    from threadline.simulation.compare import parse_grid

    try:
        pairs = None if grid is None else parse_grid(grid)
    except InvalidInput as exc:
        raise fail(f"--grid: {exc.message}") from None
    run = partial(run_compare, grid=pairs)
    _simulated("Comparing policies", run, scenario_file, seed, out, as_json)


@wfm_app.command("staff")
def staff(
    scenario_file: ScenarioFile,
    out: Out = None,
    replications: Annotated[
        int, typer.Option(help="Days simulated per trial staffing, each with its own seed.")
    ] = 3,
    seed: Seed = None,
    as_json: AsJson = False,
) -> None:
    """The fewest agents per interval meeting the response window, by simulation."""
    from threadline.simulation.staffing import search

    run = partial(search, replications=replications)
    _simulated("Searching the staffing", run, scenario_file, seed, out, as_json)
