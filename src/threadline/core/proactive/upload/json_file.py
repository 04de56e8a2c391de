"""JSON uploads: a list of objects, or {"recipients": [...]}; row numbers count from 1.

    {"customer_id": "3f2c...", "language": "en", "send_at": "2026-11-22T14:30:00Z",
     "reference": "alert-1001", "variables": {"amount": "$420.00", "merchant": "ACME"}}
    {"identity": {"channel": "sms", "address": "+15551234567"}, "variables": {"count": 3}}

with the same fields and rules as the CSV columns ("identity" in place of
channel_address), each optional but for exactly one of customer_id / identity. null means
"not given" (for a variable too); strings are not stripped. A variable's value is a string
or a number; numbers become strings (3 -> "3", 2.5 -> "2.5", 1e16 -> "1e+16"); true/false,
lists and objects are row errors. A field of the wrong type, an unknown field (with a "did
you mean" when it is close to a known one) and a row that is not an object are row errors.
Each object names its own variables, so they are checked against the template row by row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from threadline.core.customers import Identity
from threadline.core.errors import InvalidInput
from threadline.core.proactive.upload import fields
from threadline.core.proactive.upload.fields import VARIABLE, VARIABLE_RULE, Bad, show
from threadline.core.proactive.upload.rows import MAX_ROWS, ROW_FIELDS, Parsed, Row, Upload
from threadline.core.suggest import closest

JSON_FIELDS = ("customer_id", "identity", *ROW_FIELDS, "variables")


def parse_json(doc: object, *, max_rows: int = MAX_ROWS) -> Parsed:
    """The recipients in a JSON upload (a list of objects, or {"recipients": [...]})."""
    if isinstance(doc, Mapping) and set(doc) == {"recipients"}:
        doc = doc["recipients"]
    if not isinstance(doc, list):
        raise InvalidInput(
            'the upload is a list of recipients, or {"recipients": [...]}', field="file"
        )
    if len(doc) > max_rows:
        raise InvalidInput(
            f"the upload has {len(doc):,} recipients, more than {max_rows:,}; split it",
            field="file",
        )
    upload = Upload()
    for number, item in enumerate(doc, start=1):
        row = Row(number, upload.known)
        if not isinstance(item, Mapping):
            row.fail(None, 'each recipient is an object, like {"customer_id": "..."}')
            upload.errors.extend(row.errors)
            continue
        _row(row, item)
        upload.finish(row, recipient_fields=("customer_id", "identity"), blame="customer_id")
    return upload.parsed()


def _row(row: Row, item: Mapping[object, object]) -> None:
    for key, value in item.items():
        if value is None:
            continue  # null: not given
        field = str(key)
        if field == "variables":
            _variables(row, value)
        elif field == "identity":
            try:
                row.values["identity"] = _identity(value)
            except Bad as bad:
                row.fail(field, f"{field}: {bad.message}")
        elif field not in JSON_FIELDS:
            near = closest(field, JSON_FIELDS)
            hint = (
                f"did you mean {near!r}?" if near else f"the fields are {fields.names(JSON_FIELDS)}"
            )
            row.fail(field[:64], f"unknown field {show(field)}; {hint}", near)
        elif not isinstance(value, str):
            row.fail(field, f"{field}: must be text, not {_kind(value)}")
        elif field == "customer_id":
            row.set("customer_id", field, value, fields.customer_id)
        else:
            row.set(field, field, value, fields.TEXT_FIELDS[field])


def _identity(value: object) -> Identity:
    example = '{"channel": "sms", "address": "+15551234567"}'
    if not isinstance(value, Mapping):
        raise Bad(f"must be an object like {example}")
    channel, address = value.get("channel"), value.get("address")
    extra = sorted(str(k) for k in value if k not in ("channel", "address"))
    if extra or not isinstance(channel, str) or not isinstance(address, str):
        raise Bad(f"must be exactly {example}")
    return fields.identity(channel, address)


def _variables(row: Row, value: object) -> None:
    if not isinstance(value, Mapping):
        row.fail("variables", 'variables: must be an object like {"amount": "$420.00"}')
        return
    for name, raw in value.items():
        if raw is None:
            continue  # null: not given, as everywhere else
        if not isinstance(name, str) or not VARIABLE.fullmatch(name):
            row.fail("variables", f"variables: {show(str(name))} is not valid: {VARIABLE_RULE}")
            continue
        field = f"variables.{name}"
        try:
            row.variables[name] = _variable_value(raw)
        except Bad as bad:
            row.fail(field, f"{field}: {bad.message}")


def _variable_value(raw: object) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):  # a bool is an int to Python, not a number to a business
        raise Bad("must be text or a number, not true/false")
    if isinstance(raw, int):
        try:
            return str(raw)
        except ValueError:  # beyond Python's int-to-text digit limit
            raise Bad("is too long a number") from None
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise Bad("must be a finite number")
        return repr(raw)  # the shortest text that reads back as the same float
    raise Bad(f"must be text or a number, not {_kind(raw)}")


def _kind(value: object) -> str:
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
