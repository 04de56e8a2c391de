"""Signed identities from a business's back end: JWTs signed with a shared secret (HS256)
or the business's RSA private key (RS256). PyJWT checks the signature; cryptography
reads public keys.

Only the signature is checked here; what the claims must say, and the clock, belong to
`core.widgets.identity_from_claims`.
"""

from __future__ import annotations

from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from threadline.core.errors import InvalidInput, Unauthenticated

# A signed identity is a few claims: anything longer is not one of ours.
MAX_TOKEN_CHARS = 4096
ALGORITHMS = ("HS256", "RS256")
# RFC 7518 §3.2: an HS256 key is at least as long as the hash (PyJWT warns below it).
MIN_SECRET_BYTES = 32
# NIST SP 800-57: RSA below 2048 bits is no longer acceptable for signatures.
MIN_RSA_BITS = 2048
# Said of every signature that does not verify, whatever the reason (wrong key, another
# algorithm, an unsigned token), so a failure tells a forger nothing about the key.
SIGNATURE_MISMATCH = "the identity's signature does not match the key it must be signed with"


def check_form(token: str) -> None:
    """Refuse what is not a JWT at all, before any key is looked up: the answer is the
    same whichever inbox, if any, the caller names."""
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthenticated("the identity token is too long", code="invalid_identity")
    try:
        jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"the identity is not a JWT: {exc}", code="invalid_identity") from exc


def verified_claims(token: str, key: str, algorithm: str = "HS256") -> dict[str, Any]:
    """The claims of `token` if `key` signed it with `algorithm`, the one the inbox was
    configured with. The token's own header never chooses: accepting the algorithm it
    names would let a forger pick "none", or use a public key as an HMAC secret."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported identity algorithm {algorithm!r}")
    check_form(token)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError) as exc:
        raise Unauthenticated(SIGNATURE_MISMATCH, code="invalid_identity") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(
            f"the identity is not a valid {algorithm} JWT: {exc}", code="invalid_identity"
        ) from exc
    if not isinstance(claims, dict):
        raise Unauthenticated("the identity's claims are not an object", code="invalid_identity")
    return claims


def rsa_public_key(pem: str) -> str:
    """A business's RSA public key (PEM) of at least MIN_RSA_BITS, as a normalised PEM
    SubjectPublicKeyInfo; anything else is refused with a reason."""
    try:
        key = serialization.load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError, UnicodeError) as exc:
        raise InvalidInput(
            "public_key is not a PEM public key (-----BEGIN PUBLIC KEY-----)",
            field="public_key",
        ) from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidInput("RS256 needs an RSA public key", field="public_key")
    if key.key_size < MIN_RSA_BITS:
        raise InvalidInput(
            f"the key has {key.key_size} bits; RS256 needs at least {MIN_RSA_BITS}",
            field="public_key",
        )
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
