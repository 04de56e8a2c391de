"""Customers and their identities on channels."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from threadline.core.errors import InvalidInput

CHANNELS = frozenset({"api", "web", "app", "sms", "whatsapp", "messenger", "rcs", "apple"})


@dataclass(frozen=True)
class Identity:
    channel: str
    address: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.address}"


@dataclass(frozen=True)
class Customer:
    id: uuid.UUID
    display_name: str | None
    timezone: str | None
    preferred_channel: str | None
    created_at: datetime


def validate_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise InvalidInput(
            f"unknown channel {channel!r}; one of {sorted(CHANNELS)}", field="channel"
        )
    return channel


def make_identity(channel: str, address: str) -> Identity:
    validate_channel(channel)
    cleaned = address.strip()
    if not cleaned or len(cleaned) > 255 or any(ch.isspace() or ord(ch) < 32 for ch in cleaned):
        raise InvalidInput("an address is 1-255 characters without spaces", field="address")
    return Identity(channel, cleaned)


def validate_timezone(tz: str | None) -> str | None:
    if tz is None:
        return None
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidInput(f"unknown time zone {tz!r}", field="timezone") from exc
    return tz
