"""The values of an upload's fields, the same in CSV and JSON: each check returns the
value as stored or raises Bad with what is wrong, in words a business user understands."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from threadline.core.customers import CHANNELS, Identity, make_identity, validate_timezone
from threadline.core.errors import InvalidInput
from threadline.core.proactive.policy import NOTIFIABLE

VARIABLE = re.compile(r"[a-z][a-z0-9_]{0,31}")
VARIABLE_RULE = (
    "a variable name is a lowercase letter followed by up to 31 lowercase letters, "
    "digits or underscores"
)

_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}")
# Matched on the lowercased tag; the canonical casing is restored after.
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")
_LANGUAGE_MAX = 35  # RFC 5646 §4.4.1: the length every implementation must accept
_REGION = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,3})?")
_REFERENCE_MAX = 128
_DEBT_REFERENCE_MAX = 64


class Bad(Exception):
    """One field's problem, in words for the business user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def show(value: str, limit: int = 40) -> str:
    """A value quoted for a message, cut short: a row error should not carry a whole cell."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def names(found: frozenset[str] | tuple[str, ...]) -> str:
    return ", ".join(sorted(found))


def customer_id(value: str) -> uuid.UUID:
    # uuid.UUID alone would take "urn:uuid:...", braces, underscores and non-ASCII digits.
    if not _UUID.fullmatch(value):
        raise Bad(
            f"{show(value)} is not a customer id "
            "(a UUID such as 3f2c9a1e-7b4d-4c1a-9e0f-2d6b8a5c4e31)"
        )
    return uuid.UUID(value)


def identity(channel: str, address: str) -> Identity:
    channel = channel.lower()
    if channel not in CHANNELS:
        raise Bad(f"unknown channel {show(channel)}; the channels are {names(CHANNELS)}")
    try:
        return make_identity(channel, address)
    except InvalidInput as bad:
        raise Bad(bad.message) from None  # the rule is the channel's: a phone number, or any


def channel_address(value: str) -> Identity:
    channel, colon, address = value.partition(":")
    if not colon:
        raise Bad(f"{show(value)} is not channel:address, e.g. sms:+15551234567")
    return identity(channel, address)


def _language(value: str) -> str:
    lowered = value.lower()
    if len(value) > _LANGUAGE_MAX or not _LANGUAGE.fullmatch(lowered):
        raise Bad(f"{show(value)} is not a language tag such as en or es-MX")
    first, *rest = lowered.split("-")
    # BCP 47's customary casing (RFC 5646 §2.1.1), so "es-mx" finds the es-MX template.
    return "-".join([first, *(_subtag_case(s) for s in rest)])


def _subtag_case(subtag: str) -> str:
    if len(subtag) == 2 and subtag.isalpha():
        return subtag.upper()  # a region: MX
    if len(subtag) == 4 and subtag.isalpha():
        return subtag.title()  # a script: Hant
    return subtag


def _send_at(value: str) -> datetime:
    example = "2026-11-22T09:30:00-05:00 or 2026-11-22T14:30:00Z"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Bad(f"{show(value)} is not a date and time; write it like {example}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        # A time without an offset is somebody's local time, and whose is a guess.
        raise Bad(f"give a UTC offset with the time, like {example}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise Bad(f"{show(value)} is out of range") from None


def _printable(limit: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not 1 <= len(value) <= limit or not value.isprintable():
            raise Bad(f"must be 1 to {limit} printable characters (no tabs or line breaks)")
        return value

    return check


def _timezone(value: str) -> str:
    try:
        validate_timezone(value)
    except InvalidInput:
        raise Bad(
            f"unknown time zone {show(value)}; use an IANA name such as America/Chicago"
        ) from None
    return value


def _region(value: str) -> str:
    upper = value.upper()
    if not _REGION.fullmatch(upper):
        raise Bad(f"{show(value)} is not a region such as GB or US-CA (ISO 3166)")
    return upper


def _channel(value: str) -> str:
    lowered = value.lower()
    # Web chat has no address to reach a visitor who left: nothing is sent on it.
    if lowered not in NOTIFIABLE:
        raise Bad(
            f"{show(value)} is not a channel notifications go on; "
            f"the channels are {names(NOTIFIABLE)}"
        )
    return lowered


# The checks of the plain text fields, by field name; customer_id and the identity are
# handled apart, as they decide who the recipient is.
TEXT_FIELDS: dict[str, Callable[[str], object]] = {
    "language": _language,
    "send_at": _send_at,
    "reference": _printable(_REFERENCE_MAX),
    "debt_reference": _printable(_DEBT_REFERENCE_MAX),
    "timezone": _timezone,
    "region": _region,
    "channel": _channel,
}
