"""How each provider signs what it sends us, and how we sign what providers expect.

One place for the algorithms, used both by the webhook adapters (to verify) and by the
fake provider that ships for tests and the demo (to sign), so the two cannot drift.
Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime, timedelta

import jwt


def twilio_signature(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    """X-Twilio-Signature: HMAC-SHA1 with the account's auth token over the full URL
    (query string included) followed by each POST parameter's name and value, sorted
    by name; base64."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def meta_signature(body: bytes, app_secret: str) -> str:
    """X-Hub-Signature-256: "sha256=" and the hex HMAC-SHA256 of the raw body with the
    Meta app's secret (WhatsApp Cloud API and Messenger alike)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def rbm_signature(body: bytes, client_token: str) -> str:
    """X-Goog-Signature of Google's RCS Business Messaging: the base64 HMAC-SHA512 of
    the base64-decoded `message.data` of the push (the event itself, not the raw body)
    with the partner's client token."""
    digest = hmac.new(client_token.encode(), body, hashlib.sha512).digest()
    return base64.b64encode(digest).decode()


def same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


# Apple's Messages for Business gateway and the messaging service provider authenticate
# each other with short HS256 JWTs keyed by the provider's (base64) secret.
APPLE_TOKEN_TTL = timedelta(minutes=5)


def apple_token(secret_b64: str, csp_id: str, now: datetime) -> str:
    """Apple documents `aud` = the MSP's id on its tokens to the MSP and `iss` = the
    MSP's id on the MSP's tokens to it: naming the id as both serves either direction.
    Raises ValueError when the secret is not base64."""
    key = base64.b64decode(secret_b64, validate=True)
    expires = now + APPLE_TOKEN_TTL
    claims = {
        "iss": csp_id,
        "aud": csp_id,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(claims, key, algorithm="HS256")


def apple_token_valid(token: str, secret_b64: str, csp_id: str, now: datetime) -> bool:
    """The signature and audience by PyJWT; the expiry against `now`, our clock."""
    if len(token) > 4096:
        return False
    try:
        key = base64.b64decode(secret_b64, validate=True)
        claims = jwt.decode(
            token,
            key,
            algorithms=["HS256"],  # never the algorithm the token names
            audience=csp_id,
            options={"require": ["aud"], "verify_exp": False, "verify_iat": False},
        )
    except (jwt.PyJWTError, ValueError):
        return False
    # Apple's own tokens may carry only `iat`: then they are fresh for the token
    # lifetime from it. A minute's leeway for the two clocks either way.
    exp, iat = claims.get("exp"), claims.get("iat")
    leeway = 60
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        return exp >= now.timestamp() - leeway
    if isinstance(iat, int | float) and not isinstance(iat, bool):
        age = now.timestamp() - iat
        return -leeway <= age <= APPLE_TOKEN_TTL.total_seconds() + leeway
    return False
