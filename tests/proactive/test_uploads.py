"""Batch uploads through the API: each bad row is reported with its line and field, the
good rows are created and sent, an upload sent again creates nothing new, and a file
that cannot be read at all is refused whole."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import sqlalchemy as sa

from tests.support.channels import World
from tests.support.live import AgentHandle, Live
from tests.support.proactive import FRAUD_CHECK, customer, put_template
from threadline.adapters.schema_proactive import notification_batches
from threadline.core.agents import Role
from threadline.service.unit_of_work import UnitOfWork

# 10:00 in New York: inside the default contact window.
MORNING = 15 * 3600
URL = "/api/v1/notifications/batches"


async def _upload(
    live: Live,
    who: AgentHandle,
    body: str | bytes,
    content_type: str = "text/csv",
    template: str = "card_fraud_check",
) -> httpx.Response:
    return await live.http.post(
        f"{URL}?template={template}",
        content=body,
        headers={**who.headers, "content-type": content_type},
    )


async def _ready(world: World) -> tuple[Live, AgentHandle]:
    live, admin = world.live, world.admin
    live.clock.advance(MORNING - 9 * 3600)
    await world.connected_inbox("sms")
    await put_template(live, admin, "card_fraud_check", FRAUD_CHECK)
    return live, admin


async def _batch(live: Live, admin: AgentHandle, batch_id: str) -> dict[str, Any]:
    r = await live.http.get(f"{URL}/{batch_id}", headers=admin.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _until_states(
    live: Live, admin: AgentHandle, batch_id: str, states: dict[str, int]
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for _ in range(200):
        found = await _batch(live, admin, batch_id)
        if found["states"] == states:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"the batch is {found.get('states')}, not {states}")


async def _batches(live: Live) -> int:
    async def count(uow: UnitOfWork) -> int:
        found = await uow.conn.scalar(sa.select(sa.func.count()).select_from(notification_batches))
        return int(found or 0)

    return await live.tx.read(count)


async def _notifications(live: Live, admin: AgentHandle) -> list[dict[str, Any]]:
    r = await live.http.get("/api/v1/notifications", headers=admin.headers)
    assert r.status_code == 200, r.text
    return list(r.json())


def _errors(body: dict[str, Any]) -> list[tuple[int, str | None]]:
    return [(e["row"], e["field"]) for e in body["errors"]]


async def test_a_csv_upload_reports_each_bad_row_and_sends_the_good_ones(world: World) -> None:
    live, admin = await _ready(world)
    ana = await customer(live, admin, [("sms", "+15550000001")], preferred="sms")
    bo = await customer(live, admin, [("sms", "+15550000002")], preferred="sms")
    unknown = uuid.uuid4()
    csv = (
        "customer_id,reference,amount,merchant,send_at\n"  # line 1
        f"{ana},r-1,$1.00,ACME,\n"  # 2: good
        "not-an-id,r-2,$1.00,ACME,\n"  # 3: not a customer id
        f"{unknown},r-3,$1.00,ACME,\n"  # 4: nobody has that id
        f"{bo},r-4,$1.00,,\n"  # 5: a variable missing
        f"{bo},r-5,$1.00,ACME,2026-03-02 10:00\n"  # 6: a time without its offset
        f"{bo},r-1,$2.00,ACME,\n"  # 7: the reference of row 2 again
        f'{bo},r-6,$2.00,"ACME, Inc.",\n'  # 8: good
    )
    r = await _upload(live, admin, csv)
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["rows"], first["accepted"], first["created"], first["existing"]) == (7, 2, 2, 0)
    assert _errors(first) == [
        (3, "customer_id"),
        (4, "customer_id"),
        (5, "variables.merchant"),
        (6, "send_at"),
        (7, "reference"),
    ]
    assert str(unknown) in first["errors"][1]["message"]
    assert "row 2" in first["errors"][4]["message"]

    stored = await _until_states(live, admin, first["batch_id"], {"delivered": 2})
    assert stored["errors"] == first["errors"]
    assert (stored["rows"], stored["accepted"], stored["created"]) == (7, 2, 2)
    texts = sorted((s.to, s.text) for s in world.fake.sent("twilio"))
    assert texts == [
        ("+15550000001", "Acme Bank: did you make a $1.00 purchase at ACME? Reply YES or NO."),
        (
            "+15550000002",
            "Acme Bank: did you make a $2.00 purchase at ACME, Inc.? Reply YES or NO.",
        ),
    ]

    # Sent again (the answer was lost, say): the stored rows are found, nothing is new.
    r = await _upload(live, admin, csv)
    assert r.status_code == 201, r.text
    again = r.json()
    assert (again["accepted"], again["created"], again["existing"]) == (2, 0, 2)
    assert _errors(again) == _errors(first)
    seen = await _batch(live, admin, again["batch_id"])
    assert (seen["accepted"], seen["created"], seen["existing"], seen["states"]) == (2, 0, 2, {})
    assert len(await _notifications(live, admin)) == 2
    assert len(world.fake.sent("twilio")) == 2


async def test_a_json_upload_names_recipients_by_id_or_address(world: World) -> None:
    live, admin = await _ready(world)
    ana = await customer(live, admin, [("sms", "+15550000001")], preferred="sms")
    await customer(live, admin, [("sms", "+15550000002")], preferred="sms")
    values = {"amount": "$5.00", "merchant": "ACME"}
    rows = [
        {"customer_id": ana, "variables": values, "reference": "j-1"},
        {"identity": {"channel": "sms", "address": "+15550000002"}, "variables": values},
        {"identity": {"channel": "sms", "address": "+15559999999"}, "variables": values},
        {"customer_id": ana, "variables": {**values, "amount": 5}, "refrence": "j-4"},
        "ana",
    ]
    r = await _upload(live, admin, json.dumps({"recipients": rows}), "application/json")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["rows"], body["created"]) == (5, 2)
    assert _errors(body) == [(3, "channel_address"), (4, "refrence"), (5, None)]
    assert "reference" in body["errors"][1]["message"]  # did you mean…
    await _until_states(live, admin, body["batch_id"], {"delivered": 2})
    assert sorted(s.to for s in world.fake.sent("twilio")) == ["+15550000001", "+15550000002"]


async def test_an_upload_without_one_good_row_is_refused_and_stores_no_batch(
    world: World,
) -> None:
    live, admin = await _ready(world)
    csv = f"customer_id,amount,merchant\n{uuid.uuid4()},$1.00,ACME\nnope,$1.00,ACME\n"
    r = await _upload(live, admin, csv)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["details"]["field"] == "file"
    assert [(e["row"], e["field"]) for e in error["details"]["errors"]] == [
        (2, "customer_id"),
        (3, "customer_id"),
    ]
    assert await _batches(live) == 0
    assert await _notifications(live, admin) == []


async def test_a_file_that_cannot_be_read_is_refused_whole(world: World) -> None:
    live, admin = await _ready(world)
    ana = await customer(live, admin, [("sms", "+15550000001")], preferred="sms")
    good = f"customer_id,amount,merchant\n{ana},$1.00,ACME\n"
    for body, content_type in [
        (good.replace("ACME", "ACMÉ").encode("latin-1"), "text/csv"),  # not UTF-8
        (good, "text/plain"),
        (good, "multipart/form-data; boundary=x"),
        ("", "text/csv"),
        ("amount;merchant\n$1;ACME\n", "text/csv"),  # no recipient column
        # A quote never closed: the next row must not go out inside this one's message.
        (f'customer_id,amount,merchant\n{ana},$1.00,"ACME\n{ana},$2.00,SHOP\n', "text/csv"),
        ('{"customer_id": "x"}', "application/json"),  # not a list
        ("[{", "application/json"),
    ]:
        r = await _upload(live, admin, body, content_type)
        assert r.status_code == 422, (body, content_type, r.text)
        assert r.json()["error"]["details"]["field"] == "file", r.text
    r = await _upload(live, admin, good, template="no_such_template")
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "unknown_template"
    assert await _batches(live) == 0
    assert await _notifications(live, admin) == []


async def test_a_header_without_rows_is_refused_saying_there_are_no_recipients(
    world: World,
) -> None:
    live, admin = await _ready(world)
    for body, content_type in [
        ("customer_id,amount,merchant\n", "text/csv"),
        ("[]", "application/json"),
    ]:
        r = await _upload(live, admin, body, content_type)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["message"].startswith("the upload has no recipients"), r.text
    assert await _batches(live) == 0


async def test_an_agent_is_refused_before_the_upload_is_read(world: World) -> None:
    live, _ = await _ready(world)
    agent = await live.agent("andy", role=Role.AGENT)
    for body in [b"\xff\xfe not text", b"customer_id\nnope\n"]:
        r = await _upload(live, agent, body)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"
    assert await _batches(live) == 0


async def test_an_unknown_batch_is_a_404(world: World) -> None:
    live, admin = world.live, world.admin
    r = await live.http.get(f"{URL}/{uuid.uuid4()}", headers=admin.headers)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "not_found"


async def test_bad_rows_holding_nul_and_other_awkward_text_are_reported_and_kept(
    world: World,
) -> None:
    live, admin = await _ready(world)
    ana = await customer(live, admin, [("sms", "+15550000001")], preferred="sms")
    values = {"amount": "$1.00", "merchant": "ACME"}
    rows = [
        {"customer_id": ana, "variables": values},
        {"customer_id": "\x00", "variables": values},
        {"customer_id": ana, "\x00": "x", "variables": values},
        {"customer_id": ana, "variables": {**values, "\x00": "x"}},
        {"customer_id": ana, "variables": {**values, "merchant": "AC\x00ME"}},
        {"customer_id": ana, "variables": values, "reference": "\u202eevil\x00"},
    ]
    r = await _upload(live, admin, json.dumps(rows), "application/json")
    assert r.status_code == 201, r.text
    body = r.json()
    assert [e["row"] for e in body["errors"]] == [2, 3, 4, 5, 6]
    stored = await _batch(live, admin, body["batch_id"])
    assert stored["errors"] == body["errors"]
    r = await _upload(live, admin, json.dumps(rows[:1]), "application/json", template="%00")
    assert r.status_code == 404, r.text


async def test_a_row_scheduled_more_than_a_year_ahead_is_refused_and_the_others_proceed(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    await put_template(live, admin, "card_fraud_check", FRAUD_CHECK)
    dana = await customer(live, admin, [("sms", "+15550004444")])
    values = {"amount": "$1.00", "merchant": "ACME"}
    rows = [
        {"customer_id": dana, "send_at": "9999-12-31T23:59:59Z", "variables": values},
        {"customer_id": dana, "variables": values},
    ]
    r = await live.http.post(
        "/api/v1/notifications/batches?template=card_fraud_check",
        json=rows,
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["created"] == 1
    assert body["errors"] == [
        {
            "row": 1,
            "field": "send_at",
            "message": "send_at: at most a year ahead",
            "suggestion": None,
        }
    ]


async def test_an_unused_csv_column_is_reported_once_at_the_header_and_the_rows_are_sent(
    world: World,
) -> None:
    live, admin = await _ready(world)
    ana = await customer(live, admin, [("sms", "+15550000001")], preferred="sms")
    bo = await customer(live, admin, [("sms", "+15550000002")], preferred="sms")
    csv = (
        f"customer_id,amount,merchant,notes\n{ana},$1.00,ACME,VIP\n{bo},$2.00,ACME,\nnope,$3,A,x\n"
    )
    r = await _upload(live, admin, csv)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["rows"], body["accepted"], body["created"]) == (3, 2, 2)
    assert _errors(body) == [(0, "notes"), (4, "customer_id")]
    assert body["errors"][0]["message"] == (
        "column 'notes' is not a variable of template 'card_fraud_check' "
        "(its variables: amount, merchant): its cells were ignored"
    )
    stored = await _until_states(live, admin, body["batch_id"], {"delivered": 2})
    assert stored["errors"] == body["errors"]
    assert stored["rows"] == 3
    assert sorted(s.to for s in world.fake.sent("twilio")) == ["+15550000001", "+15550000002"]


async def test_a_csv_header_without_a_template_variable_is_refused_once_and_stores_nothing(
    world: World,
) -> None:
    live, admin = await _ready(world)
    ana = await customer(live, admin, [("sms", "+15550000001")], preferred="sms")
    rows = "".join(f"{ana},$1.00,ACME\n" for _ in range(50))
    r = await _upload(live, admin, "customer_id,amount,merchnat\n" + rows)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["message"] == (
        "column 'merchnat' is not a variable of template 'card_fraud_check'; "
        "did you mean 'merchant'?"
    )
    details = error["details"]
    assert (details["field"], details["missing"], details["suggestion"]) == (
        "file",
        ["merchant"],
        "merchant",
    )
    assert [(p["field"], p["suggestion"]) for p in details["problems"]] == [
        ("merchnat", "merchant")
    ]
    r = await _upload(live, admin, "customer_id,amount\n" + f"{ana},$1.00\n" * 50)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["details"]["missing"] == ["merchant"]
    assert "the header has no column 'merchant'" in error["message"]
    assert "suggestion" not in error["details"]
    assert await _batches(live) == 0
    assert await _notifications(live, admin) == []


async def test_a_misspelt_json_variable_is_reported_on_its_row_with_did_you_mean(
    world: World,
) -> None:
    live, admin = await _ready(world)
    ana = await customer(live, admin, [("sms", "+15550000001")], preferred="sms")
    rows = [
        {"customer_id": ana, "variables": {"amount": "$1.00", "merchant": "ACME"}},
        {"customer_id": ana, "variables": {"amount": "$1.00", "merchnat": "ACME"}},
        {"customer_id": ana, "variables": {"amount": "$1.00", "merchant": "A", "pin": "1"}},
    ]
    r = await _upload(live, admin, json.dumps(rows), "application/json")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["created"] == 1
    # The misspelt name is the row's one problem, not also a missing merchant.
    assert body["errors"] == [
        {
            "row": 2,
            "field": "variables.merchnat",
            "message": "variables.merchnat: 'merchnat' is not a variable of template "
            "'card_fraud_check'; did you mean 'merchant'?",
            "suggestion": "merchant",
        },
        {
            "row": 3,
            "field": "variables.pin",
            "message": "variables.pin: 'pin' is not a variable of template 'card_fraud_check'",
            "suggestion": None,
        },
    ]


async def test_an_unknown_template_in_an_upload_suggests_the_closest_one(world: World) -> None:
    live, admin = await _ready(world)
    ana = await customer(live, admin, [("sms", "+15550000001")], preferred="sms")
    csv = f"customer_id,amount,merchant\n{ana},$1.00,ACME\n"
    r = await _upload(live, admin, csv, template="card_fraud_chek")
    assert r.status_code == 404, r.text
    error = r.json()["error"]
    assert error["code"] == "unknown_template"
    assert error["message"] == (
        "no notification template named 'card_fraud_chek'; did you mean 'card_fraud_check'?"
    )
    assert error["details"] == {"suggestion": "card_fraud_check"}
    assert await _batches(live) == 0
