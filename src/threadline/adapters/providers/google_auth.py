"""Access tokens for a Google service account: the OAuth 2.0 JWT-bearer grant (RFC 7523).

The service account signs a short assertion with its private key (RS256) and trades it
at Google's token endpoint for an access token that lasts about an hour. Tokens are
kept in memory and reused until shortly before they expire, so a busy outbox asks
Google once an hour rather than once a message; concurrent sends wait for one fetch.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from threadline.adapters.providers.base import json_of, post, refused
from threadline.core.outbox import Retry, SendOutcome, Unknown

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Google refuses assertions meant to live longer than an hour.
ASSERTION_LIFETIME = timedelta(hours=1)
# A token is renewed this long before it expires, so none expires in flight (and the
# two clocks may differ a little).
RENEW_BEFORE = timedelta(minutes=5)
# What Google grants when its answer does not say.
DEFAULT_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class ServiceAccount:
    email: str
    private_key_pem: str
    scope: str


@dataclass(frozen=True)
class _Token:
    value: str
    expires: datetime


_Key = tuple[str, str, str, str]


def _key(token_url: str, account: ServiceAccount) -> _Key:
    # The key's digest rather than the key: a rotated key gets a token of its own, and
    # the cache holds no copy of the secret.
    digest = hashlib.sha256(account.private_key_pem.encode()).hexdigest()
    return (token_url, account.email, account.scope, digest)


def private_key(pem: str) -> RSAPrivateKey | None:
    """The RSA key of a PEM (PKCS#8 or PKCS#1). An environment variable often holds the
    PEM as one line with literal \\n, as in the service account's JSON key file."""
    if "\\n" in pem and "\n" not in pem.strip():
        pem = pem.replace("\\n", "\n")
    try:
        key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    return key if isinstance(key, RSAPrivateKey) else None


class TokenCache:
    def __init__(self) -> None:
        self._tokens: dict[_Key, _Token] = {}
        self._locks: dict[_Key, asyncio.Lock] = {}

    async def token(
        self, http: httpx.AsyncClient, token_url: str, account: ServiceAccount, now: datetime
    ) -> str | SendOutcome:
        """An access token, or why none could be had (as the send's outcome)."""
        key = _key(token_url, account)
        fresh = self._fresh(key, now)
        if fresh is not None:
            return fresh
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            # Another send may have fetched one while this one waited.
            fresh = self._fresh(key, now)
            if fresh is not None:
                return fresh
            fetched = await fetch(http, token_url, account, now)
            if isinstance(fetched, _Token):
                self._tokens[key] = fetched
                return fetched.value
            return fetched

    def forget(self, token_url: str, account: ServiceAccount, value: str) -> None:
        """Google refused this token before its time (revoked, or clocks far apart):
        the next send fetches another."""
        key = _key(token_url, account)
        cached = self._tokens.get(key)
        if cached is not None and cached.value == value:
            del self._tokens[key]

    def _fresh(self, key: _Key, now: datetime) -> str | None:
        cached = self._tokens.get(key)
        if cached is None or now >= cached.expires - RENEW_BEFORE:
            return None
        return cached.value


async def fetch(
    http: httpx.AsyncClient, token_url: str, account: ServiceAccount, now: datetime
) -> _Token | SendOutcome:
    key = private_key(account.private_key_pem)
    if key is None:
        # The operator can fix the setting, so the message waits rather than fails.
        return Retry("the service account's private key is not a PEM RSA private key")
    assertion = jwt.encode(
        {
            "iss": account.email,
            "scope": account.scope,
            "aud": token_url,
            "iat": int(now.timestamp()),
            "exp": int((now + ASSERTION_LIFETIME).timestamp()),
        },
        key,
        algorithm="RS256",
    )
    answer = await post(http, token_url, data={"grant_type": JWT_BEARER, "assertion": assertion})
    if isinstance(answer, Unknown):
        # No message went out with a token request: it is always safe to try again.
        return Retry(f"fetching an access token: {answer.error}")
    if not isinstance(answer, httpx.Response):
        return answer
    body = json_of(answer)
    value = body.get("access_token")
    if answer.status_code == 200 and isinstance(value, str) and value:
        lifetime = body.get("expires_in")
        seconds = (
            lifetime
            if isinstance(lifetime, int) and not isinstance(lifetime, bool) and lifetime > 0
            else DEFAULT_LIFETIME.total_seconds()
        )
        return _Token(value, now + timedelta(seconds=seconds))
    return refused(
        answer,
        f"Google refused an access token for {account.email}: "
        f"{body.get('error', answer.status_code)} {body.get('error_description', '')}".rstrip(),
    )
