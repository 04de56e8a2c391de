"""Logging in, tokens, roles, and what admins and supervisors manage."""

from __future__ import annotations

from tests.support.live import PASSWORD, Live


async def test_login_returns_a_bearer_token_that_identifies_the_agent(live: Live) -> None:
    alice = await live.agent(
        "alice", skills=("billing", "general"), preferred=3, max_load=6, online=False
    )
    me = await live.http.get("/api/v1/me", headers=alice.headers)
    assert me.status_code == 200
    body = me.json()
    assert (body["username"], body["role"], body["skills"]) == (
        "alice",
        "agent",
        ["billing", "general"],
    )
    assert (body["preferred_concurrency"], body["max_load"], body["status"]) == (3, 6, "offline")


async def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(live: Live) -> None:
    await live.agent("alice")
    wrong = await live.http.post(
        "/api/v1/auth/login", json={"username": "alice", "password": "nope nope"}
    )
    unknown = await live.http.post(
        "/api/v1/auth/login", json={"username": "mallory", "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_usernames_are_case_insensitive_at_login(live: Live) -> None:
    await live.agent("alice")
    r = await live.http.post(
        "/api/v1/auth/login", json={"username": "  Alice ", "password": PASSWORD}
    )
    assert r.status_code == 200


async def test_a_logged_out_token_stops_working(live: Live) -> None:
    alice = await live.agent("alice")
    assert (await live.http.post("/api/v1/auth/logout", headers=alice.headers)).status_code == 204
    r = await live.http.get("/api/v1/me", headers=alice.headers)
    assert r.status_code == 401


async def test_a_token_expires_after_its_time_to_live(live: Live) -> None:
    alice = await live.agent("alice")
    live.clock.advance(11 * 3600)
    assert (await live.http.get("/api/v1/me", headers=alice.headers)).status_code == 200
    live.clock.advance(2 * 3600)
    assert (await live.http.get("/api/v1/me", headers=alice.headers)).status_code == 401


# Open by design: logging in, and a web chat's first calls, which name the widget by its
# public key (a wrong key is a 404) and give the visitor their token.
PUBLIC = {"/api/v1/auth/login", "/api/v1/widget/{key}/config", "/api/v1/widget/{key}/sessions"}


async def test_every_api_call_needs_a_token(live: Live) -> None:
    spec = (await live.http.get("/openapi.json")).json()
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/") or path in PUBLIC:
            continue
        for method in operations:
            url = path.replace("{", "").replace("}", "")  # ids are irrelevant: auth comes first
            url = url.replace("agent_id", "00000000-0000-0000-0000-000000000000")
            for name in ("conversation_id", "customer_id", "inbox_id", "message_id"):
                url = url.replace(name, "00000000-0000-0000-0000-000000000000")
            r = await live.http.request(method.upper(), url, json={})
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json()["error"]["code"] == "unauthenticated"


async def test_an_admin_creates_agents_who_can_then_log_in(live: Live) -> None:
    admin = await live.agent("ada", role="admin", online=False)  # type: ignore[arg-type]
    r = await live.http.post(
        "/api/v1/agents",
        json={
            "username": "Newbie",
            "password": "long enough pw",
            "skills": ["sales"],
            "preferred_concurrency": 2,
            "max_load": 3,
        },
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    assert (r.json()["username"], r.json()["skills"], r.json()["status"]) == (
        "newbie",
        ["sales"],
        "offline",
    )
    login = await live.http.post(
        "/api/v1/auth/login", json={"username": "newbie", "password": "long enough pw"}
    )
    assert login.status_code == 200


async def test_agents_and_supervisors_cannot_create_agents(live: Live) -> None:
    alice = await live.agent("alice")
    sup = await live.agent("sue", role="supervisor")  # type: ignore[arg-type]
    head = await live.event_head()
    for who in (alice, sup):
        r = await live.http.post(
            "/api/v1/agents",
            json={"username": "x" + who.username, "password": "long enough pw"},
            headers=who.headers,
        )
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "forbidden"
    assert await live.event_head() == head


async def test_limits_must_keep_preferred_at_or_below_maximum(live: Live) -> None:
    admin = await live.agent("ada", role="admin", online=False)  # type: ignore[arg-type]
    alice = await live.agent("alice")
    r = await live.http.patch(
        f"/api/v1/agents/{alice.id}", json={"preferred_concurrency": 7}, headers=admin.headers
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"] == {"field": "max_load"}
    r = await live.http.patch(
        f"/api/v1/agents/{alice.id}",
        json={"preferred_concurrency": 5, "max_load": 8, "skills": ["vip"]},
        headers=admin.headers,
    )
    assert r.status_code == 200
    assert (r.json()["preferred_concurrency"], r.json()["max_load"], r.json()["skills"]) == (
        5,
        8,
        ["vip"],
    )


async def test_supervisors_list_agents_and_agents_see_only_themselves(live: Live) -> None:
    alice = await live.agent("alice")
    bob = await live.agent("bob")
    sup = await live.agent("sue", role="supervisor")  # type: ignore[arg-type]
    listed = await live.http.get("/api/v1/agents", headers=sup.headers)
    assert [a["username"] for a in listed.json()] == ["alice", "bob", "sue"]
    assert (await live.http.get("/api/v1/agents", headers=alice.headers)).status_code == 403
    assert (
        await live.http.get(f"/api/v1/agents/{bob.id}", headers=alice.headers)
    ).status_code == 403
    assert (
        await live.http.get(f"/api/v1/agents/{alice.id}", headers=alice.headers)
    ).status_code == 200


async def test_an_admin_creates_an_inbox_whose_token_is_shown_once_and_can_be_rotated(
    live: Live,
) -> None:
    admin = await live.agent("ada", role="admin", online=False)  # type: ignore[arg-type]
    r = await live.http.post(
        "/api/v1/inboxes", json={"name": "Shop", "queue": "sales"}, headers=admin.headers
    )
    assert r.status_code == 201
    created = r.json()
    assert created["token"].startswith("tl_inbox_")
    listed = (await live.http.get("/api/v1/inboxes", headers=admin.headers)).json()
    assert listed == [created["inbox"]]  # the token is not listed
    old = {"Authorization": f"Bearer {created['token']}"}
    body = {"customer": {"address": "c1"}, "text": "hi"}
    assert (
        await live.http.post("/api/v1/channel/messages", json=body, headers=old)
    ).status_code == 201

    rotated = await live.http.post(
        f"/api/v1/inboxes/{created['inbox']['id']}/rotate-token", headers=admin.headers
    )
    new = {"Authorization": f"Bearer {rotated.json()['token']}"}
    assert (
        await live.http.post("/api/v1/channel/messages", json=body, headers=old)
    ).status_code == 401
    assert (
        await live.http.post("/api/v1/channel/messages", json=body, headers=new)
    ).status_code == 201


async def test_customers_with_identities_are_managed_by_supervisors(live: Live) -> None:
    sup = await live.agent("sue", role="supervisor")  # type: ignore[arg-type]
    r = await live.http.post(
        "/api/v1/customers",
        json={
            "display_name": "Sophie Martin",
            "timezone": "Europe/Paris",
            "preferred_channel": "sms",
            "identities": [{"channel": "sms", "address": "+33612345678"}],
        },
        headers=sup.headers,
    )
    assert r.status_code == 201, r.text
    sophie = r.json()
    r = await live.http.post(
        f"/api/v1/customers/{sophie['id']}/identities",
        json={"channel": "whatsapp", "address": "33612345678"},
        headers=sup.headers,
    )
    assert [i["channel"] for i in r.json()["identities"]] == ["sms", "whatsapp"]
    found = (await live.http.get("/api/v1/customers?q=sophie", headers=sup.headers)).json()
    assert [c["id"] for c in found] == [sophie["id"]]
    by_address = (await live.http.get("/api/v1/customers?q=3361234", headers=sup.headers)).json()
    assert [c["id"] for c in by_address] == [sophie["id"]]
    r = await live.http.post(
        "/api/v1/customers", json={"timezone": "Mars/Olympus"}, headers=sup.headers
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"] == {"field": "timezone"}


async def test_an_agent_sees_a_customer_only_through_a_visible_conversation(live: Live) -> None:
    inbox = await live.inbox()
    alice = await live.agent("alice", preferred=1, max_load=1)
    live.clock.advance(1)
    bob = await live.agent("bob", preferred=1, max_load=1)
    mine = await live.customer_says(inbox, "c1", "hi")
    bobs = await live.customer_says(inbox, "c2", "hi")
    assert (
        await live.http.get(f"/api/v1/customers/{mine['customer_id']}", headers=alice.headers)
    ).status_code == 200
    assert (
        await live.http.get(f"/api/v1/customers/{bobs['customer_id']}", headers=alice.headers)
    ).status_code == 404
    assert bob


async def test_any_agent_sees_which_colleagues_are_online_to_transfer_to(live: Live) -> None:
    alice = await live.agent("alice")
    await live.agent("bruno", skills=("billing",), max_load=3)
    await live.agent("carl", online=False)
    await live.agent("sue", role="supervisor")  # type: ignore[arg-type]
    r = await live.http.get("/api/v1/agents/colleagues", headers=alice.headers)
    assert r.status_code == 200
    assert [(c["display_name"], c["skills"], c["max_load"]) for c in r.json()] == [
        ("bruno", ["billing"], 3)
    ]
