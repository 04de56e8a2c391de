"""Signed identities from a business's back end: HS256 JWTs (PyJWT checks the signature).

Only the signature is checked here; what the claims must say, and the clock, belong to
`core.widgets.identity_from_claims`.
"""

from __future__ import annotations

from typing import Any

import jwt

from threadline.core.errors import Unauthenticated

# A signed identity is a few claims: anything longer is not one of ours.
MAX_TOKEN_CHARS = 4096


def verified_claims(token: str, secret: str) -> dict[str, Any]:
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthenticated("the identity token is too long", code="invalid_identity")
    try:
        claims = jwt.decode(
            token,
            secret,
            # HS256 only: accepting the algorithm the token names would let a forger
            # pick "none", or use a public key as an HMAC secret.
            algorithms=["HS256"],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise Unauthenticated(
            "the identity's signature does not match this widget's identity secret",
            code="invalid_identity",
        ) from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(
            f"the identity is not a valid HS256 JWT: {exc}", code="invalid_identity"
        ) from exc
    if not isinstance(claims, dict):
        raise Unauthenticated("the identity's claims are not an object", code="invalid_identity")
    return claims
