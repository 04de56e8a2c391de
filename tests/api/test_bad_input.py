"""Bad input through real HTTP: every refusal is a clear 4xx with a machine-readable body,
{"error": {"code", "message", "details"}}, and changes nothing.

"Changes nothing" is checked on the event log's head (every write that matters records an
event) and, where a use case records no event (customers, identities, tokens), on the data
the refused request would have touched. Duplicate external ids are covered in
test_channel_api.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.live import PASSWORD, AgentHandle, InboxHandle, Live, new_id
from threadline.core.agents import Role

LIMIT = 64 * 1024  # Settings.max_body_bytes default
TOKEN_TTL = 12 * 3600  # Settings.token_ttl_hours default, in seconds
JSON = {"content-type": "application/json"}


# -- helpers -----------------------------------------------------------------------


def error_of(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert the documented error shape and return the `error` object."""
    where = f"{r.request.method} {r.request.url.path}"
    assert r.status_code == status, (
        f"{where}: expected {status} {code}, got {r.status_code}: {r.text}"
    )
    assert r.headers["content-type"].startswith("application/json"), f"{where}: {r.headers}"
    body = r.json()
    assert set(body) == {"error"}, f"{where}: {body}"
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, f"{where}: {body}"
    assert error["code"] == code, f"{where}: expected code {code!r}: {body}"
    assert isinstance(error["message"], str), f"{where}: {body}"
    assert error["message"], f"{where}: {body}"
    assert isinstance(error["details"], dict), f"{where}: {body}"
    return dict(error)


def validation_locs(r: httpx.Response) -> list[tuple[Any, ...]]:
    """422 validation_error, and where each problem is, e.g. ("body", "text")."""
    error = error_of(r, 422, "validation_error")
    problems = error["details"]["errors"]
    assert problems, error
    for problem in problems:
        assert set(problem) == {"loc", "type", "msg"}, problem
    return [tuple(p["loc"]) for p in problems]


def unauthenticated(r: httpx.Response) -> dict[str, Any]:
    error = error_of(r, 401, "unauthenticated")
    assert r.headers.get("www-authenticate") == "Bearer", r.headers
    return error


@contextlib.asynccontextmanager
async def changes_nothing(live: Live) -> AsyncIterator[None]:
    head = await live.event_head()
    yield
    assert await live.event_head() == head, "a refused request wrote to the event log"


@dataclass
class Desk:
    admin: AgentHandle
    sup: AgentHandle
    agent: AgentHandle
    inbox: InboxHandle
    conversation_id: str
    customer_id: str
    inbound_message_id: str
    outbound_message_id: str


async def desk(live: Live) -> Desk:
    """An admin, a supervisor, an agent serving one conversation with a reply pending."""
    admin = await live.agent("ada", role=Role.ADMIN, online=False)
    sup = await live.agent("sue", role=Role.SUPERVISOR, online=False)
    agent = await live.agent("alice")
    inbox = await live.inbox("Web")
    said = await live.customer_says(inbox, "cust-1", "Hello")
    assert said["assigned_agent_id"] == agent.id
    sent = await live.reply(agent, said["conversation_id"], "Hi, how can I help?")
    return Desk(
        admin=admin,
        sup=sup,
        agent=agent,
        inbox=inbox,
        conversation_id=said["conversation_id"],
        customer_id=said["customer_id"],
        inbound_message_id=said["message_id"],
        outbound_message_id=sent["id"],
    )


def agent_endpoints(d: Desk) -> list[tuple[str, str, Any]]:
    """Every AgentToken operation, with real ids and a valid body: only the token is wrong."""
    return [
        ("POST", "/api/v1/auth/logout", None),
        ("GET", "/api/v1/me", None),
        ("GET", "/api/v1/agents", None),
        ("POST", "/api/v1/agents", {"username": "zed", "password": "long enough"}),
        ("GET", f"/api/v1/agents/{d.agent.id}", None),
        ("PATCH", f"/api/v1/agents/{d.agent.id}", {"display_name": "Zed"}),
        ("PUT", f"/api/v1/agents/{d.agent.id}/status", {"status": "away"}),
        ("GET", "/api/v1/customers", None),
        ("POST", "/api/v1/customers", {"display_name": "Zed"}),
        ("GET", f"/api/v1/customers/{d.customer_id}", None),
        (
            "POST",
            f"/api/v1/customers/{d.customer_id}/identities",
            {"channel": "sms", "address": "+15550001111"},
        ),
        ("GET", "/api/v1/conversations", None),
        ("GET", f"/api/v1/conversations/{d.conversation_id}", None),
        ("POST", f"/api/v1/conversations/{d.conversation_id}/messages", {"text": "hi"}),
        ("POST", f"/api/v1/conversations/{d.conversation_id}/close", None),
        ("POST", f"/api/v1/conversations/{d.conversation_id}/transfer", {"to_queue": "billing"}),
        ("GET", "/api/v1/inboxes", None),
        ("POST", "/api/v1/inboxes", {"name": "Shop"}),
        ("POST", f"/api/v1/inboxes/{d.inbox.id}/rotate-token", None),
    ]


def inbox_endpoints(d: Desk) -> list[tuple[str, str, Any]]:
    return [
        ("POST", "/api/v1/channel/messages", {"customer": {"address": "cust-2"}, "text": "hi"}),
        ("GET", "/api/v1/channel/outbound", None),
        ("POST", f"/api/v1/channel/outbound/{d.outbound_message_id}/status", {"status": "sent"}),
    ]


async def call(
    live: Live, method: str, path: str, body: Any, headers: dict[str, str] | None
) -> httpx.Response:
    return await live.http.request(method, path, json=body, headers=headers)


async def customer_count(live: Live, admin: AgentHandle) -> int:
    r = await live.http.get("/api/v1/customers", params={"limit": 200}, headers=admin.headers)
    assert r.status_code == 200, r.text
    return len(r.json())


# -- auth / login ------------------------------------------------------------------


async def test_login_with_malformed_json_is_400_malformed_json(live: Live) -> None:
    for raw in (b'{"username": "ada", "password": ', b"username=ada", b"{'username': 'ada'}"):
        r = await live.http.post("/api/v1/auth/login", content=raw, headers=JSON)
        error = error_of(r, 400, "malformed_json")
        assert error["details"]["errors"][0]["type"] == "json_invalid"


async def test_login_with_missing_mistyped_or_unknown_fields_is_422_naming_each(
    live: Live,
) -> None:
    r = await live.http.post("/api/v1/auth/login", json={"username": "ada"})
    assert validation_locs(r) == [("body", "password")]

    r = await live.http.post("/api/v1/auth/login", json={"username": 42, "password": ["x"]})
    assert sorted(validation_locs(r)) == [("body", "password"), ("body", "username")]

    r = await live.http.post(
        "/api/v1/auth/login", json={"username": "ada", "password": PASSWORD, "remember": True}
    )
    assert validation_locs(r) == [("body", "remember")]

    r = await live.http.post("/api/v1/auth/login", json={"username": "", "password": PASSWORD})
    assert validation_locs(r) == [("body", "username")]


async def test_wrong_credentials_are_401_with_a_challenge_and_no_hint_which_part(
    live: Live,
) -> None:
    await live.agent("ada", role=Role.ADMIN, online=False)
    async with changes_nothing(live):
        wrong_password = await live.http.post(
            "/api/v1/auth/login", json={"username": "ada", "password": "not the password"}
        )
        unknown_user = await live.http.post(
            "/api/v1/auth/login", json={"username": "nobody", "password": PASSWORD}
        )
    assert unauthenticated(wrong_password) == unauthenticated(unknown_user)
    assert "token" not in wrong_password.text


# -- tokens ------------------------------------------------------------------------


async def test_every_endpoint_without_a_token_is_401_with_a_challenge_and_changes_nothing(
    live: Live,
) -> None:
    d = await desk(live)
    async with changes_nothing(live):
        for method, path, body in agent_endpoints(d) + inbox_endpoints(d):
            unauthenticated(await call(live, method, path, body, None))
            # An empty bearer and another scheme are no token either.
            unauthenticated(await call(live, method, path, body, {"Authorization": "Bearer"}))
            unauthenticated(
                await call(live, method, path, body, {"Authorization": "Basic YWRhOnB3"})
            )


async def test_every_endpoint_with_an_unknown_or_wrong_kind_of_token_is_401(live: Live) -> None:
    d = await desk(live)
    customers = await customer_count(live, d.admin)
    bad_tokens = [
        "tl_agent_not-a-real-token",
        "x" * 201,  # longer than any token we issue
        "'; DROP TABLE agents; --",
    ]
    async with changes_nothing(live):
        for method, path, body in agent_endpoints(d):
            for token in [*bad_tokens, d.inbox.token]:
                headers = {"Authorization": f"Bearer {token}"}
                unauthenticated(await call(live, method, path, body, headers))
        for method, path, body in inbox_endpoints(d):
            for token in [*bad_tokens, d.admin.token]:
                headers = {"Authorization": f"Bearer {token}"}
                unauthenticated(await call(live, method, path, body, headers))
    assert await customer_count(live, d.admin) == customers


async def test_an_agent_token_expires_after_its_ttl(live: Live) -> None:
    ada = await live.agent("ada", role=Role.ADMIN, online=False)
    live.clock.advance(TOKEN_TTL - 60)
    assert (await live.http.get("/api/v1/me", headers=ada.headers)).status_code == 200

    live.clock.advance(61)

    async with changes_nothing(live):
        error = unauthenticated(await live.http.get("/api/v1/me", headers=ada.headers))
        unauthenticated(
            await live.http.post("/api/v1/inboxes", json={"name": "Shop"}, headers=ada.headers)
        )
    assert error["message"] == "invalid or expired token"
    again = await live.http.post(
        "/api/v1/auth/login", json={"username": "ada", "password": PASSWORD}
    )
    assert again.status_code == 200, again.text
    me = await live.http.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {again.json()['token']}"}
    )
    assert me.status_code == 200


async def test_a_logged_out_token_is_401(live: Live) -> None:
    ada = await live.agent("ada", role=Role.ADMIN, online=False)
    r = await live.http.post("/api/v1/auth/logout", headers=ada.headers)
    assert r.status_code == 204

    unauthenticated(await live.http.get("/api/v1/me", headers=ada.headers))
    unauthenticated(await live.http.post("/api/v1/auth/logout", headers=ada.headers))


async def test_a_rotated_inbox_token_is_401(live: Live) -> None:
    d = await desk(live)
    rotated = await live.http.post(
        f"/api/v1/inboxes/{d.inbox.id}/rotate-token", headers=d.admin.headers
    )
    assert rotated.status_code == 200, rotated.text

    async with changes_nothing(live):
        r = await live.http.post(
            "/api/v1/channel/messages",
            json={"customer": {"address": "cust-1"}, "text": "still there?"},
            headers=d.inbox.headers,
        )
    unauthenticated(r)


# -- roles -------------------------------------------------------------------------


async def test_an_agent_is_forbidden_supervisor_and_admin_operations_and_changes_nothing(
    live: Live,
) -> None:
    d = await desk(live)
    customers = await customer_count(live, d.admin)
    refused = [
        ("GET", "/api/v1/agents", None),
        ("POST", "/api/v1/agents", {"username": "zed", "password": "long enough"}),
        ("GET", f"/api/v1/agents/{d.sup.id}", None),
        ("PATCH", f"/api/v1/agents/{d.agent.id}", {"role": "admin"}),
        ("PUT", f"/api/v1/agents/{d.sup.id}/status", {"status": "online"}),
        ("GET", "/api/v1/customers", None),
        ("POST", "/api/v1/customers", {"display_name": "Zed"}),
        (
            "POST",
            f"/api/v1/customers/{d.customer_id}/identities",
            {"channel": "sms", "address": "+15550001111"},
        ),
        ("GET", "/api/v1/inboxes", None),
        ("POST", "/api/v1/inboxes", {"name": "Shop"}),
        ("POST", f"/api/v1/inboxes/{d.inbox.id}/rotate-token", None),
    ]
    async with changes_nothing(live):
        for method, path, body in refused:
            error_of(await call(live, method, path, body, d.agent.headers), 403, "forbidden")
    assert await customer_count(live, d.admin) == customers
    me = (await live.http.get("/api/v1/me", headers=d.agent.headers)).json()
    assert me["role"] == "agent"
    # The inbox token was not rotated.
    pending = await live.http.get("/api/v1/channel/outbound", headers=d.inbox.headers)
    assert pending.status_code == 200


async def test_a_supervisor_is_forbidden_admin_only_operations(live: Live) -> None:
    d = await desk(live)
    refused = [
        ("POST", "/api/v1/agents", {"username": "zed", "password": "long enough"}),
        ("PATCH", f"/api/v1/agents/{d.agent.id}", {"max_load": 9}),
        ("PATCH", f"/api/v1/agents/{d.sup.id}", {"role": "admin"}),
        ("POST", "/api/v1/inboxes", {"name": "Shop"}),
        ("POST", f"/api/v1/inboxes/{d.inbox.id}/rotate-token", None),
    ]
    async with changes_nothing(live):
        for method, path, body in refused:
            error_of(await call(live, method, path, body, d.sup.headers), 403, "forbidden")


async def test_an_agent_cannot_close_or_transfer_a_queued_conversation_they_do_not_hold(
    live: Live,
) -> None:
    inbox = await live.inbox("Web")
    bob = await live.agent("bob", online=False)  # sees the general queue, holds nothing
    said = await live.customer_says(inbox, "cust-1", "Hello?")
    assert said["state"] == "queued"
    conv = f"/api/v1/conversations/{said['conversation_id']}"

    async with changes_nothing(live):
        error_of(await live.http.post(f"{conv}/close", headers=bob.headers), 403, "forbidden")
        r = await live.http.post(
            f"{conv}/transfer", json={"to_queue": "billing"}, headers=bob.headers
        )
        error_of(r, 403, "forbidden")
        r = await live.http.post(f"{conv}/messages", json={"text": "hi"}, headers=bob.headers)
        error_of(r, 409, "invalid_transition")


async def test_an_admin_cannot_remove_their_own_admin_role(live: Live) -> None:
    ada = await live.agent("ada", role=Role.ADMIN, online=False)
    async with changes_nothing(live):
        r = await live.http.patch(
            f"/api/v1/agents/{ada.id}", json={"role": "agent"}, headers=ada.headers
        )
    error_of(r, 409, "self_demotion")
    assert (await live.http.get("/api/v1/me", headers=ada.headers)).json()["role"] == "admin"


# -- agents ------------------------------------------------------------------------


async def test_creating_an_agent_from_bad_json_is_refused_and_changes_nothing(
    live: Live,
) -> None:
    ada = await live.agent("ada", role=Role.ADMIN, online=False)
    h = ada.headers
    async with changes_nothing(live):
        r = await live.http.post(
            "/api/v1/agents", content=b'{"username": "zed",', headers={**h, **JSON}
        )
        error_of(r, 400, "malformed_json")

        r = await live.http.post("/api/v1/agents", json={"username": "zed"}, headers=h)
        assert validation_locs(r) == [("body", "password")]

        r = await live.http.post(
            "/api/v1/agents",
            json={
                "username": 7,
                "password": True,
                "role": "root",
                "skills": "general",
                "preferred_concurrency": "three",
            },
            headers=h,
        )
        assert set(validation_locs(r)) == {
            ("body", "username"),
            ("body", "password"),
            ("body", "role"),
            ("body", "skills"),
            ("body", "preferred_concurrency"),
        }

        r = await live.http.post(
            "/api/v1/agents",
            json={"username": "zed", "password": "long enough", "is_superuser": True},
            headers=h,
        )
        assert validation_locs(r) == [("body", "is_superuser")]

        r = await live.http.post(
            "/api/v1/agents",
            json={"username": "zed", "password": "long enough", "skills": ["no spaces"]},
            headers=h,
        )
        assert validation_locs(r) == [("body", "skills", 0)]
    agents = (await live.http.get("/api/v1/agents", headers=h)).json()
    assert [a["username"] for a in agents] == ["ada"]


async def test_agent_concurrency_limits_out_of_range_are_422(live: Live) -> None:
    ada = await live.agent("ada", role=Role.ADMIN, online=False)
    base = {"username": "zed", "password": "long enough"}
    async with changes_nothing(live):
        for limits, field in [
            ({"preferred_concurrency": 0}, "preferred_concurrency"),
            ({"max_load": 51}, "max_load"),
            ({"preferred_concurrency": -3}, "preferred_concurrency"),
        ]:
            r = await live.http.post("/api/v1/agents", json={**base, **limits}, headers=ada.headers)
            assert validation_locs(r) == [("body", field)]

        r = await live.http.post(
            "/api/v1/agents",
            json={**base, "preferred_concurrency": 5, "max_load": 2},
            headers=ada.headers,
        )
        error = error_of(r, 422, "invalid_input")
        assert error["details"] == {"field": "max_load"}

        r = await live.http.patch(
            f"/api/v1/agents/{ada.id}", json={"preferred_concurrency": 9}, headers=ada.headers
        )
        assert error_of(r, 422, "invalid_input")["details"] == {"field": "max_load"}
    me = (await live.http.get("/api/v1/me", headers=ada.headers)).json()
    assert (me["preferred_concurrency"], me["max_load"]) == (2, 4)


async def test_a_duplicate_username_is_409_username_taken_and_changes_nothing(
    live: Live,
) -> None:
    ada = await live.agent("ada", role=Role.ADMIN, online=False)
    await live.agent("alice")
    async with changes_nothing(live):
        for username in ("alice", "ALICE", " Alice "):
            r = await live.http.post(
                "/api/v1/agents",
                json={"username": username, "password": "another password"},
                headers=ada.headers,
            )
            error_of(r, 409, "username_taken")
    # The original keeps their password.
    r = await live.http.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 200


async def test_agent_ids_that_are_not_uuids_are_422_and_unknown_ones_404(live: Live) -> None:
    ada = await live.agent("ada", role=Role.ADMIN, online=False)
    async with changes_nothing(live):
        for agent_id, check in [("not-a-uuid", "422"), ("123", "422"), (new_id(), "404")]:
            for method, suffix, body in [
                ("GET", "", None),
                ("PATCH", "", {"display_name": "Zed"}),
                ("PUT", "/status", {"status": "online"}),
            ]:
                r = await call(
                    live, method, f"/api/v1/agents/{agent_id}{suffix}", body, ada.headers
                )
                if check == "422":
                    assert validation_locs(r) == [("path", "agent_id")]
                else:
                    assert error_of(r, 404, "not_found")["details"] == {"agent_id": agent_id}


async def test_an_unknown_agent_status_is_422_and_changes_nothing(live: Live) -> None:
    alice = await live.agent("alice")
    async with changes_nothing(live):
        for status in ("busy", "ONLINE", "", None, 1):
            r = await live.http.put(
                f"/api/v1/agents/{alice.id}/status", json={"status": status}, headers=alice.headers
            )
            assert validation_locs(r) == [("body", "status")]
        r = await live.http.put(
            f"/api/v1/agents/{alice.id}/status",
            content=b"online",
            headers={**alice.headers, **JSON},
        )
        error_of(r, 400, "malformed_json")
    assert (await live.http.get("/api/v1/me", headers=alice.headers)).json()["status"] == "online"


# -- customers ---------------------------------------------------------------------


async def test_creating_a_customer_with_bad_fields_is_422_and_creates_nothing(
    live: Live,
) -> None:
    sue = await live.agent("sue", role=Role.SUPERVISOR, online=False)
    h = sue.headers
    cases: list[tuple[dict[str, Any], tuple[Any, ...] | str]] = [
        (
            {"identities": [{"channel": "fax", "address": "123"}]},
            ("body", "identities", 0, "channel"),
        ),
        ({"identities": [{"channel": "sms"}]}, ("body", "identities", 0, "address")),
        ({"identities": {"channel": "sms", "address": "1"}}, ("body", "identities")),
        (
            {"identities": [{"channel": "sms", "address": f"+1{i}"} for i in range(21)]},
            ("body", "identities"),
        ),
        ({"display_name": "x" * 129}, ("body", "display_name")),
        ({"preferred_channel": "pigeon"}, ("body", "preferred_channel")),
        ({"vip": True}, ("body", "vip")),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"identities": [{"channel": "sms", "address": "has space"}]}, "address"),
    ]
    async with changes_nothing(live):
        for body, where in cases:
            r = await live.http.post("/api/v1/customers", json=body, headers=h)
            if isinstance(where, str):
                assert error_of(r, 422, "invalid_input")["details"] == {"field": where}, body
            else:
                assert validation_locs(r) == [where], body
    assert await customer_count(live, sue) == 0


async def test_an_identity_owned_by_another_customer_is_409_identity_taken_and_changes_nothing(
    live: Live,
) -> None:
    sue = await live.agent("sue", role=Role.SUPERVISOR, online=False)
    h = sue.headers
    first = await live.http.post(
        "/api/v1/customers",
        json={
            "display_name": "First",
            "identities": [{"channel": "sms", "address": "+15550001234"}],
        },
        headers=h,
    )
    second = await live.http.post("/api/v1/customers", json={"display_name": "Second"}, headers=h)
    assert first.status_code == second.status_code == 201

    async with changes_nothing(live):
        r = await live.http.post(
            "/api/v1/customers",
            json={
                "display_name": "Third",
                "identities": [
                    {"channel": "web", "address": "new-one"},
                    {"channel": "sms", "address": "+15550001234"},
                ],
            },
            headers=h,
        )
        error = error_of(r, 409, "identity_taken")
        assert error["details"] == {"customer_id": first.json()["id"]}

        r = await live.http.post(
            f"/api/v1/customers/{second.json()['id']}/identities",
            json={"channel": "sms", "address": "+15550001234"},
            headers=h,
        )
        assert error_of(r, 409, "identity_taken")["details"] == {"customer_id": first.json()["id"]}

    everyone = {
        c["display_name"]: c["identities"]
        for c in (await live.http.get("/api/v1/customers", headers=h)).json()
    }
    assert everyone == {"First": [{"channel": "sms", "address": "+15550001234"}], "Second": []}
    # The half-created third customer's other identity was not kept either.
    found = (await live.http.get("/api/v1/customers", params={"q": "new-one"}, headers=h)).json()
    assert found == []


async def test_customer_ids_that_are_not_uuids_are_422_and_unknown_ones_404(live: Live) -> None:
    sue = await live.agent("sue", role=Role.SUPERVISOR, online=False)
    unknown = new_id()
    async with changes_nothing(live):
        r = await live.http.get("/api/v1/customers/42", headers=sue.headers)
        assert validation_locs(r) == [("path", "customer_id")]
        r = await live.http.post(
            "/api/v1/customers/42/identities",
            json={"channel": "sms", "address": "1"},
            headers=sue.headers,
        )
        assert validation_locs(r) == [("path", "customer_id")]

        r = await live.http.get(f"/api/v1/customers/{unknown}", headers=sue.headers)
        assert error_of(r, 404, "not_found")["details"] == {"customer_id": unknown}
        r = await live.http.post(
            f"/api/v1/customers/{unknown}/identities",
            json={"channel": "sms", "address": "1"},
            headers=sue.headers,
        )
        assert error_of(r, 404, "not_found")["details"] == {"customer_id": unknown}
    assert await customer_count(live, sue) == 0


async def test_customer_search_parameters_out_of_range_are_422(live: Live) -> None:
    sue = await live.agent("sue", role=Role.SUPERVISOR, online=False)
    for params, name in [
        ({"q": "x" * 129}, "q"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 1_000_001}, "offset"),
    ]:
        r = await live.http.get("/api/v1/customers", params=params, headers=sue.headers)
        assert validation_locs(r) == [("query", name)], params


# -- conversations -----------------------------------------------------------------


async def test_a_reply_with_bad_text_is_refused_and_changes_nothing(live: Live) -> None:
    d = await desk(live)
    url = f"/api/v1/conversations/{d.conversation_id}/messages"
    h = d.agent.headers
    before = await live.conversation(d.agent, d.conversation_id)

    async with changes_nothing(live):
        for body in ({"text": "x" * 4097}, {"text": ""}, {"text": 12}, {}, {"text": ["hi"]}):
            assert validation_locs(await live.http.post(url, json=body, headers=h)) == [
                ("body", "text")
            ], body
        r = await live.http.post(url, json={"text": "hi", "attachments": []}, headers=h)
        assert validation_locs(r) == [("body", "attachments")]
        r = await live.http.post(url, json={"text": "   \n\t "}, headers=h)
        assert error_of(r, 422, "invalid_input")["details"] == {"field": "text"}
        r = await live.http.post(url, json={"text": "nul \x00 inside"}, headers=h)
        assert validation_locs(r) == [("body", "text")]
        r = await live.http.post(url, content=b'{"text": "hi"', headers={**h, **JSON})
        error_of(r, 400, "malformed_json")

    assert await live.conversation(d.agent, d.conversation_id) == before
    # The limit is exactly 4096 characters.
    assert (await live.http.post(url, json={"text": "x" * 4096}, headers=h)).status_code == 201


async def test_conversation_ids_that_are_not_uuids_are_422_and_unknown_ones_404(
    live: Live,
) -> None:
    d = await desk(live)
    unknown = new_id()
    operations = [
        ("GET", "", None),
        ("POST", "/messages", {"text": "hi"}),
        ("POST", "/close", None),
        ("POST", "/transfer", {"to_queue": "billing"}),
    ]
    async with changes_nothing(live):
        for method, suffix, body in operations:
            path = f"/api/v1/conversations/{d.conversation_id[:-1]}{suffix}"
            r = await call(live, method, path, body, d.admin.headers)
            assert validation_locs(r) == [("path", "conversation_id")]

            r = await call(
                live, method, f"/api/v1/conversations/{unknown}{suffix}", body, d.sup.headers
            )
            assert error_of(r, 404, "not_found")["details"] == {"conversation_id": unknown}


async def test_a_transfer_to_a_bad_target_is_refused_and_changes_nothing(live: Live) -> None:
    d = await desk(live)
    offline = await live.agent("otto", online=False)
    url = f"/api/v1/conversations/{d.conversation_id}/transfer"
    h = d.sup.headers
    unknown = new_id()
    before = await live.conversation(d.sup, d.conversation_id)

    async with changes_nothing(live):
        for body in ({}, {"to_agent_id": offline.id, "to_queue": "billing"}):
            error_of(await live.http.post(url, json=body, headers=h), 422, "invalid_input")
        for body, loc in [
            ({"to_agent_id": "otto"}, ("body", "to_agent_id")),
            ({"to_queue": "no spaces"}, ("body", "to_queue")),
            ({"to_queue": ""}, ("body", "to_queue")),
            ({"to_queue": "general", "priority": 1}, ("body", "priority")),
        ]:
            assert validation_locs(await live.http.post(url, json=body, headers=h)) == [loc]
        r = await live.http.post(url, json={"to_agent_id": unknown}, headers=h)
        assert error_of(r, 404, "not_found")["details"] == {"agent_id": unknown}
        r = await live.http.post(url, json={"to_agent_id": offline.id}, headers=h)
        error_of(r, 409, "agent_unavailable")
        r = await live.http.post(url, json={"to_agent_id": d.agent.id}, headers=h)
        error_of(r, 422, "invalid_input")

    assert await live.conversation(d.sup, d.conversation_id) == before


async def test_closing_or_transferring_a_closed_conversation_is_409_and_changes_nothing(
    live: Live,
) -> None:
    d = await desk(live)
    bob = await live.agent("bob")
    conv = f"/api/v1/conversations/{d.conversation_id}"
    closed = await live.http.post(f"{conv}/close", headers=d.agent.headers)
    assert closed.status_code == 200, closed.text

    async with changes_nothing(live):
        error_of(
            await live.http.post(f"{conv}/close", headers=d.sup.headers), 409, "invalid_transition"
        )
        r = await live.http.post(
            f"{conv}/transfer", json={"to_agent_id": bob.id}, headers=d.sup.headers
        )
        error_of(r, 409, "invalid_transition")
        r = await live.http.post(
            f"{conv}/transfer", json={"to_queue": "billing"}, headers=d.sup.headers
        )
        error_of(r, 409, "invalid_transition")

    # The refused transfer did not take one of bob's slots.
    bob_now = (await live.http.get(f"/api/v1/agents/{bob.id}", headers=d.sup.headers)).json()
    assert bob_now["active_count"] == 0


async def test_conversation_filters_that_do_not_parse_are_422(live: Live) -> None:
    sue = await live.agent("sue", role=Role.SUPERVISOR, online=False)
    for params, name in [
        ({"state": "open"}, "state"),
        ({"agent_id": "bob"}, "agent_id"),
        ({"customer_id": "1"}, "customer_id"),
        ({"queue": "two words"}, "queue"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"offset": -1}, "offset"),
    ]:
        r = await live.http.get("/api/v1/conversations", params=params, headers=sue.headers)
        assert validation_locs(r) == [("query", name)], params


# -- inboxes -----------------------------------------------------------------------


async def test_creating_an_inbox_with_bad_fields_is_422_and_changes_nothing(live: Live) -> None:
    ada = await live.agent("ada", role=Role.ADMIN, online=False)
    async with changes_nothing(live):
        for body, loc in [
            ({}, ("body", "name")),
            ({"name": ""}, ("body", "name")),
            ({"name": "x" * 129}, ("body", "name")),
            ({"name": 5}, ("body", "name")),
            ({"name": "Shop", "channel": "fax"}, ("body", "channel")),
            ({"name": "Shop", "queue": "a b"}, ("body", "queue")),
            ({"name": "Shop", "token": "mine"}, ("body", "token")),
        ]:
            r = await live.http.post("/api/v1/inboxes", json=body, headers=ada.headers)
            assert validation_locs(r) == [loc], body
        r = await live.http.post("/api/v1/inboxes", json={"name": "   "}, headers=ada.headers)
        assert error_of(r, 422, "invalid_input")["details"] == {"field": "name"}
    assert (await live.http.get("/api/v1/inboxes", headers=ada.headers)).json() == []


async def test_a_duplicate_inbox_name_is_409_and_changes_nothing(live: Live) -> None:
    ada = await live.agent("ada", role=Role.ADMIN, online=False)
    first = await live.http.post("/api/v1/inboxes", json={"name": "Web"}, headers=ada.headers)
    assert first.status_code == 201, first.text
    async with changes_nothing(live):
        for name in ("Web", "  Web  "):
            r = await live.http.post(
                "/api/v1/inboxes", json={"name": name, "queue": "billing"}, headers=ada.headers
            )
            error_of(r, 409, "inbox_name_taken")
    inboxes = (await live.http.get("/api/v1/inboxes", headers=ada.headers)).json()
    assert [(i["name"], i["queue"]) for i in inboxes] == [("Web", "general")]


async def test_rotating_the_token_of_an_unknown_inbox_is_404_and_tokens_keep_working(
    live: Live,
) -> None:
    d = await desk(live)
    unknown = new_id()
    r = await live.http.post(f"/api/v1/inboxes/{unknown}/rotate-token", headers=d.admin.headers)
    assert error_of(r, 404, "not_found")["details"] == {"inbox_id": unknown}
    r = await live.http.post("/api/v1/inboxes/web/rotate-token", headers=d.admin.headers)
    assert validation_locs(r) == [("path", "inbox_id")]

    assert (
        await live.http.get("/api/v1/channel/outbound", headers=d.inbox.headers)
    ).status_code == 200


# -- the API channel ---------------------------------------------------------------


async def test_a_bad_channel_message_is_refused_and_changes_nothing(live: Live) -> None:
    d = await desk(live)
    h = d.inbox.headers
    url = "/api/v1/channel/messages"
    ok = {"customer": {"address": "cust-9"}, "text": "hi"}

    async with changes_nothing(live):
        r = await live.http.post(
            url, content=b'{"customer": {"address": "c"}', headers={**h, **JSON}
        )
        error_of(r, 400, "malformed_json")
        for body, loc in [
            ({"text": "hi"}, ("body", "customer")),
            ({"customer": "cust-9", "text": "hi"}, ("body", "customer")),
            ({"customer": {}, "text": "hi"}, ("body", "customer", "address")),
            ({"customer": {"address": ""}, "text": "hi"}, ("body", "customer", "address")),
            (
                {"customer": {"address": "c", "email": "x"}, "text": "hi"},
                ("body", "customer", "email"),
            ),
            ({"customer": {"address": "c"}}, ("body", "text")),
            ({**ok, "text": "x" * 4097}, ("body", "text")),
            ({**ok, "external_id": ""}, ("body", "external_id")),
            ({**ok, "external_id": 12}, ("body", "external_id")),
            ({**ok, "channel": "sms"}, ("body", "channel")),
        ]:
            assert validation_locs(await live.http.post(url, json=body, headers=h)) == [loc], body
        for body, field in [
            ({**ok, "text": "   "}, "text"),
            ({**ok, "customer": {"address": "two words"}}, "address"),
        ]:
            r = await live.http.post(url, json=body, headers=h)
            assert error_of(r, 422, "invalid_input")["details"] == {"field": field}, body

    sue = d.sup.headers
    assert (await live.http.get("/api/v1/conversations", headers=sue)).json()[0]["id"] == (
        d.conversation_id
    )
    assert len((await live.http.get("/api/v1/conversations", headers=sue)).json()) == 1


async def test_outbound_limit_out_of_range_is_422(live: Live) -> None:
    d = await desk(live)
    for limit in (0, 501, "ten", -1):
        r = await live.http.get(
            "/api/v1/channel/outbound", params={"limit": limit}, headers=d.inbox.headers
        )
        assert validation_locs(r) == [("query", "limit")], limit


async def test_a_bad_delivery_report_is_refused_and_changes_nothing(live: Live) -> None:
    d = await desk(live)
    h = d.inbox.headers
    url = f"/api/v1/channel/outbound/{d.outbound_message_id}/status"
    other = await live.inbox("Other")
    unknown = new_id()

    async with changes_nothing(live):
        for status in ("queued", "received", "bogus", "", None, 3):
            r = await live.http.post(url, json={"status": status}, headers=h)
            assert validation_locs(r) == [("body", "status")], status
        r = await live.http.post(url, json={"status": "sent", "at": "now"}, headers=h)
        assert validation_locs(r) == [("body", "at")]
        error_of(
            await live.http.post(url, content=b"sent", headers={**h, **JSON}), 400, "malformed_json"
        )

        r = await live.http.post(
            "/api/v1/channel/outbound/x/status", json={"status": "sent"}, headers=h
        )
        assert validation_locs(r) == [("path", "message_id")]
        for message_id, headers in [
            (unknown, h),
            (d.inbound_message_id, h),  # the customer's own message has no delivery to report
            (d.outbound_message_id, other.headers),  # another inbox's message
        ]:
            r = await live.http.post(
                f"/api/v1/channel/outbound/{message_id}/status",
                json={"status": "delivered"},
                headers=headers,
            )
            assert error_of(r, 404, "not_found")["details"] == {"message_id": message_id}

    pending = (await live.http.get("/api/v1/channel/outbound", headers=h)).json()
    assert [p["message_id"] for p in pending] == [d.outbound_message_id]


# -- bodies: size, encoding, content type ------------------------------------------


async def test_an_oversized_body_is_413_before_anything_else_and_changes_nothing(
    live: Live,
) -> None:
    d = await desk(live)
    huge = "x" * (LIMIT + 1)
    async with changes_nothing(live):
        for path, body, headers in [
            ("/api/v1/auth/login", {"username": "ada", "password": huge}, None),
            ("/api/v1/agents", {"username": "zed", "password": huge}, d.admin.headers),
            ("/api/v1/agents", {"username": "zed", "password": huge}, None),  # before auth too
            (
                f"/api/v1/conversations/{d.conversation_id}/messages",
                {"text": huge},
                d.agent.headers,
            ),
            ("/api/v1/inboxes", {"name": huge}, d.admin.headers),
            ("/api/v1/customers", {"display_name": huge}, d.admin.headers),
            (
                "/api/v1/channel/messages",
                {"customer": {"address": "c"}, "text": huge},
                d.inbox.headers,
            ),
        ]:
            r = await live.http.post(path, json=body, headers=headers)
            assert int(r.request.headers["content-length"]) > LIMIT
            error_of(r, 413, "body_too_large")


async def test_an_oversized_chunked_body_without_content_length_is_413(live: Live) -> None:
    d = await desk(live)
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"customer": {"address": "c"}, "text": "'
        for _ in range(LIMIT // 1024 + 1):
            sent.append(1024)
            yield b"x" * 1024
        yield b'"}'

    async with changes_nothing(live):
        r = await live.http.post(
            "/api/v1/channel/messages", content=chunks(), headers={**d.inbox.headers, **JSON}
        )
    assert "content-length" not in r.request.headers
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert sum(sent) > LIMIT
    error_of(r, 413, "body_too_large")


async def test_a_body_within_the_limit_is_parsed_then_validated(live: Live) -> None:
    d = await desk(live)
    body = {"customer": {"address": "c"}, "text": "x" * (LIMIT - 100)}
    r = await live.http.post("/api/v1/channel/messages", json=body, headers=d.inbox.headers)
    assert int(r.request.headers["content-length"]) <= LIMIT
    assert validation_locs(r) == [("body", "text")]


async def test_a_body_that_is_not_json_is_refused_and_changes_nothing(live: Live) -> None:
    ada = await live.agent("ada", role=Role.ADMIN, online=False)
    h = ada.headers
    async with changes_nothing(live):
        for content, content_type in [
            (b'{"name": "Shop"}', "text/plain"),
            (b"name=Shop", "application/x-www-form-urlencoded"),
            (b"<inbox><name>Shop</name></inbox>", "application/xml"),
            (b'{"name": "Shop"}', None),
        ]:
            headers = {**h, "content-type": content_type} if content_type else h
            r = await live.http.post("/api/v1/inboxes", content=content, headers=headers)
            assert validation_locs(r) == [("body",)], content_type
        r = await live.http.post(
            "/api/v1/inboxes",
            files={"name": ("name.txt", b"Shop", "text/plain")},
            headers=h,
        )
        assert validation_locs(r) == [("body",)]
        r = await live.http.post("/api/v1/inboxes", content=b"", headers={**h, **JSON})
        assert validation_locs(r) == [("body",)]
    assert (await live.http.get("/api/v1/inboxes", headers=h)).json() == []


async def test_json_that_is_not_an_object_is_422(live: Live) -> None:
    ada = await live.agent("ada", role=Role.ADMIN, online=False)
    async with changes_nothing(live):
        for value in ([{"name": "Shop"}], "Shop", 42, None, True):
            r = await live.http.post(
                "/api/v1/inboxes",
                content=json.dumps(value).encode(),
                headers={**ada.headers, **JSON},
            )
            assert validation_locs(r) == [("body",)], value


async def test_a_lone_surrogate_in_a_string_is_422(live: Live) -> None:
    d = await desk(live)
    async with changes_nothing(live):
        r = await live.http.post(
            "/api/v1/channel/messages",
            content=b'{"customer": {"address": "c"}, "text": "\\ud800"}',
            headers={**d.inbox.headers, **JSON},
        )
    assert validation_locs(r) == [("body", "text")]


async def test_a_body_that_is_not_utf8_is_400_malformed_json(live: Live) -> None:
    """RFC 8259 JSON is UTF-8; bytes that do not decode are malformed JSON like any other."""
    ada = await live.agent("ada", role=Role.ADMIN, online=False)
    async with changes_nothing(live):
        r = await live.http.post(
            "/api/v1/inboxes", content=b'{"name": "Caf\xe9"}', headers={**ada.headers, **JSON}
        )
    error_of(r, 400, "malformed_json")


async def test_nul_characters_in_stored_strings_are_422_on_every_database(live: Live) -> None:
    """NUL cannot be stored in PostgreSQL text; it is refused in message text already
    ("a message cannot contain NUL characters") and must be refused everywhere else too,
    the same way on every database, instead of a 500 (PostgreSQL) or being stored (SQLite)."""
    d = await desk(live)
    customers = await customer_count(live, d.admin)
    writes: list[tuple[str, str, str, Any, dict[str, str]]] = [
        (
            "channel customer name",
            "POST",
            "/api/v1/channel/messages",
            {"customer": {"address": "c-9", "name": "N\x00"}, "text": "hi"},
            d.inbox.headers,
        ),
        (
            "channel external_id",
            "POST",
            "/api/v1/channel/messages",
            {"external_id": "SM\x00", "customer": {"address": "c-9"}, "text": "hi"},
            d.inbox.headers,
        ),
        ("inbox name", "POST", "/api/v1/inboxes", {"name": "Shop\x00"}, d.admin.headers),
        (
            "agent display_name",
            "POST",
            "/api/v1/agents",
            {"username": "zed", "password": "long enough", "display_name": "Z\x00"},
            d.admin.headers,
        ),
        (
            "agent display_name (patch)",
            "PATCH",
            f"/api/v1/agents/{d.agent.id}",
            {"display_name": "A\x00"},
            d.admin.headers,
        ),
        (
            "customer display_name",
            "POST",
            "/api/v1/customers",
            {"display_name": "C\x00"},
            d.admin.headers,
        ),
    ]
    head = await live.event_head()
    outcomes = []
    for what, method, path, body, headers in writes:
        r = await call(live, method, path, body, headers)
        outcomes.append(f"{what}: {method} {path} -> {r.status_code} {r.text[:100]}")
    wrong = [o for o in outcomes if " -> 422 " not in o]
    assert not wrong, "NUL accepted or crashed instead of a 422:\n" + "\n".join(wrong)
    assert await live.event_head() == head
    assert await customer_count(live, d.admin) == customers


async def test_nul_characters_in_lookups_are_answered_not_server_errors(live: Live) -> None:
    """A login or a search with NUL matches nothing: a 401/422 or an empty result, never 500."""
    d = await desk(live)
    login = await live.http.post(
        "/api/v1/auth/login", json={"username": "alice\x00", "password": PASSWORD}
    )
    search = await live.http.get(
        "/api/v1/customers", params={"q": "cust\x00"}, headers=d.sup.headers
    )
    outcomes = {
        "login": (login.status_code, login.text),
        "search": (search.status_code, search.text),
    }
    assert login.status_code in (401, 422), outcomes
    assert search.status_code in (200, 422), outcomes
    if login.status_code == 401:
        unauthenticated(login)
    if search.status_code == 200:
        assert search.json() == []


# -- the live stream ---------------------------------------------------------------


async def close_code_after(live: Live, frame: str | bytes) -> int:
    """Open the stream, send one frame, and return the code the server closes with."""
    async with connect(live.ws_url, open_timeout=5) as ws:
        await ws.send(frame)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None, "the client, not the server, closed the connection"
    return closed.value.rcvd.code


async def test_a_bad_stream_hello_closes_with_4400(live: Live) -> None:
    alice = await live.agent("alice")
    head = await live.event_head()
    hello = {"type": "hello", "token": alice.token}
    bad_frames: list[str | bytes] = [
        "not json",
        "",
        json.dumps([hello]),
        json.dumps("hello"),
        json.dumps({"type": "hello"}),
        json.dumps({"type": "hello", "token": ""}),
        json.dumps({"type": "hello", "token": 123}),
        json.dumps({"type": "hello", "token": "x" * 201}),
        json.dumps({**hello, "type": "ping"}),
        json.dumps({k: v for k, v in hello.items() if k != "type"}),
        json.dumps({**hello, "after": "3"}),
        json.dumps({**hello, "after": 1.5}),
        json.dumps({**hello, "after": True}),
        json.dumps({**hello, "after": [1]}),
        json.dumps({**hello, "after": -1}),
        json.dumps({**hello, "after": head + 1}),
        json.dumps({**hello, "after": 10**30}),
        json.dumps(hello).encode(),  # a binary frame
    ]
    codes = {repr(frame)[:60]: await close_code_after(live, frame) for frame in bad_frames}
    assert {frame: code for frame, code in codes.items() if code != 4400} == {}
    # The same token in a good hello is accepted.
    async with live.stream(alice, after=head) as stream:
        assert stream.ready_seq == head


async def test_a_stream_hello_with_an_invalid_token_closes_with_4401(live: Live) -> None:
    d = await desk(live)
    for token in ("tl_agent_nope", d.inbox.token):
        assert await close_code_after(live, json.dumps({"type": "hello", "token": token})) == 4401

    live.clock.advance(TOKEN_TTL + 1)
    expired = json.dumps({"type": "hello", "token": d.agent.token})
    assert await close_code_after(live, expired) == 4401
