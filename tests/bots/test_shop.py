"""The demo shop: the business system the demo flow looks orders up in, delivers
step-up codes through and takes payments with, checking Threadline's signature."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from threadline.adapters.bots.http import BotHttp, CallResult
from threadline.adapters.bots.signing import SIGNATURE_HEADER, sign
from threadline.bots.shop import create_shop, serve_app, serve_shop

SECRET = b"shop-secret-" * 3


def client(
    secret: bytes | None = None,
    orders: dict[str, dict[str, object]] | None = None,
    clock: Callable[[], float] = time.time,
) -> httpx.AsyncClient:
    app = create_shop(secret, orders, clock=clock)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://shop")


@pytest.fixture
async def shop() -> AsyncIterator[httpx.AsyncClient]:
    async with client() as http:
        yield http


async def test_a_seeded_order_is_found_with_its_status_eta_and_phone(
    shop: httpx.AsyncClient,
) -> None:
    response = await shop.get("/orders/A-10001")
    assert response.status_code == 200
    order = response.json()
    assert order["number"] == "A-10001"
    assert order["status"] == "shipped"
    assert order["delivery"]["eta"]
    assert order["phone_on_file"].startswith("+1555")
    assert (await shop.get("/orders/a-10003")).json()["status"] == "delivered"
    assert (await shop.get("/orders/A-10002")).json()["status"] != "shipped"


async def test_an_unknown_order_is_not_found(shop: httpx.AsyncClient) -> None:
    response = await shop.get("/orders/A-99999")
    assert (response.status_code, response.json()) == (404, {"error": "not_found"})


async def test_an_address_change_is_kept_and_extra_fields_are_ignored(
    shop: httpx.AsyncClient,
) -> None:
    # The flow posts every field it has collected.
    response = await shop.post(
        "/orders/A-10002/address",
        json={"order_number": "A-10002", "status": "x", "new_address": " 1 New Road, Bilbao "},
    )
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert (await shop.get("/orders/A-10002")).json()["address"] == "1 New Road, Bilbao"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/orders/A-99999/address", {"new_address": "1 New Road"}, 404),
        ("/orders/A-10001/address", {}, 422),
        ("/orders/A-10001/address", {"new_address": "  "}, 422),
        ("/orders/A-10001/address", {"new_address": 5}, 422),
    ],
)
async def test_a_bad_address_change_is_refused(
    shop: httpx.AsyncClient, path: str, body: dict[str, object], status: int
) -> None:
    assert (await shop.post(path, json=body)).status_code == status


async def test_a_body_that_is_not_a_json_object_is_refused(shop: httpx.AsyncClient) -> None:
    assert (await shop.post("/codes", content=b"{nope")).status_code == 400
    assert (await shop.post("/codes", json=["to", "code"])).status_code == 400


async def test_codes_are_logged_and_listed_most_recent_first(
    shop: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="threadline.bots.shop"):
        first = await shop.post(
            "/codes", json={"to": "+15550100001", "code": "123456", "conversation_id": "c-1"}
        )
        await shop.post("/codes", json={"to": "+15550100002", "code": "654321"})
    assert first.status_code == 202
    assert "code for +15550100001: 123456" in caplog.messages
    listed = (await shop.get("/codes")).json()["codes"]
    assert [(c["to"], c["code"]) for c in listed] == [
        ("+15550100002", "654321"),
        ("+15550100001", "123456"),
    ]
    assert listed[1]["conversation_id"] == "c-1"


async def test_a_code_without_an_address_is_refused(shop: httpx.AsyncClient) -> None:
    assert (await shop.post("/codes", json={"code": "123456"})).status_code == 422


async def test_a_valid_card_is_charged_and_only_its_last_four_come_back(
    shop: httpx.AsyncClient,
) -> None:
    response = await shop.post(
        "/payments",
        json={"card_number": "4242 4242 4242 4242", "expiry": "12/30", "amount": "19.90"},
    )
    assert response.status_code == 200
    paid = response.json()
    assert paid["ok"] is True
    assert paid["last4"] == "4242"
    assert paid["reference"].startswith("PAY-")
    assert "4242 4242" not in response.text


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"card_number": "4242424242424241", "expiry": "12/30"}, "invalid_card"),
        ({"card_number": "not a card", "expiry": "12/30"}, "invalid_card"),
        ({"expiry": "12/30"}, "invalid_card"),
        ({"card_number": "4242424242424242", "expiry": "13/30"}, "invalid_expiry"),
        ({"card_number": "4242424242424242"}, "invalid_expiry"),
    ],
)
async def test_a_bad_payment_is_refused(
    shop: httpx.AsyncClient, body: dict[str, object], error: str
) -> None:
    response = await shop.post("/payments", json=body)
    assert (response.status_code, response.json()) == (422, {"error": error})


async def test_given_orders_replace_the_seeded_ones_and_stay_unchanged() -> None:
    orders: dict[str, dict[str, object]] = {
        "B-1": {"number": "B-1", "status": "lost", "delivery": {"eta": "never"}}
    }
    async with client(None, orders=orders) as http:
        assert (await http.get("/orders/A-10001")).status_code == 404
        assert (await http.get("/orders/B-1")).json()["status"] == "lost"
        await http.post("/orders/B-1/address", json={"new_address": "Elsewhere"})
        assert (await http.get("/orders/B-1")).json()["address"] == "Elsewhere"
    assert "address" not in orders["B-1"]


# --- the signature -------------------------------------------------------------------


async def test_with_a_secret_an_unsigned_or_wrongly_signed_request_is_refused() -> None:
    now = int(time.time())
    async with client(SECRET) as http:
        unsigned = await http.get("/orders/A-10001")
        assert (unsigned.status_code, unsigned.json()) == (401, {"error": "bad_signature"})
        forged = sign(b"another secret", b"", now, method="GET", target="/orders/A-10001")
        assert (
            await http.get("/orders/A-10001", headers={SIGNATURE_HEADER: forged})
        ).status_code == 401
        # The signature covers the body: one signed for another body does not do.
        header = sign(
            SECRET, b'{"to":"+15550100001","code":"1"}', now, method="POST", target="/codes"
        )
        tampered = await http.post(
            "/codes",
            content=b'{"to":"+15550100009","code":"1"}',
            headers={SIGNATURE_HEADER: header},
        )
        assert tampered.status_code == 401
        # The codes sent are the demo's phone screen, read without a signature.
        assert (await http.get("/codes")).json() == {"codes": []}


async def test_a_replayed_request_is_refused_once_its_timestamp_is_stale() -> None:
    signed_at = 1_773_480_000
    header = {
        SIGNATURE_HEADER: sign(SECRET, b"", signed_at, method="GET", target="/orders/A-10001")
    }
    async with client(SECRET, clock=lambda: signed_at + 60) as fresh:
        assert (await fresh.get("/orders/A-10001", headers=header)).status_code == 200
    async with client(SECRET, clock=lambda: signed_at + 301) as later:
        assert (await later.get("/orders/A-10001", headers=header)).status_code == 401


async def test_a_signature_for_one_order_does_not_open_another_order_or_a_post() -> None:
    now = int(time.time())
    header = {SIGNATURE_HEADER: sign(SECRET, b"", now, method="GET", target="/orders/A-10001")}
    async with client(SECRET) as http:
        assert (await http.get("/orders/A-10001", headers=header)).status_code == 200
        other = await http.get("/orders/A-10002", headers=header)
        assert (other.status_code, other.json()) == (401, {"error": "bad_signature"})
        # The address change is a POST under the same order: not opened by a GET's signature.
        posted = await http.post("/orders/A-10001/address", headers=header)
        assert posted.status_code == 401
        moved = await http.post("/codes", headers=header)
        assert moved.status_code == 401


async def test_a_tampered_query_is_refused() -> None:
    now = int(time.time())
    signed = sign(SECRET, b"", now, method="GET", target="/orders/A-10001?lang=en")
    header = {SIGNATURE_HEADER: signed}
    async with client(SECRET) as http:
        assert (await http.get("/orders/A-10001?lang=en", headers=header)).status_code == 200
        assert (await http.get("/orders/A-10001?lang=es", headers=header)).status_code == 401
        assert (await http.get("/orders/A-10001", headers=header)).status_code == 401


async def test_a_percent_encoded_path_is_checked_as_it_was_sent() -> None:
    # A lookup's {field}s are percent-encoded in its URL; the shop checks the path as
    # it arrived, not as decoded, or an encoded order number would never verify.
    async with client(SECRET) as transport_client:
        found = await BotHttp(transport_client).call(
            "http://shop/orders/A%2D10001", method="GET", body=None, timeout=2, secret=SECRET
        )
    assert found.status == 200
    assert isinstance(found.body, dict)
    assert found.body["number"] == "A-10001"


async def test_threadlines_signed_calls_are_accepted() -> None:
    async with client(SECRET) as transport_client:
        http = BotHttp(transport_client)
        found = await http.call(
            "http://shop/orders/A-10001", method="GET", body=None, timeout=2, secret=SECRET
        )
        assert found.status == 200
        assert isinstance(found.body, dict)
        assert found.body["status"] == "shipped"
        sent = await http.call(
            "http://shop/codes",
            body={"to": "+15550100001", "code": "424242", "conversation_id": "c-9"},
            timeout=2,
            secret=SECRET,
        )
        assert sent == CallResult(202, {"ok": True}, None)


# --- serving -------------------------------------------------------------------------


async def test_the_shop_serves_on_a_loopback_port() -> None:
    async with serve_shop(port=0, secret=SECRET) as url, httpx.AsyncClient() as plain:
        assert url.startswith("http://127.0.0.1:")
        http = BotHttp(plain)
        found = await http.call(
            f"{url}/orders/A-10003", method="GET", body=None, timeout=2, secret=SECRET
        )
        assert found.status == 200
        assert (await plain.get(f"{url}/orders/A-10003")).status_code == 401


async def test_the_shop_will_not_listen_beyond_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        async with serve_app(create_shop(None), host="0.0.0.0"):
            pass
