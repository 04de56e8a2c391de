"""How sure we are of who the customer is (DESIGN.md §7).

Account details may be disclosed only at `verified`. The level comes from how the
customer reached us: a web visitor is anonymous, a channel address (a phone number, a
messaging-app account) identifies them, and an identity the business signed for them
(in-app chat, or a web page passing a signed token) verifies them.
"""

from __future__ import annotations

import enum


class Verification(enum.StrEnum):
    ANONYMOUS = "anonymous"
    IDENTIFIED = "identified"
    VERIFIED = "verified"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Verification.ANONYMOUS: 0, Verification.IDENTIFIED: 1, Verification.VERIFIED: 2}


def by_channel(channel: str) -> Verification:
    """The level a message proves by the channel it came through, nothing else known.

    In-app messages come from the business's own back end, which has signed the
    customer in; a web visitor is anyone until a signed identity says otherwise."""
    if channel == "app":
        return Verification.VERIFIED
    if channel == "web":
        return Verification.ANONYMOUS
    return Verification.IDENTIFIED


def stronger(current: Verification, proven: Verification) -> Verification:
    return proven if proven.rank > current.rank else current
