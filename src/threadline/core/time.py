"""Aware-UTC datetime helpers. The core never reads the clock; these only check."""

from __future__ import annotations

from datetime import UTC, datetime


def require_utc(value: datetime, name: str = "datetime") -> datetime:
    """Return `value` converted to UTC; refuse naive datetimes.

    A naive datetime is ambiguous (local? UTC?) and has caused every timezone bug
    we have seen in scheduling code, so it is rejected at the boundary.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)
