"""The period a report covers, from its `since` and `until` query parameters."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from threadline.core.errors import InvalidInput


def report_period(
    now: datetime, since: datetime | None, until: datetime | None
) -> tuple[datetime, datetime]:
    """[since, until) in UTC; either missing: today 00:00 UTC, tomorrow 00:00 UTC."""
    today = datetime.combine(now.date(), time(), UTC)
    start = _aware(since, "since") if since else today
    end = _aware(until, "until") if until else today + timedelta(days=1)
    return start, end


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name} needs a time zone (2026-11-22T00:00:00Z)", field=name)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is past the end of time in UTC
        raise InvalidInput(f"{name} is out of range", field=name) from None
