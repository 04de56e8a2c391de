"""The simulator's plots, as PNG files a planner can put on a slide.

Drawn with matplotlib's object interface (`Figure`, rendered by Agg): no pyplot, so no
global figure registry, no display and no backend switch that would change a
notebook's own plotting. Imported only when a plot is drawn (outputs.py imports it
inside the function), so the simulator itself does not load matplotlib.

Files are deterministic: fixed size and resolution, the bundled DejaVu font, no
"Software" stamp and no date in the PNG, so a seeded run writes the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, PercentFormatter

from threadline.core.wfm.figures import Report, Wait
from threadline.simulation.scenario import Scenario

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

# 16:9 at 1920 by 1080 pixels: a full slide without scaling.
SIZE, DPI = (10.0, 5.625), 192
STYLE: dict[RcKeyType, Any] = {
    # Scenario names are text, not TeX: a "$" must not start mathtext (or fail to parse).
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 12,
    "axes.titlesize": 15,
    "axes.titleweight": "bold",
    "axes.labelsize": 12,
    "legend.fontsize": 10.5,
    "legend.framealpha": 0.9,
    "xtick.labelsize": 10.5,
    "ytick.labelsize": 10.5,
    "axes.spines.top": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "path.simplify": False,
}
MET, MISSED, TARGET, SECOND, BARS = "#2b6cb0", "#dd6b20", "#2d3748", "#38a169", "#a0aec0"
SIMULATED = "#6b46c1"
# Tick marks of a time axis on a log scale, in seconds: the durations a planner thinks in.
DURATIONS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400)


def duration(seconds: float) -> str:
    """120 → "2 min", 45 → "45 s", 5400 → "1.5 h"."""
    if seconds < 60 or seconds % 60:
        return f"{seconds:g} s"
    if seconds < 3600:
        return f"{seconds / 60:g} min"
    return f"{seconds / 3600:g} h"


def approx(seconds: float) -> str:
    """A measured time, rounded for a label: 116 → "116 s", 1971 → "32.9 min"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@contextmanager
def _figure(path: Path, rows: int = 1, cols: int = 1, **options: Any) -> Iterator[Figure]:
    """A styled figure, saved to `path` when the block ends."""
    size = options.pop("figsize", SIZE)
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=size, layout="constrained")
        yield figure
        figure.savefig(path, dpi=DPI, format="png", metadata={"Software": None})


def _title(scenario: Scenario, what: str) -> str:
    name = scenario.name if len(scenario.name) <= 60 else scenario.name[:59] + "…"
    return f"{what}\n{name}"


def _time_axis(ax: Axes, scenario: Scenario, count: int) -> None:
    """Intervals at 0, 1, 2 … labelled by their start as a time of day (≤ 12 labels)."""
    step = max(1, math.ceil(count / 12))
    ticks = list(range(0, count, step))
    ax.set_xticks(ticks, [scenario.at(i * scenario.interval).strftime("%H:%M") for i in ticks])
    ax.set_xlim(-0.6, count - 0.4)
    ax.set_xlabel(f"Interval start (time of day, {duration(scenario.interval)} intervals)")


def _percent_axis(ax: Axes, label: str) -> None:
    ax.set_ylim(0, 105)
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_ylabel(label)


def _legend_below(figure: Figure, handles: Sequence[Any]) -> None:
    """One legend under the plot, in a row: it never hides a bar or a line."""
    figure.legend(handles=handles, loc="outside lower center", ncols=len(handles))


def _level_bars(ax: Axes, levels: Sequence[float | None], target: float) -> list[Any]:
    """Bars of a service level in %, coloured by whether they reach the target; returns
    the legend's handles."""
    x = np.arange(len(levels))
    heights = [100 * v if v is not None else 0.0 for v in levels]
    colours = [MET if v is None or v >= target else MISSED for v in levels]
    ax.bar(x, heights, width=0.8, color=colours)
    for i, v in enumerate(levels):
        if v is None:
            ax.text(i, 2, "n/a", ha="center", va="bottom", fontsize=8, color=TARGET)
    ax.axhline(100 * target, color=TARGET, linestyle="--", linewidth=2)
    return [
        Patch(color=MET, label="Target met"),
        Patch(color=MISSED, label="Target missed"),
        Line2D([], [], color=TARGET, linestyle="--", label=f"Target {target:.0%}"),
    ]


def service_level(scenario: Scenario, report: Report, path: Path) -> None:
    """Response-window service level per interval against the target line."""
    window, target = scenario.target.window_seconds, scenario.target.level
    total = report.total.service_level
    day = f"{total:.0%}" if total is not None else "n/a"
    with _figure(path) as figure:
        ax = figure.subplots()
        _legend_below(figure, _level_bars(ax, [f.service_level for f in report.intervals], target))
        _percent_axis(ax, f"Answered within {duration(window)} (%)")
        _time_axis(ax, scenario, len(report.intervals))
        ax.set_title(_title(scenario, f"Service level per interval (day: {day})"))


def occupancy(scenario: Scenario, report: Report, path: Path) -> None:
    """Occupancy and achieved concurrency per interval, over the agents online."""
    intervals = report.intervals
    x = np.arange(len(intervals))
    occupied = [100 * f.occupancy if f.occupancy is not None else np.nan for f in intervals]
    held = [f.concurrency if f.concurrency is not None else np.nan for f in intervals]
    with _figure(path) as figure:
        top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])
        (a,) = top.plot(x, occupied, marker="o", color=MET, linewidth=2, label="Occupancy")
        _percent_axis(top, "Occupancy (% of online time)")
        right = top.twinx()
        (b,) = right.plot(
            x, held, marker="s", color=SECOND, linewidth=2, label="Achieved concurrency"
        )
        most = max(
            [*(h for h in held if not math.isnan(h)), *(g.max_load for g in scenario.agents)]
        )
        right.set_ylim(0, most * 1.15)
        right.set_ylabel("Conversations per busy agent")
        right.grid(False)
        online = Patch(color=BARS, label="Agents online")
        _legend_below(figure, [a, b, online])
        top.set_title(_title(scenario, "Occupancy and achieved concurrency per interval"))
        bottom.bar(x, [f.online_agents for f in intervals], width=0.8, color=BARS)
        bottom.set_ylabel("Agents online\n(mean)")
        _time_axis(bottom, scenario, len(intervals))


def _cdf(ax: Axes, values: Sequence[float], missed: int, colour: str, label: str) -> None:
    count = len(values) + missed
    if not values:
        return
    ordered = np.maximum(np.sort(np.asarray(values, dtype=np.float64)), 0.1)
    share = 100 * np.arange(1, ordered.size + 1) / count
    ax.step(ordered, share, where="post", color=colour, linewidth=2.2, label=label)


def response_times(scenario: Scenario, waits: Sequence[Wait], ended: float, path: Path) -> None:
    """The distributions of first and next response times (cumulative), with the window.

    Out of every wait judged as the figures judge it: one never answered stays off the
    curve, so the curve ends below 100 % by the share left unanswered."""
    window = scenario.target.window_seconds
    horizon = scenario.horizon
    parts: dict[bool, tuple[list[float], int]] = {True: ([], 0), False: ([], 0)}
    for w in waits:
        if not 0 <= w.asked < horizon:
            continue
        answered, missed = parts[w.first]
        if w.answered is not None:
            answered.append(w.answered - w.asked)
        elif w.asked + window <= ended:
            parts[w.first] = (answered, missed + 1)
    with _figure(path) as figure:
        ax = figure.subplots()
        longest, shortest = 0.0, math.inf
        for first, colour, name in (
            (True, MET, "First response"),
            (False, SECOND, "Next response"),
        ):
            answered, missed = parts[first]
            count = len(answered) + missed
            if not count:
                continue
            within = sum(t <= window for t in answered) / count
            label = f"{name}: {within:.0%} within {duration(window)} (n = {count:,})"
            _cdf(ax, answered, missed, colour, label)
            longest = max(longest, max(answered, default=0.0))
            shortest = min(shortest, min(answered, default=math.inf))
        ax.axvline(
            window, color=TARGET, linestyle="--", linewidth=2, label=f"Window {duration(window)}"
        )
        ax.axhline(
            100 * scenario.target.level,
            color=MISSED,
            linestyle=":",
            linewidth=1.5,
            label=f"Target {scenario.target.level:.0%}",
        )
        ax.set_xscale("log")
        high = max(longest, window) * 1.5
        # Start at the last round duration below the quickest answer: no empty left half.
        low = max([d for d in DURATIONS if d <= min(shortest, window)], default=1)
        ax.set_xlim(low, high)
        ax.xaxis.set_major_locator(FixedLocator([d for d in DURATIONS if d <= high]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: duration(v)))
        ax.xaxis.set_minor_locator(FixedLocator([]))
        ax.set_xlabel("Response time (log scale)")
        _percent_axis(ax, "Answered within that time (% of waits)")
        ax.legend(loc="upper left")
        ax.set_title(_title(scenario, "Response times: first and next responses"))


def comparison(scenario: Scenario, rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    """Each policy's service level and 90th-percentile first response, side by side."""
    names = [str(r["policy"]) for r in rows]
    y = np.arange(len(rows))
    window, target = scenario.target.window_seconds, scenario.target.level
    height = max(SIZE[1], 1.6 + 0.42 * len(rows))
    with _figure(path, figsize=(SIZE[0], height)) as figure:
        left, right = figure.subplots(1, 2, sharey=True)
        levels = [r.get("service_level") for r in rows]
        left.barh(
            y,
            [100 * v if v is not None else 0 for v in levels],
            color=[MET if v is not None and v >= target else MISSED for v in levels],
        )
        left.bar_label(
            left.containers[0],
            labels=[f"{v:.1%}" if v is not None else "n/a" for v in levels],
            padding=3,
            fontsize=9,
        )
        left.axvline(100 * target, color=TARGET, linestyle="--", linewidth=2)
        left.set_xlim(0, 115)
        left.xaxis.set_major_formatter(PercentFormatter(decimals=0))
        left.set_xlabel(f"Answered within {duration(window)} (%; target {target:.0%})")
        left.set_title("Service level")
        left.set_yticks(y, names)
        left.invert_yaxis()
        p90 = [r.get("first_response_p90") for r in rows]
        right.barh(
            y,
            [v if v is not None else 0 for v in p90],
            color=[MET if v is not None and v <= window else MISSED for v in p90],
        )
        right.bar_label(
            right.containers[0],
            labels=[approx(v) if v is not None else "n/a" for v in p90],
            padding=3,
            fontsize=9,
        )
        right.margins(x=0.22)
        right.axvline(window, color=TARGET, linestyle="--", linewidth=2)
        right.set_xlabel(f"Seconds (window {duration(window)})")
        right.set_title("First response, 90th percentile")
        figure.suptitle(
            _title(scenario, "Policies on the same traffic"), fontsize=15, fontweight="bold"
        )


def staffing(scenario: Scenario, rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    """Agents per interval, analytic against simulated, and the level each achieves."""
    x = np.arange(len(rows))
    with _figure(path) as figure:
        top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])
        top.bar(
            x - 0.2,
            [r["analytic_agents"] for r in rows],
            width=0.4,
            color=BARS,
            label="Analytic (Erlang C)" if scenario.agents[0].preferred == 1 else "Analytic (chat)",
        )
        top.bar(
            x + 0.2,
            [r["simulated_agents"] for r in rows],
            width=0.4,
            color=SIMULATED,
            label="Simulation",
        )
        top.set_ylabel("Agents online")
        top.set_title(_title(scenario, "Staffing per interval"))
        levels = _level_bars(bottom, [r.get("service_level") for r in rows], scenario.target.level)
        _legend_below(figure, [*top.get_legend_handles_labels()[0], *levels])
        _percent_axis(bottom, f"Service level\n(within {duration(scenario.target.window_seconds)})")
        _time_axis(bottom, scenario, len(rows))
