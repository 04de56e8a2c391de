"""A simulated day, as a planner writes it: traffic, customers, agents, routing settings.

A scenario is YAML (docs/workforce.md, "Scenario files" has a full example). Every
mistake is reported with its line and path, all at once, before anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Annotated, Any, Literal, get_args

import yaml  # type: ignore[import-untyped,unused-ignore]
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from threadline.core.agents import MAX_CONCURRENCY
from threadline.core.bots.yaml_nodes import Problem, Unreadable, compose, line_of, unknown_key
from threadline.core.errors import InvalidInput
from threadline.core.pacing import MAX_DURATION, ChannelTiming, timing_for

# A simulated day is at most a week: the calendar is per interval, and a longer horizon
# is a sum of days a planner runs one by one.
MAX_HORIZON = 7 * 24 * 3600.0
DAY = 24 * 3600.0
# The figures' limit (core.wfm.figures.check_period).
MAX_INTERVALS = 10_000
_SHIFT = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Spread(_Strict):
    """A positive duration drawn from a log-normal distribution: `median` seconds, and
    `spread` the standard deviation of its logarithm (0: always the median)."""

    median: Positive
    spread: Annotated[float, Field(ge=0, le=3, allow_inf_nan=False)] = 1.0


class Burst(_Strict):
    """Several messages in a row: 1 + Poisson(mean - 1) of them, `gap_seconds` apart."""

    mean: Annotated[float, Field(ge=1, le=20, allow_inf_nan=False)] = 1.0
    gap_seconds: Positive = 5.0


class Ending(_Strict):
    """How the customer answers the agent's "anything else?": "no, that's all" closes the
    conversation; "thanks" is ineffectual (the agent closes it); the rest say nothing
    (it goes inactive, then closes)."""

    declines: Share = 0.5
    thanks: Share = 0.3

    @model_validator(mode="after")
    def _sums(self) -> Ending:
        if self.declines + self.thanks > 1 + 1e-9:
            raise ValueError("declines + thanks must be at most 1")
        return self


class Returns(_Strict):
    """Customers who come back with another question after going quiet."""

    probability: Share = 0.0
    after: Spread = Spread(median=3600, spread=0.5)


class Customers(_Strict):
    """One behaviour model and its share of the traffic."""

    # A column name in the outputs (engaged_service_level): a plain identifier, so that
    # no cell a spreadsheet opens can start a formula.
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")
    share: Positive = 1.0
    # Questions the customer needs answered: 1 + Poisson(exchanges - 1).
    exchanges: Annotated[float, Field(ge=1, le=50, allow_inf_nan=False)] = 3.0
    reply: Spread = Spread(median=20, spread=0.8)
    burst: Burst = Burst()
    # Mean patience (exponential) for an agent to take the conversation; none: endless.
    patience_seconds: Positive | None = None
    # explicit: they close the chat when it runs out; silent: they just stop reading.
    abandon: Literal["silent", "explicit"] = "silent"
    # The chance, at each turn, that they walk away mid-conversation and never answer.
    walk_away: Share = 0.0
    ending: Ending = Ending()
    returns: Returns = Returns()


class Queue(_Strict):
    skill: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9._-]+$")
    channel: str = Field(default="web", min_length=1, max_length=32)
    # Conversations per interval (Poisson), from the start of the day; or `daily` spread
    # over the intervals by `profile` (relative weights).
    # Bounded far above any contact center (a million conversations in half an hour) and
    # far below what would exhaust memory drawing them.
    volumes: list[Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]] | None = None
    daily: Annotated[float, Field(ge=0, le=1e7, allow_inf_nan=False)] | None = None
    profile: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] | None = None

    @model_validator(mode="after")
    def _one_calendar(self) -> Queue:
        if (self.volumes is None) == (self.daily is None):
            raise ValueError("give either volumes (per interval) or daily with a profile")
        if self.daily is not None and not self.profile:
            raise ValueError("daily needs a profile (relative volume per interval)")
        if self.profile is not None and sum(self.profile) <= 0:
            raise ValueError("profile needs at least one positive weight")
        return self

    def calendar(self) -> list[float]:
        if self.volumes is not None:
            return list(self.volumes)
        assert self.daily is not None
        assert self.profile is not None
        weight = sum(self.profile)
        return [self.daily * w / weight for w in self.profile]


class Agents(_Strict):
    name: str = Field(default="agents", min_length=1, max_length=64)
    count: Annotated[int, Field(ge=0, le=100_000)]
    shift: str = "00:00-24:00"
    skills: list[str] = Field(min_length=1)
    preferred: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] = 1
    max: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] | None = None

    @model_validator(mode="after")
    def _limits(self) -> Agents:
        if self.max is not None and self.max < self.preferred:
            raise ValueError("max must be at least preferred")
        self.hours()
        return self

    @property
    def max_load(self) -> int:
        return self.max or self.preferred

    def hours(self) -> tuple[float, float]:
        """Start and end of the shift as seconds after midnight (the clock of `start`)."""
        found = _SHIFT.match(self.shift.strip())
        if not found:
            raise ValueError('shift is "HH:MM-HH:MM", e.g. "08:00-16:30"')
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        if m1 > 59 or m2 > 59 or (h1, m1) > (24, 0) or (h2, m2) > (24, 0):
            raise ValueError(f'"{self.shift}" is not a time of day')
        start, end = h1 * 3600.0 + m1 * 60, h2 * 3600.0 + m2 * 60
        if end <= start:
            end += DAY  # an overnight shift ends the next morning
        return start, end

    def spans(self, clock: float, until: float) -> list[tuple[float, float]]:
        """When the group works, in seconds from the scenario's start (which is `clock`
        seconds after midnight), every day up to `until`: yesterday's overnight shift
        counts from the start, and back-to-back days join into one span."""
        first, last = self.hours()
        found: list[tuple[float, float]] = []
        day = -DAY
        while first - clock + day < until:
            begin, end = max(0.0, first - clock + day), last - clock + day
            if end > 0:
                if found and found[-1][1] == begin:
                    found[-1] = (found[-1][0], end)
                else:
                    found.append((begin, end))
            day += DAY
        return found


class Handling(_Strict):
    """How long an agent takes per reply, and how that grows with concurrency."""

    reply_seconds: Positive = 40.0
    distribution: Literal["lognormal", "exponential"] = "lognormal"
    spread: Annotated[float, Field(ge=0, le=3, allow_inf_nan=False)] = 0.5
    # Multiplier of the reply time when the agent holds 1, 2, 3, ... conversations (the
    # last one holds beyond the list): context switching slows every reply down.
    slowdown: list[Annotated[float, Field(ge=0.1, le=100, allow_inf_nan=False)]] = Field(
        default_factory=lambda: [1.0], min_length=1, max_length=MAX_CONCURRENCY
    )
    close_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 5.0

    @field_validator("slowdown")
    @classmethod
    def _never_faster(cls, slowdown: list[float]) -> list[float]:
        # As `wfm chat` refuses: holding more conversations never makes a reply quicker.
        if any(b < a for a, b in pairwise(slowdown)):
            raise ValueError("slowdown must not decrease with concurrency")
        return slowdown

    # The agent closes the conversation with its last answer (no "anything else?").
    close_on_last_answer: bool = False
    # With inactive conversations off, nothing frees the slot of a customer who went
    # quiet: agents close such a chat by hand after this long without an answer (ten
    # minutes is a common desk rule). With them on, the core frees the slot instead.
    close_silent_after_seconds: Positive = 600.0


class Timing(_Strict):
    """Overrides of a channel's pacing settings (core.pacing.ChannelTiming)."""

    default_pace: Positive | None = None
    k: Positive | None = None
    floor: Positive | None = None
    ceiling: Positive | None = None
    m: Positive | None = None
    inactive_min: Positive | None = None
    inactive_max: Positive | None = None
    close_after: Positive | None = None
    alpha: Positive | None = None


class Routing(_Strict):
    # adaptive: the respond-by follows each customer's pace (DESIGN.md §4); fifo: one
    # fixed respond-by (the channel's ceiling), so the earliest message is served first.
    policy: Literal["adaptive", "fifo"] = "adaptive"
    # false: conversations never go inactive, so a quiet customer keeps their slot.
    inactive: bool = True
    timings: dict[str, Timing] = Field(default_factory=dict)


class Target(_Strict):
    window_seconds: Positive = 120.0
    level: Share = 0.8


class Scenario(_Strict):
    name: str = Field(default="scenario", max_length=200)
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 1
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC)
    interval_minutes: Annotated[float, Field(gt=0, le=1440, allow_inf_nan=False)] = 30.0
    # Run on after the last interval so that late conversations finish (not counted as
    # arrivals, still counted as work).
    drain_minutes: Annotated[float, Field(ge=0, le=1440, allow_inf_nan=False)] = 120.0
    target: Target = Target()
    queues: list[Queue] = Field(min_length=1)
    customers: list[Customers] = Field(default_factory=lambda: [Customers(name="customers")])
    agents: list[Agents] = Field(min_length=1)
    handling: Handling = Handling()
    routing: Routing = Routing()

    @field_validator("start")
    @classmethod
    def _aware(cls, start: datetime) -> datetime:
        # Kept in its own offset: shifts are clock times there, and the outputs show it.
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("start needs a time and a time zone (2026-01-05T08:00:00+01:00)")
        return start

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        # Messages begin with the path they are about: load_scenario finds its line.
        lengths = [len(q.calendar()) for q in self.queues]
        for i, length in enumerate(lengths):
            if length != lengths[0]:
                raise ValueError(
                    f"queues.{i}: has {length} intervals where queues.0 has {lengths[0]};"
                    " every queue needs the same number"
                )
        if lengths[0] == 0:
            raise ValueError("queues.0: the calendar needs at least one interval")
        if lengths[0] > MAX_INTERVALS:
            raise ValueError(
                f"interval_minutes: {lengths[0]} intervals is more than the {MAX_INTERVALS:,}"
                " a report holds"
            )
        try:
            self.start + timedelta(seconds=self.horizon + self.drain_minutes * 60)
        except OverflowError:
            raise ValueError("start: the day would end after the year 9999") from None
        if self.horizon > MAX_HORIZON:
            raise ValueError(
                f"interval_minutes: {lengths[0]} intervals of {self.interval_minutes:g} min"
                " is more than the 7 days a scenario covers"
            )
        names = [c.name for c in self.customers]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"customers.{i}.name: {name} is already a customer model's name")
        seen: list[str] = []
        for i, q in enumerate(self.queues):
            if q.skill in seen:
                raise ValueError(f"queues.{i}.skill: {q.skill} has a queue already")
            seen.append(q.skill)
        channels = {q.channel for q in self.queues}
        for channel in self.routing.timings:
            if channel not in channels:
                raise ValueError(
                    f"routing.timings.{channel}: no queue is on that channel"
                    f" (the queues' channels are {', '.join(sorted(channels))})"
                )
        for i, group in enumerate(self.agents):
            if group.count and not any(
                begin < self.horizon for begin, _ in group.spans(self.clock, self.horizon)
            ):
                raise ValueError(
                    f"agents.{i}.shift: {group.shift} never overlaps the day"
                    f" ({self.at(0):%H:%M} for {self.horizon / 3600:g} h); shifts are clock"
                    " times in the zone of start"
                )
        skills = {q.skill for q in self.queues}
        for i, group in enumerate(self.agents):
            unknown = sorted(set(group.skills) - skills)
            if unknown:
                raise ValueError(
                    f"agents.{i}.skills: no queue has {', '.join(unknown)}"
                    f" (the queues are {', '.join(sorted(skills))})"
                )
        for channel in self.routing.timings:
            self.timing(channel)
        return self

    @property
    def clock(self) -> float:
        """Seconds after midnight at which the day starts, on its own clock."""
        t = self.start.timetz()
        return t.hour * 3600.0 + t.minute * 60.0 + t.second + t.microsecond / 1e6

    @property
    def interval(self) -> float:
        return self.interval_minutes * 60.0

    @property
    def intervals(self) -> int:
        return len(self.queues[0].calendar())

    @property
    def horizon(self) -> float:
        """Seconds from the start of the day to the end of the last interval."""
        return self.intervals * self.interval

    def timing(self, channel: str) -> ChannelTiming:
        """The channel's pacing as this scenario's policy sets it, checked by the core."""
        values = timing_for(channel).as_dict()
        override = self.routing.timings.get(channel)
        if override is not None:
            values.update({k: v for k, v in override.model_dump().items() if v is not None})
        if self.routing.policy == "fifo":
            values["floor"] = values["ceiling"]
        if not self.routing.inactive:
            values["inactive_min"] = values["inactive_max"] = MAX_DURATION
        try:
            return ChannelTiming(**values)
        except InvalidInput as error:
            field = error.details.get("field", "")
            raise ValueError(f"routing.timings.{channel}.{field}: {error.message}") from None

    def at(self, seconds: float) -> datetime:
        return self.start + timedelta(seconds=seconds)

    def varied(self, **changes: Any) -> Scenario:
        """A copy with some settings changed, checked again."""
        data = self.model_dump()
        for path, value in changes.items():
            target: Any = data
            *parents, last = (int(p) if p.isdigit() else p for p in path.split("."))
            for part in parents:
                target = target[part]
            target[last] = value
        return Scenario.model_validate(data)


class ScenarioError(InvalidInput):
    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems), field="scenario")
        self.problems = list(problems)


def load_scenario(text: str) -> Scenario:
    """Parse and check a scenario; ScenarioError lists every mistake with its line."""
    try:
        root = compose(text)
    except Unreadable as unreadable:
        raise ScenarioError([unreadable.problem]) from None
    if root is None or not isinstance(root, yaml.MappingNode):
        raise ScenarioError([Problem(1, "", "a scenario is a mapping of settings")])
    data = yaml.SafeLoader("").construct_document(root)
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        problems = [_problem(root, item) for item in error.errors()[:10]]
        raise ScenarioError(problems) from None


_PATH_FIRST = re.compile(r"^([a-z_]+(?:\.[A-Za-z0-9_-]+)*): (.*)$", re.DOTALL)


def _problem(root: Any, item: Any) -> Problem:
    # Pydantic names union members and validators in its locations ("function-after[...]",
    # "float"): only the document's own keys and indexes make a path.
    path: list[int | str] = [p for p in item["loc"] if isinstance(p, int) or _in_document(p)]
    message = str(item["msg"]).removeprefix("Value error, ")
    found = _PATH_FIRST.match(message) if not path else None
    if found:
        path = [int(p) if p.isdigit() else p for p in found.group(1).split(".")]
        message = found.group(2)
    if item["type"] == "extra_forbidden" and path:
        message = unknown_key(str(path[-1]), _allowed(path[:-1]))
    return Problem(_line(root, path), _dotted(path), message)


def _in_document(part: object) -> bool:
    return isinstance(part, str) and "[" not in part and part not in ("float", "int", "str")


def _allowed(path: Sequence[int | str]) -> list[str]:
    """The keys the mapping at `path` may have."""
    model: Any = Scenario
    for part in path:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        if field is not None:
            model = _model_in(field.annotation)
        # else: a key of a mapping (a channel under timings), not a field
    return list(model.model_fields) if model is not None else []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _dotted(path: Sequence[int | str]) -> str:
    return ".".join(str(p) for p in path)


def _line(node: Any, path: Sequence[int | str]) -> int:
    """The line of the deepest node of `path` that exists in the document."""
    line = line_of(node)
    for part in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            break
        node, line = child, line_of(child)
    return line
