"""Batch uploads (CSV and JSON): good rows become recipients, bad rows are reported row by
row and do not stop the others, and a bad file as a whole is refused."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadline.core.customers import CHANNELS, Identity
from threadline.core.errors import InvalidInput
from threadline.core.proactive import upload
from threadline.core.proactive.policy import NOTIFIABLE
from threadline.core.proactive.upload import (
    HEADER_ROW,
    RESERVED_COLUMNS,
    Parsed,
    Recipient,
    RowError,
    match_columns,
    parse_csv,
    parse_json,
)

ALICE = uuid.UUID("3f2c9a1e-7b4d-4c1a-9e0f-2d6b8a5c4e31")
BOB = uuid.UUID("0d1e2f30-4152-4637-8899-aabbccddeeff")


def csv_text(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


def only_error(parsed: Parsed) -> RowError:
    assert len(parsed.errors) == 1, parsed.errors
    return parsed.errors[0]


# -- CSV: good rows --------------------------------------------------------------------------


def test_a_csv_row_becomes_a_recipient_numbered_by_its_line_in_the_file() -> None:
    parsed = parse_csv(
        csv_text(
            "customer_id,channel_address,amount,merchant,language,send_at,reference,"
            "debt_reference,timezone,region,channel",
            f"{ALICE},,$420.00,ACME STORE,en,2026-11-22T09:30:00-05:00,alert-1,,"
            "America/Chicago,US-TX,sms",
            ",sms:+15551234567,$5.00,,,,,D-77,,,",
        )
    )
    assert parsed.errors == ()
    first, second = parsed.recipients
    assert first == Recipient(
        row=2,
        customer_id=ALICE,
        identity=None,
        variables={"amount": "$420.00", "merchant": "ACME STORE"},
        language="en",
        send_at=datetime(2026, 11, 22, 14, 30, tzinfo=UTC),
        reference="alert-1",
        timezone="America/Chicago",
        region="US-TX",
        channel="sms",
    )
    # Empty cells are "not given": an empty variable is left out, not set to "".
    assert second == Recipient(
        row=3,
        customer_id=None,
        identity=Identity("sms", "+15551234567"),
        variables={"amount": "$5.00"},
        debt_reference="D-77",
    )


def test_blank_lines_are_skipped_but_still_count_in_the_row_numbers() -> None:
    parsed = parse_csv(csv_text("customer_id,amount", "", f"{ALICE},1", ",", "", f"{BOB},2", ",,,"))
    assert parsed.errors == ()
    assert [(r.row, r.customer_id) for r in parsed.recipients] == [(3, ALICE), (6, BOB)]


def test_a_cell_with_a_line_break_keeps_it_and_the_next_row_is_numbered_after_it() -> None:
    parsed = parse_csv(csv_text("customer_id,note", f'{ALICE},"line one', 'line two"', "42,x"))
    assert parsed.recipients[0].variables == {"note": "line one\r\nline two"}
    assert only_error(parsed).row == 4


def test_a_byte_order_mark_and_padding_around_cells_are_ignored() -> None:
    parsed = parse_csv("\ufeff customer_id , amount \n " + f"{ALICE} ,  $1  \n")
    assert parsed.errors == ()
    assert parsed.recipients[0].customer_id == ALICE
    assert parsed.recipients[0].variables == {"amount": "$1"}


def test_the_var_prefix_lets_a_variable_share_a_reserved_column_name() -> None:
    parsed = parse_csv(
        csv_text("customer_id,language,var.language,var.plan", f"{ALICE},es,Spanish,gold")
    )
    recipient = parsed.recipients[0]
    assert recipient.language == "es"
    assert recipient.variables == {"language": "Spanish", "plan": "gold"}


def test_language_region_and_channel_are_read_whatever_their_case() -> None:
    parsed = parse_csv(
        csv_text(
            "channel_address,language,region,channel",
            "SMS:+15551234567,es-mx,us-ca,WhatsApp",
            "whatsapp:+15550000000,ZH-HANT-TW,gb,sms",
        )
    )
    assert parsed.errors == ()
    first, second = parsed.recipients
    assert (first.identity, first.language, first.region, first.channel) == (
        Identity("sms", "+15551234567"),
        "es-MX",
        "US-CA",
        "whatsapp",
    )
    assert (second.language, second.region) == ("zh-Hant-TW", "GB")


def test_send_at_is_converted_to_utc_from_any_offset() -> None:
    parsed = parse_csv(
        csv_text(
            "customer_id,send_at,reference",
            f"{ALICE},2026-03-08T01:30:00-05:00,a",
            f"{ALICE},2026-03-08T06:30Z,b",
            f"{ALICE},2026-03-08T12:00:00+05:30,c",
        )
    )
    assert [r.send_at for r in parsed.recipients] == [
        datetime(2026, 3, 8, 6, 30, tzinfo=UTC),
        datetime(2026, 3, 8, 6, 30, tzinfo=UTC),
        datetime(2026, 3, 8, 6, 30, tzinfo=UTC),
    ]
    assert all(r.send_at is not None and r.send_at.tzinfo is UTC for r in parsed.recipients)


def test_trailing_empty_cells_are_accepted() -> None:
    parsed = parse_csv(csv_text("customer_id,amount", f"{ALICE},1,,", f"{BOB},2"))
    assert parsed.errors == ()
    assert len(parsed.recipients) == 2


# -- CSV: bad rows ---------------------------------------------------------------------------


def test_a_row_with_a_malformed_customer_id_is_reported_and_the_others_proceed() -> None:
    parsed = parse_csv(csv_text("customer_id,amount", f"{ALICE},1", "cust-42,2", f"{BOB},3"))
    assert [r.customer_id for r in parsed.recipients] == [ALICE, BOB]
    error = only_error(parsed)
    assert (error.row, error.field) == (3, "customer_id")
    assert "'cust-42' is not a customer id" in error.message


@pytest.mark.parametrize(
    ("column", "cell", "says"),
    [
        ("channel_address", "+15551234567", "is not channel:address"),
        ("channel_address", "fax:+15551234567", "unknown channel 'fax'"),
        ("channel_address", "messenger:", "1-255 characters"),
        ("channel_address", "messenger:a b", "without spaces"),
        ("channel_address", "sms:555-0100", "is not a phone number"),
        ("language", "english", "is not a language tag"),
        ("language", "e", "is not a language tag"),
        ("language", "en-" + "x" * 40, "is not a language tag"),
        ("send_at", "tomorrow morning", "is not a date and time"),
        ("send_at", "2026-11-22T09:30:00", "give a UTC offset"),
        ("send_at", "2026-11-22", "give a UTC offset"),
        ("send_at", "0001-01-01T00:00:00+05:00", "out of range"),
        ("reference", "x" * 129, "1 to 128 printable characters"),
        ("reference", "a\tb", "printable"),
        ("debt_reference", "d" * 65, "1 to 64 printable characters"),
        ("timezone", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("timezone", "EST5EDT/../x", "unknown time zone"),
        ("region", "USA", "is not a region"),
        ("region", "US-CALI", "is not a region"),
        ("channel", "pigeon", "'pigeon' is not a channel notifications go on"),
        ("channel", "web", "the channels are api, app, apple, messenger, rcs, sms, whatsapp"),
    ],
)
def test_a_bad_value_is_reported_under_its_column(column: str, cell: str, says: str) -> None:
    recipient = "customer_id" if column == "channel_address" else "channel_address"
    parsed = parse_csv(
        csv_text(
            f"{recipient},{column}",
            f'"",{cell}' if recipient == "customer_id" else f"sms:+15551234567,{cell}",
        )
    )
    assert parsed.recipients == ()
    error = only_error(parsed)
    assert (error.row, error.field) == (2, column)
    assert says in error.message
    assert error.message.startswith(f"{column}: ")


def test_every_bad_field_of_a_row_is_reported_once() -> None:
    parsed = parse_csv(
        csv_text(
            "customer_id,language,send_at,timezone,amount",
            "nope,english,2026-11-22T09:30:00,Mars/Olympus,1",
            f"{ALICE},en,,,2",
        )
    )
    assert [(e.row, e.field) for e in parsed.errors] == [
        (2, "customer_id"),
        (2, "language"),
        (2, "send_at"),
        (2, "timezone"),
    ]
    assert [r.row for r in parsed.recipients] == [3]


def test_a_row_with_neither_or_both_recipient_columns_is_reported() -> None:
    parsed = parse_csv(
        csv_text(
            "customer_id,channel_address,amount",
            ",,1",
            f"{ALICE},sms:+15551234567,2",
            f"{ALICE},,3",
            ",sms:+15551234567,4",
        )
    )
    assert [r.row for r in parsed.recipients] == [4, 5]
    neither, both = parsed.errors
    assert (neither.row, neither.field) == (2, "customer_id")
    assert "give customer_id or channel_address" in neither.message
    assert (both.row, both.field) == (3, "customer_id")
    assert "not both" in both.message


def test_a_row_without_a_recipient_is_reported_under_the_column_the_file_has() -> None:
    parsed = parse_csv(csv_text("channel_address,amount", "sms:+15551234567,1", ",2"))
    assert [r.row for r in parsed.recipients] == [2]
    error = only_error(parsed)
    assert (error.row, error.field) == (3, "channel_address")
    assert "no recipient" in error.message


def test_both_recipients_given_is_reported_even_when_one_of_them_is_malformed() -> None:
    parsed = parse_csv(csv_text("customer_id,channel_address", "nope,sms:+15551234567"))
    assert [e.field for e in parsed.errors] == ["customer_id", "customer_id"]
    assert "not both" in parsed.errors[1].message


def test_a_row_with_the_wrong_number_of_cells_is_one_error_and_the_others_proceed() -> None:
    parsed = parse_csv(
        csv_text(
            "customer_id,amount,merchant", f"{ALICE},1", f"{BOB},2,ACME,extra", f"{BOB},3,ACME"
        )
    )
    assert [r.row for r in parsed.recipients] == [4]
    short, long = parsed.errors
    assert (short.row, short.field) == (2, None)
    assert "has 2 cells but the header has 3 columns" in short.message
    assert (long.row, long.field) == (3, None)
    assert "has 4 cells" in long.message


def test_a_repeated_reference_is_reported_on_the_later_row_only() -> None:
    parsed = parse_csv(
        csv_text("customer_id,reference", f"{ALICE},inv-1", f"{BOB},inv-2", f"{BOB},inv-1")
    )
    assert [r.reference for r in parsed.recipients] == ["inv-1", "inv-2"]
    error = only_error(parsed)
    assert (error.row, error.field) == (4, "reference")
    assert "'inv-1' is also on row 2" in error.message


def test_a_reference_is_taken_by_its_first_row_even_when_that_row_is_bad() -> None:
    parsed = parse_csv(csv_text("customer_id,reference", "nope,inv-1", f"{BOB},inv-1"))
    assert parsed.recipients == ()
    assert [(e.row, e.field) for e in parsed.errors] == [(2, "customer_id"), (3, "reference")]


def test_references_differing_only_in_case_are_different_references() -> None:
    parsed = parse_csv(csv_text("customer_id,reference", f"{ALICE},INV-1", f"{BOB},inv-1"))
    assert parsed.errors == ()


# -- CSV: bad files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "the file is empty"),
        ("\ufeff", "the file is empty"),
        ("\r\n\r\n,,\r\n", "the file is empty"),
        ("customer_id,amount,amount\r\n", "names column 'amount' twice (columns 2 and 3)"),
        ("customer_id,customer_id\r\n", "names column 'customer_id' twice"),
        ("customer_id,amount,var.amount\r\n", "'amount' and 'var.amount' are the same variable"),
        ("amount,merchant\r\n", "needs a customer_id or a channel_address column"),
        ("customerid,amount\r\n", "is 'customerid' meant to be one?"),
        ("customer_id,,amount\r\n", "column 2 of the header has no name"),
        ("customer_id,Amount,amount\r\n", "names column 'amount' twice"),
        ("customer_id;amount\r\n", "separated by commas"),
        (
            f'customer_id,amount\r\n{ALICE},"UNCLOSED\r\n{ALICE},2\r\n',
            "line 2 of the file opens a quoted cell that is never closed",
        ),
        ('customer_id,amount\r\nx,"1"2\r\n', "line 2 of the file is not readable as CSV"),
        ("customer_id\r\n" + "x" * 200_000 + "\r\n", "line 2 of the file is not readable as CSV"),
    ],
)
def test_a_bad_file_is_refused_as_a_whole(text: str, says: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_csv(text)
    assert refused.value.details == {"field": "file"}
    assert says in refused.value.message


def test_capitalised_columns_are_read_as_their_names_and_odd_ones_left_to_the_template() -> None:
    text = csv_text(
        "Customer_ID,First_Name,Last_Name,Amount,Segment Name,2fa_code", f"{ALICE},A,R,1,b2c,9"
    )
    parsed = parse_csv(text)
    assert parsed.header == (
        "customer_id",
        "first_name",
        "last_name",
        "amount",
        "Segment Name",
        "2fa_code",
    )
    matched = match_columns(parsed, "greeting", GREETING)
    assert [(e.row, e.field) for e in matched.errors] == [
        (HEADER_ROW, "Segment Name"),
        (HEADER_ROW, "2fa_code"),
    ]
    assert matched.recipients[0].variables == {"first_name": "A", "last_name": "R", "amount": "1"}


def test_every_reserved_column_is_understood() -> None:
    header = ",".join(RESERVED_COLUMNS)
    parsed = parse_csv(csv_text(header, f"{ALICE}" + "," * (len(RESERVED_COLUMNS) - 1)))
    assert parsed.errors == ()
    assert parsed.recipients[0].variables == {}


def test_an_upload_of_max_rows_is_accepted_and_one_more_is_refused() -> None:
    rows = [f"{uuid.UUID(int=i)},{i}" for i in range(4)]
    text = csv_text("customer_id,n", *rows[:3], "", ",,")
    assert len(parse_csv(text, max_rows=3).recipients) == 3
    with pytest.raises(InvalidInput, match="more than 3 recipients") as refused:
        parse_csv(csv_text("customer_id,n", *rows), max_rows=3)
    assert refused.value.details == {"field": "file"}
    assert len(parse_json([{"customer_id": str(ALICE)}] * 3, max_rows=3).recipients) == 3
    with pytest.raises(InvalidInput, match="more than 3"):
        parse_json([{"customer_id": str(ALICE)}] * 4, max_rows=3)
    assert upload.MAX_ROWS == 100_000


# -- CSV: the header against the template ----------------------------------------------------

GREETING = ("first_name", "last_name", "amount")


def refusal_of(text: str, variables: tuple[str, ...] = GREETING) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        match_columns(parse_csv(text), "greeting", variables)
    assert refused.value.details["field"] == "file"
    return refused.value


def test_a_header_that_matches_the_template_leaves_the_upload_as_it_is() -> None:
    parsed = parse_csv(csv_text("customer_id,first_name,last_name,amount", f"{ALICE},Ana,Ruiz,$1"))
    assert match_columns(parsed, "greeting", GREETING) == parsed


def test_a_header_without_a_template_variable_refuses_the_upload_once_naming_the_column() -> None:
    rows = [f"{ALICE},Ana,$1"] * 500
    refused = refusal_of(csv_text("customer_id,first_name,amount", *rows))
    assert "the header has no column 'last_name'" in refused.message
    assert refused.details["missing"] == ["last_name"]
    assert [p["field"] for p in refused.details["problems"]] == ["last_name"]  # type: ignore[attr-defined]
    assert "suggestion" not in refused.details


def test_a_misspelt_variable_column_is_refused_with_did_you_mean() -> None:
    refused = refusal_of(csv_text("customer_id,frist_name,last_name,amount", f"{ALICE},A,R,1"))
    assert refused.message == (
        "column 'frist_name' is not a variable of template 'greeting'; did you mean 'first_name'?"
    )
    assert refused.details["suggestion"] == "first_name"
    assert refused.details["missing"] == ["first_name"]
    # One mistake, one problem: the missing first_name is the misspelt column.
    assert refused.details["problems"] == [
        {"field": "frist_name", "message": refused.message, "suggestion": "first_name"}
    ]


def test_misspelt_columns_are_each_told_their_own_variable() -> None:
    # fast_name is closest to last_name, but last_nme is closer still.
    refused = refusal_of(csv_text("customer_id,fast_name,last_nme,amont", f"{ALICE},R,A,1"))
    found = {p["field"]: p["suggestion"] for p in refused.details["problems"]}  # type: ignore[attr-defined]
    assert found == {"fast_name": "first_name", "last_nme": "last_name", "amont": "amount"}
    assert refused.message.startswith("the header has 3 problems: ")
    assert "suggestion" not in refused.details


def test_a_variable_named_like_a_reserved_column_is_asked_for_with_its_prefix() -> None:
    refused = refusal_of(csv_text("customer_id,language", f"{ALICE},en"), ("language",))
    assert refused.details["missing"] == ["var.language"]
    assert "no column 'var.language'" in refused.message


@pytest.mark.parametrize(
    ("column", "meant"),
    [("refrence", "reference"), ("sendat", "send_at"), ("time_zone", "timezone")],
)
def test_a_column_that_misspells_a_reserved_column_refuses_the_upload(
    column: str, meant: str
) -> None:
    text = csv_text(f"customer_id,first_name,last_name,amount,{column}", f"{ALICE},A,R,1,x")
    refused = refusal_of(text)
    assert f"did you mean {meant!r}?" in refused.message
    assert refused.details["suggestion"] == meant
    assert refused.details["missing"] == []


@pytest.mark.parametrize(
    "column", ["channel_id", "reference_id", "regions", "languages", "send_date", "customer_name"]
)
def test_an_exports_own_column_near_a_reserved_name_is_ignored_not_refused(column: str) -> None:
    text = csv_text(f"customer_id,first_name,last_name,amount,{column}", f"{ALICE},A,R,1,x")
    matched = match_columns(parse_csv(text), "greeting", GREETING)
    assert [(e.row, e.field) for e in matched.errors] == [(HEADER_ROW, column)]
    assert len(matched.recipients) == 1


def test_an_unused_column_is_reported_once_at_the_header_and_left_out_of_every_row() -> None:
    header = "customer_id,first_name,last_name,amount,notes,segment"
    rows = [f"{ALICE},Ana,Ruiz,$1,VIP,b2c", "nope,Bo,Li,$2,,", f"{BOB},Cy,Wu,$3,,"]
    parsed = parse_csv(csv_text(header, *rows))
    matched = match_columns(parsed, "greeting", GREETING)
    assert [(e.row, e.field) for e in matched.errors] == [
        (HEADER_ROW, "notes"),
        (HEADER_ROW, "segment"),
        (3, "customer_id"),
    ]
    assert matched.errors[0].message == (
        "column 'notes' is not a variable of template 'greeting' "
        "(its variables: first_name, last_name, amount): its cells were ignored"
    )
    assert [r.variables for r in matched.recipients] == [
        {"first_name": "Ana", "last_name": "Ruiz", "amount": "$1"},
        {"first_name": "Cy", "last_name": "Wu", "amount": "$3"},
    ]
    assert matched.rows == parsed.rows == 3


@pytest.mark.parametrize(
    ("header", "column"),
    [
        # The file names its recipients by address: its own customer ids are just data.
        ("channel_address,first_name,last_name,amount,customerid", "customerid"),
        # The header has its reference already.
        ("customer_id,reference,first_name,last_name,amount,referenc", "referenc"),
        # var. says it is meant as a variable, not the language column.
        ("customer_id,first_name,last_name,amount,var.language", "var.language"),
    ],
)
def test_a_column_that_misspells_nothing_the_header_lacks_is_merely_ignored(
    header: str, column: str
) -> None:
    parsed = parse_csv(csv_text(header))
    matched = match_columns(parsed, "greeting", GREETING)
    assert [(e.row, e.field, e.suggestion) for e in matched.errors] == [(HEADER_ROW, column, None)]
    assert "its cells were ignored" in matched.errors[0].message


def test_a_json_upload_is_checked_against_the_template_row_by_row_not_here() -> None:
    parsed = parse_json([{"customer_id": str(ALICE), "variables": {"frist_name": "Ana"}}])
    assert match_columns(parsed, "greeting", GREETING) == parsed


# -- JSON ------------------------------------------------------------------------------------


def test_json_rows_become_recipients_numbered_from_one() -> None:
    parsed = parse_json(
        [
            {
                "customer_id": str(ALICE),
                "language": "en",
                "send_at": "2026-11-22T09:30:00-05:00",
                "reference": "alert-1",
                "debt_reference": "D-1",
                "timezone": "America/Chicago",
                "region": "US-TX",
                "channel": "sms",
                "variables": {"amount": "$420.00", "count": 3, "rate": 2.5, "big": 1e16},
            },
            {"identity": {"channel": "sms", "address": "+15551234567"}},
        ]
    )
    assert parsed.errors == ()
    first, second = parsed.recipients
    assert first == Recipient(
        row=1,
        customer_id=ALICE,
        identity=None,
        variables={"amount": "$420.00", "count": "3", "rate": "2.5", "big": "1e+16"},
        language="en",
        send_at=datetime(2026, 11, 22, 14, 30, tzinfo=UTC),
        reference="alert-1",
        debt_reference="D-1",
        timezone="America/Chicago",
        region="US-TX",
        channel="sms",
    )
    assert second == Recipient(
        row=2, customer_id=None, identity=Identity("sms", "+15551234567"), variables={}
    )


def test_a_recipients_object_is_the_same_upload_as_its_list() -> None:
    rows = [{"customer_id": str(ALICE)}, {"customer_id": "nope"}]
    assert parse_json({"recipients": rows}) == parse_json(rows)
    assert len(parse_json(rows).errors) == 1


@pytest.mark.parametrize(
    "doc",
    [None, "[]", 42, {"customer_id": str(ALICE)}, {"recipients": 3}, {"recipients": [], "x": 1}],
    ids=repr,
)
def test_a_json_upload_that_is_not_a_list_is_refused_as_a_whole(doc: object) -> None:
    with pytest.raises(InvalidInput, match="list of recipients") as refused:
        parse_json(doc)
    assert refused.value.details == {"field": "file"}


def test_a_json_row_that_is_not_an_object_is_reported_and_the_others_proceed() -> None:
    parsed = parse_json([str(ALICE), {"customer_id": str(ALICE)}, [1, 2]])
    assert [r.row for r in parsed.recipients] == [2]
    assert [(e.row, e.field) for e in parsed.errors] == [(1, None), (3, None)]
    assert "each recipient is an object" in parsed.errors[0].message


def test_an_unknown_json_field_is_reported_with_a_suggestion_when_close() -> None:
    parsed = parse_json(
        [
            {"customer_id": str(ALICE), "langauge": "en"},
            {"customer_id": str(ALICE), "reference": "r", "colour": "red"},
        ]
    )
    close, far = parsed.errors
    assert (close.row, close.field) == (1, "langauge")
    assert "unknown field 'langauge'; did you mean 'language'?" in close.message
    assert (far.row, far.field) == (2, "colour")
    assert "the fields are channel, customer_id" in far.message
    assert parsed.recipients == ()


def test_json_null_means_not_given() -> None:
    parsed = parse_json(
        [
            {"customer_id": str(ALICE), "identity": None, "language": None, "variables": None},
            {"customer_id": str(BOB), "variables": {"amount": None, "plan": "gold"}},
        ]
    )
    assert parsed.errors == ()
    assert parsed.recipients == (
        Recipient(1, ALICE, None, {}),
        Recipient(2, BOB, None, {"plan": "gold"}),
    )


@pytest.mark.parametrize(
    ("row", "field", "says"),
    [
        ({"customer_id": 42}, "customer_id", "must be text, not a number"),
        ({"customer_id": ""}, "customer_id", "is not a customer id"),
        ({"language": ["en"]}, "language", "must be text, not a list"),
        ({"send_at": 1700000000}, "send_at", "must be text, not a number"),
        ({"reference": ""}, "reference", "1 to 128 printable characters"),
        ({"channel": True}, "channel", "must be text, not true/false"),
        ({"variables": ["a"]}, "variables", "must be an object"),
        ({"variables": {"Amount": "1"}}, "variables", "'Amount' is not valid"),
        ({"variables": {"amount": True}}, "variables.amount", "not true/false"),
        ({"customer_id": "0000000000000000000000000000_001"}, "customer_id", "not a customer"),
        ({"customer_id": "urn:uuid:" + str(ALICE)}, "customer_id", "is not a customer id"),
        ({"variables": {"amount": {"v": 1}}}, "variables.amount", "not an object"),
        ({"variables": {"amount": float("nan")}}, "variables.amount", "finite number"),
        ({"variables": {"amount": 10**5000}}, "variables.amount", "too long a number"),
    ],
)
def test_a_bad_json_value_is_reported_under_its_field(
    row: dict[str, Any], field: str, says: str
) -> None:
    parsed = parse_json([{"customer_id": str(ALICE), **row}, {"customer_id": str(BOB)}])
    assert [r.customer_id for r in parsed.recipients] == [BOB]
    errors = [e for e in parsed.errors if e.field == field]
    assert len(errors) == 1, parsed.errors
    assert (errors[0].row, errors[0].message.startswith(f"{field}: ")) == (1, True)
    assert says in errors[0].message


@pytest.mark.parametrize(
    ("identity", "says"),
    [
        ("sms:+15551234567", "must be an object"),
        ({"channel": "sms"}, "must be exactly"),
        ({"channel": "sms", "address": "+1", "name": "Al"}, "must be exactly"),
        ({"channel": "sms", "address": 15551234567}, "must be exactly"),
        ({"channel": "telex", "address": "+1"}, "unknown channel 'telex'"),
        ({"channel": "messenger", "address": " "}, "address is 1-255 characters"),
    ],
)
def test_a_bad_json_identity_is_reported(identity: object, says: str) -> None:
    error = only_error(parse_json([{"identity": identity}]))
    assert (error.row, error.field) == (1, "identity")
    assert says in error.message


def test_json_rows_with_neither_or_both_recipients_or_a_repeated_reference_are_reported() -> None:
    sms = {"channel": "sms", "address": "+15551234567"}
    parsed = parse_json(
        [
            {"variables": {"a": "1"}},
            {"customer_id": str(ALICE), "identity": sms},
            {"customer_id": str(ALICE), "reference": "r"},
            {"identity": sms, "reference": "r"},
        ]
    )
    assert [r.row for r in parsed.recipients] == [3]
    assert [(e.row, e.field) for e in parsed.errors] == [
        (1, "customer_id"),
        (2, "customer_id"),
        (4, "reference"),
    ]
    assert "give customer_id or identity" in parsed.errors[0].message


# -- the recipient itself --------------------------------------------------------------------


def test_a_recipient_is_a_customer_or_an_identity_and_its_time_is_utc() -> None:
    with pytest.raises(InvalidInput):
        Recipient(1, None, None, {})
    with pytest.raises(InvalidInput):
        Recipient(1, ALICE, Identity("sms", "+1"), {})
    with pytest.raises(InvalidInput):
        Recipient(1, ALICE, None, {}, send_at=datetime(2026, 1, 1))
    eastern = timezone(timedelta(hours=-5))
    with pytest.raises(InvalidInput):
        Recipient(1, ALICE, None, {}, send_at=datetime(2026, 1, 1, tzinfo=eastern))


# -- properties ------------------------------------------------------------------------------

VARIABLE_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,31}", fullmatch=True)
# What a cell holds once read back: surrounding spaces are stripped, so none are drawn.
NO_SURROGATES = st.characters(exclude_categories=["Cs"])
CELL_TEXT = st.text(NO_SURROGATES, min_size=1, max_size=12).filter(
    lambda s: s == s.strip() and s != ""
)
PRINTABLE = st.text(st.characters(categories=("L", "N", "P", "S")), max_size=20)
ADDRESSES = st.text(
    st.characters(min_codepoint=33, exclude_categories=("Cs", "Z", "Cc")), min_size=1, max_size=30
).filter(lambda s: not any(c.isspace() for c in s))
# SMS and RCS reach a phone number, in E.164.
PHONES = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
ZONES = st.sampled_from(["America/New_York", "America/Chicago", "Europe/London", "Asia/Kolkata"])
LANGUAGES = st.from_regex(r"[a-z]{2,3}(-[A-Z]{2}|-[0-9]{3})?", fullmatch=True)
REGIONS = st.from_regex(r"[A-Z]{2}(-[A-Z0-9]{1,3})?", fullmatch=True)
INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
OFFSETS = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)


@st.composite
def recipient_lists(draw: st.DrawFn) -> tuple[list[str], list[Recipient], list[timezone]]:
    """Variable names, valid recipients (rows unset: 0), and the offset each send_at is
    written with."""
    names = draw(st.lists(VARIABLE_NAMES, unique=True, max_size=4))
    people: list[Recipient] = []
    offsets: list[timezone] = []
    for i in range(draw(st.integers(min_value=1, max_value=8))):
        by_id = draw(st.booleans())
        # Unique references: each starts with its row's index.
        ref = draw(st.none() | PRINTABLE)
        debt = draw(st.none() | PRINTABLE)
        people.append(
            Recipient(
                row=0,
                customer_id=draw(st.uuids()) if by_id else None,
                identity=None
                if by_id
                else _identity(draw(st.sampled_from(sorted(CHANNELS))), draw),
                variables={n: draw(CELL_TEXT) for n in names if draw(st.booleans())},
                language=draw(st.none() | LANGUAGES),
                send_at=draw(st.none() | INSTANTS),
                reference=None if ref is None else f"r{i}.{ref}",
                debt_reference=None if debt is None else f"D{debt}",
                timezone=draw(st.none() | ZONES),
                region=draw(st.none() | REGIONS),
                channel=draw(st.none() | st.sampled_from(sorted(NOTIFIABLE))),
            )
        )
        offsets.append(draw(OFFSETS))
    return names, people, offsets


def _identity(channel: str, draw: st.DrawFn) -> Identity:
    return Identity(channel, draw(PHONES if channel in ("sms", "rcs") else ADDRESSES))


def _cells(person: Recipient, offset: timezone) -> dict[str, str]:
    return {
        "customer_id": str(person.customer_id) if person.customer_id else "",
        "channel_address": str(person.identity) if person.identity else "",
        "language": person.language or "",
        "send_at": person.send_at.astimezone(offset).isoformat() if person.send_at else "",
        "reference": person.reference or "",
        "debt_reference": person.debt_reference or "",
        "timezone": person.timezone or "",
        "region": person.region or "",
        "channel": person.channel or "",
    }


def _line_breaks(cells: list[str]) -> int:
    return sum(len(re.findall(r"\r\n|\r|\n", c)) for c in cells)


@settings(max_examples=150, deadline=None)
@given(recipient_lists(), st.data())
def test_valid_recipients_written_with_csv_writer_read_back_the_same(
    drawn: tuple[list[str], list[Recipient], list[timezone]], data: st.DataObject
) -> None:
    names, people, offsets = drawn
    prefixed = {n: n in RESERVED_COLUMNS or data.draw(st.booleans()) for n in names}
    header = [*RESERVED_COLUMNS, *(f"var.{n}" if prefixed[n] else n for n in names)]
    header = data.draw(st.permutations(header))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    expected: list[Recipient] = []
    line = 2
    for person, offset in zip(people, offsets, strict=True):
        cells = _cells(person, offset)
        for n in names:
            cells[f"var.{n}" if prefixed[n] else n] = person.variables.get(n, "")
        row = [cells[column] for column in header]
        writer.writerow(row)
        expected.append(Recipient(**{**vars(person), "row": line}))
        line += 1 + _line_breaks(row)
    parsed = parse_csv(buffer.getvalue())
    assert parsed.errors == ()
    assert list(parsed.recipients) == expected


@settings(max_examples=100, deadline=None)
@given(recipient_lists())
def test_valid_recipients_sent_as_json_read_back_the_same(
    drawn: tuple[list[str], list[Recipient], list[timezone]],
) -> None:
    _, people, offsets = drawn
    rows: list[dict[str, object]] = []
    for person, offset in zip(people, offsets, strict=True):
        row: dict[str, object] = {
            k: v for k, v in _cells(person, offset).items() if v and k != "channel_address"
        }
        if person.identity:
            row["identity"] = {
                "channel": person.identity.channel,
                "address": person.identity.address,
            }
        row["variables"] = person.variables
        rows.append(row)
    parsed = parse_json(json.loads(json.dumps(rows)))
    assert parsed.errors == ()
    assert list(parsed.recipients) == [
        Recipient(**{**vars(p), "row": i}) for i, p in enumerate(people, start=1)
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=8))
def test_any_rows_are_either_recipients_or_errors_never_a_crash(lines: list[str]) -> None:
    text = "customer_id,channel_address,language,send_at,reference,amount\n" + "\n".join(lines)
    if '"' in text:  # a stray quote may make the file unreadable: refused whole, then
        try:
            parse_csv(text)
        except InvalidInput as refused:
            refusal = refused
        else:
            refusal = None
        assert refusal is None or refusal.details == {"field": "file"}
        if refusal is not None:
            return
    parsed = parse_csv(text)
    good = [r.row for r in parsed.recipients]
    bad = {e.row for e in parsed.errors}
    assert good == sorted(set(good))
    assert not bad & set(good)
    assert all(2 <= row <= text.count("\n") + text.count("\r") + 1 for row in [*good, *bad])


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)
JSON_ROWS = st.dictionaries(
    st.sampled_from([*upload.JSON_FIELDS, "extra"]) | st.text(max_size=5), JSON_VALUES, max_size=5
)


@settings(max_examples=200, deadline=None)
@given(st.lists(JSON_ROWS | JSON_VALUES, max_size=6))
def test_any_json_rows_are_either_recipients_or_errors_never_a_crash(rows: list[Any]) -> None:
    parsed = parse_json(rows)
    good = {r.row for r in parsed.recipients}
    bad = {e.row for e in parsed.errors}
    assert good | bad == set(range(1, len(rows) + 1))
    assert not good & bad


NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True).filter(
    lambda n: n not in RESERVED_COLUMNS
)


@settings(max_examples=200, deadline=None)
@given(st.lists(NAMES, unique=True, max_size=6), st.lists(NAMES, unique=True, max_size=6))
def test_any_header_is_refused_or_matched_once_never_reported_row_by_row(
    columns: list[str], variables: list[str]
) -> None:
    rows = [f"{ALICE}" + ",x" * len(columns)] * 3
    parsed = parse_csv(csv_text(",".join(["customer_id", *columns]), *rows))
    missing = [v for v in variables if v not in columns]
    unknown = [c for c in columns if c not in variables]
    refused: InvalidInput | None = None
    try:
        matched = match_columns(parsed, "t", variables)
    except InvalidInput as error:
        refused = error
    if refused is not None:
        problems: list[dict[str, str]] = refused.details["problems"]  # type: ignore[assignment]
        assert refused.details["missing"] == missing
        assert {p["field"] for p in problems} <= {*missing, *unknown}
        assert missing or all("suggestion" in p for p in problems)
        return
    assert missing == []
    assert [(e.row, e.field) for e in matched.errors] == [(HEADER_ROW, c) for c in unknown]
    assert [set(r.variables) for r in matched.recipients] == [set(variables)] * 3
