"""Batch uploads: the recipients of a notification batch, as CSV or JSON, row by row.

A business uploads thousands of recipients at once (up to MAX_ROWS). Parsing checks the
*shape* of every row and never touches the database: the service then resolves each
customer and checks the variables against the template. A bad row is reported (its row,
its field, what is wrong, in words a business user understands) and the good rows
proceed; only a problem with the file as a whole raises InvalidInput(field="file").

Every field of a row is checked, and each wrong field gives one RowError (its first
problem), so one look at the report is enough to fix the whole row. A CSV row with the
wrong number of cells gives a single error: its cells cannot be matched to columns. A
CSV header is checked against the template once (match_columns), not on every row.

The modules: fields (the values, shared by both formats), rows (Recipient, RowError,
Parsed and the checks of a row as a whole), csv_file and json_file (the two formats,
each described there), columns (a CSV header against the template).
"""

from threadline.core.proactive.upload.columns import match_columns
from threadline.core.proactive.upload.csv_file import RESERVED_COLUMNS, VARIABLE_PREFIX, parse_csv
from threadline.core.proactive.upload.json_file import JSON_FIELDS, parse_json
from threadline.core.proactive.upload.rows import (
    HEADER_ROW,
    MAX_ROWS,
    Parsed,
    Recipient,
    RowError,
    refusal,
)

__all__ = [
    "HEADER_ROW",
    "JSON_FIELDS",
    "MAX_ROWS",
    "RESERVED_COLUMNS",
    "VARIABLE_PREFIX",
    "Parsed",
    "Recipient",
    "RowError",
    "match_columns",
    "parse_csv",
    "parse_json",
    "refusal",
]
