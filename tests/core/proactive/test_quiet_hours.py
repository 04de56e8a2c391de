"""Quiet hours in the recipient's own time: deferred, never dropped unless expired."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadline.core.errors import InvalidInput
from threadline.core.proactive.quiet import (
    DEFAULT_WINDOW,
    ContactWindow,
    next_allowed,
    schedule,
    zone,
)

NEW_YORK, LONDON = zone("America/New_York"), zone("Europe/London")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_message_inside_the_window_goes_at_once() -> None:
    noon_in_new_york = utc(2026, 6, 10, 16, 0)
    assert next_allowed(noon_in_new_york, NEW_YORK, DEFAULT_WINDOW) == noon_in_new_york


def test_a_message_at_night_waits_for_eight_in_the_morning_across_midnight() -> None:
    # 22:30 in New York (02:30 UTC next day): deferred past midnight to 08:00 local.
    late = utc(2026, 6, 11, 2, 30)
    assert next_allowed(late, NEW_YORK, DEFAULT_WINDOW) == utc(2026, 6, 11, 12, 0)


def test_the_recipients_zone_decides_not_the_business() -> None:
    # 07:30 in London is quiet there; the same instant is 02:30 in New York, quieter still.
    instant = utc(2026, 6, 10, 6, 30)
    assert next_allowed(instant, LONDON, DEFAULT_WINDOW) == utc(2026, 6, 10, 7, 0)
    assert next_allowed(instant, NEW_YORK, DEFAULT_WINDOW) == utc(2026, 6, 10, 12, 0)


def test_nine_in_the_evening_is_already_quiet() -> None:
    nine_pm = utc(2026, 6, 11, 1, 0)  # 21:00 EDT
    assert next_allowed(nine_pm, NEW_YORK, DEFAULT_WINDOW) == utc(2026, 6, 11, 12, 0)
    just_before = utc(2026, 6, 11, 0, 59, 59)
    assert next_allowed(just_before, NEW_YORK, DEFAULT_WINDOW) == just_before


@pytest.mark.parametrize(
    ("night", "morning"),
    [
        # Spring forward (8 March 2026): 08:00 EDT is 12:00 UTC, the night before was EST.
        (utc(2026, 3, 8, 4, 0), utc(2026, 3, 8, 12, 0)),
        # Fall back (1 November 2026): 08:00 EST is 13:00 UTC.
        (utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 13, 0)),
    ],
)
def test_eight_oclock_stays_eight_oclock_across_dst_changes(
    night: datetime, morning: datetime
) -> None:
    assert next_allowed(night, NEW_YORK, DEFAULT_WINDOW) == morning


def test_a_window_starting_inside_a_skipped_hour_opens_when_the_clock_jumps() -> None:
    window = ContactWindow(time(2, 30), time(21, 0))
    # 02:30 does not exist on 8 March 2026 in New York: the clock goes 01:59:59 -> 03:00.
    assert next_allowed(utc(2026, 3, 8, 5, 0), NEW_YORK, window) == utc(2026, 3, 8, 7, 0)


def test_a_window_starting_inside_a_repeated_hour_opens_at_its_first_occurrence() -> None:
    window = ContactWindow(time(1, 30), time(21, 0))
    # 01:30 happens twice on 1 November 2026; the first is 05:30 UTC (EDT).
    assert next_allowed(utc(2026, 11, 1, 4, 0), NEW_YORK, window) == utc(2026, 11, 1, 5, 30)


def test_a_deferred_fraud_alert_that_would_arrive_after_it_expires_is_not_sent() -> None:
    late = utc(2026, 6, 11, 2, 30)  # 22:30 in New York
    expired = schedule(late, NEW_YORK, DEFAULT_WINDOW, expires_at=utc(2026, 6, 11, 4, 30))
    assert (expired.send_at, expired.deferred, expired.expired) == (None, True, True)
    kept = schedule(late, NEW_YORK, DEFAULT_WINDOW, expires_at=utc(2026, 6, 12, 0, 0))
    assert (kept.send_at, kept.deferred, kept.expired) == (utc(2026, 6, 11, 12, 0), True, False)


def test_a_stricter_state_rule_narrows_the_window_and_never_widens_it() -> None:
    florida = ContactWindow(time(8, 0), time(20, 0))
    assert DEFAULT_WINDOW.within(florida) == florida
    assert florida.within(ContactWindow(time(7, 0), time(22, 0))) == florida
    with pytest.raises(InvalidInput):
        ContactWindow(time(20, 0), time(9, 0))
    with pytest.raises(InvalidInput):
        ContactWindow(time(8, 0), time(9, 0)).within(ContactWindow(time(10, 0), time(11, 0)))


def test_an_unknown_zone_is_named() -> None:
    with pytest.raises(InvalidInput, match="Mars/Olympus"):
        zone("Mars/Olympus")


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
    ),
    st.sampled_from(["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Tehran"]),
)
def test_the_answer_is_allowed_and_nothing_earlier_after_now_is(now: datetime, name: str) -> None:
    where = zone(name)
    at = next_allowed(now, where, DEFAULT_WINDOW)
    assert at >= now
    assert DEFAULT_WINDOW.allows(at.astimezone(where).time().replace(tzinfo=None))
    before = at - timedelta(seconds=1)
    if before >= now:
        # Deferred: the second before the answer was still quiet hours there.
        assert not DEFAULT_WINDOW.allows(before.astimezone(where).time().replace(tzinfo=None))
