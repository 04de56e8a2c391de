"""Customers and their identities on channels."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from threadline.core.errors import InvalidInput

CHANNELS = frozenset({"api", "web", "app", "sms", "whatsapp", "messenger", "rcs", "apple"})
# Channels whose address is the customer's phone number, kept in E.164 as providers send
# it: "+1 (555) 010-0000" typed by an agent or in an upload then finds the customer who
# texts in from +15550100000, rather than making a second one.
PHONE_CHANNELS = frozenset({"sms", "rcs"})
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# What people write inside a number; anything else (letters, an extension) is refused.
_PUNCTUATION = re.compile(r"[\s().\-/]")


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
    if channel in PHONE_CHANNELS:
        return Identity(channel, phone_number(address))
    cleaned = address.strip()
    if not cleaned or len(cleaned) > 255 or any(ch.isspace() or ord(ch) < 32 for ch in cleaned):
        raise InvalidInput("an address is 1-255 characters without spaces", field="address")
    return Identity(channel, cleaned)


def phone_number(address: str) -> str:
    """The number in E.164. Without its country code it is refused, not guessed: the
    same digits are another person's number in another country."""
    cleaned = _PUNCTUATION.sub("", address)
    if not _E164.fullmatch(cleaned):
        raise InvalidInput(
            f"{address[:40]!r} is not a phone number in international form "
            "(E.164: + and the country code, e.g. +15551234567)",
            field="address",
        )
    return cleaned


def validate_timezone(tz: str | None) -> str | None:
    if tz is None:
        return None
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidInput(f"unknown time zone {tz!r}", field="timezone") from exc
    return tz
