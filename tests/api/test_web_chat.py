"""Web chat through its public API: visitors, signed identities, receipts, live updates."""

from __future__ import annotations

import asyncio
import json
import uuid

import jwt
from websockets.asyncio.client import connect

from tests.support.live import Live
from tests.support.webchat import (
    next_frame,
    signed_identity,
    thread,
    visit,
    visitor_says,
    web_inbox,
)
from threadline.core.agents import Role


async def test_a_visitor_chats_with_an_agent_and_keeps_the_thread(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice")
    _, key = await web_inbox(live, admin)
    visitor = await visit(live, key, name="Robin")
    assert visitor.verification == "anonymous"

    sent = await visitor_says(live, visitor, "Where is my parcel?")
    assert (sent["sender"], sent["seq"], sent["status"]) == ("you", 1, "received")
    mine = (await live.http.get("/api/v1/conversations", headers=alice.headers)).json()
    [conv] = mine
    assert (conv["customer_name"], conv["verification"], conv["unread"]) == (
        "Robin",
        "anonymous",
        1,
    )
    await live.reply(alice, conv["id"], "Let me check that for you.")

    seen = await thread(live, visitor)
    assert [(m["sender"], m["text"]) for m in seen["messages"]] == [
        ("you", "Where is my parcel?"),
        ("agent", "Let me check that for you."),
    ]
    # The browser has the reply: for web chat, that is its delivery.
    assert seen["messages"][1]["status"] == "delivered"
    assert seen["messages"][1]["sender_name"] == "alice"
    assert seen["state"] == "open"

    # The browser comes back days later with its token: the same visitor, same thread.
    live.clock.advance(72 * 3600)
    again = await visit(live, key, visitor_token=visitor.token)
    assert (again.token, again.customer_id) == (visitor.token, visitor.customer_id)
    assert [m["seq"] for m in (await thread(live, again))["messages"]] == [1, 2]
    assert [m["seq"] for m in (await thread(live, again, after_seq=1))["messages"]] == [2]


async def test_a_retried_message_is_stored_once(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    _, key = await web_inbox(live, admin)
    visitor = await visit(live, key)
    first = await visitor_says(live, visitor, "Hello?", client_id="m-1")
    retry = await live.http.post(
        "/api/v1/widget/messages",
        json={"text": "Hello?", "client_id": "m-1"},
        headers=visitor.headers,
    )
    assert retry.status_code == 200
    assert retry.json()["id"] == first["id"]
    assert retry.json()["client_id"] == "m-1"
    assert len((await thread(live, visitor))["messages"]) == 1

    # Another visitor's identical client id is their own message, not a duplicate.
    other = await visit(live, key)
    theirs = await visitor_says(live, other, "Hi", client_id="m-1")
    assert theirs["id"] != first["id"]


async def test_a_signed_identity_starts_a_verified_conversation(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice")
    inbox_id, key = await web_inbox(live, admin)
    r = await live.http.post(
        f"/api/v1/inboxes/{inbox_id}/widget/identity-secret", headers=admin.headers
    )
    assert r.status_code == 201
    secret = r.json()["secret"]
    identity = signed_identity(secret, "cust-8841", live.clock(), name="Dana Reyes")

    visitor = await visit(live, key, identity=identity)
    assert visitor.verification == "verified"
    sent = await visitor_says(live, visitor, "Can you change my delivery address?")
    [conv] = (await live.http.get("/api/v1/conversations", headers=alice.headers)).json()
    assert conv["verification"] == "verified"
    assert conv["customer_name"] == "Dana Reyes"
    customer = (
        await live.http.get(f"/api/v1/customers/{conv['customer_id']}", headers=alice.headers)
    ).json()
    assert {"channel": "app", "address": "cust-8841"} in customer["identities"]
    assert sent["sender"] == "you"

    # The same person signed in on another device: the same customer and thread.
    elsewhere = await visit(live, key, identity=identity)
    assert elsewhere.customer_id == visitor.customer_id
    # The page stops vouching (signed out): the browser's token no longer opens that thread.
    anonymous = await visit(live, key, visitor_token=visitor.token)
    assert anonymous.customer_id != visitor.customer_id
    assert anonymous.verification == "anonymous"
    assert (await thread(live, anonymous))["messages"] == []


async def test_bad_identities_are_refused_and_create_no_one(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    inbox_id, key = await web_inbox(live, admin)
    now = live.clock()
    unsigned_widget = await live.http.post(
        f"/api/v1/widget/{key}/sessions", json={"identity": signed_identity("s" * 32, "c1", now)}
    )
    assert unsigned_widget.status_code == 401
    assert "identity secret" in unsigned_widget.json()["error"]["message"]

    secret = (
        await live.http.post(
            f"/api/v1/inboxes/{inbox_id}/widget/identity-secret", headers=admin.headers
        )
    ).json()["secret"]
    forged_alg_none = jwt.encode({"sub": "c1", "exp": 4102444800}, None, algorithm="none")
    bad = {
        "wrong secret": signed_identity("not-the-secret-" * 3, "c1", now),
        "expired": signed_identity(secret, "c1", now, lifetime=-3600),
        "too long-lived": signed_identity(secret, "c1", now, lifetime=7 * 86400),
        "no subject": jwt.encode({"exp": int(now.timestamp()) + 60}, secret, algorithm="HS256"),
        "alg none": forged_alg_none,
        "not a token": "hello",
    }
    before = (await live.http.get("/api/v1/customers", headers=admin.headers)).json()
    for case, token in bad.items():
        r = await live.http.post(f"/api/v1/widget/{key}/sessions", json={"identity": token})
        assert r.status_code == 401, case
        assert r.json()["error"]["code"] == "invalid_identity", case
    after = (await live.http.get("/api/v1/customers", headers=admin.headers)).json()
    assert after == before


async def test_unread_counts_and_read_receipts_go_both_ways(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice")
    _, key = await web_inbox(live, admin)
    visitor = await visit(live, key)
    await visitor_says(live, visitor, "Hi")
    await visitor_says(live, visitor, "My order is late")
    [conv] = (await live.http.get("/api/v1/conversations", headers=alice.headers)).json()
    assert conv["unread"] == 2

    r = await live.http.post(
        f"/api/v1/conversations/{conv['id']}/read", json={"up_to_seq": 2}, headers=alice.headers
    )
    assert r.status_code == 204
    [conv] = (await live.http.get("/api/v1/conversations", headers=alice.headers)).json()
    assert conv["unread"] == 0
    assert (await thread(live, visitor))["agent_read_seq"] == 2
    beyond = await live.http.post(
        f"/api/v1/conversations/{conv['id']}/read", json={"up_to_seq": 9}, headers=alice.headers
    )
    assert beyond.status_code == 422

    reply = await live.reply(alice, conv["id"], "Sorry about that, checking now.")
    async with live.stream(alice) as stream:
        r = await live.http.post(
            "/api/v1/widget/read", json={"up_to_seq": reply["seq"]}, headers=visitor.headers
        )
        assert r.status_code == 204
        [status] = [
            e
            for e in await stream.events_until("message.delivery_status")
            if e["type"] == "message.delivery_status"
        ]
        assert status["payload"] == {"message_id": reply["id"], "status": "read"}
    detail = await live.conversation(alice, conv["id"])
    assert detail["messages"][-1]["delivery_status"] == "read"


async def test_typing_and_replies_reach_the_other_side_live(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice")
    _, key = await web_inbox(live, admin)
    visitor = await visit(live, key)
    stranger = await visit(live, key)
    await visitor_says(live, visitor, "Hello")
    await visitor_says(live, stranger, "Hi there")
    convs = (await live.http.get("/api/v1/conversations", headers=alice.headers)).json()
    conv = next(c for c in convs if c["customer_id"] == visitor.customer_id)
    ws_url = live.base_url.replace("http://", "ws://") + "/api/v1/widget/stream"

    async with connect(ws_url) as ws, live.stream(alice) as desk:
        await ws.send(json.dumps({"type": "hello", "token": visitor.token}))
        assert json.loads(await ws.recv())["type"] == "ready"
        r = await live.http.post(
            f"/api/v1/conversations/{conv['id']}/typing",
            json={"typing": True},
            headers=alice.headers,
        )
        assert r.status_code == 204
        typing = await next_frame(ws, "typing")
        assert (typing["typing"], typing["name"]) == (True, "alice")

        await live.reply(alice, conv["id"], "How can I help?")
        assert (await next_frame(ws, "message"))["event"]["kind"] == "message"

        r = await live.http.post(
            "/api/v1/widget/typing", json={"typing": True}, headers=visitor.headers
        )
        assert r.status_code == 204
        while True:
            frame = json.loads(await asyncio.wait_for(desk.ws.recv(), 5))
            if frame["type"] == "typing":
                break
        assert frame == {"type": "typing", "conversation_id": conv["id"], "typing": True}

        # The other visitor's conversation is none of this visitor's business.
        other = next(c for c in convs if c["customer_id"] == stranger.customer_id)
        await live.reply(alice, other["id"], "Hello to you too")
        await live.reply(alice, conv["id"], "Still there?")
        event = (await next_frame(ws, "message"))["event"]
        messages = (await thread(live, visitor))["messages"]
        assert messages[-1]["text"] == "Still there?"
        assert event["seq"] > 0


async def test_long_polling_delivers_what_the_websocket_would(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice")
    _, key = await web_inbox(live, admin)
    visitor = await visit(live, key)
    first = await visitor_says(live, visitor, "Anyone there?")
    del first
    position = (await thread(live, visitor))["event_seq"]
    [conv] = (await live.http.get("/api/v1/conversations", headers=alice.headers)).json()

    poll = asyncio.create_task(
        live.http.get(
            "/api/v1/widget/events",
            params={"after": position, "wait": 5},
            headers=visitor.headers,
        )
    )
    await asyncio.sleep(0.2)
    assert not poll.done()  # held open until there is something to say
    await live.reply(alice, conv["id"], "Yes, here!")
    answer = (await poll).json()
    assert [e["kind"] for e in answer["events"]] == ["message"]
    assert answer["seq"] > position

    quiet = await live.http.get(
        "/api/v1/widget/events",
        params={"after": answer["seq"], "wait": 0},
        headers=visitor.headers,
    )
    assert quiet.json()["events"] == []
    not_ours = await live.http.get(
        "/api/v1/widget/events", params={"after": 10**9}, headers=visitor.headers
    )
    assert not_ours.status_code == 422


async def test_widget_keys_origins_and_tokens_are_checked(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice")
    _, key = await web_inbox(live, admin, allowed_origins=["https://shop.example"])

    unknown = await live.http.post("/api/v1/widget/wk_nope/sessions", json={})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_widget")
    elsewhere = await live.http.post(
        f"/api/v1/widget/{key}/sessions", json={}, headers={"origin": "https://evil.example"}
    )
    assert (elsewhere.status_code, elsewhere.json()["error"]["code"]) == (403, "origin_not_allowed")
    config = await live.http.get(
        f"/api/v1/widget/{key}/config", headers={"origin": "https://shop.example"}
    )
    assert config.status_code == 200
    assert config.headers["access-control-allow-origin"] == "https://shop.example"
    frame = await live.http.get("/widget/frame.html", params={"key": key})
    assert "frame-ancestors https://shop.example" in frame.headers["content-security-policy"]

    visitor = await visit(live, key)
    # A visitor token is not an agent's, nor the other way round.
    as_agent = await live.http.get("/api/v1/conversations", headers=visitor.headers)
    assert as_agent.status_code == 401
    as_visitor = await live.http.get("/api/v1/widget/messages", headers=alice.headers)
    assert as_visitor.status_code == 401
    nobody = await live.http.post("/api/v1/widget/messages", json={"text": "x", "client_id": "1"})
    assert nobody.status_code == 401


async def test_only_admins_configure_widgets_and_only_on_web_inboxes(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice")
    web = await live.inbox("Site chat", channel="web")
    sms = await live.inbox("Texts", channel="sms")
    url = f"/api/v1/inboxes/{web.id}/widget"
    assert (await live.http.put(url, json={}, headers=alice.headers)).status_code == 403
    assert (await live.http.get(url, headers=admin.headers)).status_code == 404
    bad = {
        "accent_color": "red",
        "allowed_origins": ["shop.example/path"],
        "title": "",
    }
    for field, value in bad.items():
        r = await live.http.put(url, json={field: value}, headers=admin.headers)
        assert r.status_code == 422, (field, r.text)
    assert (await live.http.get(url, headers=admin.headers)).status_code == 404  # none made
    r = await live.http.put(f"/api/v1/inboxes/{sms.id}/widget", json={}, headers=admin.headers)
    assert r.status_code == 422
    made = await live.http.put(url, json={"title": "Help"}, headers=admin.headers)
    changed = await live.http.put(url, json={"title": "Support"}, headers=admin.headers)
    assert made.json()["key"] == changed.json()["key"]
    assert (await live.http.get(url, headers=admin.headers)).json()["title"] == "Support"
    missing = uuid.uuid4()
    assert (
        await live.http.put(f"/api/v1/inboxes/{missing}/widget", json={}, headers=admin.headers)
    ).status_code == 404


async def test_a_signed_identity_proves_nothing_after_it_expires(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice")
    inbox_id, key = await web_inbox(live, admin)
    secret = (
        await live.http.post(
            f"/api/v1/inboxes/{inbox_id}/widget/identity-secret", headers=admin.headers
        )
    ).json()["secret"]
    visitor = await visit(
        live, key, identity=signed_identity(secret, "cust-1", live.clock(), lifetime=3600)
    )
    await visitor_says(live, visitor, "Hi, signed in")
    [conv] = (await live.http.get("/api/v1/conversations", headers=alice.headers)).json()
    assert conv["verification"] == "verified"
    await live.http.post(f"/api/v1/conversations/{conv['id']}/close", headers=alice.headers)

    # A month on, the same browser token writes without a fresh identity: a new session,
    # and nothing proves who is writing any more.
    live.clock.advance(30 * 86400)
    await visitor_says(live, visitor, "Back again")
    alice = await live.login("alice")  # her token from a month ago has expired
    detail = await live.conversation(alice, conv["id"])
    assert detail["conversation"]["session_seq"] == 2
    assert detail["conversation"]["verification"] == "anonymous"
    # The visitor's thread says where the new session began.
    first, second = (await thread(live, visitor))["messages"]
    assert first["session_id"] != second["session_id"]


async def test_a_name_given_after_the_chat_began_names_the_customer(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice")
    _, key = await web_inbox(live, admin)
    visitor = await visit(live, key)
    await visitor_says(live, visitor, "Hello")
    again = await visit(live, key, visitor_token=visitor.token, name="Robin")
    assert again.customer_id == visitor.customer_id
    [conv] = (await live.http.get("/api/v1/conversations", headers=alice.headers)).json()
    assert conv["customer_name"] == "Robin"
    # Once named, a later form does not rename them.
    await visit(live, key, visitor_token=visitor.token, name="Someone else")
    [conv] = (await live.http.get("/api/v1/conversations", headers=alice.headers)).json()
    assert conv["customer_name"] == "Robin"


async def test_odd_keys_origins_and_claims_get_clear_refusals(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    inbox_id, key = await web_inbox(live, admin)
    for odd in ("%00", "wk_%00", "x" * 80, "wk_" + "a" * 70):
        r = await live.http.get(f"/api/v1/widget/{odd}/config")
        assert r.status_code == 404, (odd, r.text)
        frame = await live.http.get("/widget/frame.html", params={"key": odd})
        assert frame.status_code == 200
        assert "frame-ancestors 'self'" in frame.headers["content-security-policy"]

    url = f"/api/v1/inboxes/{inbox_id}/widget"
    for origin in ("https://a.example *; sandbox allow-scripts", "https://a.example:99999"):
        r = await live.http.put(url, json={"allowed_origins": [origin]}, headers=admin.headers)
        assert r.status_code == 422, origin
    r = await live.http.put(
        url, json={"allowed_origins": ["https://例え.jp:443/"]}, headers=admin.headers
    )
    assert r.json()["allowed_origins"] == ["https://xn--r8jz45g.jp"]

    secret = (await live.http.post(f"{url}/identity-secret", headers=admin.headers)).json()[
        "secret"
    ]
    for exp in (1e20, -1e20, 10**30, "soon"):
        token = jwt.encode({"sub": "c1", "exp": exp}, secret, algorithm="HS256")
        r = await live.http.post(f"/api/v1/widget/{key}/sessions", json={"identity": token})
        assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_identity"), exp
    named = signed_identity(secret, "c2", live.clock(), name="Nul\x00 Name")
    visitor = await visit(live, key, identity=named)
    assert visitor.verification == "verified"
