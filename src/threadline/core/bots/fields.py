"""Checking a customer's answer to an `ask` step, masking secure answers, and filling
`{field}`s into the bot's text.

Filling is deliberately dumb: only `{name}` is replaced, so a customer's own words in
a field (which may well contain braces) are never expanded or executed, and a flow's
text cannot reach attributes the way `str.format` can.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

from threadline.core.bots.flow import Ask, FieldKind
from threadline.core.bots.patterns import compile_pattern, fullmatch, search

_Encoder = Callable[[str], str]

# A `{name}` reference, or an escaped brace (matched first, so `{{name}}` is literal).
_TEMPLATE = re.compile(r"\{\{|\}\}|\{([a-z][a-z0-9_]*)\}")

# Free text longer than this is not an answer to a question but a paste; ask again.
MAX_TEXT = 500

_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")

_MONTHS = {
    **dict.fromkeys(("january", "jan", "enero", "ene"), 1),
    **dict.fromkeys(("february", "feb", "febrero"), 2),
    **dict.fromkeys(("march", "mar", "marzo"), 3),
    **dict.fromkeys(("april", "apr", "abril", "abr"), 4),
    **dict.fromkeys(("may", "mayo"), 5),
    **dict.fromkeys(("june", "jun", "junio"), 6),
    **dict.fromkeys(("july", "jul", "julio"), 7),
    **dict.fromkeys(("august", "aug", "agosto", "ago"), 8),
    **dict.fromkeys(("september", "sep", "sept", "septiembre", "setiembre"), 9),
    **dict.fromkeys(("october", "oct", "octubre"), 10),
    **dict.fromkeys(("november", "nov", "noviembre"), 11),
    **dict.fromkeys(("december", "dec", "diciembre", "dic"), 12),
}
_RELATIVE_DAYS = {"today": 0, "hoy": 0, "tomorrow": 1, "mañana": 1, "yesterday": -1, "ayer": -1}
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
# Day first, as everywhere but the US: 14/03/2026, 14-03-26, 14.03.2026.
_NUMERIC_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})")
_DAY = r"(\d{1,2})(?:st|nd|rd|th|º)?"
_DAY_MONTH = re.compile(rf"{_DAY}\s+(?:de\s+)?([a-zñ]+)\.?(?:,?\s+(?:de\s+|del\s+)?(\d{{4}}))?")
_MONTH_DAY = re.compile(rf"([a-zñ]+)\.?\s+{_DAY}(?:,?\s+(\d{{4}}))?")
# Dates outside this range are typos (a year of 20266), not answers.
_YEARS = range(1900, 2201)

_NUMBER = re.compile(r"[+-]?\d{1,30}(?:[.,]\d{1,30})?")
_PHONE_NOISE = re.compile(r"[\s().-]")
_CARD_NOISE = re.compile(r"[\s-]")
_EXPIRY = re.compile(r"(\d{1,2})\s*[/-]\s*(\d{4}|\d{2})")
# No card is issued for longer than this; a later expiry is a typo (12/2092).
_MAX_EXPIRY_YEARS = 20


def validate(ask: Ask, text: str, today: date) -> str | None:
    """The answer normalised for storing and filling, or None when it does not answer
    the question (the engine asks again with the step's `error`)."""
    answer = text.strip()
    if not answer:
        return None
    match ask.kind:
        case FieldKind.EMAIL:
            return _email(answer)
        case FieldKind.DATE:
            return _date(answer, today)
        case FieldKind.NUMBER:
            return _number(answer)
        case FieldKind.PHONE:
            return _phone(answer)
        case FieldKind.PATTERN:
            return _pattern(ask.pattern, answer)
        case FieldKind.CHOICE:
            return _choice(ask.choices, answer)
        case FieldKind.CARD:
            return _card(answer)
        case FieldKind.EXPIRY:
            return _expiry(answer, today)
        case _:
            return answer if len(answer) <= MAX_TEXT else None


def _email(answer: str) -> str | None:
    local, at, domain = answer.rpartition("@")
    if not at or len(answer) > 254 or not _EMAIL_LOCAL.fullmatch(local):
        return None
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        return None
    if not labels[-1].isalpha() or len(labels[-1]) < 2:
        return None
    return f"{local}@{domain.lower()}"


def _date(answer: str, today: date) -> str | None:
    lowered = " ".join(answer.lower().replace(",", ", ").split())
    if lowered in _RELATIVE_DAYS:
        return (today + timedelta(days=_RELATIVE_DAYS[lowered])).isoformat()
    if m := _ISO_DATE.fullmatch(lowered):
        return _make_date(int(m[1]), int(m[2]), int(m[3]))
    if m := _NUMERIC_DATE.fullmatch(lowered):
        century = 2000 if len(m[3]) == 2 else 0
        return _make_date(century + int(m[3]), int(m[2]), int(m[1]))
    if (m := _DAY_MONTH.fullmatch(lowered)) and m[2] in _MONTHS:
        day, month, written_year = int(m[1]), _MONTHS[m[2]], m[3]
    elif (m := _MONTH_DAY.fullmatch(lowered)) and m[1] in _MONTHS:
        day, month, written_year = int(m[2]), _MONTHS[m[1]], m[3]
    else:
        return None
    if written_year is not None:
        return _make_date(int(written_year), month, day)
    # "March 14" with no year: the one nearest today, so a delivery date late in
    # December means next year's early January and a birthday-like past date last year's.
    candidates = [_make_date(y, month, day) for y in (today.year - 1, today.year, today.year + 1)]
    valid = [date.fromisoformat(c) for c in candidates if c is not None]
    if not valid:
        return None
    return min(valid, key=lambda d: abs((d - today).days)).isoformat()


def _make_date(year: int, month: int, day: int) -> str | None:
    if year not in _YEARS:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _number(answer: str) -> str | None:
    if not _NUMBER.fullmatch(answer):
        return None
    try:
        return str(Decimal(answer.replace(",", ".")))
    except InvalidOperation:  # pragma: no cover - the regex admits only numbers
        return None


def _phone(answer: str) -> str | None:
    digits = _PHONE_NOISE.sub("", answer)
    if digits.startswith("00"):  # the international prefix typed instead of "+"
        digits = "+" + digits[2:]
    international = digits.startswith("+")
    digits = digits.removeprefix("+")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 15:
        return None
    # Without a country code only a full national number (10+ digits) is plausible.
    if len(digits) < (8 if international else 10):
        return None
    return ("+" if international else "") + digits


def _pattern(pattern: str | None, answer: str) -> str | None:
    if pattern is None:
        return answer if len(answer) <= MAX_TEXT else None
    compiled = compile_pattern(pattern)
    if fullmatch(compiled, answer):
        return answer
    # Customers wrap answers in words ("it's A-12345", "order A-12345 please"): the
    # first stretch of the answer that matches the pattern is the value.
    return search(compiled, answer) or None


def _squash(text: str) -> str:
    return "".join(text.split()).casefold()


def _choice(choices: tuple[str, ...], answer: str) -> str | None:
    wanted = _squash(answer)
    for choice in choices:
        if _squash(choice) == wanted:
            return choice
    # Channels without buttons number the choices, so "2" picks the second.
    if answer.isascii() and answer.isdigit() and 1 <= int(answer) <= len(choices):
        return choices[int(answer) - 1]
    return None


def _card(answer: str) -> str | None:
    digits = _CARD_NOISE.sub("", answer)
    if not (digits.isascii() and digits.isdigit() and 13 <= len(digits) <= 19):
        return None
    return digits if luhn_valid(digits) else None


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _expiry(answer: str, today: date) -> str | None:
    m = _EXPIRY.fullmatch(answer)
    if m is None:
        return None
    month, year = int(m[1]), int(m[2]) + (2000 if len(m[2]) == 2 else 0)
    if not 1 <= month <= 12:
        return None
    if (year, month) < (today.year, today.month) or year > today.year + _MAX_EXPIRY_YEARS:
        return None
    return f"{month:02d}/{year % 100:02d}"


def is_secure(ask: Ask) -> bool:
    return ask.secure or ask.kind in (FieldKind.CARD, FieldKind.EXPIRY)


def mask(ask: Ask, value: str) -> str:
    """How a secure answer is stored and shown (a non-secure one is returned as is)."""
    if not is_secure(ask):
        return value
    if ask.kind is FieldKind.CARD:
        digits = "".join(c for c in value if c.isdigit())
        return "•••• " + digits[-4:] if len(digits) >= 4 else "••••"
    if ask.kind is FieldKind.EXPIRY:
        return "••/••"
    # Two characters let a customer recognise their answer; more would start to leak it.
    return "••••" + value[-2:] if len(value) > 6 else "••••"


def mask_secure(kind: str, value: str) -> str:
    """`mask` for a secure step known only by its kind's name (what the thread keeps of
    a customer's message answering it, before the bot has checked it)."""
    known = kind in FieldKind.__members__.values()
    return mask(Ask("", "", FieldKind(kind) if known else FieldKind.TEXT, secure=True), value)


def fill(template: str, values: Mapping[str, str]) -> str:
    """`{name}`s replaced by their values; unknown names stay as written; `{{`, `}}`
    are literal braces. Nothing else in the template is interpreted."""
    return _fill(template, values, lambda value: value)


def fill_url(template: str, values: Mapping[str, str]) -> str:
    """Like `fill`, with every value percent-encoded: an answer cannot add a path
    segment, a query parameter or a fragment to the URL."""
    return _fill(template, values, lambda value: quote(value, safe=""))


def _fill(template: str, values: Mapping[str, str], encode: _Encoder) -> str:
    def replace(match: re.Match[str]) -> str:
        token, name = match[0], match[1]
        if name is None:
            return token[0]
        return encode(values[name]) if name in values else token

    return _TEMPLATE.sub(replace, template)


def names_in(template: str) -> set[str]:
    """The `{name}`s a template refers to (not the escaped `{{name}}`)."""
    return {m[1] for m in _TEMPLATE.finditer(template) if m[1] is not None}
