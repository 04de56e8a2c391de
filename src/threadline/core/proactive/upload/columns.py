"""A CSV header against the template it is uploaded for, checked once for the whole file
rather than on every row.

- A template variable without a column refuses the upload (every row would fail): the
  refusal names each missing column, and a column that looks like a misspelling of one
  gets a "did you mean" (`frist_name` for `first_name`).
- A column that is neither a template variable nor a reserved column, but looks like a
  misspelling of a reserved column the header lacks (`refrence`), refuses it too: read
  as an unused column, the upload would silently lose what it says (a re-upload would
  send again, a send_at would be ignored).
- Any other unknown column is reported once, at the header (row HEADER_ROW), and its
  cells are ignored: exports carry columns for other uses, and the rows proceed.

JSON has no header: each object names its own variables, checked row by row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from threadline.core.errors import InvalidInput
from threadline.core.proactive.upload.csv_file import (
    RESERVED_COLUMNS,
    VARIABLE_PREFIX,
    column_of,
    variable_columns,
)
from threadline.core.proactive.upload.fields import show
from threadline.core.proactive.upload.rows import HEADER_ROW, Parsed, RowError, problem
from threadline.core.suggest import closest, edits, misspellings

# How close a column must be to a reserved one to be refused as its misspelling: closer
# than "did you mean" usually asks, since a false match refuses a whole upload. A typo
# is a letter or two and about the same length (refrence, sendat, time_zone); an
# export's own columns are longer names (customer_name, channel_id, send_date,
# languages), which are reported and ignored instead.
_RESERVED_CUTOFF = 0.8
_RESERVED_EDITS = 2
_RECIPIENT = ("customer_id", "channel_address")
# A header may be wide (a whole export): its columns are compared once per upload.
_HEADER_PAIRS = 10_000


def match_columns(parsed: Parsed, template: str, variables: Sequence[str]) -> Parsed:
    """`parsed` with its header checked against the template named `template` with
    `variables`: unknown columns reported at the header and left out of every row, or
    InvalidInput(field="file") naming the missing and misspelt columns."""
    if parsed.header is None:
        return parsed
    given = variable_columns(parsed.header)  # variable -> its column
    missing = [v for v in variables if v not in given]
    unknown = [v for v in given if v not in variables]
    meant = misspellings(unknown, missing, budget=_HEADER_PAIRS)
    # The header has a recipient column (parse_csv saw to it): a second one lost is harmless.
    absent = [c for c in RESERVED_COLUMNS if c not in (*parsed.header, *_RECIPIENT)]
    fatal: list[RowError] = []
    ignored: list[RowError] = []
    for variable in unknown:
        column = given[variable]
        if variable in meant:
            suggestion = column_of(meant[variable])
            fatal.append(
                _header(
                    column,
                    f"column {show(column)} is not a variable of template {template!r}; "
                    f"did you mean {suggestion!r}?",
                    suggestion,
                )
            )
        elif (reserved := _reserved(column, absent)) is not None:
            fatal.append(
                _header(
                    column,
                    f"column {show(column)} is not a variable of template {template!r} "
                    f"nor a reserved column; did you mean {reserved!r}?",
                    reserved,
                )
            )
        else:
            ignored.append(
                _header(
                    column,
                    f"column {show(column)} is not a variable of template {template!r} "
                    f"({_listing(variables)}): its cells were ignored",
                )
            )
    for variable in missing:
        if variable not in meant.values():
            column = column_of(variable)
            fatal.append(
                _header(
                    column,
                    f"the header has no column {column!r}: template {template!r} needs a "
                    "value for it on every row",
                )
            )
    if fatal:
        count = len(fatal)
        first = fatal[0].suggestion if count == 1 else None
        raise InvalidInput(
            fatal[0].message
            if count == 1
            else f"the header has {count} problems: " + "; ".join(e.message for e in fatal),
            field="file",
            missing=[column_of(v) for v in missing],
            problems=[problem(e) for e in fatal],
            **({"suggestion": first} if first is not None else {}),
        )
    if not ignored:
        return parsed
    dropped = set(unknown)
    recipients = tuple(
        dataclasses.replace(r, variables={k: v for k, v in r.variables.items() if k not in dropped})
        if dropped & r.variables.keys()
        else r
        for r in parsed.recipients
    )
    return dataclasses.replace(parsed, recipients=recipients, errors=(*ignored, *parsed.errors))


def _reserved(column: str, absent: list[str]) -> str | None:
    if column.startswith(VARIABLE_PREFIX):
        return None  # declared a variable in so many words
    near = closest(column, absent, cutoff=_RESERVED_CUTOFF)
    if near is None or abs(len(column) - len(near)) > 1:
        return None
    if column.casefold().startswith(near.casefold()):
        return None  # the reserved name and more: another column (languages, regions)
    return near if edits(column, near) <= _RESERVED_EDITS else None


def _header(column: str, message: str, suggestion: str | None = None) -> RowError:
    return RowError(HEADER_ROW, column, message, suggestion)


def _listing(variables: Sequence[str]) -> str:
    if not variables:
        return "it has no variables"
    return "its variables: " + ", ".join(column_of(v) for v in variables)
