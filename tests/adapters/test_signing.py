"""Provider signatures: Apple's gateway tokens, as both directions use them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import jwt

from threadline.adapters.providers.signing import apple_token, apple_token_valid

SECRET = base64.b64encode(b"k" * 32).decode()
MSP = "6f5b2d3e-8a41-4c1b-9d2e-7a6b5c4d3e2f"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _signed(claims: dict[str, object], secret: str = SECRET) -> str:
    return jwt.encode(claims, base64.b64decode(secret), algorithm="HS256")


def test_our_gateway_token_names_the_msp_as_issuer_and_audience_and_verifies() -> None:
    token = apple_token(SECRET, MSP, NOW)
    claims = jwt.decode(
        token,
        base64.b64decode(SECRET),
        algorithms=["HS256"],
        audience=MSP,
        options={"verify_exp": False},  # NOW is not the wall clock
    )
    assert (claims["iss"], claims["aud"]) == (MSP, MSP)
    assert apple_token_valid(token, SECRET, MSP, NOW + timedelta(minutes=4))
    assert not apple_token_valid(token, SECRET, MSP, NOW + timedelta(minutes=7))


def test_apples_token_with_only_iat_is_fresh_for_the_token_lifetime() -> None:
    token = _signed({"aud": MSP, "iat": int(NOW.timestamp())})
    assert apple_token_valid(token, SECRET, MSP, NOW + timedelta(minutes=2))
    assert not apple_token_valid(token, SECRET, MSP, NOW + timedelta(minutes=10))
    assert not apple_token_valid(token, SECRET, MSP, NOW - timedelta(minutes=5))


def test_a_token_without_a_time_another_audience_or_another_key_is_refused() -> None:
    other = base64.b64encode(b"x" * 32).decode()
    for token in (
        _signed({"aud": MSP}),
        _signed({"aud": "someone-else", "iat": int(NOW.timestamp())}),
        _signed({"aud": MSP, "iat": int(NOW.timestamp())}, secret=other),
        jwt.encode({"aud": MSP, "iat": int(NOW.timestamp())}, None, algorithm="none"),
        "not a token",
    ):
        assert not apple_token_valid(token, SECRET, MSP, NOW)
