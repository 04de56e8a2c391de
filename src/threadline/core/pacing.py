"""The customer's pace and the respond-by time derived from it (DESIGN.md §4).

All durations are in seconds (floats) so that the arithmetic is the same in the
service, the tests and the simulator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from threadline.core.errors import InvalidInput


@dataclass(frozen=True)
class ChannelTiming:
    """Per-channel pacing settings.

    default_pace: the assumed reply latency of a customer we know nothing about yet.
    k: how many of the customer's own reply-latencies we let them wait for us.
    floor/ceiling: bounds on that wait; ceiling is the channel's response-window target.
    alpha: weight of the newest latency in the moving average.
    """

    default_pace: float
    k: float
    floor: float
    ceiling: float
    alpha: float = 0.3

    def __post_init__(self) -> None:
        values = (self.default_pace, self.k, self.floor, self.ceiling, self.alpha)
        if not all(math.isfinite(v) for v in values):
            # NaN compares false with everything and would silently disable the bounds.
            raise InvalidInput("pacing settings must be finite numbers")
        if self.default_pace <= 0 or self.k <= 0 or self.floor <= 0:
            raise InvalidInput("pace, k and floor must be positive")
        if self.ceiling < self.floor:
            raise InvalidInput("ceiling must be at least floor")
        if not 0 < self.alpha <= 1:
            raise InvalidInput("alpha must be in (0, 1]")


# Why these numbers: web chat customers typically answer within tens of seconds and
# expect an answer within a minute or two; SMS customers answer in minutes to hours and
# tolerate a response window of about an hour. alpha=0.3 follows a change of pace within
# three or four replies without letting one slow reply dominate.
DEFAULT_TIMINGS: dict[str, ChannelTiming] = {
    "web": ChannelTiming(default_pace=30, k=2, floor=30, ceiling=120),
    "app": ChannelTiming(default_pace=60, k=2, floor=30, ceiling=300),
    "api": ChannelTiming(default_pace=120, k=2, floor=60, ceiling=900),
    "sms": ChannelTiming(default_pace=600, k=2, floor=120, ceiling=3600),
    "whatsapp": ChannelTiming(default_pace=300, k=2, floor=60, ceiling=1800),
}

FALLBACK_TIMING = DEFAULT_TIMINGS["api"]


def timing_for(channel: str) -> ChannelTiming:
    return DEFAULT_TIMINGS.get(channel, FALLBACK_TIMING)


def update_pace(previous: float, latency: float, timing: ChannelTiming) -> float:
    """Exponentially weighted average of the customer's reply latency."""
    latency = max(latency, 0.0)
    return timing.alpha * latency + (1 - timing.alpha) * previous


def respond_by(received_at: datetime, pace: float, timing: ChannelTiming) -> datetime:
    wait = min(max(timing.k * pace, timing.floor), timing.ceiling)
    return received_at + timedelta(seconds=wait)
