"""The notifications API refuses what it must, in the shape clients branch on, and stores
nothing when it refuses: who may call what, bad templates and policies, bad requests, and
a request repeated under its reference."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.support.live import AgentHandle, Live
from tests.support.proactive import FRAUD_CHECK, customer, put_policy, put_template
from threadline.core.agents import Role

PHONE = "+15557654321"

COLLECTIONS: dict[str, Any] = {
    "purpose": "collections",
    "variables": [{"name": "balance", "example": "$120.00", "max_length": 20}],
    "variants": [
        {
            "language": "en",
            "text": "Acme Bank: your balance of {balance} is past due. Reply STOP to opt out.",
        }
    ],
}


def _requests(customer_id: str, notification_id: str, batch_id: str) -> list[dict[str, Any]]:
    """One well-formed request to every notifications endpoint: only who sends it decides
    whether it is refused."""
    notify = {
        "template": "card_fraud_check",
        "customer_id": customer_id,
        "variables": {"amount": "$1.00", "merchant": "ACME"},
    }
    csv = f"customer_id,amount,merchant\n{customer_id},$1.00,ACME\n"
    return [
        {"method": "POST", "url": "/api/v1/notifications", "json": notify},
        {
            "method": "POST",
            "url": "/api/v1/notifications/batches?template=card_fraud_check",
            "content": csv,
            "headers": {"content-type": "text/csv"},
        },
        {"method": "GET", "url": f"/api/v1/notifications/batches/{batch_id}"},
        {"method": "GET", "url": "/api/v1/notifications"},
        {"method": "GET", "url": "/api/v1/notifications/decisions"},
        {"method": "GET", "url": f"/api/v1/notifications/{notification_id}"},
        {"method": "GET", "url": "/api/v1/reports/notifications"},
        {"method": "GET", "url": "/api/v1/proactive/policy"},
        {"method": "PUT", "url": "/api/v1/proactive/policy", "json": {}},
        {"method": "GET", "url": "/api/v1/notification-templates"},
        {"method": "GET", "url": "/api/v1/notification-templates/card_fraud_check"},
        {
            "method": "PUT",
            "url": "/api/v1/notification-templates/card_fraud_check",
            "json": FRAUD_CHECK,
        },
        {
            "method": "POST",
            "url": f"/api/v1/customers/{customer_id}/consents",
            "json": {
                "channel": "sms",
                "purpose": "marketing",
                "state": "opted_in",
                "source": "web",
            },
        },
        {"method": "GET", "url": f"/api/v1/customers/{customer_id}/consents"},
        {
            "method": "POST",
            "url": f"/api/v1/customers/{customer_id}/debt-conversations",
            "json": {"debt_reference": "D-1"},
        },
    ]


async def _send(live: Live, request: dict[str, Any], who: AgentHandle | None) -> httpx.Response:
    headers = {**request.get("headers", {}), **(who.headers if who else {})}
    kwargs = {k: v for k, v in request.items() if k in ("json", "content")}
    return await live.http.request(request["method"], request["url"], headers=headers, **kwargs)


async def _world(live: Live) -> tuple[AgentHandle, dict[str, str]]:
    """An admin, a template, a customer, a notification and a batch to ask about."""
    admin = await live.agent("ada", role=Role.ADMIN, online=False)
    await put_template(live, admin, "card_fraud_check", FRAUD_CHECK)
    dana = await customer(live, admin, [("sms", PHONE)])
    [notify, upload, *_] = _requests(dana, "", "")
    sent = await _send(live, notify, admin)
    assert sent.status_code == 201, sent.text
    uploaded = await _send(live, upload, admin)
    assert uploaded.status_code == 201, uploaded.text
    ids = {
        "customer_id": dana,
        "notification_id": sent.json()["id"],
        "batch_id": uploaded.json()["batch_id"],
    }
    return admin, ids


async def _notifications(live: Live, admin: AgentHandle) -> list[dict[str, Any]]:
    r = await live.http.get("/api/v1/notifications", headers=admin.headers)
    assert r.status_code == 200, r.text
    return list(r.json())


def _error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code, error
    return dict(error)


async def test_every_notifications_endpoint_asks_for_a_token(live: Live) -> None:
    _, ids = await _world(live)
    for request in _requests(**ids):
        r = await _send(live, request, None)
        assert r.status_code == 401, (request["method"], request["url"], r.text)
        assert r.headers["www-authenticate"] == "Bearer"


async def test_an_agent_may_not_use_any_notifications_endpoint(live: Live) -> None:
    admin, ids = await _world(live)
    before = [n["id"] for n in await _notifications(live, admin)]
    agent = await live.agent("andy", role=Role.AGENT)
    for request in _requests(**ids):
        r = await _send(live, request, agent)
        _error(r, 403, "forbidden")
    assert [n["id"] for n in await _notifications(live, admin)] == before


async def test_a_supervisor_sends_notifications_but_may_not_change_templates_or_the_policy(
    live: Live,
) -> None:
    admin, ids = await _world(live)
    supervisor = await live.agent("sue", role=Role.SUPERVISOR, online=False)
    policy = (await live.http.get("/api/v1/proactive/policy", headers=admin.headers)).json()
    refused = {
        "PUT /api/v1/proactive/policy",
        "PUT /api/v1/notification-templates/card_fraud_check",
    }
    for request in _requests(**ids):
        r = await _send(live, request, supervisor)
        if f"{request['method']} {request['url']}" in refused:
            _error(r, 403, "forbidden")
        else:
            assert r.status_code in (200, 201, 204), (request["url"], r.text)
    template = await live.http.get(
        "/api/v1/notification-templates/card_fraud_check", headers=admin.headers
    )
    assert template.json()["version"] == 1
    assert (await live.http.get("/api/v1/proactive/policy", headers=admin.headers)).json() == policy


async def test_a_template_with_mistakes_is_refused_with_all_of_them_and_nothing_is_stored(
    live: Live,
) -> None:
    admin = await live.agent("ada", role=Role.ADMIN, online=False)
    bad = {
        "purpose": "fraud_alert",
        "variables": [{"name": "Amount", "example": "$1"}],
        "variants": [{"language": "en", "text": "Did you spend {amount}?"}],
        "replies": [{"words": ["NO"], "action": "handoff"}],
        "expires_after_seconds": 5,
    }
    r = await live.http.put("/api/v1/notification-templates/fraud", json=bad, headers=admin.headers)
    error = _error(r, 422, "invalid_input")
    fields = {p["field"] for p in error["details"]["problems"]}
    assert fields >= {
        "variables[0].name",
        "variants[0].text",
        "replies[0].queue",
        "expires_after_seconds",
    }
    r = await live.http.get("/api/v1/notification-templates/fraud", headers=admin.headers)
    _error(r, 404, "unknown_template")
    r = await live.http.get("/api/v1/notification-templates", headers=admin.headers)
    assert r.json() == []


async def test_a_bad_replacement_leaves_the_template_as_it_was(live: Live) -> None:
    admin = await live.agent("ada", role=Role.ADMIN, online=False)
    await put_template(live, admin, "card_fraud_check", FRAUD_CHECK)
    worse = {**FRAUD_CHECK, "variants": [{"language": "en", "text": "Hi {nobody}"}]}
    r = await live.http.put(
        "/api/v1/notification-templates/card_fraud_check", json=worse, headers=admin.headers
    )
    _error(r, 422, "invalid_input")
    as_other = {**FRAUD_CHECK, "purpose": "reminder", "expires_after_seconds": None}
    r = await live.http.put(
        "/api/v1/notification-templates/card_fraud_check", json=as_other, headers=admin.headers
    )
    assert _error(r, 422, "invalid_input")["details"]["field"] == "purpose"
    r = await live.http.put(
        "/api/v1/notification-templates/card_fraud_check",
        json={**FRAUD_CHECK, "name": "other"},
        headers=admin.headers,
    )
    assert _error(r, 422, "invalid_input")["details"]["field"] == "name"
    stored = await live.http.get(
        "/api/v1/notification-templates/card_fraud_check", headers=admin.headers
    )
    assert stored.json()["version"] == 1
    assert stored.json()["template"]["variants"][0]["text"].startswith("Acme Bank: did you")


@pytest.mark.parametrize(
    "bad",
    [
        [1, 2],
        "policy",
        {"window": "21:00-08:00x", "caps": [{"purpose": "gossip", "limit": 0}]},
        {"reply_window_seconds": 5, "fallback": ["carrier_pigeon"]},
        {"windows_by_purpose": {"collections": "07:00-22:00"}},
        {"windw": "08:00-21:00"},
    ],
)
async def test_a_bad_policy_is_refused_and_the_one_in_force_stays(live: Live, bad: Any) -> None:
    admin = await live.agent("ada", role=Role.ADMIN, online=False)
    await put_policy(live, admin, {"reply_window_seconds": 3600})
    r = await live.http.put("/api/v1/proactive/policy", json=bad, headers=admin.headers)
    # Not an object: the schema refuses it before the policy's own checks.
    error = _error(r, 422, "invalid_input" if isinstance(bad, dict) else "validation_error")
    if isinstance(bad, dict):
        listed = {p["field"].split(".")[0].split("[")[0] for p in error["details"]["problems"]}
        assert listed == {k.removesuffix("x") for k in bad}
    policy = (await live.http.get("/api/v1/proactive/policy", headers=admin.headers)).json()
    assert policy["reply_window_seconds"] == 3600
    assert policy["window"] == "08:00-21:00"


async def test_an_unknown_template_is_a_404_everywhere_it_is_named(live: Live) -> None:
    admin = await live.agent("ada", role=Role.ADMIN, online=False)
    dana = await customer(live, admin, [("sms", PHONE)])
    r = await live.http.get("/api/v1/notification-templates/nope", headers=admin.headers)
    _error(r, 404, "unknown_template")
    r = await live.http.post(
        "/api/v1/notifications",
        json={"template": "nope", "customer_id": dana},
        headers=admin.headers,
    )
    _error(r, 404, "unknown_template")
    r = await live.http.post(
        "/api/v1/notifications/batches?template=nope",
        content=f"customer_id\n{dana}\n",
        headers={**admin.headers, "content-type": "text/csv"},
    )
    _error(r, 404, "unknown_template")
    assert await _notifications(live, admin) == []


@pytest.mark.parametrize(
    ("template", "fields", "field"),
    [
        # Nobody has this id.
        ("card_fraud_check", {"customer_id": str(uuid.uuid4())}, "customer_id"),
        # Nobody has this address.
        (
            "card_fraud_check",
            {"customer_id": None, "identity": {"channel": "sms", "address": "+15550000000"}},
            "channel_address",
        ),
        # A variable missing, another one undeclared, one too long.
        ("card_fraud_check", {"variables": {"amount": "$1.00"}}, "variables.merchant"),
        (
            "card_fraud_check",
            {"variables": {"amount": "$1", "merchant": "A", "pin": "1234"}},
            "variables.pin",
        ),
        (
            "card_fraud_check",
            {"variables": {"amount": "$1" * 20, "merchant": "A"}},
            "variables.amount",
        ),
        # Regulation F's limits are per debt: a collections notification names it.
        ("collections", {"variables": {"balance": "$1"}}, "debt_reference"),
        # Not a time with an offset, not a zone, not a channel notifications go on.
        ("card_fraud_check", {"send_at": "2026-03-02T10:00:00"}, "send_at"),
        ("card_fraud_check", {"timezone": "Mars/Olympus"}, "timezone"),
        ("card_fraud_check", {"channel": "web"}, "channel"),
    ],
)
async def test_a_bad_notification_request_is_refused_naming_the_field_and_creates_nothing(
    live: Live, template: str, fields: dict[str, Any], field: str
) -> None:
    admin = await live.agent("ada", role=Role.ADMIN, online=False)
    await put_template(live, admin, "card_fraud_check", FRAUD_CHECK)
    await put_template(live, admin, "collections", COLLECTIONS)
    dana = await customer(live, admin, [("sms", PHONE)])
    body = {
        "template": template,
        "customer_id": dana,
        "variables": {"amount": "$1.00", "merchant": "ACME"},
        **fields,
    }
    body = {k: v for k, v in body.items() if v is not None}
    r = await live.http.post("/api/v1/notifications", json=body, headers=admin.headers)
    assert r.status_code == 422, r.text
    details = r.json()["error"]["details"]
    named = [details.get("field")] + [e["loc"][-1] for e in details.get("errors", [])]
    assert field in named or field.split(".")[-1] in named, details
    assert await _notifications(live, admin) == []
    r = await live.http.get("/api/v1/notifications/decisions", headers=admin.headers)
    assert r.json() == []


async def test_repeating_a_notification_under_its_reference_answers_with_the_first_one(
    live: Live,
) -> None:
    admin = await live.agent("ada", role=Role.ADMIN, online=False)
    await put_template(live, admin, "card_fraud_check", FRAUD_CHECK)
    dana = await customer(live, admin, [("sms", PHONE)])
    body = {
        "template": "card_fraud_check",
        "customer_id": dana,
        "variables": {"amount": "$1.00", "merchant": "ACME"},
        "reference": "alert-1",
    }
    first = await live.http.post("/api/v1/notifications", json=body, headers=admin.headers)
    assert first.status_code == 201, first.text
    again = await live.http.post("/api/v1/notifications", json=body, headers=admin.headers)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["reference"] == "alert-1"
    [only] = await _notifications(live, admin)
    assert only["id"] == first.json()["id"]
    other = await live.http.post(
        "/api/v1/notifications", json={**body, "reference": "alert-2"}, headers=admin.headers
    )
    assert other.status_code == 201, other.text
    assert len(await _notifications(live, admin)) == 2


@pytest.mark.parametrize("debt", ["\x00", "   ", "D-1\nD-2"])
async def test_a_debt_conversation_needs_a_printable_debt_reference(live: Live, debt: str) -> None:
    admin = await live.agent("ada", role=Role.ADMIN, online=False)
    dana = await customer(live, admin, [("sms", PHONE)])
    r = await live.http.post(
        f"/api/v1/customers/{dana}/debt-conversations",
        json={"debt_reference": debt},
        headers=admin.headers,
    )
    assert _error(r, 422, "invalid_input")["details"]["field"] == "debt_reference"


async def test_a_name_no_template_can_have_is_simply_unknown(live: Live) -> None:
    admin = await live.agent("ada", role=Role.ADMIN, online=False)
    dana = await customer(live, admin, [("sms", PHONE)])
    for name in ["\x00", "a b", "é", "../x"]:
        r = await live.http.post(
            "/api/v1/notifications",
            json={"template": name, "customer_id": dana},
            headers=admin.headers,
        )
        _error(r, 404, "unknown_template")
    r = await live.http.get("/api/v1/notification-templates/%00", headers=admin.headers)
    _error(r, 404, "unknown_template")


async def test_a_reference_already_used_for_another_notification_is_refused(
    live: Live,
) -> None:
    admin = await live.agent("ada", role=Role.ADMIN, online=False)
    await put_template(live, admin, "card_fraud_check", FRAUD_CHECK)
    await put_template(live, admin, "collections", COLLECTIONS)
    dana = await customer(live, admin, [("sms", PHONE)])
    eli = await customer(live, admin, [("sms", "+15550000009")])
    body = {
        "template": "card_fraud_check",
        "customer_id": dana,
        "variables": {"amount": "$1.00", "merchant": "ACME"},
        "reference": "order-1",
    }
    first = await live.http.post("/api/v1/notifications", json=body, headers=admin.headers)
    assert first.status_code == 201, first.text
    for other in [
        {**body, "customer_id": eli},
        {
            "template": "collections",
            "customer_id": dana,
            "variables": {"balance": "$5"},
            "debt_reference": "D-1",
            "reference": "order-1",
        },
    ]:
        r = await live.http.post("/api/v1/notifications", json=other, headers=admin.headers)
        error = _error(r, 409, "reference_in_use")
        assert error["details"]["field"] == "reference"
        assert first.json()["id"] in error["message"]
    # In an upload, the row is reported and the others proceed.
    csv = f"customer_id,reference,amount,merchant\n{eli},order-1,$1,A\n{eli},order-2,$1,A\n"
    r = await live.http.post(
        "/api/v1/notifications/batches?template=card_fraud_check",
        content=csv,
        headers={**admin.headers, "content-type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [(2, "reference")]
    assert (r.json()["created"], r.json()["existing"]) == (1, 0)
    mine = {n["reference"]: n["customer_id"] for n in await _notifications(live, admin)}
    assert mine == {"order-1": dana, "order-2": eli}


async def test_an_unknown_template_is_answered_with_the_closest_name_when_there_is_one(
    live: Live,
) -> None:
    admin = await live.agent("ada", role=Role.ADMIN, online=False)
    await put_template(live, admin, "card_fraud_check", FRAUD_CHECK)
    await put_template(live, admin, "collections", COLLECTIONS)
    dana = await customer(live, admin, [("sms", PHONE)])
    body = {"customer_id": dana, "variables": {"amount": "$1.00", "merchant": "ACME"}}
    for name, near in [("card_fraud_chek", "card_fraud_check"), ("Collections", "collections")]:
        r = await live.http.post(
            "/api/v1/notifications", json={**body, "template": name}, headers=admin.headers
        )
        error = _error(r, 404, "unknown_template")
        assert error["message"].endswith(f"; did you mean {near!r}?"), error
        assert error["details"] == {"suggestion": near}
        r = await live.http.get(f"/api/v1/notification-templates/{name}", headers=admin.headers)
        assert _error(r, 404, "unknown_template")["details"] == {"suggestion": near}
    r = await live.http.post(
        "/api/v1/notifications", json={**body, "template": "welcome"}, headers=admin.headers
    )
    error = _error(r, 404, "unknown_template")
    assert (error["message"], error["details"]) == ("no notification template named 'welcome'", {})
    assert await _notifications(live, admin) == []


async def test_a_misspelt_variable_is_refused_with_the_variable_it_stands_for(
    live: Live,
) -> None:
    admin = await live.agent("ada", role=Role.ADMIN, online=False)
    await put_template(live, admin, "card_fraud_check", FRAUD_CHECK)
    dana = await customer(live, admin, [("sms", PHONE)])
    body = {
        "template": "card_fraud_check",
        "customer_id": dana,
        "variables": {"amount": "$1.00", "merchnat": "ACME", "pin": "1234"},
    }
    r = await live.http.post("/api/v1/notifications", json=body, headers=admin.headers)
    error = _error(r, 422, "invalid_input")
    assert error["message"] == (
        "variables.merchnat: 'merchnat' is not a variable of template 'card_fraud_check'; "
        "did you mean 'merchant'?"
    )
    details = error["details"]
    assert (details["field"], details["suggestion"]) == ("variables.merchnat", "merchant")
    # Every problem of the request, each under its own field; merchant is not also missing.
    assert [(p["field"], p.get("suggestion")) for p in details["problems"]] == [
        ("variables.merchnat", "merchant"),
        ("variables.pin", None),
    ]
    assert await _notifications(live, admin) == []
