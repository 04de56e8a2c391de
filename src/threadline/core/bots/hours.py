"""A queue's business hours: when its humans work, in its own time zone, with holidays.

Hours are wall-clock times in the queue's zone, so "08:00" stays 08:00 across a DST
change. An interval whose end is not after its start runs into the next day
(22:00-02:00); "24:00" ends at midnight. A holiday closes its whole local day,
including an overnight interval that starts on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from threadline.core.errors import InvalidInput
from threadline.core.time import require_utc

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_INTERVAL = re.compile(r"\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*")
_DAY_MINUTES = 24 * 60
_WEEK_MINUTES = 7 * _DAY_MINUTES
# A year of holidays and then some (a list spanning a year boundary); more is a mistake.
MAX_HOLIDAYS = 366
# Split shifts are a handful a day; dozens are a generated mistake.
MAX_INTERVALS_PER_DAY = 12
# How far next_open looks: over a year, so a queue open one day a year is still found.
SEARCH_DAYS = 400

Interval = tuple[time, time]


@dataclass(frozen=True)
class BusinessHours:
    timezone: str
    # Weekday (0 = Monday) -> opening intervals, by start. An end of `time.max` is 24:00.
    weekly: Mapping[int, tuple[Interval, ...]]
    holidays: frozenset[date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _minutes(interval: Interval) -> tuple[int, int]:
    """Start and end in minutes from the start's midnight; the end may pass 1440."""
    start, end = interval
    first = start.hour * 60 + start.minute
    last = _DAY_MINUTES if end == time.max else end.hour * 60 + end.minute
    return first, last if last > first else last + _DAY_MINUTES


# -- from and to JSON --------------------------------------------------------------------------


def hours_from_json(data: Mapping[str, object]) -> BusinessHours:
    unknown = sorted(set(data) - {"timezone", "weekly", "holidays"})
    if unknown:
        raise InvalidInput(f"unknown key {unknown[0]!r} in business hours", field=unknown[0])
    zone_name = data.get("timezone")
    if not isinstance(zone_name, str) or not _zone_exists(zone_name):
        raise InvalidInput(
            f"timezone must be an IANA time zone such as Europe/Madrid (got {zone_name!r})",
            field="timezone",
        )
    weekly_data = data.get("weekly", {})
    if not isinstance(weekly_data, Mapping):
        raise InvalidInput("weekly must map days (mon..sun) to intervals", field="weekly")
    weekly: dict[int, tuple[Interval, ...]] = {}
    for day_name, intervals in weekly_data.items():
        day = _day_number(day_name)
        if day in weekly:
            raise InvalidInput(f"{day_name} is given twice", field=f"weekly.{day_name}")
        weekly[day] = _intervals(intervals, f"weekly.{day_name}")
    _refuse_overlaps(weekly)
    return BusinessHours(zone_name, weekly, _holidays(data.get("holidays", [])))


def _zone_exists(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _day_number(name: object) -> int:
    key = name.strip().lower() if isinstance(name, str) else ""
    if key in DAYS:
        return DAYS.index(key)
    if key in _FULL_DAYS:
        return _FULL_DAYS.index(key)
    raise InvalidInput(
        f"weekly has an unknown day {name!r} (use mon, tue, wed, thu, fri, sat, sun)",
        field="weekly",
    )


def _intervals(data: object, field: str) -> tuple[Interval, ...]:
    if not isinstance(data, list) or len(data) > MAX_INTERVALS_PER_DAY:
        raise InvalidInput(
            f'{field} must be a list of up to {MAX_INTERVALS_PER_DAY} intervals like "08:00-20:00"',
            field=field,
        )
    return tuple(sorted(_interval(item, field) for item in data))


def _interval(text: object, field: str) -> Interval:
    m = _INTERVAL.fullmatch(text) if isinstance(text, str) else None
    problem = f'{field}: {text!r} is not an interval like "08:00-20:00"'
    if m is None:
        raise InvalidInput(problem, field=field)
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise InvalidInput(f"{problem} (times run from 00:00 to 24:00)", field=field)
    start, end = time(h1, m1), time.max if h2 == 24 else time(h2, m2)
    if start == end:
        raise InvalidInput(
            f"{field}: {text!r} opens and closes at the same time (all day is 00:00-24:00)",
            field=field,
        )
    return start, end


def _refuse_overlaps(weekly: Mapping[int, tuple[Interval, ...]]) -> None:
    # Minutes of the week, by start; an overnight interval on Sunday runs into Monday,
    # so the first interval is compared again a week later.
    spans = sorted(
        (day * _DAY_MINUTES + first, day * _DAY_MINUTES + last, day, interval)
        for day, intervals in weekly.items()
        for interval in intervals
        for first, last in [_minutes(interval)]
    )
    wrapped = [(start + _WEEK_MINUTES, end, day, i) for start, end, day, i in spans[:1]]
    for (_, end, day, interval), (start, _, later_day, later) in zip(
        spans, spans[1:] + wrapped, strict=True
    ):
        if start < end:
            raise InvalidInput(
                f"weekly.{DAYS[later_day]}: {_format(later)} overlaps "
                f"{DAYS[day]} {_format(interval)}",
                field=f"weekly.{DAYS[later_day]}",
            )


def _holidays(data: object) -> frozenset[date]:
    if not isinstance(data, list) or len(data) > MAX_HOLIDAYS:
        raise InvalidInput(
            f"holidays must be a list of up to {MAX_HOLIDAYS} dates like 2026-12-25",
            field="holidays",
        )
    return frozenset(_holiday(item, f"holidays[{index}]") for index, item in enumerate(data))


def _holiday(item: object, field: str) -> date:
    try:
        if isinstance(item, str):
            return date.fromisoformat(item)
    except ValueError:
        pass
    raise InvalidInput(f"{field} must be a date like 2026-12-25 (got {item!r})", field=field)


def _format(interval: Interval) -> str:
    start, end = interval
    return f"{start:%H:%M}-{'24:00' if end == time.max else f'{end:%H:%M}'}"


def hours_to_json(hours: BusinessHours) -> dict[str, object]:
    return {
        "timezone": hours.timezone,
        "weekly": {
            DAYS[day]: [_format(interval) for interval in hours.weekly[day]]
            for day in sorted(hours.weekly)
            if hours.weekly[day]
        },
        "holidays": sorted(d.isoformat() for d in hours.holidays),
    }


# -- open or closed ----------------------------------------------------------------------------


def _segments(hours: BusinessHours, day: date) -> list[tuple[int, int]]:
    """The open stretches of one local day, in minutes from its midnight: its own
    intervals and the part of the previous day's overnight ones that spills into it."""
    if day in hours.holidays:
        return []
    found: list[tuple[int, int]] = []
    for first, last in map(_minutes, hours.weekly.get(day.weekday(), ())):
        found.append((first, min(last, _DAY_MINUTES)))
    yesterday = day - timedelta(days=1)
    if yesterday not in hours.holidays:
        for _, last in map(_minutes, hours.weekly.get(yesterday.weekday(), ())):
            if last > _DAY_MINUTES:
                found.append((0, last - _DAY_MINUTES))
    return sorted(found)


def is_open(hours: BusinessHours, now: datetime) -> bool:
    local = require_utc(now, "now").astimezone(hours.zone)
    minute = local.hour * 60 + local.minute
    return any(first <= minute < last for first, last in _segments(hours, local.date()))


def next_open(hours: BusinessHours, now: datetime) -> datetime | None:
    """When the queue is next open (aware UTC): `now` itself if it is open now, None
    if it does not open within SEARCH_DAYS."""
    now = require_utc(now, "now")
    if is_open(hours, now):
        return now
    if not any(hours.weekly.values()):
        return None
    zone = hours.zone
    today = now.astimezone(zone).date()
    for offset in range(SEARCH_DAYS + 1):
        day = today + timedelta(days=offset)
        for first, _ in _segments(hours, day):
            opening = _first_instant_at(day, first, zone)
            # A stretch that lies wholly inside a DST gap never happens.
            if opening >= now and is_open(hours, opening):
                return opening
    return None


def _first_instant_at(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the local clock reads `minute` on `day` or
    later. Usually that wall time itself; when the clocks jump over it (02:30 on a
    spring-forward night), the moment of the jump, when the clock reads 03:00."""
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    before = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if before.astimezone(zone).replace(tzinfo=None) == wall:
        return before
    # In a gap: the jump lies between the two readings of the wall time.
    low, high = wall.replace(tzinfo=zone, fold=1).astimezone(UTC), before
    if low > high:
        low, high = high, low
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(second=0, microsecond=0)


# -- saying when ----------------------------------------------------------------------------

_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
_MONTH_NAMES = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
}  # fmt: skip
# Beyond a week a weekday is ambiguous, so the date is said; the year only when the
# date is far enough away that "2 January" could be read as a past one.
_WEEKDAY_HORIZON = 6
_YEAR_HORIZON = 180


def describe_reopening(hours: BusinessHours, now: datetime, language: str = "en") -> str:
    """When the humans are back, in the queue's zone, for `{reopens}` in the bot's
    out-of-hours message: "tomorrow at 08:00 (Europe/Madrid)". Languages other than
    en and es get English."""
    lang = "es" if language == "es" else "en"
    when = next_open(hours, now)
    if when is None:
        return {"en": "later", "es": "más adelante"}[lang]
    now = require_utc(now, "now")
    if when == now:
        return {"en": "now", "es": "ahora"}[lang]
    local = when.astimezone(hours.zone)
    days = (local.date() - now.astimezone(hours.zone).date()).days
    return f"{_day_phrase(local, days, lang)} {_clock_phrase(local, lang)} ({hours.timezone})"


def _day_phrase(local: datetime, days: int, lang: str) -> str:
    if days <= 1:
        return {("en", 0): "today", ("en", 1): "tomorrow", ("es", 0): "hoy", ("es", 1): "mañana"}[
            (lang, days)
        ]
    if days <= _WEEKDAY_HORIZON:
        weekday = _WEEKDAYS[lang][local.weekday()]
        return f"on {weekday}" if lang == "en" else f"el {weekday}"
    month = _MONTH_NAMES[lang][local.month - 1]
    if lang == "en":
        year = f" {local.year}" if days > _YEAR_HORIZON else ""
        return f"on {local.day} {month}{year}"
    year = f" de {local.year}" if days > _YEAR_HORIZON else ""
    return f"el {local.day} de {month}{year}"


def _clock_phrase(local: datetime, lang: str) -> str:
    clock = f"{local:%H:%M}"
    if lang == "en":
        return f"at {clock}"
    # Spanish says "a la una", singular, for one o'clock.
    return f"a la {clock}" if local.hour == 1 else f"a las {clock}"
