"""Business hours per queue: time zones, overnight intervals, holidays and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from threadline.core.bots.hours import (
    BusinessHours,
    describe_reopening,
    hours_from_json,
    hours_to_json,
    is_open,
    next_open,
)
from threadline.core.errors import InvalidInput

MADRID = ZoneInfo("Europe/Madrid")
WEEKDAYS = {day: ["08:00-20:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
SHOP = hours_from_json(
    {
        "timezone": "Europe/Madrid",
        "weekly": {**WEEKDAYS, "sat": ["09:00-14:00", "16:00-19:00"]},
        "holidays": ["2026-12-25", "2027-01-01"],
    }
)


def madrid(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Madrid wall time, as the aware UTC instant the functions take."""
    return datetime(year, month, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


def hours(weekly: dict[str, list[str]], holidays: list[str] | None = None) -> BusinessHours:
    data: dict[str, Any] = {"timezone": "Europe/Madrid", "weekly": weekly}
    return hours_from_json({**data, "holidays": holidays or []})


# -- open or closed ---------------------------------------------------------------------------

# 2026-03-02 is a Monday; 2026-03-07 a Saturday.


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (madrid(2026, 3, 2, 7, 59), False),
        (madrid(2026, 3, 2, 8, 0), True),
        (madrid(2026, 3, 2, 19, 59), True),
        (madrid(2026, 3, 2, 20, 0), False),
        (madrid(2026, 3, 7, 14, 30), False),
        (madrid(2026, 3, 7, 16, 0), True),
        (madrid(2026, 3, 8, 12, 0), False),
    ],
)
def test_open_from_the_start_of_an_interval_until_just_before_its_end(
    when: datetime, expected: bool
) -> None:
    assert is_open(SHOP, when) is expected


def test_the_time_is_read_in_the_queues_zone_not_utc() -> None:
    # 07:30 UTC in winter is 08:30 in Madrid; 19:30 UTC is 20:30, closed.
    assert is_open(SHOP, datetime(2026, 3, 2, 7, 30, tzinfo=UTC))
    assert not is_open(SHOP, datetime(2026, 3, 2, 19, 30, tzinfo=UTC))
    # In summer Madrid is UTC+2: 06:30 UTC is 08:30.
    assert is_open(SHOP, datetime(2026, 6, 1, 6, 30, tzinfo=UTC))


def test_an_interval_ending_at_24_00_is_open_until_midnight() -> None:
    late = hours({"mon": ["18:00-24:00"]})
    assert is_open(late, madrid(2026, 3, 2, 23, 59))
    assert not is_open(late, madrid(2026, 3, 3, 0, 0))


def test_an_overnight_interval_runs_into_the_next_day() -> None:
    nights = hours({"fri": ["22:00-02:00"]})
    assert not is_open(nights, madrid(2026, 3, 6, 21, 59))
    assert is_open(nights, madrid(2026, 3, 6, 23, 0))
    assert is_open(nights, madrid(2026, 3, 7, 1, 59))
    assert not is_open(nights, madrid(2026, 3, 7, 2, 0))
    # Only Friday's night: Thursday night is closed.
    assert not is_open(nights, madrid(2026, 3, 6, 1, 0))


def test_sundays_overnight_interval_runs_into_monday() -> None:
    nights = hours({"sun": ["20:00-03:00"]})
    assert is_open(nights, madrid(2026, 3, 9, 2, 30))


def test_a_holiday_closes_the_whole_day() -> None:
    assert not is_open(SHOP, madrid(2026, 12, 25, 12, 0))
    assert is_open(SHOP, madrid(2026, 12, 24, 12, 0))


def test_a_holiday_closes_an_overnight_interval_that_starts_on_it() -> None:
    nights = hours({day: ["22:00-02:00"] for day in ("wed", "thu", "fri")}, ["2026-12-24"])
    # Thursday the 24th is a holiday: its night is closed, after midnight too.
    assert not is_open(nights, madrid(2026, 12, 24, 23, 0))
    assert not is_open(nights, madrid(2026, 12, 25, 1, 0))
    assert is_open(nights, madrid(2026, 12, 26, 1, 0))


def test_a_holiday_closes_the_early_hours_the_previous_night_runs_into() -> None:
    nights = hours({"wed": ["22:00-02:00"]}, ["2026-12-24"])
    assert is_open(nights, madrid(2026, 12, 23, 23, 0))
    assert not is_open(nights, madrid(2026, 12, 24, 1, 0))


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_open(SHOP, datetime(2026, 3, 2, 12, 0))


# -- next opening -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Monday evening -> Tuesday morning.
        (madrid(2026, 3, 2, 21, 0), madrid(2026, 3, 3, 8, 0)),
        # Before opening -> the same morning.
        (madrid(2026, 3, 3, 6, 0), madrid(2026, 3, 3, 8, 0)),
        # Saturday's lunch break -> Saturday afternoon.
        (madrid(2026, 3, 7, 15, 0), madrid(2026, 3, 7, 16, 0)),
        # Saturday evening -> over Sunday to Monday.
        (madrid(2026, 3, 7, 19, 0), madrid(2026, 3, 9, 8, 0)),
        # Christmas Eve evening -> past Christmas Day to the 26th (a Saturday).
        (madrid(2026, 12, 24, 20, 30), madrid(2026, 12, 26, 9, 0)),
    ],
)
def test_next_open_is_the_start_of_the_next_interval(now: datetime, expected: datetime) -> None:
    assert next_open(SHOP, now) == expected


def test_next_open_is_now_while_open() -> None:
    now = madrid(2026, 3, 2, 12, 0)
    assert next_open(SHOP, now) == now


def test_next_open_is_none_for_a_queue_that_never_opens() -> None:
    assert next_open(hours({}), madrid(2026, 3, 2, 12, 0)) is None


def test_next_open_looks_beyond_a_year_of_holidays() -> None:
    first_mondays = [(date(2026, 3, 9) + timedelta(weeks=w)).isoformat() for w in range(0, 52)]
    rare = hours({"mon": ["10:00-11:00"]}, first_mondays)
    assert next_open(rare, madrid(2026, 3, 2, 12, 0)) == madrid(2027, 3, 8, 10, 0)


def test_next_open_keeps_the_wall_clock_time_across_a_dst_change() -> None:
    # Madrid springs forward on Sunday 2026-03-29: Monday 08:00 is 06:00 UTC, not 07:00.
    assert next_open(SHOP, madrid(2026, 3, 28, 20, 0)) == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    assert next_open(SHOP, madrid(2026, 3, 21, 20, 0)) == datetime(2026, 3, 23, 7, 0, tzinfo=UTC)
    # And falls back on 2026-10-25: Monday 08:00 is 07:00 UTC again.
    assert next_open(SHOP, madrid(2026, 10, 24, 20, 0)) == datetime(2026, 10, 26, 7, 0, tzinfo=UTC)


def test_an_opening_time_the_clocks_skip_opens_when_they_jump() -> None:
    # 02:30 does not exist on 2026-03-29 in Madrid (02:00 CET -> 03:00 CEST): the queue
    # opens at the jump, 03:00 CEST = 01:00 UTC, and is open from then.
    night = hours({"sun": ["02:30-05:00"]})
    opening = next_open(night, madrid(2026, 3, 28, 12, 0))
    assert opening == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert opening.astimezone(MADRID).hour == 3
    assert is_open(night, opening)
    assert not is_open(night, opening - timedelta(minutes=1))


def test_an_interval_wholly_inside_the_skipped_hour_never_opens_that_day() -> None:
    skipped = hours({"sun": ["02:00-02:45"]})
    # Not on the spring-forward Sunday: a week later, at 02:00 CEST.
    assert next_open(skipped, madrid(2026, 3, 28, 12, 0)) == datetime(2026, 4, 5, 0, 0, tzinfo=UTC)


# -- from and to JSON -------------------------------------------------------------------------


def test_hours_read_from_json_and_written_back() -> None:
    data = {
        "timezone": "America/New_York",
        "weekly": {"mon": ["08:00-12:00", "13:00-17:30"], "fri": ["22:00-02:00"]},
        "holidays": ["2026-07-04"],
    }
    read = hours_from_json(data)
    assert read.weekly[0] == ((time(8), time(12)), (time(13), time(17, 30)))
    assert read.weekly[4] == ((time(22), time(2)),)
    assert read.holidays == frozenset({date(2026, 7, 4)})
    assert hours_to_json(read) == data
    assert hours_from_json(hours_to_json(read)) == read


def test_24_00_is_written_back_as_24_00() -> None:
    read = hours({"mon": ["00:00-24:00"]})
    assert read.weekly[0] == ((time(0), time.max),)
    assert hours_to_json(read)["weekly"] == {"mon": ["00:00-24:00"]}
    assert is_open(read, madrid(2026, 3, 2, 23, 59))


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"timezone": "Europe/Madird", "weekly": {}}, "timezone", "IANA time zone"),
        ({"timezone": "../../etc/passwd", "weekly": {}}, "timezone", "IANA"),
        ({"weekly": {}}, "timezone", "IANA"),
        ({"timezone": "UTC", "weekly": {"mon": ["8-20"]}}, "weekly.mon", "not an interval"),
        ({"timezone": "UTC", "weekly": {"mon": ["08:00-25:00"]}}, "weekly.mon", "24:00"),
        ({"timezone": "UTC", "weekly": {"mon": ["08:60-20:00"]}}, "weekly.mon", "24:00"),
        ({"timezone": "UTC", "weekly": {"mon": ["24:00-02:00"]}}, "weekly.mon", "24:00"),
        ({"timezone": "UTC", "weekly": {"mon": ["08:00-08:00"]}}, "weekly.mon", "same time"),
        ({"timezone": "UTC", "weekly": {"mon": "08:00-20:00"}}, "weekly.mon", "a list"),
        ({"timezone": "UTC", "weekly": {"moon": ["08:00-20:00"]}}, "weekly", "unknown day"),
        (
            {"timezone": "UTC", "weekly": {"sat": ["09:00-14:00", "13:00-19:00"]}},
            "weekly.sat",
            "13:00-19:00 overlaps sat 09:00-14:00",
        ),
        (
            {"timezone": "UTC", "weekly": {"fri": ["20:00-03:00"], "sat": ["02:00-06:00"]}},
            "weekly.sat",
            "overlaps fri",
        ),
        (
            {"timezone": "UTC", "weekly": {"sun": ["20:00-03:00"], "mon": ["01:00-06:00"]}},
            "weekly.mon",
            "overlaps sun",
        ),
        (
            {"timezone": "UTC", "weekly": {"mon": ["08:00-20:00"], "monday": ["09:00-10:00"]}},
            "weekly.monday",
            "twice",
        ),
        ({"timezone": "UTC", "holidays": ["25/12/2026"]}, "holidays[0]", "2026-12-25"),
        ({"timezone": "UTC", "holidays": "2026-12-25"}, "holidays", "a list"),
        (
            {"timezone": "UTC", "holidays": ["2026-01-01"] * 367},
            "holidays",
            "up to 366",
        ),
        ({"timezone": "UTC", "weekley": {}}, "weekley", "unknown key"),
    ],
)
def test_bad_hours_are_refused_naming_the_field(
    data: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(InvalidInput, match=fragment) as caught:
        hours_from_json(data)
    assert caught.value.details["field"] == field


def test_adjacent_intervals_do_not_overlap() -> None:
    split = hours({"fri": ["20:00-24:00"], "sat": ["00:00-02:00", "02:00-04:00"]})
    assert is_open(split, madrid(2026, 3, 7, 3, 0))


# -- saying when ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "english", "spanish"),
    [
        (madrid(2026, 3, 7, 15, 0), "today at 16:00", "hoy a las 16:00"),
        (madrid(2026, 3, 2, 21, 0), "tomorrow at 08:00", "mañana a las 08:00"),
        (madrid(2026, 3, 7, 19, 30), "on Monday at 08:00", "el lunes a las 08:00"),
        (madrid(2026, 12, 24, 20, 30), "on Saturday at 09:00", "el sábado a las 09:00"),
    ],
)
def test_the_reopening_is_said_in_the_customers_language(
    now: datetime, english: str, spanish: str
) -> None:
    assert describe_reopening(SHOP, now) == f"{english} (Europe/Madrid)"
    assert describe_reopening(SHOP, now, "es") == f"{spanish} (Europe/Madrid)"


def test_a_reopening_more_than_six_days_away_is_said_as_a_date() -> None:
    # Closed from Christmas until Monday 4 January.
    winter = hours({"mon": ["08:00-20:00"]}, ["2026-12-28"])
    now = madrid(2026, 12, 22, 21, 0)
    assert describe_reopening(winter, now) == "on 4 January at 08:00 (Europe/Madrid)"
    assert describe_reopening(winter, now, "es") == "el 4 de enero a las 08:00 (Europe/Madrid)"


def test_a_reopening_far_away_says_the_year() -> None:
    yearly = hours({"mon": ["10:00-11:00"]})
    far = BusinessHours(
        yearly.timezone,
        yearly.weekly,
        frozenset(date(2026, 3, 9) + timedelta(weeks=w) for w in range(52)),
    )
    now = madrid(2026, 3, 2, 12, 0)
    assert describe_reopening(far, now) == "on 8 March 2027 at 10:00 (Europe/Madrid)"
    assert describe_reopening(far, now, "es") == "el 8 de marzo de 2027 a las 10:00 (Europe/Madrid)"


def test_one_oclock_is_singular_in_spanish() -> None:
    nights = hours({"tue": ["01:00-05:00"]})
    assert describe_reopening(nights, madrid(2026, 3, 2, 21, 0), "es") == (
        "mañana a la 01:00 (Europe/Madrid)"
    )


def test_the_reopening_is_in_the_queues_zone() -> None:
    tokyo = hours_from_json({"timezone": "Asia/Tokyo", "weekly": {"tue": ["09:00-18:00"]}})
    # Monday 20:00 UTC is already Tuesday 05:00 in Tokyo.
    now = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    assert describe_reopening(tokyo, now) == "today at 09:00 (Asia/Tokyo)"


def test_a_queue_that_never_opens_is_not_said_to_open_soon() -> None:
    assert describe_reopening(hours({}), madrid(2026, 3, 2, 12, 0)) == "later"
    assert describe_reopening(hours({}), madrid(2026, 3, 2, 12, 0), "es") == "más adelante"
