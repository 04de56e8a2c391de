"""Batch uploads: the recipients of a notification batch, as CSV or JSON, row by row.

A business uploads thousands of recipients at once (up to MAX_ROWS). This module checks
the *shape* of every row and never touches the database: the service then resolves each
customer and checks the variables against the template. A bad row is reported (its row,
its field, what is wrong, in words a business user understands) and the good rows
proceed; only a problem with the file as a whole raises InvalidInput(field="file").

Every field of a row is checked, and each wrong field gives one RowError (its first
problem), so one look at the report is enough to fix the whole row. A CSV row with the
wrong number of cells gives a single error: its cells cannot be matched to columns.

CSV
---
A header row, then one recipient per row (commas between cells, "double quotes" around a
cell that holds a comma, a quote or a line break; a UTF-8 byte order mark is ignored).
The reserved columns are

    customer_id      the customer's Threadline id (a UUID)
    channel_address  or the customer's address on a channel, "channel:address",
                     e.g. sms:+15551234567 (exactly one of customer_id / channel_address)
    language         a language tag such as en, es-MX (BCP 47; es-mx is read as es-MX)
    send_at          when to send, ISO 8601 with its UTC offset: 2026-11-22T09:30:00-05:00
                     or 2026-11-22T14:30:00Z (without an offset the row is refused)
    reference        the business's own id for the row, 1-128 printable characters,
                     unique in the upload (makes a re-upload harmless); a repeat is an
                     error on the later row, even when the first row is bad otherwise
    debt_reference   collections: the debt the message is about, 1-64 printable characters
    timezone         the recipient's IANA time zone (America/Chicago), when the business
                     knows better than the customer record
    region           ISO 3166 country or subdivision: GB, US-CA (case is normalised)
    channel          force a channel (one of api, app, apple, messenger, rcs, sms, web,
                     whatsapp; SMS is read as sms); else the customer's preferred channel

and every other column is a template variable, named NAME or var.NAME (var. lets a
variable share a reserved column's name: var.language). A variable name is a lowercase
letter then up to 31 lowercase letters, digits or underscores. The header needs a
customer_id or a channel_address column (or both, each row filling one of them); a header
with a duplicate column, a column without a name or an invalid variable name refuses the
whole file. Row numbers are line numbers in the file: the header is line 1, so the first
recipient is row 2 (a cell with a line break in it takes two lines).

Spreadsheets pad and trail, so: every cell is stripped of surrounding spaces; an empty
cell means "not given" (an empty variable is left out of `variables`); a row whose cells
are all empty is skipped; extra cells at the end of a row are accepted when empty.

JSON
----
A list of objects, or {"recipients": [...]}; row numbers count from 1 in the list:

    {"customer_id": "3f2c...", "language": "en", "send_at": "2026-11-22T14:30:00Z",
     "reference": "alert-1001", "variables": {"amount": "$420.00", "merchant": "ACME"}}
    {"identity": {"channel": "sms", "address": "+15551234567"}, "variables": {"count": 3}}

with the same fields and rules as the CSV columns ("identity" in place of
channel_address), each optional but for exactly one of customer_id / identity. null means
"not given" (for a variable too); strings are not stripped. A variable's value is a string
or a number; numbers become strings (3 -> "3", 2.5 -> "2.5", 1e16 -> "1e+16"); true/false,
lists and objects are row errors. A field of the wrong type, an unknown field (with a "did
you mean" when it is close to a known one) and a row that is not an object are row errors.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from threadline.core.customers import CHANNELS, Identity, make_identity, validate_timezone
from threadline.core.errors import InvalidInput

MAX_ROWS = 100_000

VARIABLE_PREFIX = "var."
RESERVED_COLUMNS = (
    "customer_id",
    "channel_address",
    "language",
    "send_at",
    "reference",
    "debt_reference",
    "timezone",
    "region",
    "channel",
)
JSON_FIELDS = (
    "customer_id",
    "identity",
    "language",
    "send_at",
    "reference",
    "debt_reference",
    "timezone",
    "region",
    "channel",
    "variables",
)

_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}")
_VARIABLE = re.compile(r"[a-z][a-z0-9_]{0,31}")
# Matched on the lowercased tag; the canonical casing is restored after.
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")
_LANGUAGE_MAX = 35  # RFC 5646 §4.4.1: the length every implementation must accept
_REGION = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,3})?")
_REFERENCE_MAX = 128
_DEBT_REFERENCE_MAX = 64
_VARIABLE_RULE = (
    "a variable name is a lowercase letter followed by up to 31 lowercase letters, "
    "digits or underscores"
)


@dataclass(frozen=True)
class Recipient:
    """One good row: whom to notify (a customer id or a channel identity), with what."""

    row: int
    customer_id: uuid.UUID | None
    identity: Identity | None
    variables: dict[str, str]
    language: str | None = None
    send_at: datetime | None = None
    reference: str | None = None
    debt_reference: str | None = None
    timezone: str | None = None
    region: str | None = None
    channel: str | None = None

    def __post_init__(self) -> None:
        if (self.customer_id is None) == (self.identity is None):
            raise InvalidInput("a recipient is a customer id or an identity", field="customer_id")
        if self.send_at is not None and (
            self.send_at.tzinfo is None or self.send_at.utcoffset() != timedelta(0)
        ):
            raise InvalidInput("send_at must be an aware UTC datetime", field="send_at")


@dataclass(frozen=True)
class RowError:
    row: int
    field: str | None
    message: str


@dataclass(frozen=True)
class Parsed:
    """The good rows, in upload order, and every problem found in the bad ones."""

    recipients: tuple[Recipient, ...]
    errors: tuple[RowError, ...]


class _Bad(Exception):
    """One field's problem, in words for the business user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _show(value: str, limit: int = 40) -> str:
    """A value quoted for a message, cut short: a row error should not carry a whole cell."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


# -- field values (shared by CSV and JSON) ---------------------------------------------------


def _customer_id(value: str) -> uuid.UUID:
    # uuid.UUID alone would take "urn:uuid:...", braces, underscores and non-ASCII digits.
    if not _UUID.fullmatch(value):
        raise _Bad(
            f"{_show(value)} is not a customer id "
            "(a UUID such as 3f2c9a1e-7b4d-4c1a-9e0f-2d6b8a5c4e31)"
        )
    return uuid.UUID(value)


def _identity(channel: str, address: str) -> Identity:
    channel = channel.lower()
    if channel not in CHANNELS:
        raise _Bad(f"unknown channel {_show(channel)}; the channels are {_list(CHANNELS)}")
    try:
        return make_identity(channel, address)
    except InvalidInput:
        raise _Bad("the address is 1 to 255 characters without spaces") from None


def _channel_address(value: str) -> Identity:
    channel, colon, address = value.partition(":")
    if not colon:
        raise _Bad(f"{_show(value)} is not channel:address, e.g. sms:+15551234567")
    return _identity(channel, address)


def _language(value: str) -> str:
    lowered = value.lower()
    if len(value) > _LANGUAGE_MAX or not _LANGUAGE.fullmatch(lowered):
        raise _Bad(f"{_show(value)} is not a language tag such as en or es-MX")
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
        raise _Bad(f"{_show(value)} is not a date and time; write it like {example}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        # A time without an offset is somebody's local time, and whose is a guess.
        raise _Bad(f"give a UTC offset with the time, like {example}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise _Bad(f"{_show(value)} is out of range") from None


def _printable(limit: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not 1 <= len(value) <= limit or not value.isprintable():
            raise _Bad(f"must be 1 to {limit} printable characters (no tabs or line breaks)")
        return value

    return check


def _timezone(value: str) -> str:
    try:
        validate_timezone(value)
    except InvalidInput:
        raise _Bad(
            f"unknown time zone {_show(value)}; use an IANA name such as America/Chicago"
        ) from None
    return value


def _region(value: str) -> str:
    upper = value.upper()
    if not _REGION.fullmatch(upper):
        raise _Bad(f"{_show(value)} is not a region such as GB or US-CA (ISO 3166)")
    return upper


def _channel(value: str) -> str:
    lowered = value.lower()
    if lowered not in CHANNELS:
        raise _Bad(f"unknown channel {_show(value)}; the channels are {_list(CHANNELS)}")
    return lowered


def _list(names: frozenset[str] | tuple[str, ...]) -> str:
    return ", ".join(sorted(names))


# The checks of the plain text fields, by field name; customer_id and the identity are
# handled apart, as they decide who the recipient is.
_TEXT_FIELDS: dict[str, Callable[[str], object]] = {
    "language": _language,
    "send_at": _send_at,
    "reference": _printable(_REFERENCE_MAX),
    "debt_reference": _printable(_DEBT_REFERENCE_MAX),
    "timezone": _timezone,
    "region": _region,
    "channel": _channel,
}


# Fields whose values repeat down an upload (most rows share a language or a zone): each
# distinct value is checked once per upload. Ids and references are unique, so not these.
_REPEATING = frozenset({"language", "send_at", "timezone", "region", "channel"})


class _Row:
    """One row's findings while it is read: values, errors, then a Recipient or nothing."""

    def __init__(self, row: int, known: dict[tuple[str, str], object]) -> None:
        self.row = row
        # Keyed by Recipient's field names, checked values only.
        self.values: dict[str, Any] = {}
        self.variables: dict[str, str] = {}
        self.errors: list[RowError] = []
        self._known = known

    def fail(self, field: str | None, message: str) -> None:
        self.errors.append(RowError(self.row, field, message))

    def set(self, key: str, field: str, value: str, check: Callable[[str], object]) -> None:
        """Check `value` for the Recipient field `key`, reporting a problem under `field`
        (the CSV column or the JSON field)."""
        remember = key in _REPEATING
        if remember and (key, value) in self._known:
            self.values[key] = self._known[key, value]
            return
        try:
            self.values[key] = checked = check(value)
        except _Bad as bad:
            self.fail(field, f"{field}: {bad.message}")
            return
        if remember:
            self._known[key, value] = checked

    def recipient(self) -> Recipient:
        fields = {"customer_id": None, "identity": None, **self.values}
        return Recipient(row=self.row, variables=self.variables, **fields)


class _Upload:
    """What the rows have in common: the references seen, and the results."""

    def __init__(self) -> None:
        self.references: dict[str, int] = {}
        self.known: dict[tuple[str, str], object] = {}
        self.recipients: list[Recipient] = []
        self.errors: list[RowError] = []

    def finish(self, row: _Row, *, recipient_fields: tuple[str, str], blame: str) -> None:
        """Check what concerns the row as a whole, then keep it or report it. A missing or
        doubled recipient is reported under `blame`, a field the upload has."""
        id_field, identity_field = recipient_fields
        erred = {e.field for e in row.errors}
        has_id = "customer_id" in row.values or id_field in erred
        has_identity = "identity" in row.values or identity_field in erred
        if not has_id and not has_identity:
            row.fail(blame, f"no recipient: give {id_field} or {identity_field}")
        elif has_id and has_identity:
            row.fail(blame, f"give {id_field} or {identity_field}, not both")
        reference = row.values.get("reference")
        if isinstance(reference, str):
            # The first row to use a reference keeps it, even if that row is bad otherwise:
            # two rows with one reference is a mistake in the file either way.
            first = self.references.setdefault(reference, row.row)
            if first != row.row:
                row.fail("reference", f"reference: {_show(reference)} is also on row {first}")
        if row.errors:
            self.errors.extend(row.errors)
            return
        self.recipients.append(row.recipient())

    def parsed(self) -> Parsed:
        return Parsed(tuple(self.recipients), tuple(self.errors))


# -- CSV -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    name: str  # as written in the header, the field of its row errors
    variable: str | None  # a variable's column, or a reserved column:
    key: str = ""  # the Recipient field it fills
    check: Callable[[str], object] = str


# The reserved columns: the Recipient field each fills, and the check of its cells.
_RESERVED: dict[str, tuple[str, Callable[[str], object]]] = {
    "customer_id": ("customer_id", _customer_id),
    "channel_address": ("identity", _channel_address),
    **{name: (name, check) for name, check in _TEXT_FIELDS.items()},
}


def parse_csv(text: str) -> Parsed:
    """The recipients in a CSV upload (layout in the module docstring), and the bad rows."""
    text = text.removeprefix("\ufeff")
    lines = _records(text)
    header = next((cells for _, cells in lines if any(c.strip() for c in cells)), None)
    if header is None:
        raise InvalidInput(
            "the file is empty: it needs a header row and a row per recipient", field="file"
        )
    columns = _columns(header)
    # A row without a recipient is blamed on a column the business can see in its file.
    blame = "customer_id" if any(c.name == "customer_id" for c in columns) else "channel_address"
    upload = _Upload()
    count = 0
    for line, cells in lines:
        if not any(c.strip() for c in cells):
            continue  # a blank line, or the ",,,," a spreadsheet leaves below the data
        count += 1
        if count > MAX_ROWS:
            raise InvalidInput(
                f"the file has more than {MAX_ROWS:,} recipients; split it", field="file"
            )
        row = _Row(line, upload.known)
        if len(cells) < len(columns) or any(c.strip() for c in cells[len(columns) :]):
            row.fail(
                None,
                f"this row has {len(cells)} cells but the header has {len(columns)} columns "
                "(is a comma or a quote missing?)",
            )
            upload.errors.extend(row.errors)
            continue
        for column, cell in zip(columns, cells, strict=False):
            value = cell.strip()
            if not value:
                continue
            if column.variable is not None:
                row.variables[column.variable] = value
            else:
                row.set(column.key, column.name, value, column.check)
        upload.finish(row, recipient_fields=("customer_id", "channel_address"), blame=blame)
    return upload.parsed()


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted line break spans lines)."""
    # newline="": the csv module reads the line endings itself, inside quotes too.
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidInput(
                f"line {start} of the file is not readable as CSV ({exc})", field="file"
            ) from None
        yield start, cells


def _columns(header: list[str]) -> list[_Column]:
    columns: list[_Column] = []
    seen: dict[str, int] = {}
    variables: dict[str, str] = {}
    for number, raw in enumerate(header, start=1):
        name = raw.strip()
        if not name:
            raise InvalidInput(f"column {number} of the header has no name", field="file")
        if name in seen:
            raise InvalidInput(
                f"the header names column {_show(name)} twice (columns {seen[name]} and {number})",
                field="file",
            )
        seen[name] = number
        if name in RESERVED_COLUMNS:
            columns.append(_Column(name, None, *_RESERVED[name]))
            continue
        variable = name.removeprefix(VARIABLE_PREFIX)
        if not _VARIABLE.fullmatch(variable):
            raise InvalidInput(_bad_column(name, variable), field="file")
        if variable in variables:
            raise InvalidInput(
                f"columns {variables[variable]!r} and {_show(name)} are the same variable, "
                f"{variable!r}",
                field="file",
            )
        variables[variable] = name
        columns.append(_Column(name, variable))
    if not {"customer_id", "channel_address"} & seen.keys():
        hint = difflib.get_close_matches("customer_id", seen, n=1) or difflib.get_close_matches(
            "channel_address", seen, n=1
        )
        raise InvalidInput(
            "the header needs a customer_id or a channel_address column to say whom to notify"
            + (f" (is {hint[0]!r} meant to be one?)" if hint else ""),
            field="file",
        )
    return columns


def _bad_column(name: str, variable: str) -> str:
    message = f"column {_show(name)} is not a valid name: {_VARIABLE_RULE}"
    if any(sep in name for sep in ";\t|"):
        return message + " (the columns of this file are separated by commas)"
    if _VARIABLE.fullmatch(variable.lower()):
        return message + f" (did you mean {variable.lower()!r}?)"
    return message


# -- JSON ------------------------------------------------------------------------------------


def parse_json(doc: object) -> Parsed:
    """The recipients in a JSON upload (a list of objects, or {"recipients": [...]})."""
    if isinstance(doc, Mapping) and set(doc) == {"recipients"}:
        doc = doc["recipients"]
    if not isinstance(doc, list):
        raise InvalidInput(
            'the upload is a list of recipients, or {"recipients": [...]}', field="file"
        )
    if len(doc) > MAX_ROWS:
        raise InvalidInput(
            f"the upload has {len(doc):,} recipients, more than {MAX_ROWS:,}; split it",
            field="file",
        )
    upload = _Upload()
    for number, item in enumerate(doc, start=1):
        row = _Row(number, upload.known)
        if not isinstance(item, Mapping):
            row.fail(None, 'each recipient is an object, like {"customer_id": "..."}')
            upload.errors.extend(row.errors)
            continue
        _json_row(row, item)
        upload.finish(row, recipient_fields=("customer_id", "identity"), blame="customer_id")
    return upload.parsed()


def _json_row(row: _Row, item: Mapping[object, object]) -> None:
    for key, value in item.items():
        if value is None:
            continue  # null: not given
        field = str(key)
        if field == "variables":
            _json_variables(row, value)
        elif field == "identity":
            try:
                row.values["identity"] = _json_identity(value)
            except _Bad as bad:
                row.fail(field, f"{field}: {bad.message}")
        elif field not in JSON_FIELDS:
            near = difflib.get_close_matches(field, JSON_FIELDS, n=1)
            hint = f"did you mean {near[0]!r}?" if near else f"the fields are {_list(JSON_FIELDS)}"
            row.fail(field[:64], f"unknown field {_show(field)}; {hint}")
        elif not isinstance(value, str):
            row.fail(field, f"{field}: must be text, not {_json_kind(value)}")
        elif field == "customer_id":
            row.set("customer_id", field, value, _customer_id)
        else:
            row.set(field, field, value, _TEXT_FIELDS[field])


def _json_identity(value: object) -> Identity:
    example = '{"channel": "sms", "address": "+15551234567"}'
    if not isinstance(value, Mapping):
        raise _Bad(f"must be an object like {example}")
    channel, address = value.get("channel"), value.get("address")
    extra = sorted(str(k) for k in value if k not in ("channel", "address"))
    if extra or not isinstance(channel, str) or not isinstance(address, str):
        raise _Bad(f"must be exactly {example}")
    return _identity(channel, address)


def _json_variables(row: _Row, value: object) -> None:
    if not isinstance(value, Mapping):
        row.fail("variables", 'variables: must be an object like {"amount": "$420.00"}')
        return
    for name, raw in value.items():
        if raw is None:
            continue  # null: not given, as everywhere else
        if not isinstance(name, str) or not _VARIABLE.fullmatch(name):
            row.fail("variables", f"variables: {_show(str(name))} is not valid: {_VARIABLE_RULE}")
            continue
        field = f"variables.{name}"
        try:
            row.variables[name] = _variable_value(raw)
        except _Bad as bad:
            row.fail(field, f"{field}: {bad.message}")


def _variable_value(raw: object) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):  # a bool is an int to Python, not a number to a business
        raise _Bad("must be text or a number, not true/false")
    if isinstance(raw, int):
        try:
            return str(raw)
        except ValueError:  # beyond Python's int-to-text digit limit
            raise _Bad("is too long a number") from None
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise _Bad("must be a finite number")
        return repr(raw)  # the shortest text that reads back as the same float
    raise _Bad(f"must be text or a number, not {_json_kind(raw)}")


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
