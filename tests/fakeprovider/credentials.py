"""The made-up accounts the tests give the fake, and a service account's token grant."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from threadline.fakeprovider.google_token import JWT_BEARER, RBM_SCOPE

TWILIO_SID = "AC" + "a" * 32
TWILIO_TOKEN = "twilio-auth-token"
META_SECRET = "meta-app-secret"
META_TOKEN = "EAAG-page-or-system-user-token"
RBM_CLIENT_TOKEN = "rbm-client-token"
RBM_EMAIL = "threadline@fake-project.iam.gserviceaccount.com"
APPLE_CSP = "csp-0000-threadline"
APPLE_SECRET = base64.b64encode(b"apple messages for business secret").decode()


def rsa_key_pem() -> tuple[bytes, bytes]:
    """A fresh RSA key: (private, public) PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def assertion(private_pem: bytes, **overrides: Any) -> str:
    """A service account's JWT-bearer grant, as Google's auth libraries sign it."""
    now = int(time.time())
    claims = {
        "iss": RBM_EMAIL,
        "scope": RBM_SCOPE,
        "aud": "https://oauth2.googleapis.com/token",
        "iat": now,
        "exp": now + 3600,
        **overrides,
    }
    return jwt.encode(claims, private_pem, algorithm="RS256")


async def grant(http: httpx.AsyncClient, jwt_assertion: str) -> httpx.Response:
    return await http.post(
        "/oauth2/token", data={"grant_type": JWT_BEARER, "assertion": jwt_assertion}
    )
