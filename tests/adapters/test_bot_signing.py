"""Signatures on what Threadline sends to a business: `t=<time>,v1=<hmac>` over the
time, the method, the path and query, and the body, so a receiver refuses tampering,
replays, and a signature moved to another request."""

from __future__ import annotations

import hashlib
import hmac
from typing import TypedDict

import pytest

from threadline.adapters.bots.signing import received_target, sign, verify

SECRET = b"s" * 32
NEW_SECRET = b"n" * 32
BODY = b'{"event":"message","message":{"text":"hi"}}'
NOW = 1_773_480_000


class Signed(TypedDict):
    method: str
    target: str


POST: Signed = {"method": "POST", "target": "/threadline"}


def test_a_signed_body_verifies_with_the_same_secret() -> None:
    header = sign(SECRET, BODY, NOW, **POST)
    assert verify(SECRET, BODY, header, NOW, **POST)


def test_the_header_is_the_time_and_the_hmac_of_time_method_target_and_body() -> None:
    signed = f"{NOW}.POST /threadline.".encode() + BODY
    expected = hmac.new(SECRET, signed, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, NOW, **POST) == f"t={NOW},v1={expected}"


def test_a_get_signed_for_one_order_does_not_open_another_or_another_method() -> None:
    header = sign(SECRET, b"", NOW, method="GET", target="/orders/A-10001")
    assert verify(SECRET, b"", header, NOW, method="GET", target="/orders/A-10001")
    assert not verify(SECRET, b"", header, NOW, method="GET", target="/orders/A-10002")
    assert not verify(SECRET, b"", header, NOW, method="POST", target="/orders/A-10001")
    assert not verify(SECRET, b"", header, NOW, method="GET", target="/orders/A-10001/address")


def test_the_query_is_signed_as_sent() -> None:
    header = sign(SECRET, b"", NOW, method="GET", target="/orders?number=A-10001&lang=es")
    assert verify(SECRET, b"", header, NOW, method="GET", target="/orders?number=A-10001&lang=es")
    for tampered in (
        "/orders?number=A-10002&lang=es",
        "/orders?number=A-10001",
        "/orders?number=A-10001&lang=es&all=1",
        "/orders",
    ):
        assert not verify(SECRET, b"", header, NOW, method="GET", target=tampered), tampered


def test_percent_escapes_are_signed_as_they_are_not_decoded() -> None:
    header = sign(SECRET, b"", NOW, method="GET", target="/customers/ana%40mail.example")
    assert verify(SECRET, b"", header, NOW, method="GET", target="/customers/ana%40mail.example")
    assert not verify(SECRET, b"", header, NOW, method="GET", target="/customers/ana@mail.example")


@pytest.mark.parametrize(
    ("method", "target"),
    [("", "/x"), ("GET", ""), ("GET", "x"), ("GET", "https://shop.example/x"), ("G T", "/x"),
     ("GET", "/a b"), ("GE.T", "/x")],
)  # fmt: skip
def test_a_request_without_a_method_and_a_path_is_neither_signed_nor_verified(
    method: str, target: str
) -> None:
    with pytest.raises(ValueError, match="method and its path"):
        sign(SECRET, BODY, NOW, method=method, target=target)
    header = sign(SECRET, BODY, NOW, **POST)
    assert not verify(SECRET, BODY, header, NOW, method=method, target=target)


def test_the_target_received_is_the_raw_path_and_query_not_the_decoded_one() -> None:
    scope = {"path": "/customers/ana@mail.example", "raw_path": b"/customers/ana%40mail.example",
             "query_string": b"lang=es&q=a%20b"}  # fmt: skip
    assert received_target(scope) == "/customers/ana%40mail.example?lang=es&q=a%20b"
    assert received_target({"path": "/threadline", "query_string": b""}) == "/threadline"


def test_a_tampered_body_or_another_secret_does_not_verify() -> None:
    header = sign(SECRET, BODY, NOW, **POST)
    assert not verify(SECRET, BODY.replace(b"hi", b"ho"), header, NOW, **POST)
    assert not verify(NEW_SECRET, BODY, header, NOW, **POST)


def test_a_changed_timestamp_does_not_verify() -> None:
    signature = sign(SECRET, BODY, NOW, **POST).split(",")[1]
    assert not verify(SECRET, BODY, f"t={NOW + 1},{signature}", NOW, **POST)


def test_a_stale_or_future_timestamp_is_refused_as_a_possible_replay() -> None:
    header = sign(SECRET, BODY, NOW, **POST)
    assert verify(SECRET, BODY, header, NOW + 300, **POST)
    assert not verify(SECRET, BODY, header, NOW + 301, **POST)
    assert verify(SECRET, BODY, header, NOW - 300, **POST)
    assert not verify(SECRET, BODY, header, NOW - 301, **POST)
    assert verify(SECRET, BODY, header, NOW + 3000, tolerance=3600, **POST)


def test_during_rotation_a_receiver_with_either_secret_accepts() -> None:
    header = sign(NEW_SECRET, BODY, NOW, also=[SECRET], **POST)
    assert header.count("v1=") == 2
    assert verify(SECRET, BODY, header, NOW, **POST)
    assert verify(NEW_SECRET, BODY, header, NOW, **POST)
    assert not verify(b"x" * 32, BODY, header, NOW, **POST)


def test_unknown_schemes_are_skipped_so_a_sender_can_add_one() -> None:
    header = sign(SECRET, BODY, NOW, **POST).replace(",v1=", ",v2=abc,v1=")
    assert verify(SECRET, BODY, header, NOW, **POST)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        f"v1={'0' * 64}",
        f"t={NOW}",
        f"t={NOW},t={NOW},v1=00",
        f"t=-{NOW},v1=00",
        "t=١٢٣,v1=00",
        f"t={NOW},v1=ü",
        f"t={NOW}," + "v1=00," * 1000,
    ],
)
def test_malformed_headers_never_verify(header: str) -> None:
    assert not verify(SECRET, BODY, header, NOW, **POST)


def test_an_empty_secret_neither_signs_nor_verifies() -> None:
    with pytest.raises(ValueError, match="empty"):
        sign(b"", BODY, NOW, **POST)
    signed = f"{NOW}.POST /threadline.".encode() + BODY
    header = f"t={NOW},v1={hmac.new(b'', signed, hashlib.sha256).hexdigest()}"
    assert not verify(b"", BODY, header, NOW, **POST)
