"""In-app chat through its public API: a business's app, its signed identities, the
customer's thread live, and one customer across the app and their phone."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.channels import SMS_NUMBER, World, channel_world
from tests.support.clock import FakeClock
from tests.support.live import AgentHandle, Live, serve
from tests.support.webchat import next_frame
from threadline.core.agents import Role

SECRET = "in-app-shared-secret-" * 3  # what the operator put in the environment
ENVIRONMENT = {"ACME_APP_IDENTITY_SECRET": SECRET, "SHORT_IDENTITY_SECRET": "too-short"}


@pytest.fixture
async def live(database_url: str, clock: FakeClock) -> AsyncIterator[Live]:
    # Open sockets re-check their identity often, so an expiry is seen within a moment.
    async with serve(
        database_url, clock, channel_secrets=ENVIRONMENT, stream_recheck_seconds=0.05
    ) as running:
        yield running


def pem(public_key: Any) -> str:
    return str(public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode())


def rsa_key(bits: int = 2048) -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key, pem(key.public_key())


@dataclass
class App:
    """An app inbox and the business's signing key, as its back end holds it."""

    live: Live
    inbox_id: str
    key: str
    signing_key: Any
    algorithm: str

    def identity(self, sub: str, *, lifetime: float = 600, **claims: Any) -> str:
        exp = int(self.live.clock().timestamp() + lifetime)
        return jwt.encode({"sub": sub, "exp": exp, **claims}, self.signing_key, self.algorithm)

    def headers(self, token: str) -> dict[str, str]:
        signed_in = {"Authorization": f"Bearer {token}"} if token else {}
        return {**signed_in, "X-Threadline-App-Key": self.key}

    async def call(self, path: str, token: str, body: Any = None) -> httpx.Response:
        """POST `body` to /api/v1/app/<path>, or GET it without one."""
        url, headers = f"/api/v1/app/{path}", self.headers(token)
        if body is None:
            return await self.live.http.get(url, headers=headers)
        return await self.live.http.post(url, json=body, headers=headers)

    async def says(self, token: str, text: str) -> dict[str, Any]:
        r = await self.call("messages", token, {"text": text, "client_id": uuid.uuid4().hex})
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def thread(self, token: str, after_seq: int = 0) -> dict[str, Any]:
        r = await self.call(f"messages?after_seq={after_seq}", token)
        assert r.status_code == 200, r.text
        return dict(r.json())

    @property
    def ws_url(self) -> str:
        return self.live.base_url.replace("http://", "ws://") + "/api/v1/app/stream"

    @contextlib.asynccontextmanager
    async def stream(self, token: str, after: int | None = None) -> AsyncIterator[ClientConnection]:
        async with connect(self.ws_url, open_timeout=5) as ws:
            hello = {"type": "hello", "token": token, "key": self.key}
            await ws.send(json.dumps(hello | ({"after": after} if after is not None else {})))
            ready = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert ready["type"] == "ready", ready
            yield ws


async def app_inbox(live: Live, admin: AgentHandle, algorithm: str = "HS256") -> App:
    inbox = await live.inbox(f"App {uuid.uuid4().hex[:6]}", channel="app")
    if algorithm == "HS256":
        body, signing_key = {"algorithm": "HS256", "secret_name": "acme_app"}, SECRET
    else:
        signing_key, public = rsa_key()
        body = {"algorithm": "RS256", "public_key": public}
    r = await live.http.put(f"/api/v1/inboxes/{inbox.id}/app", json=body, headers=admin.headers)
    assert r.status_code == 200, r.text
    return App(live, inbox.id, r.json()["key"], signing_key, algorithm)


async def desk_frame(desk: Any, kind: str) -> dict[str, Any]:
    """The agent desk's next event of `kind` (or typing frame, for "typing")."""
    while True:
        frame = json.loads(await asyncio.wait_for(desk.ws.recv(), 5))
        if kind == "typing" == frame["type"]:
            return dict(frame)
        if frame["type"] == "event" and frame["event"]["type"] == kind:
            return dict(frame["event"])


@pytest.mark.parametrize("algorithm", ["HS256", "RS256"])
async def test_a_signed_in_customer_chats_live_with_an_agent(live: Live, algorithm: str) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice")
    app = await app_inbox(live, admin, algorithm)
    token = app.identity("cust-8841", name="Dana Reyes")

    async with live.stream(alice) as desk, app.stream(token) as phone:
        sent = await app.says(token, "Can you change my delivery address?")
        assert (sent["sender"], sent["seq"]) == ("you", 1)
        received = await desk_frame(desk, "message.received")
        detail = await live.conversation(alice, received["conversation_id"])
        conv = detail["conversation"]
        assert (conv["channel"], conv["verification"]) == ("app", "verified")
        assert detail["customer"]["display_name"] == "Dana Reyes"
        mine = {"identities": ["app:cust-8841"], "channels": ["app"]}
        assert await customer(live, admin, "cust-8841") == mine

        typing = {"typing": True}
        url = f"/api/v1/conversations/{conv['id']}/typing"
        assert (await live.http.post(url, json=typing, headers=alice.headers)).status_code == 204
        assert (await next_frame(phone, "typing"))["name"] == "alice"
        reply = await live.reply(alice, conv["id"], "Done: it goes to the new address.")
        assert (await next_frame(phone, "message"))["event"]["kind"] == "message"
        assert (await app.call("typing", token, typing)).status_code == 204
        assert await desk_frame(desk, "typing") == {
            "type": "typing",
            "conversation_id": conv["id"],
            **typing,
        }

        # The app fetching the reply is its delivery; showing it, its reading.
        seen = (await app.thread(token))["messages"]
        assert [(m["sender"], m["text"], m["status"]) for m in seen] == [
            ("you", "Can you change my delivery address?", "received"),
            ("agent", "Done: it goes to the new address.", "delivered"),
        ]
        assert (await app.call("read", token, {"up_to_seq": reply["seq"]})).status_code == 204
        statuses = []
        while "read" not in statuses:
            status = await desk_frame(desk, "message.delivery_status")
            assert status["payload"]["message_id"] == reply["id"]
            statuses.append(status["payload"]["status"])


async def test_refused_identities_get_401_and_make_no_customer(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    hs = await app_inbox(live, admin, "HS256")
    rs = await app_inbox(live, admin, "RS256")
    forger, _ = rsa_key()
    rs_public = await live.http.get(f"/api/v1/inboxes/{rs.inbox_id}/app", headers=admin.headers)
    ok = {"sub": "c1", "exp": int(live.clock().timestamp()) + 60}
    unknown, web_key = replace(hs, key="ak_no-such-key"), replace(hs, key="wk_" + hs.key[3:])
    refused: dict[str, tuple[App, str | None]] = {
        "no token": (hs, None),
        "not a JWT": (hs, "hello"),
        "unsigned (alg none)": (hs, jwt.encode(ok, None, algorithm="none")),
        "wrong secret": (hs, jwt.encode(ok, "another-secret-" * 3, "HS256")),
        "signed by another RSA key": (rs, jwt.encode(ok, forger, "RS256")),
        "HS256 for an RS256 inbox": (rs, hs.identity("c1")),
        "HS256 keyed with its public key": (rs, hs256_keyed(ok, rs_public.json()["public_key"])),
        "a key naming no inbox": (unknown, hs.identity("c1")),
        "a widget's key": (web_key, hs.identity("c1")),
        "no key": (replace(hs, key=""), hs.identity("c1")),
        "no exp": (hs, jwt.encode({"sub": "c1"}, SECRET, "HS256")),
        "no sub": (hs, jwt.encode({"exp": ok["exp"]}, SECRET, "HS256")),
        "sub too long": (hs, hs.identity("c" * 201)),
        "valid for a week": (hs, hs.identity("c1", lifetime=7 * 86400)),
        "expired": (hs, hs.identity("c1", lifetime=-3600)),
    }
    before = (await live.http.get("/api/v1/customers", headers=admin.headers)).json()
    answers = {}
    for case, (app, token) in refused.items():
        code = {"expired": "identity_expired", "no token": "unauthenticated"}.get(
            case, "invalid_identity"
        )
        for r in (
            await app.call("messages", token or ""),
            await app.call("messages", token or "", {"text": "hi", "client_id": "1"}),
        ):
            assert (r.status_code, r.json()["error"]["code"]) == (401, code), (case, r.text)
        answers[case] = r.json()
    # Whether a key names an inbox, and how that inbox signs, is not told.
    same = ["wrong secret", "HS256 for an RS256 inbox", "a key naming no inbox", "no key"]
    assert all(answers[case] == answers["a widget's key"] for case in same)
    # A minute's clock difference is forgiven.
    assert (await hs.thread(hs.identity("c2", lifetime=-30)))["messages"] == []
    after = (await live.http.get("/api/v1/customers", headers=admin.headers)).json()
    assert len(after) == len(before) + 1


def hs256_keyed(claims: dict[str, Any], key: str) -> str:
    """The algorithm-confusion forgery: an HMAC keyed with a public key (which PyJWT
    refuses to make, so it is made by hand)."""

    def part(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signing_input = part(b'{"alg":"HS256","typ":"JWT"}') + b"." + part(json.dumps(claims).encode())
    mac = hmac.new(key.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + part(mac)).decode()


async def test_a_retried_message_is_stored_once(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    app = await app_inbox(live, admin)
    token = app.identity("cust-1")

    # The app's first two calls race (a retry after a timeout): one customer, one message.
    body = {"text": "Hello?", "client_id": "m-1"}
    first, retry = await asyncio.gather(*(app.call("messages", token, body) for _ in range(2)))
    assert sorted([first.status_code, retry.status_code]) == [200, 201]
    assert first.json()["id"] == retry.json()["id"]
    assert retry.json()["client_id"] == "m-1"
    again = await app.call("messages", token, body)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    assert len((await app.thread(token))["messages"]) == 1
    customers = (await live.http.get("/api/v1/customers?q=cust-1", headers=admin.headers)).json()
    assert len(customers) == 1


async def test_a_reconnecting_app_gets_exactly_the_events_it_missed(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice")
    app = await app_inbox(live, admin)
    token, other = app.identity("cust-1"), app.identity("cust-2")
    await app.says(token, "Hi")
    await app.says(other, "Hello from someone else")
    convs = (await live.http.get("/api/v1/conversations", headers=alice.headers)).json()
    mine = next(c for c in convs if c["last_message"]["preview"] == "Hi")
    theirs = next(c for c in convs if c["id"] != mine["id"])

    async with app.stream(token) as phone:
        await live.reply(alice, mine["id"], "One moment")
        last_seen = (await next_frame(phone, "message"))["event"]["seq"]
    # While the app is away: two replies and the agent reading, and another customer's
    # conversation moving on.
    await live.reply(alice, mine["id"], "Found it")
    await live.reply(alice, theirs["id"], "Not for cust-1")
    await app.says(token, "Thanks, and?")
    read = await live.http.post(
        f"/api/v1/conversations/{mine['id']}/read", json={"up_to_seq": 4}, headers=alice.headers
    )
    assert read.status_code == 204
    await live.reply(alice, mine["id"], "It ships today")

    async with app.stream(token, after=last_seen) as phone:
        await live.reply(alice, mine["id"], "(the end)")  # a marker, sent after reconnecting
        replayed = []
        while len(replayed) < 5:
            frame = json.loads(await asyncio.wait_for(phone.recv(), 5))
            replayed.append(frame["event"])
    assert [e["kind"] for e in replayed] == ["message", "message", "read", "message", "message"]
    assert replayed[2]["agent_read_seq"] == 4
    assert all(a["seq"] < b["seq"] for a, b in itertools.pairwise(replayed))
    assert replayed[0]["seq"] > last_seen
    texts = [m["text"] for m in (await app.thread(token, after_seq=2))["messages"]]
    assert texts == ["Found it", "Thanks, and?", "It ships today", "(the end)"]


async def test_an_expired_identity_ends_the_stream_and_a_fresh_one_goes_on(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    app = await app_inbox(live, admin)
    token = app.identity("cust-1", lifetime=300)
    await app.says(token, "Hi")
    async with app.stream(token) as phone:
        live.clock.advance(3600)
        # Within a re-check: the socket's identity no longer holds.
        assert (await close_reason(phone)).startswith("4401 ")
    r = await app.call("messages", token)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "identity_expired")
    fresh = app.identity("cust-1")
    assert [m["text"] for m in (await app.thread(fresh))["messages"]] == ["Hi"]

    hellos = {
        "4401 identity_expired": {"type": "hello", "token": token, "key": app.key},
        "4401 invalid_identity": {"type": "hello", "token": fresh, "key": "ak_unknown"},
        "4400": {"type": "hello", "token": fresh},
    }
    for code, hello in hellos.items():
        async with connect(app.ws_url) as ws:
            await ws.send(json.dumps(hello))
            assert (await close_reason(ws)).startswith(code)


async def close_reason(ws: ClientConnection) -> str:
    """What the server said closing the socket: "<code> <reason>"."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    except ConnectionClosed as closed:
        frame = closed.rcvd
    return f"{frame.code} {frame.reason}" if frame else "closed without a close frame"


async def test_only_admins_set_up_app_inboxes_and_keys_stay(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice")
    inbox = await live.inbox("Acme app", channel="app")
    web = await live.inbox("Site", channel="web")
    url = f"/api/v1/inboxes/{inbox.id}/app"
    hs256 = {"algorithm": "HS256", "secret_name": "acme_app"}
    assert (await live.http.put(url, json=hs256, headers=alice.headers)).status_code == 403
    assert (await live.http.get(url, headers=admin.headers)).status_code == 404
    for other, status in ((web.id, 422), (uuid.uuid4(), 404)):
        r = await live.http.put(f"/api/v1/inboxes/{other}/app", json=hs256, headers=admin.headers)
        assert r.status_code == status

    _, small = rsa_key(1024)
    _, good = rsa_key()
    ec_public = pem(ec.generate_private_key(ec.SECP256R1()).public_key())
    for bad, code in (
        ({"algorithm": "HS256", "secret_name": "nowhere"}, "secret_not_set"),
        ({"algorithm": "HS256", "secret_name": "short"}, "secret_too_short"),
        ({"algorithm": "HS256"}, "invalid_input"),
        ({"algorithm": "RS256", "public_key": "not a key"}, "invalid_input"),
        ({"algorithm": "RS256", "public_key": small}, "invalid_input"),
        ({"algorithm": "RS256", "public_key": ec_public}, "invalid_input"),
        ({"algorithm": "RS256"}, "invalid_input"),
        ({"algorithm": "RS256", "public_key": good, "secret_name": "acme_app"}, "invalid_input"),
        ({"algorithm": "none", "secret_name": "acme_app"}, "validation_error"),
    ):
        r = await live.http.put(url, json=bad, headers=admin.headers)
        assert (r.status_code, r.json()["error"]["code"]) == (422, code), (bad, r.text)
        if code == "secret_not_set":
            assert "THREADLINE_SECRET_NOWHERE_IDENTITY_SECRET" in r.json()["error"]["message"]
    assert (await live.http.get(url, headers=admin.headers)).status_code == 404  # none made

    made = (await live.http.put(url, json=hs256, headers=admin.headers)).json()
    assert made == {"inbox_id": inbox.id, "key": made["key"], **hs256, "public_key": None}
    assert made["key"].startswith("ak_")
    # Switching to RS256 keeps the key built into the app; HS256 identities stop working.
    app = App(live, inbox.id, made["key"], SECRET, "HS256")
    old_token = app.identity("c1")
    assert (await app.thread(old_token))["messages"] == []
    switched = await live.http.put(
        url, json={"algorithm": "RS256", "public_key": good}, headers=admin.headers
    )
    assert switched.json()["key"] == made["key"]
    assert switched.json()["secret_name"] is None
    assert (await live.http.get(url, headers=admin.headers)).json() == switched.json()
    assert (await app.call("messages", old_token)).status_code == 401


# -- one customer across the app and their phone ----------------------------------------


@pytest.fixture
async def world(database_url: str, clock: FakeClock) -> AsyncIterator[World]:
    async with channel_world(database_url, clock) as running:
        yield running


async def customer(live: Live, admin: AgentHandle, app_id: str) -> dict[str, Any]:
    """The identities and conversations' channels of the customer `app:<app_id>` is."""
    search = {"q": app_id}
    [found] = (
        await live.http.get("/api/v1/customers", params=search, headers=admin.headers)
    ).json()
    found = (await live.http.get(f"/api/v1/customers/{found['id']}", headers=admin.headers)).json()
    convs = await live.http.get(
        "/api/v1/conversations", params={"customer_id": found["id"]}, headers=admin.headers
    )
    return {
        "identities": sorted(f"{i['channel']}:{i['address']}" for i in found["identities"]),
        "channels": sorted(c["channel"] for c in convs.json()),
    }


async def test_a_verified_phone_makes_the_app_and_sms_one_customer(world: World) -> None:
    live, admin = world.live, world.admin
    await world.connected_inbox("sms")
    app = await app_inbox(live, admin, "RS256")
    verified = {"phone_number_verified": True}

    # Texted first, then signed in to the app with that phone verified: the same customer.
    texted = await world.fake.inbound_twilio(from_="+15557654321", to=SMS_NUMBER, body="Hi")
    assert texted.status == 200
    token = app.identity("cust-77", phone_number="+1 (555) 765-4321", **verified)
    await app.says(token, "It's me, from the app")
    assert await customer(live, admin, "cust-77") == {
        "identities": ["app:cust-77", "sms:+15557654321", "whatsapp:15557654321"],
        "channels": ["app", "sms"],
    }

    # Signed in first: the number's texts later join the app customer.
    first = app.identity("cust-88", phone_number="+15550009999", **verified)
    await app.says(first, "Hello from the app")
    await world.fake.inbound_twilio(from_="+15550009999", to=SMS_NUMBER, body="And by text")
    assert (await customer(live, admin, "cust-88"))["channels"] == ["app", "sms"]

    # An unverified number links nothing; two customers who both exist already (the
    # app's, then the number's) stay two.
    unverified = app.identity("cust-99", phone_number="+15550001234")
    await app.says(unverified, "No verified phone yet")
    await world.fake.inbound_twilio(from_="+15550001234", to=SMS_NUMBER, body="Just a text")
    later = app.identity("cust-99", phone_number="+15550001234", **verified)
    await app.says(later, "Now with my phone verified")
    assert await customer(live, admin, "cust-99") == {
        "identities": ["app:cust-99"],
        "channels": ["app"],
    }
    texts = (await live.http.get("/api/v1/customers?q=5550001234", headers=admin.headers)).json()
    assert [[i["channel"] for i in c["identities"]] for c in texts] == [["sms"]]


async def test_a_recycled_number_never_shows_one_app_user_anothers_thread(
    world: World,
) -> None:
    live, admin = world.live, world.admin
    app = await app_inbox(live, admin, "RS256")
    verified = {"phone_number_verified": True}
    first = app.identity("cust-77", phone_number="+15557000001", **verified)
    await app.says(first, "My account question, private")
    # The number now belongs to someone else, who verifies it in the same app.
    second = app.identity("cust-79", phone_number="+15557000001", **verified)
    await app.says(second, "Hello, new here")
    assert await customer(live, admin, "cust-79") == {
        "identities": ["app:cust-79"],
        "channels": ["app"],
    }
    assert "app:cust-79" not in (await customer(live, admin, "cust-77"))["identities"]
    thread = await app.thread(second)
    assert "My account question, private" not in str(thread)
