"""Frequency caps at their boundaries, and Regulation F's 7-in-7 per debt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from threadline.core.errors import InvalidInput
from threadline.core.proactive.caps import Cap, check_cap, check_collections

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
THREE_A_WEEK = Cap(3, WEEK)


def days_ago(*days: float) -> list[datetime]:
    return [NOW - timedelta(days=d) for d in days]


def test_the_third_marketing_message_of_the_week_goes_and_the_fourth_waits() -> None:
    assert check_cap(THREE_A_WEEK, days_ago(1, 2), NOW, rule="marketing").allowed
    refused = check_cap(THREE_A_WEEK, days_ago(1, 2, 6), NOW, rule="marketing")
    assert (refused.allowed, refused.rule) == (False, "marketing")
    # When the message of six days ago leaves the week.
    assert refused.not_before == NOW - timedelta(days=6) + WEEK


def test_a_message_exactly_one_period_old_no_longer_counts() -> None:
    assert check_cap(THREE_A_WEEK, days_ago(1, 2, 7), NOW, rule="marketing").allowed
    just_inside = [NOW - WEEK + timedelta(seconds=1), *days_ago(1, 2)]
    assert not check_cap(THREE_A_WEEK, just_inside, NOW, rule="marketing").allowed


def test_far_over_the_cap_waits_for_enough_messages_to_leave() -> None:
    verdict = check_cap(Cap(2, WEEK), days_ago(1, 2, 3, 4), NOW, rule="reminder")
    # Four in the week, two allowed: only when just one is left in the week, i.e. once
    # the message of two days ago has left it, may another go.
    assert verdict.not_before == NOW - timedelta(days=2) + WEEK


def test_regulation_f_allows_seven_attempts_in_seven_days_per_debt() -> None:
    six = days_ago(0.5, 1, 2, 3, 4, 5)
    assert check_collections(six, [], NOW).allowed
    seven = [*six, NOW - timedelta(days=6)]
    refused = check_collections(seven, [], NOW)
    assert (refused.allowed, refused.rule) == (False, "reg_f_7_in_7")
    assert refused.not_before == NOW - timedelta(days=6) + WEEK


def test_regulation_f_waits_seven_days_after_a_conversation_about_the_debt() -> None:
    refused = check_collections([], days_ago(6.5), NOW)
    assert (refused.allowed, refused.rule) == (False, "reg_f_after_conversation")
    assert refused.not_before == NOW - timedelta(days=6.5) + WEEK
    assert check_collections([], days_ago(7), NOW).allowed


@pytest.mark.parametrize(
    ("limit", "period"), [(0, WEEK), (1, timedelta(0)), (1, timedelta(days=400))]
)
def test_a_nonsense_cap_is_refused(limit: int, period: timedelta) -> None:
    with pytest.raises(InvalidInput):
        Cap(limit, period)
