"""Password hashing with argon2id, and opaque bearer tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from threadline.settings import get_settings


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    settings = get_settings()
    return PasswordHasher(
        time_cost=settings.password_time_cost, memory_cost=settings.password_memory_kib
    )


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # A valid hash to verify against when the username is unknown, so a login for a
    # missing user costs as much as a wrong password and does not reveal which it was.
    return _hasher().hash("threadline-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher().verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def new_token(kind: str) -> str:
    """A random bearer token; the prefix lets secret scanners recognise a leaked one."""
    return f"tl_{kind}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
