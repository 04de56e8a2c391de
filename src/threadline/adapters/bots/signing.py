"""Signing what Threadline sends to a business's endpoints, and checking it there.

The header is Stripe's scheme: `t=<unix seconds>,v1=<hex HMAC-SHA256>` over
`"<t>." + body`. The timestamp is signed with the body, so a receiver that refuses
stale timestamps refuses replays of a captured request. While a secret is being
rotated the sender signs with both, one `v1` each, and a receiver holding either
secret accepts.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

SIGNATURE_HEADER = "X-Threadline-Signature"
# Five minutes, as Stripe: room for clock skew and a slow network, little for a replay.
DEFAULT_TOLERANCE = 300
# No honest header comes close; a longer one is not parsed at all.
_MAX_HEADER = 4096


def _digest(secret: bytes, body: bytes, timestamp: int) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, timestamp: int, *, also: Sequence[bytes] = ()) -> str:
    """The header value for `body` sent at `timestamp`; `also`: the other secrets in a
    rotation, each adding a `v1`."""
    if not secret or not all(also):
        raise ValueError("a signing secret cannot be empty")
    if timestamp < 0:
        raise ValueError("a timestamp is seconds since 1970")
    signatures = ",".join(f"v1={_digest(key, body, timestamp)}" for key in (secret, *also))
    return f"t={timestamp},{signatures}"


def verify(
    secret: bytes, body: bytes, header: str, now: int, tolerance: int = DEFAULT_TOLERANCE
) -> bool:
    """Whether `header` signs `body` with `secret` at a time within `tolerance` seconds
    of `now` (either side: a sender's clock may be ahead)."""
    if not secret or not header or len(header) > _MAX_HEADER:
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
    expected = _digest(secret, body, timestamp)
    # Every candidate is compared, each in constant time: how many there are, not which
    # one matched, is all the timing says.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    return matched
