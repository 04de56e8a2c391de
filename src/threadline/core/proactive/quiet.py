"""Quiet hours: when a notification may reach a recipient, in *their* local time.

The US rules the defaults follow: the TCPA (47 CFR 64.1200(c)(1)) and Regulation F
(12 CFR 1006.6(b)(1)(i)) presume that contact before 08:00 or after 21:00 at the
recipient's location is inconvenient. A business narrows the window per purpose and
region (some states are stricter); windows only ever intersect, so an override can make
a window narrower, never wider than what it overrides.

A notification due in quiet hours is deferred to the next allowed instant, not dropped,
unless it expires first. Times are wall-clock times in the recipient's zone, so 08:00
stays 08:00 across a DST change; an allowed start that a spring-forward skips begins
when the clock jumps past it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from threadline.core.errors import InvalidInput
from threadline.core.time import require_utc


@dataclass(frozen=True)
class ContactWindow:
    """Messages may reach the recipient from `earliest` to before `latest`, local time."""

    earliest: time = time(8, 0)
    latest: time = time(21, 0)

    def __post_init__(self) -> None:
        if self.earliest.tzinfo is not None or self.latest.tzinfo is not None:
            raise InvalidInput("contact window times are wall-clock times, without a zone")
        if self.latest <= self.earliest:
            # An overnight window ("20:00-09:00") would allow the very hours the rules
            # forbid; nobody means it.
            raise InvalidInput("the contact window must end after it starts", field="latest")

    def within(self, other: ContactWindow) -> ContactWindow:
        """The stricter of two windows: both must allow a time for it to be allowed."""
        earliest, latest = max(self.earliest, other.earliest), min(self.latest, other.latest)
        if latest <= earliest:
            raise InvalidInput("these contact windows leave no time to send", field="latest")
        return ContactWindow(earliest, latest)

    def allows(self, local: time) -> bool:
        return self.earliest <= local < self.latest


# The TCPA's and Regulation F's presumption: nothing before 08:00 or from 21:00 on.
DEFAULT_WINDOW = ContactWindow()


def zone(name: str) -> ZoneInfo:
    """A recipient's IANA time zone, or InvalidInput naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a folder of zones ("America") is not a zone.
        raise InvalidInput(f"unknown time zone {name!r}", field="timezone") from None


def next_allowed(now: datetime, where: ZoneInfo, window: ContactWindow) -> datetime:
    """The first instant at or after `now` (UTC) at which the window allows a message
    at the recipient's location, in UTC."""
    now = require_utc(now)
    local = now.astimezone(where)
    if window.allows(local.time().replace(tzinfo=None)):
        return now
    day = local.date() if local.time().replace(tzinfo=None) < window.earliest else None
    start = day or local.date() + timedelta(days=1)
    return _first_instant(start, window.earliest, where)


def _first_instant(day: date, at: time, where: ZoneInfo) -> datetime:
    """The first UTC instant at which the local clock on `day` reads `at` or later."""
    found: list[datetime] = []
    for fold in (0, 1):
        instant = datetime.combine(day, at, tzinfo=where).replace(fold=fold).astimezone(UTC)
        back = instant.astimezone(where)
        if back.date() == day and back.time().replace(tzinfo=None) == at:
            found.append(instant)
    if found:
        return min(found)  # a repeated hour: its first occurrence
    # A spring-forward gap: `at` never shows on the clock. The answer is the jump, between
    # the two offsets' readings of it; zones change offset on whole seconds, so halving
    # whole seconds finds it exactly.
    seconds = [
        int(datetime.combine(day, at, tzinfo=where).replace(fold=f).timestamp()) for f in (0, 1)
    ]
    low, high = min(seconds), max(seconds)
    while high - low > 1:
        middle = (low + high) // 2
        reading = datetime.fromtimestamp(middle, UTC).astimezone(where)
        if (reading.date(), reading.time().replace(tzinfo=None)) >= (day, at):
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


@dataclass(frozen=True)
class Timing:
    """When a notification goes: now, later (deferred, with why), or never (expired)."""

    send_at: datetime | None
    deferred: bool
    expired: bool


def schedule(
    due: datetime,
    where: ZoneInfo,
    window: ContactWindow,
    *,
    expires_at: datetime | None = None,
) -> Timing:
    """When a notification due at `due` may go out: at once if the window allows it, the
    next allowed instant if not, or never if it expires before then."""
    due = require_utc(due)
    if expires_at is not None:
        expires_at = require_utc(expires_at)
    at = next_allowed(due, where, window)
    if expires_at is not None and at >= expires_at:
        return Timing(None, deferred=at > due, expired=True)
    return Timing(at, deferred=at > due, expired=False)
