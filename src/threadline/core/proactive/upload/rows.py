"""What an upload becomes, whatever its format: the good rows as Recipients, each problem
as a RowError; and the checks that concern a row as a whole (exactly one recipient, a
reference used once)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from threadline.core.customers import Identity
from threadline.core.errors import InvalidInput
from threadline.core.proactive.upload.fields import Bad, show

MAX_ROWS = 100_000
# What a row may say beside who it is for, in either format.
ROW_FIELDS = ("language", "send_at", "reference", "debt_reference", "timezone", "region", "channel")
# The row of a problem with the CSV header, reported once rather than on every row. Rows
# are numbered from 1 (JSON) or 2 (CSV, whose header is line 1), so 0 is never a row.
HEADER_ROW = 0

# Fields whose values repeat down an upload (most rows share a language or a zone): each
# distinct value is checked once per upload. Ids and references are unique, so not these.
_REPEATING = frozenset({"language", "send_at", "timezone", "region", "channel"})


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
    row: int  # HEADER_ROW for a problem with a column of the CSV header
    field: str | None
    message: str
    suggestion: str | None = None  # the name a misspelt one most likely stands for


@dataclass(frozen=True)
class Parsed:
    """The good rows, in upload order, and every problem found in the bad ones."""

    recipients: tuple[Recipient, ...]
    errors: tuple[RowError, ...]
    # CSV: the header's columns as written, to be matched against the template once
    # (upload.columns). None for JSON, whose rows each name their own variables.
    header: tuple[str, ...] | None = None

    @property
    def rows(self) -> int:
        """The rows read: the good ones and those with a problem (the header is not one)."""
        bad = {e.row for e in self.errors if e.row != HEADER_ROW}
        return len(self.recipients) + len(bad)


def problem(error: RowError) -> dict[str, str | None]:
    """A RowError as an entry of an error body's `problems`."""
    found = {"field": error.field, "message": error.message}
    if error.suggestion is not None:
        found["suggestion"] = error.suggestion
    return found


def refusal(errors: Sequence[RowError]) -> InvalidInput:
    """A request of one recipient refused for its row's problems: the first one's field
    (and "did you mean") at the top, all of them as `problems`."""
    first = errors[0]
    extra = {"suggestion": first.suggestion} if first.suggestion is not None else {}
    return InvalidInput(
        first.message, field=first.field, problems=[problem(e) for e in errors], **extra
    )


class Row:
    """One row's findings while it is read: values, errors, then a Recipient or nothing."""

    def __init__(self, row: int, known: dict[tuple[str, str], object]) -> None:
        self.row = row
        # Keyed by Recipient's field names, checked values only.
        self.values: dict[str, Any] = {}
        self.variables: dict[str, str] = {}
        self.errors: list[RowError] = []
        self._known = known

    def fail(self, field: str | None, message: str, suggestion: str | None = None) -> None:
        self.errors.append(RowError(self.row, field, message, suggestion))

    def set(self, key: str, field: str, value: str, check: Callable[[str], object]) -> None:
        """Check `value` for the Recipient field `key`, reporting a problem under `field`
        (the CSV column or the JSON field)."""
        remember = key in _REPEATING
        if remember and (key, value) in self._known:
            self.values[key] = self._known[key, value]
            return
        try:
            self.values[key] = checked = check(value)
        except Bad as bad:
            self.fail(field, f"{field}: {bad.message}")
            return
        if remember:
            self._known[key, value] = checked

    def recipient(self) -> Recipient:
        fields = {"customer_id": None, "identity": None, **self.values}
        return Recipient(row=self.row, variables=self.variables, **fields)


class Upload:
    """What the rows have in common: the references seen, and the results."""

    def __init__(self) -> None:
        self.references: dict[str, int] = {}
        self.known: dict[tuple[str, str], object] = {}
        self.recipients: list[Recipient] = []
        self.errors: list[RowError] = []

    def finish(self, row: Row, *, recipient_fields: tuple[str, str], blame: str) -> None:
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
                row.fail("reference", f"reference: {show(reference)} is also on row {first}")
        if row.errors:
            self.errors.extend(row.errors)
            return
        self.recipients.append(row.recipient())

    def parsed(self, header: tuple[str, ...] | None = None) -> Parsed:
        return Parsed(tuple(self.recipients), tuple(self.errors), header)
