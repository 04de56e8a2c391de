"""What a day of messaging looked like: the figures a planner compares with the plan.

One set of definitions serves the simulator and the live event log (`service.workforce`),
so that "plan" and "reality" are the same numbers computed from different sources.
Both sources reduce what happened to three kinds of record, with times in seconds
from the start of the period:

- `Wait`: a customer waiting for an agent, from their first unanswered message to the
  agent's next message (`answered`, None if it never came). The first of a session is
  its *first response*, the others *next responses*.
- `Session`: one customer session, opened, first assigned to an agent, first answered,
  closed; whether it went inactive, how often it came back and how often to its owner.
- `Holding`: an agent's number of assigned conversations changing at a time, and
  `Presence`: the spans an agent was online.

Definitions (docs/workforce.md, "Definitions"):
- Response-window service level: answered within the window / waits whose window has
  run out by the end of the period (waits still inside their window are not judged
  yet; a wait never answered counts as a miss), by the interval the wait started in.
- Abandonment: sessions closed before any agent assignment / sessions opened.
- Occupancy: the share of an agent's online time holding at least one conversation.
- Achieved concurrency: the mean number of conversations held while holding any.
- Inactive rate: sessions that went inactive at least once / sessions opened.
  Reactivation rate: reactivations / times sessions went inactive; to owner: the
  reactivations assigned straight back to their owner / reactivations.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from threadline.core.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Wait:
    asked: float
    answered: float | None
    first: bool


@dataclass(frozen=True, slots=True)
class Session:
    opened: float
    assigned: float | None = None
    closed: float | None = None
    inactive_episodes: int = 0
    reactivations: int = 0
    to_owner: int = 0


@dataclass(frozen=True, slots=True)
class Holding:
    agent: str
    at: float
    held: int


@dataclass(frozen=True, slots=True)
class Presence:
    agent: str
    start: float
    end: float


@dataclass(frozen=True)
class Distribution:
    count: int
    mean: float | None
    p50: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        if not values:
            return cls(0, None, None, None)
        ordered = sorted(values)
        return cls(
            len(ordered),
            sum(ordered) / len(ordered),
            percentile(ordered, 0.5),
            percentile(ordered, 0.9),
        )


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest rank: a value that occurred (a planner can look it up in the data)."""
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Figures:
    """The figures of one interval (or of the whole period, `start` to `end`)."""

    start: float
    end: float
    sessions: int
    waits_judged: int
    answered_in_window: int
    # Judged and never answered: the customers the service level lost entirely (a
    # response-time percentile only sees the answered).
    unanswered: int
    service_level: float | None
    first_response: Distribution
    next_response: Distribution
    queue_wait: Distribution
    abandoned: int
    abandonment: float | None
    occupancy: float | None
    concurrency: float | None
    inactive_rate: float | None
    reactivation_rate: float | None
    to_owner_rate: float | None
    online_agents: float
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Flat, for a CSV row or a pandas frame."""
        flat: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, dict) and key != "extra":
                for part, number in value.items():
                    flat[f"{key}_{part}"] = number
            elif key != "extra":
                flat[key] = value
        flat.update(self.extra)
        return flat


@dataclass(frozen=True)
class Report:
    window: float
    interval: float
    total: Figures
    intervals: list[Figures]

    def as_dict(self) -> dict[str, Any]:
        return {
            "window_seconds": self.window,
            "interval_seconds": self.interval,
            "total": self.total.as_dict(),
            "intervals": [f.as_dict() for f in self.intervals],
        }


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


class _AgentTime:
    """Online time, time holding any conversation and conversation-time, per interval."""

    def __init__(self, edges: Sequence[float]) -> None:
        self.edges = edges
        n = len(edges) - 1
        self.online = [0.0] * n
        self.busy = [0.0] * n
        self.held = [0.0] * n

    def add(self, start: float, end: float, held: int) -> None:
        """An online span of one agent holding `held` conversations throughout."""
        edges = self.edges
        if end <= start or end <= edges[0] or start >= edges[-1]:
            return
        for i in range(_index(edges, start), len(edges) - 1):
            lo, hi = max(start, edges[i]), min(end, edges[i + 1])
            if hi <= lo:
                if edges[i] >= end:
                    break
                continue
            span = hi - lo
            self.online[i] += span
            if held > 0:
                self.busy[i] += span
                self.held[i] += span * held


def _index(edges: Sequence[float], t: float) -> int:
    """The interval holding `t` (clamped into the period)."""
    lo, hi = 0, len(edges) - 2
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if edges[mid] <= t:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _agent_time(
    edges: Sequence[float], holdings: Iterable[Holding], presence: Iterable[Presence]
) -> _AgentTime:
    time = _AgentTime(edges)
    changes: dict[str, list[tuple[float, int]]] = {}
    for h in holdings:
        changes.setdefault(h.agent, []).append((h.at, h.held))
    for agent_changes in changes.values():
        agent_changes.sort(key=lambda c: c[0])
    for span in presence:
        points = changes.get(span.agent, [])
        held, cursor = 0, span.start
        for at, now_held in points:
            if at <= span.start:
                held = now_held
                continue
            if at >= span.end:
                break
            time.add(cursor, at, held)
            cursor, held = at, now_held
        time.add(cursor, span.end, held)
    return time


def check_period(start: float, end: float, interval: float, window: float) -> None:
    if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
        raise InvalidInput("the period must end after it starts", field="until")
    if not math.isfinite(interval) or interval <= 0:
        raise InvalidInput("interval must be positive", field="interval")
    if (end - start) / interval > 10_000:
        raise InvalidInput("at most 10,000 intervals per report", field="interval")
    if not math.isfinite(window) or window <= 0:
        raise InvalidInput("window must be positive", field="window")


def summarise(
    *,
    start: float,
    end: float,
    interval: float,
    window: float,
    waits: Iterable[Wait],
    sessions: Iterable[Session],
    holdings: Iterable[Holding] = (),
    presence: Iterable[Presence] = (),
    as_of: float | None = None,
) -> Report:
    """The figures of each interval from `start` to `end`, and of the whole period.

    A wait or session belongs to the interval it started in; agent time is split at
    the interval edges. `as_of` (default `end`): when the records were read, which
    decides whether an unanswered wait's window has run out (a wait that started just
    before `end` may still be answered in time after it)."""
    check_period(start, end, interval, window)
    judged_at = end if as_of is None else as_of
    count = max(1, math.ceil((end - start) / interval - 1e-9))
    edges = [start + i * interval for i in range(count)] + [end]
    buckets: list[_Bucket] = [_Bucket() for _ in range(count)]
    total = _Bucket()
    for w in waits:
        if w.asked < start or w.asked >= end:
            continue
        b = buckets[_index(edges, w.asked)]
        for target in (b, total):
            target.add_wait(w, window, judged_at)
    for s in sessions:
        if s.opened < start or s.opened >= end:
            continue
        b = buckets[_index(edges, s.opened)]
        for target in (b, total):
            target.add_session(s)
    time = _agent_time(edges, holdings, presence)
    intervals = [
        b.figures(
            edges[i],
            edges[i + 1],
            time.online[i],
            time.busy[i],
            time.held[i],
        )
        for i, b in enumerate(buckets)
    ]
    total_figures = total.figures(start, end, sum(time.online), sum(time.busy), sum(time.held))
    return Report(window=window, interval=interval, total=total_figures, intervals=intervals)


class _Bucket:
    __slots__ = (
        "abandoned",
        "episodes",
        "first",
        "in_window",
        "inactive",
        "judged",
        "next",
        "queue",
        "reactivations",
        "sessions",
        "to_owner",
        "unanswered",
    )

    def __init__(self) -> None:
        self.first: list[float] = []
        self.next: list[float] = []
        self.queue: list[float] = []
        self.judged = 0
        self.in_window = 0
        self.unanswered = 0
        self.sessions = 0
        self.abandoned = 0
        self.inactive = 0
        self.episodes = 0
        self.reactivations = 0
        self.to_owner = 0

    def add_wait(self, w: Wait, window: float, judged_at: float) -> None:
        if w.answered is not None:
            took = w.answered - w.asked
            (self.first if w.first else self.next).append(took)
            self.judged += 1
            self.in_window += took <= window
        elif w.asked + window <= judged_at:
            # Unanswered and out of time: a miss. Still inside its window: not judged yet.
            self.judged += 1
            self.unanswered += 1

    def add_session(self, s: Session) -> None:
        self.sessions += 1
        if s.assigned is not None:
            self.queue.append(s.assigned - s.opened)
        elif s.closed is not None:
            self.abandoned += 1
        if s.inactive_episodes:
            self.inactive += 1
        self.episodes += s.inactive_episodes
        self.reactivations += s.reactivations
        self.to_owner += s.to_owner

    def figures(self, start: float, end: float, online: float, busy: float, held: float) -> Figures:
        return Figures(
            start=start,
            end=end,
            sessions=self.sessions,
            waits_judged=self.judged,
            answered_in_window=self.in_window,
            unanswered=self.unanswered,
            service_level=_ratio(self.in_window, self.judged),
            first_response=Distribution.of(self.first),
            next_response=Distribution.of(self.next),
            queue_wait=Distribution.of(self.queue),
            abandoned=self.abandoned,
            abandonment=_ratio(self.abandoned, self.sessions),
            occupancy=_ratio(busy, online),
            concurrency=_ratio(held, busy),
            inactive_rate=_ratio(self.inactive, self.sessions),
            reactivation_rate=_ratio(self.reactivations, self.episodes),
            to_owner_rate=_ratio(self.to_owner, self.reactivations),
            online_agents=online / (end - start) if end > start else 0.0,
        )
