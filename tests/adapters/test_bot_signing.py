"""Signatures on what Threadline sends to a business: `t=<time>,v1=<hmac>` over the
time and the body, so a receiver refuses tampering and replays."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from threadline.adapters.bots.signing import sign, verify

SECRET = b"s" * 32
NEW_SECRET = b"n" * 32
BODY = b'{"event":"message","message":{"text":"hi"}}'
NOW = 1_773_480_000


def test_a_signed_body_verifies_with_the_same_secret() -> None:
    header = sign(SECRET, BODY, NOW)
    assert verify(SECRET, BODY, header, NOW)


def test_the_header_is_the_time_and_the_hmac_of_time_dot_body() -> None:
    expected = hmac.new(SECRET, f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, NOW) == f"t={NOW},v1={expected}"


def test_a_tampered_body_or_another_secret_does_not_verify() -> None:
    header = sign(SECRET, BODY, NOW)
    assert not verify(SECRET, BODY.replace(b"hi", b"ho"), header, NOW)
    assert not verify(NEW_SECRET, BODY, header, NOW)


def test_a_changed_timestamp_does_not_verify() -> None:
    signature = sign(SECRET, BODY, NOW).split(",")[1]
    assert not verify(SECRET, BODY, f"t={NOW + 1},{signature}", NOW)


def test_a_stale_or_future_timestamp_is_refused_as_a_possible_replay() -> None:
    header = sign(SECRET, BODY, NOW)
    assert verify(SECRET, BODY, header, NOW + 300)
    assert not verify(SECRET, BODY, header, NOW + 301)
    assert verify(SECRET, BODY, header, NOW - 300)
    assert not verify(SECRET, BODY, header, NOW - 301)
    assert verify(SECRET, BODY, header, NOW + 3000, tolerance=3600)


def test_during_rotation_a_receiver_with_either_secret_accepts() -> None:
    header = sign(NEW_SECRET, BODY, NOW, also=[SECRET])
    assert header.count("v1=") == 2
    assert verify(SECRET, BODY, header, NOW)
    assert verify(NEW_SECRET, BODY, header, NOW)
    assert not verify(b"x" * 32, BODY, header, NOW)


def test_unknown_schemes_are_skipped_so_a_sender_can_add_one() -> None:
    header = sign(SECRET, BODY, NOW).replace(",v1=", ",v2=abc,v1=")
    assert verify(SECRET, BODY, header, NOW)


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
    assert not verify(SECRET, BODY, header, NOW)


def test_an_empty_secret_neither_signs_nor_verifies() -> None:
    with pytest.raises(ValueError, match="empty"):
        sign(b"", BODY, NOW)
    header = f"t={NOW},v1={hmac.new(b'', f'{NOW}.'.encode() + BODY, hashlib.sha256).hexdigest()}"
    assert not verify(b"", BODY, header, NOW)
