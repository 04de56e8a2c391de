"""Signing what Threadline sends to a business's endpoints, and checking it there.

The header is Stripe's scheme, `t=<unix seconds>,v1=<hex HMAC-SHA256>`, over
`"<t>.<METHOD> <target>." + body`, where the target is the request's path and query
exactly as sent (`/orders/A-10001?lang=es`, percent-escapes untouched, no host). The
timestamp is signed, so a receiver that refuses stale timestamps refuses replays of a
captured request; the method and target are signed, so a signature captured on one
request (a GET has no body to tell it apart) does not open another path, order or
method. While a secret is being rotated the sender signs with both, one `v1` each,
and a receiver holding either secret accepts.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

SIGNATURE_HEADER = "X-Threadline-Signature"
# Five minutes, as Stripe: room for clock skew and a slow network, little for a replay.
DEFAULT_TOLERANCE = 300
# No honest header comes close; a longer one is not parsed at all.
_MAX_HEADER = 4096


def _well_formed(method: str, target: str) -> bool:
    # An HTTP method is one token and an origin-form target starts with "/" and has no
    # space (RFC 9112): either holding a space or a "." in the method would let two
    # different requests sign the same string.
    return (
        bool(method)
        and method.isascii()
        and method.isalpha()
        and target.startswith("/")
        and " " not in target
    )


def _digest(secret: bytes, body: bytes, timestamp: int, method: str, target: str) -> str:
    signed = f"{timestamp}.{method} {target}.".encode() + body
    return hmac.new(secret, signed, hashlib.sha256).hexdigest()


def sign(
    secret: bytes,
    body: bytes,
    timestamp: int,
    *,
    method: str,
    target: str,
    also: Sequence[bytes] = (),
) -> str:
    """The header value for `method target` with `body`, sent at `timestamp`; `target`
    is the path and query as sent; `also`: the other secrets in a rotation, each adding
    a `v1`."""
    if not secret or not all(also):
        raise ValueError("a signing secret cannot be empty")
    if timestamp < 0:
        raise ValueError("a timestamp is seconds since 1970")
    if not _well_formed(method, target):
        raise ValueError("a request is signed with its method and its path (starting with /)")
    signatures = ",".join(
        f"v1={_digest(key, body, timestamp, method, target)}" for key in (secret, *also)
    )
    return f"t={timestamp},{signatures}"


def verify(
    secret: bytes,
    body: bytes,
    header: str,
    now: int,
    *,
    method: str,
    target: str,
    tolerance: int = DEFAULT_TOLERANCE,
) -> bool:
    """Whether `header` signs `method target` with `body`, with `secret`, at a time
    within `tolerance` seconds of `now` (either side: a sender's clock may be ahead).
    `target` is the path and query exactly as received."""
    if not secret or not header or len(header) > _MAX_HEADER:
        return False
    if not _well_formed(method, target):
        return False
    timestamps: list[str] = []
    candidates: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            candidates.append(value)
        # Other schemes (a future v2) are skipped, so a sender can add one first.
    if len(timestamps) != 1 or not timestamps[0].isascii() or not timestamps[0].isdigit():
        return False
    timestamp = int(timestamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = _digest(secret, body, timestamp, method, target)
    # Every candidate is compared, each in constant time: how many there are, not which
    # one matched, is all the timing says.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    return matched


def received_target(scope: Mapping[str, Any]) -> str:
    """The target an ASGI server received (`raw_path` and `query_string`), to verify
    against. Not Starlette's `request.url.path`: that is percent-decoded, so a signed
    `/orders/a%40b.example` would be checked as `/orders/a@b.example` and refused."""
    raw = scope.get("raw_path")
    # latin-1: any bytes map to one character each, so what was sent is kept as sent.
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(scope.get("path", ""))
    query = scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path
