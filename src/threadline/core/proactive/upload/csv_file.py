"""CSV uploads: a header row, then one recipient per row.

Commas between cells, "double quotes" around a cell that holds a comma, a quote or a line
break; a UTF-8 byte order mark is ignored. The reserved columns are

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
letter then up to 31 lowercase letters, digits or underscores; names are read without
regard to case (Channel_Address, Amount), and a column no variable can be named
("Segment Name") is an export's own, which the template check reports once and leaves
out. The header needs a customer_id or a channel_address column (or both, each row
filling one of them); a header with a duplicate column, a column without a name or a
name with ";", tab or "|" in it (another separator) refuses the whole file, and so does a
quoted cell that is never closed. Whether the variable columns are the template's is
checked once, against the template (upload.columns). Row numbers are line numbers in the
file: the header is line 1, so the first recipient is row 2 (a cell with a line break in
it takes two lines).

Spreadsheets pad and trail, so: every cell is stripped of surrounding spaces; an empty
cell means "not given" (an empty variable is left out of `variables`); a row whose cells
are all empty is skipped; extra cells at the end of a row are accepted when empty.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from threadline.core.errors import InvalidInput
from threadline.core.proactive.upload import fields
from threadline.core.proactive.upload.fields import VARIABLE, VARIABLE_RULE, show
from threadline.core.proactive.upload.rows import MAX_ROWS, ROW_FIELDS, Parsed, Row, Upload
from threadline.core.suggest import closest

VARIABLE_PREFIX = "var."
RESERVED_COLUMNS = ("customer_id", "channel_address", *ROW_FIELDS)


@dataclass(frozen=True)
class _Column:
    name: str  # as written in the header, the field of its row errors
    variable: str | None  # a variable's column, or a reserved column:
    key: str = ""  # the Recipient field it fills
    check: Callable[[str], object] = str


# The reserved columns: the Recipient field each fills, and the check of its cells.
_RESERVED: dict[str, tuple[str, Callable[[str], object]]] = {
    "customer_id": ("customer_id", fields.customer_id),
    "channel_address": ("identity", fields.channel_address),
    **{name: (name, check) for name, check in fields.TEXT_FIELDS.items()},
}


def parse_csv(text: str, *, max_rows: int = MAX_ROWS) -> Parsed:
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
    upload = Upload()
    count = 0
    for line, cells in lines:
        if not any(c.strip() for c in cells):
            continue  # a blank line, or the ",,,," a spreadsheet leaves below the data
        count += 1
        if count > max_rows:
            raise InvalidInput(
                f"the file has more than {max_rows:,} recipients; split it", field="file"
            )
        row = Row(line, upload.known)
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
    return upload.parsed(header=tuple(c.name for c in columns))


def variable_columns(header: tuple[str, ...]) -> dict[str, str]:
    """The variable each variable column of a (checked) header fills, to the column."""
    return {name.removeprefix(VARIABLE_PREFIX): name for name in header if name not in _RESERVED}


def column_of(variable: str) -> str:
    """The column a template variable is given in."""
    return VARIABLE_PREFIX + variable if variable in _RESERVED else variable


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted line break spans lines)."""
    # newline="": the csv module reads the line endings itself, inside quotes too.
    # strict: a quote opened and never closed is an error, not a cell that swallows the
    # rest of the file (the next rows would go out inside one customer's message).
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise InvalidInput(
                    f"line {start} of the file opens a quoted cell that is never closed "
                    '(a " without its closing "): nothing was read',
                    field="file",
                ) from None
            raise InvalidInput(
                f"line {start} of the file is not readable as CSV ({exc})", field="file"
            ) from None
        yield start, cells


def _columns(header: list[str]) -> list[_Column]:
    columns: list[_Column] = []
    seen: dict[str, int] = {}
    variables: dict[str, str] = {}
    for number, raw in enumerate(header, start=1):
        name = _canonical(raw.strip())
        if not name:
            raise InvalidInput(f"column {number} of the header has no name", field="file")
        if name in seen:
            raise InvalidInput(
                f"the header names column {show(name)} twice (columns {seen[name]} and {number})",
                field="file",
            )
        seen[name] = number
        if name in RESERVED_COLUMNS:
            columns.append(_Column(name, None, *_RESERVED[name]))
            continue
        variable = name.removeprefix(VARIABLE_PREFIX)
        if not VARIABLE.fullmatch(variable):
            if any(sep in name for sep in ";\t|"):
                raise InvalidInput(_bad_column(name), field="file")
            # A column no template variable can be named (an export's "Segment Name"):
            # kept as written, for the template check to report once and leave out.
            variable = name
        if variable in variables:
            raise InvalidInput(
                f"columns {variables[variable]!r} and {show(name)} are the same variable, "
                f"{variable!r}",
                field="file",
            )
        variables[variable] = name
        columns.append(_Column(name, variable))
    if not {"customer_id", "channel_address"} & seen.keys():
        hint = closest("customer_id", seen) or closest("channel_address", seen)
        raise InvalidInput(
            "the header needs a customer_id or a channel_address column to say whom to notify"
            + (f" (is {hint!r} meant to be one?)" if hint else ""),
            field="file",
        )
    return columns


def _canonical(name: str) -> str:
    """Exports capitalise (Channel_Address, Amount): a name that is a reserved column or
    a variable name but for its case is read as that name."""
    folded = name.lower()
    if folded in RESERVED_COLUMNS or VARIABLE.fullmatch(folded.removeprefix(VARIABLE_PREFIX)):
        return folded
    return name


def _bad_column(name: str) -> str:
    return (
        f"column {show(name)} is not a valid name: {VARIABLE_RULE} "
        "(the columns of this file are separated by commas)"
    )
