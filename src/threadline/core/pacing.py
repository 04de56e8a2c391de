"""The customer's pace and the timers derived from it (DESIGN.md §4).

All durations are in seconds (floats) so that the arithmetic is the same in the
service, the tests and the simulator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from threadline.core.errors import InvalidInput

# Upper bound on every duration setting: a week. A conversation nobody may answer for
# longer than that is not a messaging conversation, and a typo in minutes-vs-seconds
# would otherwise park customers for years.
MAX_DURATION = 7 * 24 * 3600.0


@dataclass(frozen=True)
class ChannelTiming:
    """Per-channel pacing settings (editable through the admin API).

    default_pace: the assumed reply latency of a customer we know nothing about yet.
    k: how many of the customer's own reply-latencies we let them wait for us.
    floor/ceiling: bounds on that wait; ceiling is the channel's response-window target.
    m, inactive_min/inactive_max: a conversation waiting on the customer longer than
        clamp(m·pace, inactive_min, inactive_max) becomes inactive and frees its slot.
    close_after: how long an inactive conversation stays open before it closes.
    alpha: weight of the newest latency in the moving average.
    """

    default_pace: float
    k: float
    floor: float
    ceiling: float
    m: float = 4.0
    inactive_min: float = 120.0
    inactive_max: float = 1800.0
    close_after: float = 24 * 3600.0
    alpha: float = 0.3

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not math.isfinite(value):
                # NaN compares false with everything and would silently disable bounds.
                raise InvalidInput(f"{name} must be a finite number", field=name)
            if value <= 0:
                raise InvalidInput(f"{name} must be positive", field=name)
        for name in (
            "default_pace",
            "floor",
            "ceiling",
            "inactive_min",
            "inactive_max",
            "close_after",
        ):
            if getattr(self, name) < 1:
                # Sub-second timers are typos (milliseconds for seconds), not policies.
                raise InvalidInput(f"{name} must be at least 1 s", field=name)
            if name != "close_after" and getattr(self, name) > MAX_DURATION:
                raise InvalidInput(f"{name} must be at most {MAX_DURATION:g} s", field=name)
        for name in ("k", "m", "alpha"):
            if getattr(self, name) < 0.01:
                # Below this the timers or the pace stop responding to the customer at all.
                raise InvalidInput(f"{name} must be at least 0.01", field=name)
        if self.close_after > 30 * 24 * 3600:
            raise InvalidInput("close_after must be at most 30 days", field="close_after")
        if self.ceiling < self.floor:
            raise InvalidInput("ceiling must be at least floor", field="ceiling")
        if self.inactive_max < self.inactive_min:
            raise InvalidInput("inactive_max must be at least inactive_min", field="inactive_max")
        if self.alpha > 1:
            raise InvalidInput("alpha must be in (0, 1]", field="alpha")
        if self.k > 100 or self.m > 100:
            raise InvalidInput("k and m must be at most 100", field="k" if self.k > 100 else "m")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Why these numbers: web chat customers typically answer within tens of seconds and
# expect an answer within a minute or two; SMS customers answer in minutes to hours and
# tolerate a response window of about an hour. alpha=0.3 follows a change of pace within
# three or four replies without letting one slow reply dominate. Inactivity at 4 paces
# (DESIGN.md §4): a customer four of their own reply-times late has stepped away, so
# the slot is worth more to the next customer; the bounds keep a fast chatter from
# being dropped after a minute and a slow SMS customer from holding a slot all morning.
DEFAULT_TIMINGS: dict[str, ChannelTiming] = {
    "web": ChannelTiming(default_pace=30, k=2, floor=30, ceiling=120),
    "app": ChannelTiming(default_pace=60, k=2, floor=30, ceiling=300),
    "api": ChannelTiming(
        default_pace=120, k=2, floor=60, ceiling=900, inactive_min=300, inactive_max=3600
    ),
    "sms": ChannelTiming(
        default_pace=600, k=2, floor=120, ceiling=3600, inactive_min=600, inactive_max=7200
    ),
    "whatsapp": ChannelTiming(
        default_pace=300, k=2, floor=60, ceiling=1800, inactive_min=300, inactive_max=3600
    ),
}

FALLBACK_TIMING = DEFAULT_TIMINGS["api"]


def timing_for(channel: str) -> ChannelTiming:
    """The shipped defaults of a channel (what applies until an admin changes them)."""
    return DEFAULT_TIMINGS.get(channel, FALLBACK_TIMING)


def update_pace(previous: float, latency: float, timing: ChannelTiming) -> float:
    """Exponentially weighted average of the customer's reply latency."""
    latency = max(latency, 0.0)
    return timing.alpha * latency + (1 - timing.alpha) * previous


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def respond_by(received_at: datetime, pace: float, timing: ChannelTiming) -> datetime:
    wait = _clamp(timing.k * pace, timing.floor, timing.ceiling)
    return received_at + timedelta(seconds=wait)


def inactive_at(waiting_since: datetime, pace: float, timing: ChannelTiming) -> datetime:
    """When a conversation waiting on the customer since `waiting_since` goes inactive."""
    wait = _clamp(timing.m * pace, timing.inactive_min, timing.inactive_max)
    return waiting_since + timedelta(seconds=wait)


def close_at(inactive_since: datetime, timing: ChannelTiming) -> datetime:
    return inactive_since + timedelta(seconds=timing.close_after)


@dataclass(frozen=True)
class Timings:
    """The settings in force: an admin's per-channel overrides over the defaults."""

    overrides: Mapping[str, ChannelTiming] = field(default_factory=dict)

    def __call__(self, channel: str) -> ChannelTiming:
        return self.overrides.get(channel) or timing_for(channel)
